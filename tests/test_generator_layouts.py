"""Haystack layouts: the tape's properties, today's independent cases byte for byte, a tape too
short as one line, and what ``dataset.json`` and ``generator inspect`` say."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from generator.plan import parse_lengths, plan_cases
from niah.errors import InputError
from niah.schedule import haystack_runs
from niah_testlib import SMALL_BUILD, one_line_error, run_cli
from test_schedule import corpus

# manifests of the planner as it was before the tape (commit 9c25e08), on the corpus below
INDEPENDENT_DIGESTS = {
    "2k..10k, 400 cases, seed 3": "9f5aee7e87a4109c759d8a50a94531d729940dfd440f7f46b5b53eb0a5eb0874",
    "300,5000, 101 cases, seed 0, depths 0,0.5,1": "b05d4bf4710eae3d2c62c95aed40f75944b8cf168c648a7ebf5f503b02916082",
}
# `generator build` on the fixture release with SMALL_BUILD, before the tape
INDEPENDENT_SMALL_BUILD = "df70b901bd8d58ef8723c95a1e76dfe3b64f6a658749fd5b61d63aa3ed0accbc"


def digest(plan) -> str:
    return hashlib.sha256("".join(c.to_json() + "\n" for c in plan.cases).encode()).hexdigest()


def test_independent_layout_is_todays_planner_byte_for_byte():
    needles, haystacks = corpus(videos=90, long_range=(1800, 3600))
    got = {
        "2k..10k, 400 cases, seed 3": digest(plan_cases(needles, haystacks, parse_lengths("2k..10k"), 400, seed=3,
                                                         layout="independent")),
        "300,5000, 101 cases, seed 0, depths 0,0.5,1": digest(plan_cases(
            needles, haystacks, parse_lengths("300,5000"), 101, seed=0, depths=[0, 0.5, 1])),  # default layout
    }
    assert got == INDEPENDENT_DIGESTS


def test_tape_windows_are_other_videos_each_once_and_reproducible():
    needles, haystacks = corpus(videos=40)
    plan = plan_cases(needles, haystacks, parse_lengths("1k..5k:2k"), 90, seed=5, layout="tape")
    again = plan_cases(needles, haystacks, parse_lengths("1k..5k:2k"), 90, seed=5, layout="tape")
    assert digest(plan) == digest(again) and plan.tape == again.tape
    assert digest(plan) != digest(plan_cases(needles, haystacks, parse_lengths("1k..5k:2k"), 90, seed=6, layout="tape"))
    assert sorted(plan.tape) == sorted(haystacks) and plan.tape != sorted(haystacks)
    position = {v: i for i, v in enumerate(plan.tape)}
    starts = Counter()
    for case in plan.cases:
        runs = haystack_runs(case)
        videos = [v for v, _, _ in runs]
        assert len(set(videos)) == len(videos) and case.needle.video_id not in videos
        assert sum(n for _, _, n in runs) == case.length - case.needle.num_frames
        for (a, first, n), (b, start, _) in zip(runs, runs[1:]):  # consecutive tape videos, read whole
            assert position[b] == (position[a] + 1) % len(plan.tape) and start == 0 and first + n == haystacks[a]
        starts[runs[0][1] * 10 // haystacks[runs[0][0]]] += 1
    assert len(starts) >= 8  # windows open anywhere in a video, not only at its start


def test_a_window_never_reaches_the_needles_own_video():
    needles, haystacks = corpus(videos=30)
    haystacks = haystacks | {n.qa.video: n.frames for n in needles}  # needles and haystacks of one class
    plan = plan_cases(needles, haystacks, [1500], 60, seed=0, layout="tape")
    for case in plan.cases:
        assert case.needle.video_id not in {v for v, _, _ in haystack_runs(case)}


def test_tape_too_short_is_one_input_error():
    needles, haystacks = corpus(videos=6, long_range=(100, 200))
    with pytest.raises(InputError) as err:
        plan_cases(needles, haystacks, [2000], 10, seed=0, layout="tape")
    assert err.value.where == "--lengths" and "tape holds" in err.value.what


def test_build_records_layout_and_inspect_reports_sharing(release: Path, small_bench: Path, tmp_path: Path):
    dataset = json.loads((small_bench / "dataset.json").read_text())
    assert dataset["config"]["haystacks"] == "tape" and dataset["haystacks"]["layout"] == "tape"
    assert sorted(dataset["haystacks"]["tape"]) == [f"hay{k:08d}" for k in range(3)]
    inspect = run_cli("generator", "inspect", "--data", str(small_bench))
    assert inspect.returncode == 0 and "haystack layout: tape" in inspect.stdout
    assert "cases per haystack frame: mean" in inspect.stdout
    old = tmp_path / "old"
    proc = run_cli("generator", "build", "--source", str(release), "--out", str(old), *SMALL_BUILD,
                   "--haystacks", "independent")
    assert proc.returncode == 0, proc.stderr
    assert hashlib.sha256((old / "manifest.jsonl").read_bytes()).hexdigest() == INDEPENDENT_SMALL_BUILD
    assert "haystack layout: independent" in proc.stdout
    short = run_cli("generator", "build", "--source", str(release), "--out", str(tmp_path / "short"),
                    "--lengths", "100000", "--cases", "2", "--frame-size", "32")
    one_line_error(short, "--lengths", "tape holds", ignore=lambda line: line.startswith("ingest"))
