"""The Diagnostics tab in headless Chromium (the real Streamlit server of
``test_leaderboard_e2e``): the needle-in-view decomposition with its intervals, "not recorded"
for results without a view, the needle-oracle ceiling, the in-view heatmap, circular vs plain
with (1/n)^n chance, and the letter table, checked against :mod:`niah.diagnostics` itself."""
from __future__ import annotations

import dataclasses
import random

import pytest

import synthetic_runs as synthetic
from niah import diagnostics as dg
from niah.circular import shown_letter
from test_leaderboard_e2e import ARTIFACTS, CHROMIUM, launch_browser, open_board, server  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent")]


def _seeing(results, cases, model, every):
    """``results`` with a view: a frame in the needle for every ``every``-th case, else one just outside."""
    by_id = {c.case_id: c for c in cases}
    out = []
    for i, r in enumerate(results):
        needle = by_id[r.case_id].needle
        outside = needle.start_frame - 1 if needle.start_frame > 0 else needle.start_frame + needle.num_frames
        frame = needle.start_frame if i % every == 0 else outside
        out.append(dataclasses.replace(r, model=model, view={"full_frames": [frame]}))
    return out


def _circular(results, cases):
    rng = random.Random(3)
    by_id = {c.case_id: c for c in cases}
    out = []
    for r in results:
        case = by_id[r.case_id]
        rotations = []
        for k in range(4):
            shown = rng.choice("ABCD") if k else (r.prediction or "A")
            gold = shown_letter(case.answer, case.options, k)
            rotations.append({"rotation": k, "raw_output": shown, "shown": shown, "prediction": None,
                              "prediction_strict": None, "gold_shown": gold, "correct": shown == gold})
        out.append(dataclasses.replace(r, model="random", rotations=rotations,
                                       correct=all(x["correct"] for x in rotations) and r.error is None))
    return out


def grid_cells(page, key: str) -> list[str]:
    """The accessible cells of the ``st.dataframe`` with ``key`` (a canvas grid)."""
    grid = page.locator(f".st-key-{key}").locator('[role="gridcell"]')
    grid.first.wait_for(state="attached", timeout=120_000)  # the page's first run may still be going
    return [t.strip() for t in grid.all_text_contents()]


@pytest.fixture
def diag_demo(tmp_path):
    results, data = tmp_path / "results", tmp_path / "data"
    info = synthetic.write_demo(results, data, models=1, partial=0, foreign=0)  # model-a: no view recorded
    cases, fp = info["cases"], info["fingerprint"]
    synthetic.write_run(results, "vilamp-x", _seeing(synthetic.make_results(cases, "vilamp", 0.8), cases, "vilamp", 3),
                        synthetic.run_info("vilamp", fp, len(cases)))
    oracle_info = synthetic.run_info("needle-oracle", fp, len(cases))
    oracle_info["settings"]["sampling"] = "needle-only"     # what the oracle declares it sees
    synthetic.write_run(results, "oracle-x", _seeing(synthetic.make_results(cases, "needle-oracle", 0.95), cases,
                                                     "needle-oracle", 1), oracle_info)
    synthetic.write_run(results, "random-circ", _circular(synthetic.make_results(cases, "random", None), cases),
                        synthetic.run_info("random", fp, len(cases)))
    return {"results": results, "data": data, **info}


@pytest.mark.parametrize("server", ["diag_demo"], indirect=True)
def test_diagnostics_tab_shows_decomposition_with_intervals(server):
    from playwright.sync_api import expect, sync_playwright

    from niah.results import read_run
    runs = [(name, read_run(server["results"] / name)[0]["model"], read_run(server["results"] / name)[1])
            for name in ("vilamp-x", "oracle-x", "random-circ", "model-a")]
    frame = dg.case_frame(runs, dg.facts_of(server["cases"]))
    d = dg.decomposition(frame, ["run"]).set_index("run").loc["vilamp-x"]
    expected = [f"{100 * d[k]:.1f}% [{100 * d[k + '_low']:.0f}–{100 * d[k + '_high']:.0f}] ({int(d[k + '_n'])})"
                for k in ("p_in_view", "acc_in_view", "acc_not_in_view")]
    assert 0 < d["p_in_view"] < 1  # both groups populated: the test can tell them apart
    ceiling = dg.oracle_ceilings(frame, {r: read_run(server["results"] / r)[0] for r, _, _ in runs})["vilamp-x"]
    c = dg.circular_summary(frame).set_index("run").loc["random-circ"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = open_board(browser, server["url"], 1440, 1000)
            page.get_by_role("tab", name="Diagnostics").click()
            decomposition = grid_cells(page, "dg_decomposition")
            for text in expected:  # P(in view), accuracy given in view / not in view, each with its interval
                assert text in decomposition, (text, decomposition)
            assert f"{100 * ceiling[1]:.1f}% [{100 * ceiling[2]:.0f}–{100 * ceiling[3]:.0f}]" in decomposition
            assert "not recorded" in decomposition  # model-a: results without a view
            expect(page.get_by_text("Wilson 95% interval, scipy.stats.binomtest", exact=False).first).to_be_visible()
            # the needle-in-view heatmap and the conditional bars with the ceiling rule
            heat = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="Needle in view:").first
            expect(heat.locator("svg text", has_text="needle in view %").first).to_be_visible()
            bars = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="needle-oracle ceiling").first
            expect(bars.locator("svg text", has_text="needle not in view").first).to_be_visible()
            # circular beside plain, with its own chance level; the letter table
            circular = grid_cells(page, "dg_circular")
            assert f"{100 * c['circ']:.1f}% [{100 * c['circ_low']:.0f}–{100 * c['circ_high']:.0f}]" in circular
            assert "0.39%" in circular and "not a circular run" in circular
            assert "all" in grid_cells(page, "dg_letter_table")
            page.screenshot(path=str(ARTIFACTS / "leaderboard-diagnostics.png"), full_page=True)
        finally:
            browser.close()
