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

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "leaderboard" / "app.py"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (install Debian's `chromium` package)")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(demo: dict, log_path: Path, *extra: str):
    """``streamlit run`` on a free localhost port; returns (process, url, log file)."""
    port = free_port()
    log = open(log_path, "w+")
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--", "--results", str(demo["results"]), "--data", str(demo["data"]),
           *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return proc, url, log
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            stop(proc, log)
            pytest.fail(f"streamlit did not start (rc {proc.poll()}):\n{log.read()[-2000:]}")
        time.sleep(0.3)


def stop(proc, log) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture
def server(request, tmp_path):
    demo = request.getfixturevalue(request.param)
    proc, url, log = start_server(demo, tmp_path / "streamlit.log")
    try:
        yield {"url": url, **demo}
    finally:
        stop(proc, log)


TRAP_URL = "http://example.invalid/x.png"
TRAP_MODEL = f"evil`model ![x]({TRAP_URL})"


def svg_texts(chart) -> list[str]:
    return chart.locator("svg text").all_text_contents()


def centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


LONG_NAME = "an-uploaded-model-with-a-very-long-name-" + "x" * 60


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """The issue's scenario, one server for the module: three complete models, a partial run,
    four seeds of a guessing model (one partial), an upload with a long name already in the
    uploads folder; the tests upload a Markdown-named model and a disguised copy."""
    import synthetic_runs as synthetic
    root = tmp_path_factory.mktemp("scenario")
    demo = {"results": root / "results", "data": root / "data"}
    demo.update(synthetic.write_demo(demo["results"], demo["data"], per_length=40, foreign=0, seeds=3))
    cases, fp = demo["cases"], demo["fingerprint"]
    info = {**synthetic.run_info("random", fp, len(cases)), "settings": {"seed": 3}, "model_path": None}
    synthetic.write_run(demo["results"], "random-seed3", synthetic.make_results(cases, "random", None, 3, 0.5), info)
    short = [c for c in cases if c.length == 300]  # a partial run with a whole length unscored
    synthetic.write_run(demo["results"], "partial-short", synthetic.make_results(short, "partial-short", 0.9),
                        synthetic.run_info("partial-short", fp, len(cases)))
    synthetic.write_run(demo["results"] / "uploads", LONG_NAME, synthetic.make_results(cases, LONG_NAME, 0.5, 7),
                        {**synthetic.run_info(LONG_NAME, fp, len(cases)), "uploaded": True})
    proc, url, log = start_server(demo, root / "streamlit.log")
    try:
        yield {"url": url, "root": root, **demo}
    finally:
        stop(proc, log)


def launch_browser(pw):
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def open_board(browser, url: str, width: int = 1280, height: int = 900):
    """A page on the leaderboard at ``url``, once its heading shows."""
    from playwright.sync_api import expect
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(30_000)
    page.goto(url, wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Video NIAH leaderboard")).to_be_visible(timeout=60_000)
    return page


def _rows(results: Path) -> dict[str, dict[str, bool]]:
    """Run -> case -> correct, read straight from the files (the official rule reads these
    synthetic outputs as their stored letters)."""
    out = {}
    for path in results.glob("*/results*.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            out.setdefault(path.parent.name, {})[row["case_id"]] = row["correct"]
    return out


def _paired_p(a: np.ndarray, b: np.ndarray, question: np.ndarray, single: bool) -> float:
    """The table's test, computed here: per-question totals of the differences; two single
    runs: exact McNemar if no question repeats, else the sign-flip test of the totals (all
    sign patterns up to 12 differing questions, else its chi-square form); a seed group: a
    one-sample t-test of the totals."""
    import itertools

    from scipy.stats import binomtest, chi2, ttest_1samp
    d = a - b
    totals = np.array([d[question == q].sum() for q in np.unique(question)])
    if not single:
        return float(ttest_1samp(totals, 0.0).pvalue) if totals.std() > 0 else float(totals.mean() == 0)
    if len(np.unique(question)) == len(question):
        k, n = int((d > 0).sum()), int((d != 0).sum())
        return binomtest(k, n, 0.5).pvalue if n else 1.0
    nonzero = totals[totals != 0]
    if len(nonzero) > 12:
        return float(chi2.sf(nonzero.sum() ** 2 / (nonzero ** 2).sum(), 1))
    flips = [abs(np.dot(signs, nonzero)) for signs in itertools.product((1, -1), repeat=len(nonzero))]
    return float(np.mean(np.array(flips) >= abs(nonzero.sum()) - 1e-9)) if len(nonzero) else 1.0


def expected_ties(results: Path, complete: list[str], seeds: list[str], data: Path) -> tuple[list[str], set[str]]:
    """Independently: entries by accuracy in each section (the project's runs, then every
    upload), the paired test that fits each pair (:func:`_paired_p`, clusters = the needle
    questions of the manifest) against the entry above and #1, Holm over each distinct
    comparison of the whole table (#2's two are one); the project's order and its entries
    tied with #1."""
    rows, uploaded = _rows(results), _rows(results / "uploads")
    cases = sorted(rows[complete[0]])
    question_of = {c["case_id"]: c["needle"]["question_id"]
                   for c in map(json.loads, (data / "manifest.jsonl").read_text().splitlines())}
    question = np.array([question_of[c] for c in cases])
    vectors = {run: np.array([float(rows[run][c]) for c in cases]) for run in complete}
    vectors["random"] = np.mean([[float(rows[s][c]) for c in cases] for s in seeds], axis=0)
    sections = [vectors, {run: np.array([float(answers[c]) for c in cases]) for run, answers in uploaded.items()}]
    orders = [sorted(section, key=lambda e: -section[e].mean()) for section in sections]
    tests = []
    for section, order in zip(sections, orders):
        for i, entry in enumerate(order[1:], 1):
            for other in dict.fromkeys((order[i - 1], order[0])):
                single = "random" not in (entry, other)
                tests.append((entry, other, _paired_p(section[entry], section[other], question, single)))
    ps = np.array([p for *_, p in tests])
    idx = np.argsort(ps, kind="stable")
    adjusted, running = np.empty(len(ps)), 0.0
    for rank, i in enumerate(idx):
        running = max(running, min(1.0, (len(ps) - rank) * ps[i]))
        adjusted[i] = running
    order = orders[0]
    tied = {e for (e, other, _), p in zip(tests, adjusted) if other == order[0] and e in vectors and p >= 0.05}
    return order, tied


def _table(page, section: str) -> list[dict[str, str]]:
    rows = page.locator(f"#board-{section} tbody tr")
    heads = page.locator(f"#board-{section} thead th").all_text_contents()
    return [dict(zip(heads, r.locator("td").all_text_contents())) for r in rows.all()]


def test_scenario_ranks_marks_significance_and_uploads(scenario, tmp_path):
    import synthetic_runs as synthetic
    from playwright.sync_api import expect, sync_playwright

    from leaderboard import charts

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    trap = tmp_path / "markdown-model.jsonl"
    trap.write_text("".join(r.to_json() + "\n" for r in synthetic.make_results(scenario["cases"], TRAP_MODEL, 0.6)))
    copy_rows = [json.loads(line) for line in (scenario["results"] / "model-a" / "results-shard1of2.jsonl")
                 .read_text().splitlines() + (scenario["results"] / "model-a" / "results-shard0of2.jsonl")
                 .read_text().splitlines()]
    copy = tmp_path / "copy.jsonl"
    copy.write_text("".join(json.dumps({**r, "raw_output": r["raw_output"] + " ", "model": "brand-new"}) + "\n"
                            for r in copy_rows))
    requested: list[str] = []
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = open_board(browser, scenario["url"])
            page.on("request", lambda request: requested.append(request.url))
            grid = page.locator('[data-testid="stDataFrame"]').first
            grid.locator('[role="gridcell"]').first.wait_for(state="attached")
            cells = grid.locator('[role="gridcell"]').all_text_contents()
            # ranks from complete runs only; the group mean over its 3 complete seeds; marks in the name cell
            assert "random · 3 seeds (0, 1, 2)" in cells and not any("seed3" in c and "3 seeds" in c for c in cells)
            partial = [c for c in cells if c.startswith("[partial ")]
            assert sorted(p.split("] ")[1] for p in partial) == ["partial-0", "partial-short", "random-seed3"]
            assert any("not in its seed group's mean" in c for c in cells)
            name = page.locator('[data-testid="stDataFrame"]').first.get_by_role("gridcell", name=partial[0])
            box = name.bounding_box() if name.count() else None
            assert box is None or box["x"] + 40 < 1280, "the mark starts inside the viewport"
            # uploads: their own section, below the project's runs
            expect(page.get_by_role("heading", name="Uploaded runs", exact=False)).to_be_visible(timeout=60_000)
            uploads = page.locator('[data-testid="stDataFrame"]').nth(1).locator('[role="gridcell"]')
            assert any(c.startswith("[uploaded] " + LONG_NAME) for c in uploads.all_text_contents())
            expect(page.get_by_text("exact McNemar", exact=False).first).to_be_visible(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "leaderboard-table.png"), full_page=True)
            # colours before any upload
            page.goto(scenario["url"] + "/?tab=Breakdowns", wait_until="domcontentloaded")
            chart = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="accuracy % (95% CI)").first
            expect(chart.locator("svg").first).to_be_visible(timeout=60_000)
            from leaderboard import data as lb
            from leaderboard import loading as ld
            from leaderboard.page import run_colours
            tables = lb.build_tables(ld.load_results(scenario["results"], uploads_root=scenario["results"] / "uploads"),
                                     ld.load_manifest(scenario["data"]))
            colour = run_colours(tables)[tables.label("model-a")]
            assert chart.locator(f'path[stroke="{colour}"]').count() >= 1
            expect(page.get_by_text("Showing ", exact=False).first).to_be_visible(timeout=60_000)
            # whiskers centred on their bars (task chart, as drawn)
            bars_chart = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="task type").first
            bars_chart.scroll_into_view_if_needed()
            boxes = [b for b in (p.bounding_box() for p in bars_chart.locator("g.mark-rect path").all()) if b]
            widest = max(b["width"] for b in boxes)
            centres = [b["x"] + b["width"] / 2 for b in boxes if b["width"] > widest - 0.5]
            whiskers = [b["x"] + b["width"] / 2 for b in boxes if b["width"] < widest - 0.5]
            assert centres and len(whiskers) == len(centres), sorted({round(b["width"], 2) for b in boxes})
            assert all(min(abs(w - c) for c in centres) < 1.0 for w in whiskers), (centres, whiskers)
            page.screenshot(path=str(ARTIFACTS / "leaderboard-breakdowns.png"), full_page=True)
            # heatmap permalink: a partial run's unscored cells are grey
            from urllib.parse import quote

            from leaderboard import data as lb
            from leaderboard import loading as ld
            tables = lb.build_tables(ld.load_results(scenario["results"]), ld.load_manifest(scenario["data"]))
            label = tables.label("partial-short")  # a permalink names a run as its pickers do
            page.goto(scenario["url"] + f"/?tab=Heatmaps&a={quote(label)}", wait_until="domcontentloaded")
            heat = page.locator('[data-testid="stVegaLiteChart"]').first
            expect(heat.locator("svg").first).to_be_visible(timeout=60_000)
            assert any("partial-short" in t for t in svg_texts(heat)), svg_texts(heat)[:5]
            assert heat.locator(f'g.mark-rect path[fill="{charts.EMPTY}"]').count() >= 1
            top, bottom = (heat.locator("svg text", has_text=label).first for label in ("0–10%", "90–100%"))
            assert centre(top)[1] < centre(bottom)[1], "depth 0% must be at the top"
            page.screenshot(path=str(ARTIFACTS / "leaderboard-heatmap.png"), full_page=True)

            # uploads: the Markdown-named model is saved as text; the whitespace-altered copy is refused
            page.goto(scenario["url"] + "/?tab=Upload", wait_until="domcontentloaded")
            uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
            uploader.set_input_files(str(trap))
            expect(page.get_by_text("valid results", exact=False)).to_be_visible(timeout=60_000)
            page.get_by_role("button", name="Save run").click()
            expect(page.get_by_text("Saved the upload as a new run", exact=False)).to_be_visible(timeout=60_000)
            uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
            uploader.set_input_files(str(copy))
            expect(page.locator('[data-testid="stCode"]').filter(has_text="same answers as run model-a")).to_be_visible(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "leaderboard-upload-copy-refused.png"), full_page=True)
            assert page.locator(f'img[src="{TRAP_URL}"]').count() == 0
            # colours unchanged after the upload
            page.goto(scenario["url"] + "/?tab=Breakdowns", wait_until="domcontentloaded")
            chart = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="accuracy % (95% CI)").first
            expect(chart.locator("svg").first).to_be_visible(timeout=60_000)
            assert chart.locator(f'path[stroke="{colour}"]').count() >= 1
            assert str(scenario["root"]) not in page.locator("body").inner_text(), "no server path on the page"
        finally:
            browser.close()
    assert not [url for url in requested if "example.invalid" in url]
    saved = sorted(p.name for p in (scenario["results"] / "uploads").iterdir())
    assert len(saved) == 2 and saved[1].startswith("upload-evil-model")  # the copy was not saved


