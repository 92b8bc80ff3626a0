"""End to end: the real Streamlit server in headless Chromium (Debian's ``chromium`` package).

Starts ``streamlit run leaderboard/app.py`` on a free localhost port with a demo of three
models, three seeds of a guessing model, a partial run and a run on another manifest,
and checks in the rendered page (charts are SVG, so their text is in the DOM): the
heatmap's orientation (length on x, 0 % depth at the top), counts in the cells, the chance
line and the 95 % interval whiskers, plain-text rendering of an uploaded model name made of
Markdown (and no request to the URL in it), a refused bad upload, and no server path in
the page. Screenshots of each step go to ``tests/artifacts/`` (git-ignored), kept as
artefacts.
"""
from __future__ import annotations

import os
import re
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
def demo_seeds(tmp_path):
    import synthetic_runs as synthetic
    demo = {"results": tmp_path / "results", "data": tmp_path / "data"}
    demo.update(synthetic.write_demo(demo["results"], demo["data"], seeds=3))
    return demo


@pytest.fixture
def server(request, tmp_path):
    demo = request.getfixturevalue(request.param if hasattr(request, "param") else "demo_seeds")
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


TRAP_URL = "http://example.invalid/x.png"
TRAP_MODEL = f"evil`model ![x]({TRAP_URL})"


def svg_texts(chart) -> list[str]:
    return chart.locator("svg text").all_text_contents()


def centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_page_in_headless_chromium(server, tmp_path):
    import synthetic_runs as synthetic
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    bad = tmp_path / "bad-results.jsonl"
    bad.write_text('{"case_id": "L300-0000", "model": "m"}\nnot json\n')
    trap = tmp_path / "markdown-model.jsonl"
    trap.write_text("".join(r.to_json() + "\n" for r in synthetic.make_results(server["cases"], TRAP_MODEL, 0.6)))
    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.set_default_timeout(30_000)
            page.goto(server["url"], wait_until="domcontentloaded")
            expect(page.get_by_role("heading", name="Video NIAH leaderboard")).to_be_visible(timeout=60_000)
            # the compact table (a canvas grid) with its interval, chance and ranking notes
            expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
            expect(page.get_by_text("Wilson 95% interval", exact=False).first).to_be_visible()
            expect(page.get_by_text("Chance is 25.0%", exact=False).first).to_be_visible()
            expect(page.locator('[data-testid="stCaptionContainer"]').filter(has_text="not ranked").first).to_be_visible()
            # the grid's accessible cells: intervals overall and per length, partial/other-manifest status
            grid = page.locator('[data-testid="stDataFrame"]').first.locator('[role="gridcell"]')
            grid.first.wait_for(state="attached")
            cells = grid.all_text_contents()
            assert any(re.fullmatch(r"\d+\.\d–\d+\.\d", c) for c in cells), f"overall 95% CI column: {cells[:40]}"
            assert any(re.fullmatch(r" *\d+\.\d \(\d+–\d+\)", c) for c in cells), "per-length accuracy (interval)"
            assert any(c.startswith("partial ") for c in cells) and "complete · other manifest, not ranked" in cells
            assert not {"None", "nan", "<NA>"} & set(cells)
            page.screenshot(path=str(ARTIFACTS / "leaderboard-table.png"), full_page=True)

            # heatmap: length on x (frames and h:mm), depth on y with 0% at the top, counts in cells
            page.get_by_role("tab", name="Heatmaps").click()
            chart = page.locator('[data-testid="stVegaLiteChart"]').first
            expect(chart.locator("svg").first).to_be_visible()
            expect(chart.locator("svg text", has_text="haystack length: frames · h:mm at 1 FPS")).to_have_count(1)
            top, bottom = (chart.locator("svg text", has_text=label).first for label in ("0–10%", "90–100%"))
            short, long = (chart.locator("svg text", has_text=label).first for label in ("300 · 0:05", "600 · 0:10"))
            assert centre(top)[1] < centre(bottom)[1], "depth 0% must be at the top"
            assert centre(short)[0] < centre(long)[0], "length must grow along x"
            assert centre(short)[1] > centre(bottom)[1], "length labels must be below the grid"
            assert any("n=1*" in t for t in svg_texts(chart)), "cell counts (starred when few) must be visible"
            assert any(t.endswith("white = chance (25%)") for t in svg_texts(chart)), "scale centred on chance"
            page.screenshot(path=str(ARTIFACTS / "leaderboard-heatmap.png"), full_page=True)
            # a clicked cell (600 frames, depth 90-100%) filters the case browser
            cell = chart.locator("g.mark-rect.role-mark path").last
            cell.click()
            page.get_by_role("tab", name="Case browser").click()
            expect(page.get_by_role("combobox", name="Haystack length")).to_have_value("600")
            expect(page.get_by_role("combobox", name="Depth decile")).to_have_value("90–100%")
            page.get_by_role("tab", name="Heatmaps").click()
            page.get_by_text("Difference (A − B)").click()
            expect(page.get_by_text("The difference covers", exact=False).first).to_be_visible()
            page.get_by_text("The difference covers", exact=False).first.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "leaderboard-difference.png"), full_page=True)

            # breakdowns: a chance line and 95% interval whiskers on the charts; full run names in legends
            page.get_by_role("tab", name="Breakdowns").click()
            line = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="accuracy % (95% CI)").first
            expect(line.locator("svg text", has_text="chance 25%").first).to_be_visible()
            assert line.locator("g.mark-rule path, g.mark-rule line").count() > 1  # whiskers + chance rule
            legend = set(svg_texts(line))  # whole run names, partial runs marked
            assert {"random-seed0", "random-seed1", "random-seed2"} <= legend
            assert any(t.startswith("partial-0 [partial ") and t.endswith("/20]") for t in legend)
            page.screenshot(path=str(ARTIFACTS / "leaderboard-breakdowns.png"), full_page=True)

            # uploads: a bad file is refused with the line and why; a model name made of Markdown shows as text
            page.get_by_role("tab", name="Upload").click()
            expect(page.get_by_text("at most 20 MB", exact=False).first).to_be_visible()
            uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
            uploader.set_input_files(str(bad))
            expect(page.locator('[data-testid="stAlert"]').filter(has_text="Upload refused")).to_be_visible()
            expect(page.locator('[data-testid="stCode"]').filter(has_text="line 2: not valid JSON")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "leaderboard-upload-refused.png"), full_page=True)
            uploader.set_input_files(str(trap))
            expect(page.get_by_text("20 valid results", exact=False)).to_be_visible()
            expect(page.get_by_text(TRAP_MODEL, exact=False)).to_be_visible()
            page.wait_for_timeout(500)
            assert page.locator(f'img[src="{TRAP_URL}"]').count() == 0
            page.screenshot(path=str(ARTIFACTS / "leaderboard-upload-markdown-name.png"), full_page=True)
            # saved, the run is named as plain text in the pickers and legends too, marked uploaded
            page.get_by_role("button", name="Save run").click()
            expect(page.get_by_text("Saved the upload as a new run", exact=False)).to_be_visible()
            page.get_by_role("tab", name="Breakdowns").click()
            picker = page.locator('[data-testid="stMultiSelect"]').first.locator("input")
            picker.click()
            picker.fill("evil")
            page.keyboard.press("Enter")
            page.keyboard.press("Escape")
            expect(page.locator('[data-testid="stMultiSelect"]').first.get_by_text(TRAP_MODEL, exact=False)).to_be_visible()
            line = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="accuracy % (95% CI)").first
            expect(line.locator("svg text", has_text=TRAP_MODEL).first).to_be_visible()
            assert any(t.startswith(TRAP_MODEL) and t.endswith("[uploaded]") for t in svg_texts(line))
            page.wait_for_timeout(500)
            assert page.locator(f'img[src="{TRAP_URL}"]').count() == 0
            page.screenshot(path=str(ARTIFACTS / "leaderboard-uploaded-run-in-legend.png"), full_page=True)
            body = page.locator("body").inner_text()
            assert str(tmp_path) not in body, "no server path on the page"
        finally:
            browser.close()
    assert not [url for url in requested if "example.invalid" in url]
    saved = sorted(set(p.name for p in server["results"].iterdir()) - set(server["runs"]))
    assert len(saved) == 1 and saved[0].startswith("upload-evil-model")


@pytest.mark.parametrize("server", ["real_demo"], indirect=True)
def test_case_browser_timeline_and_thumbnails_in_headless_chromium(server):
    """On a real benchmark (frames): the case timeline marks the needle in h:mm:ss, the
    thumbnails follow the chosen stride."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(server["url"], wait_until="domcontentloaded")
            expect(page.get_by_role("heading", name="Video NIAH leaderboard")).to_be_visible(timeout=60_000)
            page.get_by_role("tab", name="Case browser").click()
            timeline = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="The whole case").first
            expect(timeline.locator("svg text", has_text="needle 0:").first).to_be_visible()
            expect(timeline.locator("svg text", has_text="time in the case (h:mm:ss)")).to_have_count(1)
            expect(page.locator('[data-testid="stImage"] img').first).to_be_visible()
            expect(page.get_by_text("Needle", exact=True)).to_be_visible()
            timeline.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "leaderboard-case-timeline.png"))
            page.locator('[data-testid="stImage"]').last.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "leaderboard-case-thumbnails.png"))
        finally:
            browser.close()
