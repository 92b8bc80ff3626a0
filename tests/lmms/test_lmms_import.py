"""``python -m runner import-lmms-eval``: lmms-eval's logged samples of the exported task as a run
of this project, read by ``runner report`` and the leaderboard like any other.

The samples are real: lmms-eval 0.7.3's ``dummy`` model run on the exported task
(``dummy_output``), which answers the same text for every case after reading its MP4.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lmms_testlib import DUMMY_RESPONSE
from niah.answers import DEFAULT_RULE, SECOND_RULE, extract
from niah.cases import Benchmark
from niah.results import read_run
from niah_testlib import one_line_error, run_cli

#: lmms-eval comes with the models install (Makefile); `make test-fast` leaves these out
pytestmark = pytest.mark.models


def _import(source: Path, bench: Path, out: Path, *extra: str):
    return run_cli("runner", "import-lmms-eval", str(source), "--data", str(bench), "--out", str(out), *extra)


@pytest.fixture(scope="module")
def imported(dummy_output: Path, small_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("imported")
    proc = _import(dummy_output, small_bench, out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("imported 12 cases -> ")
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def test_every_case_is_matched_to_the_manifest_with_its_raw_output(imported, small_bench):
    bench = Benchmark.open(small_bench)
    info, results, problems = read_run(imported)
    assert problems == [] and sorted(results) == sorted(c.case_id for c in bench.cases)
    for case in bench.cases:
        r = results[case.case_id]
        assert r.raw_output == DUMMY_RESPONSE
        assert (r.length, r.depth, r.task_type) == (case.length, case.depth, case.task_type)
        assert r.prediction == extract(DEFAULT_RULE, DUMMY_RESPONSE, case.options) == "C"
        assert r.prediction_strict == extract(SECOND_RULE, DUMMY_RESPONSE, case.options)
        assert r.correct == (case.answer == "C") and r.answer_rule == DEFAULT_RULE


def test_run_json_keeps_lmms_evals_model_version_task_config_and_sources(imported, dummy_output):
    info = json.loads((imported / "run.json").read_text())
    settings = info["settings"]
    assert info["model"] == "lmms-eval:dummy" and imported.name.startswith("lmms-eval_dummy-")
    assert settings["protocol"] == "lmms-eval" and settings["harness"] == "lmms-eval"
    assert settings["lmms_eval_version"] == "0.7.3" and info["harness"] == "lmms-eval 0.7.3"
    assert settings["model_args"] == f"response={DUMMY_RESPONSE},read_bytes=4096"
    assert sorted(settings["tasks"]) == ["video_niah_100", "video_niah_200"]
    task = settings["tasks"]["video_niah_100"]
    assert task["generation_kwargs"]["max_new_tokens"] == 16 and task["dataset_path"] == "json"
    assert " at 0x" not in json.dumps(settings)      # function reprs without their memory address
    files = sorted(Path(p).name for p in info["imported_from"])
    assert len(files) == 3 and files[0].endswith("_results.json")
    assert info["manifest_fingerprint"] == Benchmark.open(Path(json.loads(
        (next(dummy_output.rglob("*_results.json"))).read_text())["configs"]["video_niah_100"]
        ["dataset_kwargs"]["data_files"]["test"]).parent).fingerprint


def test_importing_again_gives_the_same_run_and_bytes(imported, dummy_output, small_bench):
    before = (imported / "results.jsonl").read_bytes()
    proc = _import(next(dummy_output.rglob("*_results.json")), small_bench, imported.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(str(imported))
    assert (imported / "results.jsonl").read_bytes() == before


def test_one_samples_file_imports_its_length_and_raw_resps_beat_filtered(dummy_output, small_bench, tmp_path):
    (samples,) = [p for p in dummy_output.rglob("*_samples_video_niah_200.jsonl")]
    lines = [json.loads(l) for l in samples.read_text().splitlines()]
    lines[0]["resps"] = [["<think>hmm</think>" + DUMMY_RESPONSE]]   # lmms-eval keeps resps when it stripped tags
    copy = tmp_path / "lmms" / samples.name
    copy.parent.mkdir()
    copy.write_text("".join(json.dumps(l) + "\n" for l in lines))
    proc = _import(copy, small_bench, tmp_path / "res")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "res").iterdir()
    info, results, _ = read_run(run_dir)
    assert {r.length for r in results.values()} == {200} and len(results) == 6
    assert results[lines[0]["acc_lmms_eval"]["case_id"]].raw_output == "<think>hmm</think>" + DUMMY_RESPONSE
    assert info["settings"]["model_args"] is None      # no results.json beside it: not recorded


def test_samples_of_another_benchmark_are_refused_in_one_line(dummy_output, small_bench, tmp_path):
    other = Path(shutil.copytree(small_bench, tmp_path / "other"))
    manifest = other / "manifest.jsonl"
    manifest.write_text(manifest.read_text().replace('"question":"', '"question":"Really: ', 1))
    proc = _import(dummy_output, other, tmp_path / "res")
    one_line_error(proc, "samples of another benchmark", "manifest sha256", str(other))
    assert not (tmp_path / "res").exists() or not any((tmp_path / "res").iterdir())


@pytest.mark.parametrize("make, needles", [
    (lambda src, tmp: tmp / "missing", ["missing", "no such file"]),
    (lambda src, tmp: _two_runs(src, tmp), ["holds 2 lmms-eval runs", "_results.json"]),
    (lambda src, tmp: _foreign_sample(src, tmp), ["not a Video NIAH sample"]),
    (lambda src, tmp: _twice(src, tmp), ["appears twice"]),
])
def test_bad_samples_are_one_line_and_exit_2(dummy_output, small_bench, tmp_path, make, needles):
    proc = _import(make(dummy_output, tmp_path), small_bench, tmp_path / "res")
    one_line_error(proc, *needles)


def test_data_is_required(dummy_output, tmp_path):
    one_line_error(run_cli("runner", "import-lmms-eval", str(dummy_output), "--out", str(tmp_path)), "--data")


def _two_runs(src: Path, tmp: Path) -> Path:
    dst = Path(shutil.copytree(src, tmp / "two"))
    for path in list(dst.rglob("*.json*")):
        shutil.copy(path, path.with_name(path.name.replace("_", "9_", 1)))   # a second time stamp
    return dst


def _foreign_sample(src: Path, tmp: Path) -> Path:
    samples = next(src.rglob("*_samples_video_niah_100.jsonl"))
    line = json.loads(samples.read_text().splitlines()[0])
    del line["acc_lmms_eval"]
    out = tmp / "x" / samples.name
    out.parent.mkdir()
    out.write_text(json.dumps(line) + "\n")
    return out


def _twice(src: Path, tmp: Path) -> Path:
    samples = next(src.rglob("*_samples_video_niah_100.jsonl"))
    first = samples.read_text().splitlines()[0]
    out = tmp / "x" / samples.name
    out.parent.mkdir()
    out.write_text(first + "\n" + first + "\n")
    return out


def test_runner_report_and_the_leaderboard_read_it_with_its_provenance(imported, small_bench, tmp_path):
    from leaderboard import board, data, loading
    results = imported.parent
    proc = run_cli("runner", "score", "--data", str(small_bench), "--model", "random", "--out", str(results),
                   "--no-progress")
    assert proc.returncode == 0, proc.stderr
    report = run_cli("runner", "report", "--out", str(results), "--data", str(small_bench))
    assert report.returncode == 0 and f"| {imported.name} | lmms-eval:dummy | {DEFAULT_RULE} | 12/12 | complete |" in report.stdout
    tables = data.build_tables(loading.load_results(results), loading.load_manifest(small_bench))
    row = tables.leaderboard.set_index("run").loc[imported.name]
    assert row["rank"] in (1, 2) and row["scored"] == 12
    card = board.run_card(tables, imported.name).set_index("field")["value"]
    assert card["harness"] == "lmms-eval 0.7.3" and card["protocol"] == "lmms-eval"
    assert card["imported from"].count(".json") == 3 and "/" not in card["imported from"]
    site = tmp_path / "site"
    export = run_cli("leaderboard", "export", "--results", str(results), "--data", str(small_bench), "--out", str(site))
    assert export.returncode == 0, export.stderr
    assert imported.name in (site / "index.html").read_text()