def test_export_renders_offline_with_the_live_numbers(scenario, tmp_path):
    """The static page: no request leaves the page, its table equals the live page's, and
    its tied-with-#1 marks follow an exact McNemar test computed here."""
    from playwright.sync_api import expect, sync_playwright

    out = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "leaderboard", "export", "--results", str(scenario["results"]),
                           "--data", str(scenario["data"]), "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert {"index.html", "leaderboard-official.tex"} <= {p.name for p in out.iterdir()}
    requested: list[str] = []
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            def guard(route):  # the page itself is a file; anything else would be a request leaving it
                requested.append(route.request.url)
                route.continue_() if route.request.url == out.joinpath("index.html").as_uri() else route.abort()

            context.route("**/*", guard)
            static = context.new_page()
            static.goto(out.joinpath("index.html").as_uri())
            expect(static.locator("#board-project")).to_be_visible(timeout=60_000)
            assert [u for u in requested if u != out.joinpath("index.html").as_uri()] == []
            assert static.locator("svg").count() >= 3 and static.locator("script").count() == 0
            width = static.evaluate("document.documentElement.scrollWidth")
            assert width <= 1280, f"the export is {width} px wide in a 1,280 px window"
            project = _table(static, "project")
            static.screenshot(path=str(ARTIFACTS / "leaderboard-export.png"), full_page=True)
            live = open_board(browser, scenario["url"])
            grid = live.locator('[data-testid="stDataFrame"]').first
            grid.locator('[role="gridcell"]').first.wait_for(state="attached")
            live_cells = {c.strip() for c in grid.locator('[role="gridcell"]').all_text_contents()}
        finally:
            browser.close()
    # the columns the live grid has in view at 1280 px (it renders only those)
    shown = ("rank", "run", "accuracy %", "95% CI", "vs above", "vs #1")
    static_cells = {row[c].strip() for row in project for c in shown}
    assert static_cells - {""} <= live_cells | {""}, static_cells - live_cells
    order, tied = expected_ties(scenario["results"], ["model-a", "model-b", "model-c"],
                                [f"random-seed{k}" for k in range(3)], scenario["data"])
    ranked = [r for r in project if r["rank"] != "—"]
    names = [r["run"].split(" · ")[0] for r in ranked]
    assert names == order, (names, order)
    assert {n for n, r in zip(names, ranked) if "≈#1" in r["rank"]} == tied
    assert "\\toprule" in out.joinpath("leaderboard-official.tex").read_text()


@pytest.mark.parametrize("server", ["real_demo"], indirect=True)
def test_case_browser_timeline_and_thumbnails_in_headless_chromium(server):
    """On a real benchmark (frames): the case timeline marks the needle in h:mm:ss, the
    thumbnails follow the chosen stride."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = open_board(browser, server["url"], 1440)
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
