"""The leaderboard's tables from hand-counted runs: each run's status, manifest check, label,
rank, per-length columns, unparsed and failed counts, chance; digests; the overall difference."""
from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from scipy.stats import binomtest

from edges_lib import make_case, result_of, write_bench, write_run
from leaderboard import data as lb
from leaderboard import loading as ld
from niah.results import RUN_INFO_NAME


@pytest.fixture
def runs(tmp_path):
    cases = [make_case(i) for i in range(4)] + [make_case(4, options=["A. yes", "B. no"])]
    manifest = ld.load_manifest(write_bench(tmp_path / "bench", cases))
    root = tmp_path / "runs"
    root.mkdir()
    write_run(root, "full", cases, 4, seed=None, fingerprint=manifest.fingerprint)         # 4/5
    write_run(root, "half", cases, 2, seed=None, fingerprint=manifest.fingerprint, scored=2)
    write_run(root, "other", cases, 5, seed=None, fingerprint="0" * 64)
    write_run(root, "unrecorded", cases, 1, seed=None, fingerprint=None)                   # 1/5
    odd = [result_of(cases[0], None, model="odd", raw_output="no idea", correct=False),
           result_of(cases[1], None, model="odd", error="CUDA out of memory", correct=False, seconds=3.5),
           *(result_of(c, c.answer, model="odd") for c in cases[2:])]
    (root / "odd").mkdir()
    (root / "odd" / "results.jsonl").write_text("".join(r.to_json() + "\n" for r in odd))
    (root / "odd" / RUN_INFO_NAME).write_text(json.dumps({"model": "odd", "manifest_fingerprint": manifest.fingerprint,
                                                          "cases_total": 5, "uploaded": True}))
    return root, manifest


def board_of(root, manifest):
    return lb.build_tables(ld.load_results(root), manifest)


def test_every_runs_status_check_label_and_rank(runs):
    root, manifest = runs
    tables = board_of(root, manifest)
    board = tables.leaderboard.set_index("run")
    assert board.loc["full", ["status", "manifest", "scored", "cases"]].tolist() == ["complete", "match", 5, 5]
    assert board.loc["half", ["status", "manifest", "scored"]].tolist() == ["partial 2/5", "match", 2]
    assert board.loc["other", ["status", "manifest"]].tolist() == ["complete", "DIFFERS"]
    assert board.loc["unrecorded", ["status", "manifest"]].tolist() == ["complete", "not recorded"]
    assert board.loc["half", "label"] == "half [partial 2/5]"
    assert board.loc["other", "label"] == "other [other manifest]"
    assert board.loc["odd", "label"] == "odd [uploaded]"
    ranks = {run: (None if pd.isna(r) else int(r)) for run, r in board["rank"].items()}
    # uploads are ranked in their own section, below the project's runs (ranked, then unranked)
    assert ranks == {"full": 1, "unrecorded": 2, "half": None, "other": None, "odd": 1}
    assert list(tables.leaderboard["run"]) == ["full", "unrecorded", "half", "other", "odd"]
    assert board.loc["odd", "section"] == "uploaded" and board.loc["full", "section"] == "project"
    assert board.loc["full", "accuracy"] == pytest.approx(80.0) and board.loc["full", "acc@40"] == pytest.approx(80.0)
    assert board.loc["full", "n@40"] == 5 and board.loc["half", "n@40"] == 2
    assert (board.loc["odd", "unparsed"], board.loc["odd", "errors"]) == (1, 1)
    assert board.loc["odd", "unparsed %"] == pytest.approx(20.0) and board.loc["odd", "s/case"] == pytest.approx(1.9)
    assert board.loc["odd", "uploaded"] and not board.loc["full", "uploaded"]
    assert tables.chance == pytest.approx(100 * (4 * 0.25 + 0.5) / 5) and not tables.chance_assumed
    assert board.loc["full", "chance"] == pytest.approx(tables.chance)
    assert tables.lengths == [40] and tables.run_ids[0] == "full"
    assert tables.label("half") == "half [partial 2/5]" and tables.label("nope") == "nope"


