"""Every model on cases of several needles: each model answers, plain and circular; the oracle sees
every needle the question is about; the report counts how many needles each run saw; ViLAMP's
input cut is recorded per case."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from niah.cases import Benchmark
from niah.view import needle_in_view, needles_seen
from niah_testlib import run_cli
from runner.cli import main as cli_main

pytestmark = pytest.mark.models  # tiny random-weight models of the real architectures (torch)

MODELS = {"random": None, "llava-onevision": "ov", "needle-oracle": "ov", "vilamp": "vilamp"}


@pytest.fixture(scope="module")
def family_bench(release, tmp_path_factory) -> Benchmark:
    """Three cases of 150 frames from the fixture release: one each of ordering, counting, distractors."""
    out = tmp_path_factory.mktemp("multi") / "niah"
    proc = run_cli("generator", "build", "--source", str(release), "--tasks", "ordering,counting,distractors",
                   "--lengths", "150", "--cases", "3", "--frame-size", "64", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Benchmark.open(out)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    from tiny_models import build_llava_ov, build_released
    root = tmp_path_factory.mktemp("ckpt")
    return {"ov": build_llava_ov(root / "ov"),
            "vilamp": build_released(root / "vilamp", config={"tokenizer_model_max_length": 100})}


def results(out: Path) -> list[dict]:
    [run] = [p for p in out.iterdir() if p.is_dir()]
    return [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("circular", [False, True])
def test_every_model_scores_multi_needle_cases(name, circular, family_bench, ckpt, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["score", "--data", str(family_bench.root), "--model", name, "--out", str(out), "--device", "cpu",
            "--no-progress", *(["--circular"] if circular else [])]
    if MODELS[name]:
        args += ["--model-path", str(ckpt[MODELS[name]])]
    if name in ("llava-onevision", "needle-oracle"):
        args += ["--frames", "8"]
    if name == "vilamp":
        args += ["--model-option", "cache_dir=none"]
    assert cli_main(args) == 0
    lines = results(out)
    assert len(lines) == 3 and all(line["error"] is None for line in lines), lines
    for line in lines:
        case = family_bench.case(line["case_id"])
        assert len(case.all_needles) >= 2 or case.family == "counting"
        assert (line["rotations"] is not None) == circular
        seen = line["view"]["full_frames"]
        if name == "needle-oracle":  # only the asked needles' frames, and every one of them seen
            spans = [range(n.start_frame, n.start_frame + n.num_frames) for n in case.asked_needles]
            assert all(any(i in s for s in spans) for i in seen)
            assert all(any(i in s for i in seen) for s in spans)
            assert needle_in_view(line["view"], case) == len(seen)
        if name == "vilamp":  # every frame is at least one token: over the limit of 100 positions
            assert line["input_cut"] >= case.length - 100 > 0 and all(r.get("raw_output") is not None for r in line["rotations"] or [])
    capsys.readouterr()
    assert cli_main(["report", "--out", str(out), "--data", str(family_bench.root)]) == 0
    report = capsys.readouterr().out
    assert "needles seen" in report


def test_needles_seen_counts_every_needle_and_in_view_the_asked_ones(family_bench):
    case = next(c for c in family_bench.cases if c.family == "distractors")
    target = case.needle
    other = next(n for n in case.all_needles if n != target)
    view = {"full_frames": [other.start_frame, other.start_frame + 1]}
    assert needle_in_view(view, case) == 0 and needles_seen(view, case) == 1
    view = {"full_frames": [target.start_frame, other.start_frame]}
    assert needle_in_view(view, case) == 1 and needles_seen(view, case) == 2
    counting = next(c for c in family_bench.cases if c.family == "counting")
    last = counting.all_needles[-1]
    assert needle_in_view({"full_frames": [last.start_frame]}, counting) == 1  # every marker is asked about
    assert needles_seen({"full_frames": []}, counting) == 0 and needles_seen(None, counting) is None
