"""End to end: the real Streamlit server in headless Chromium (Debian's ``chromium`` package).

Starts ``streamlit run leaderboard/app.py`` on a free localhost port, checks that the
leaderboard table and the heatmap render and that a bad upload is refused, and saves
screenshots into ``tests/artifacts/`` (git-ignored).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "leaderboard" / "app.py"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="/usr/bin/chromium is absent (install Debian's `chromium` package)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(demo, tmp_path):
    port = free_port()
    log = open(tmp_path / "streamlit.log", "w+")
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--", "--results", str(demo["results"]), "--data", str(demo["data"])]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"streamlit did not start (rc {proc.poll()}):\n{log.read()[-2000:]}")
            time.sleep(0.3)
        yield {"url": url, **demo}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_page_in_headless_chromium(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    bad = tmp_path / "bad-results.jsonl"
    bad.write_text('{"case_id": "L300-0000", "model": "m"}\nnot json\n')
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(server["url"], wait_until="domcontentloaded")
            expect(page.get_by_role("heading", name="Video NIAH leaderboard")).to_be_visible(timeout=60_000)
            # the table (a canvas grid) renders
            table = page.locator('[data-testid="stDataFrame"]').first
            expect(table).to_be_visible()
            expect(page.get_by_text("not ranked", exact=False).first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "leaderboard-table.png"), full_page=True)

            # the heatmap renders (vega-embed draws into a canvas or svg)
            page.get_by_role("tab", name="Heatmaps").click()
            chart = page.locator('[data-testid="stVegaLiteChart"]').first
            expect(chart).to_be_visible()
            expect(chart.locator("canvas, svg").first).to_be_visible()
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "leaderboard-heatmap.png"), full_page=True)

            # a bad upload is refused, with the line and why
            page.get_by_role("tab", name="Upload").click()
            page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(bad))
            error = page.locator('[data-testid="stAlert"]').filter(has_text="Upload refused")
            expect(error).to_be_visible()
            expect(error).to_contain_text("line 1:")
            expect(error).to_contain_text("line 2: not valid JSON")
            page.screenshot(path=str(ARTIFACTS / "leaderboard-upload-refused.png"), full_page=True)
        finally:
            browser.close()
    assert sorted(p.name for p in server["results"].iterdir()) == sorted(server["runs"])