def test_without_a_benchmark_totals_come_from_run_json(runs):
    root, _ = runs
    tables = board_of(root, None)
    board = tables.leaderboard.set_index("run")
    assert board.loc["full", ["status", "manifest", "cases"]].tolist() == ["complete", "no benchmark", 5]
    assert board.loc["unrecorded", "manifest"] == "not recorded"
    assert board.loc["half", "status"] == "partial 2/5"
    assert tables.chance == 25.0 and tables.chance_assumed


def test_a_run_without_cases_total_has_an_unknown_total(tmp_path):
    cases = [make_case(0)]
    root = tmp_path / "runs"
    root.mkdir()
    write_run(root, "r", cases, 1, seed=None, fingerprint="f")
    info = json.loads((root / "r" / RUN_INFO_NAME).read_text())
    (root / "r" / RUN_INFO_NAME).write_text(json.dumps({**info, "cases_total": None}))
    board = board_of(root, None).leaderboard
    assert board["status"].tolist() == ["unknown total"] and pd.isna(board["rank"].iloc[0])


def test_run_labels():
    assert lb.run_label("m-1", "m", []) == "m-1"
    assert lb.run_label("x", "m", ["partial 2/4", "other manifest", "uploaded"]) == \
        "m · x [partial 2/4] [other manifest] [uploaded]"


def test_overall_paired_difference(runs):
    root, manifest = runs
    tables = board_of(root, manifest)
    paired = lb.paired_difference(tables, "full", "unrecorded")
    overall = paired.overall.iloc[0]
    # full is right on 3 cases unrecorded misses and never the other way: exact McNemar = binomial on 3 of 3
    assert paired.common == 5 and (overall["a_only"], overall["b_only"]) == (3, 0)
    assert overall["difference"] == pytest.approx(60.0) and overall["p"] == pytest.approx(binomtest(3, 3, 0.5).pvalue)
    assert lb.paired_difference(tables, "full", "missing").common == 0


def test_public_text_and_csv(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    text = f"{link}/a and {real}/b"
    assert lb.public_text(text, {link: "data"}) == "data/a and data/b"
    frame = pd.DataFrame({"run": ["é", "b"], "accuracy": [50.0, None]})
    data = lb.to_csv_bytes(frame)
    assert data.decode("utf-8").splitlines()[0] == "run,accuracy"
    assert pd.read_csv(io.BytesIO(data)).equals(frame)


def test_a_run_json_without_fingerprint_or_total_beside_runs_with_them(tmp_path):
    # first found by these tests: beside runs that record them, a missing fingerprint became NaN and read as
    # "DIFFERS" (labelled "other manifest", unranked) and a missing total showed as "partial 1/nan"
    cases = [make_case(0), make_case(1)]
    root = tmp_path / "runs"
    root.mkdir()
    write_run(root, "a-none", cases, 1, seed=None, fingerprint=None)
    write_run(root, "b-total", cases, 2, seed=None, fingerprint="f")
    info = json.loads((root / "a-none" / RUN_INFO_NAME).read_text())
    (root / "a-none" / RUN_INFO_NAME).write_text(json.dumps({**info, "cases_total": None}))
    board = board_of(root, None).leaderboard.set_index("run")
    assert board.loc["a-none", ["status", "manifest"]].tolist() == ["unknown total", "not recorded"]
    assert board.loc["b-total", ["status", "manifest"]].tolist() == ["complete", "no benchmark"]
    manifest = ld.load_manifest(write_bench(tmp_path / "bench", cases))
    write_run(root, "c-match", cases, 0, seed=None, fingerprint=manifest.fingerprint)
    board = board_of(root, manifest).leaderboard.set_index("run")
    assert board.loc["a-none", ["status", "manifest", "label"]].tolist() == ["complete", "not recorded", "a-none"]
    assert board.loc["a-none", "rank"] == 1 and board.loc["c-match", "rank"] == 2
