"""Cross-case reuse of SigLIP features: the same answers as encoding every case anew, far fewer
encodes, the counters in ``stats.json``, and the manifest-only simulation."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.models

from niah.schedule import locality_order, simulate_reuse
from niah.schema import Case, Needle, Segment
from runner.models import load_model
from runner.vilamp.frame_features import FrameFeatures, parse_bytes
from niah_testlib import demo_bench

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench32(tmp_path_factory):
    """32 cases of 100 and 200 frames on the demo source."""
    return demo_bench(tmp_path_factory.mktemp("bench32") / "niah", "100,200", 32)


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    from tiny_models import build_vilamp
    return build_vilamp(tmp_path_factory.mktemp("ckpt") / "vilamp", learned_merger=True)


def test_reuse_gives_the_per_case_answers_with_far_fewer_encodes(bench32, learned):
    per_case = load_model("vilamp", str(learned), cache_dir="none", feature_memory=0)
    reuse = load_model("vilamp", str(learned), cache_dir="none")
    cases = locality_order(bench32.cases)
    same_text = 0
    for case in cases:
        a, b = per_case.visual_tokens(case, bench32), reuse.visual_tokens(case, bench32)
        # the encoder sees other batches with reuse: equal up to float rounding
        assert torch.allclose(a, b, atol=1e-5, rtol=0), case.case_id
        same_text += per_case.generate(a, case) == reuse.generate(b, case)
    assert same_text == len(cases)
    frames = sum(c.length for c in cases)
    assert per_case.stats()["vision_frames_encoded"] == per_case.stats()["case_frames"] == frames
    unique = len({(r.video_id, r.frame) for c in cases for r in bench32.frame_refs(c)})
    st = reuse.stats()
    assert st["case_frames"] == frames and st["vision_frames_encoded"] == unique  # everything fits: once each
    assert st["vision_frames_encoded"] < 0.7 * frames  # haystacks overlap: 2,852 of 4,800 here


def test_memory_budget_bounds_what_is_kept():
    mem = FrameFeatures(parse_bytes("1KB"))
    for i in range(10):
        mem.put(("s", "v", i), torch.zeros(100, dtype=torch.float32))  # 400 bytes each
    assert mem.used <= 1000 and mem.get(("s", "v", 9)) is not None and mem.get(("s", "v", 0)) is None
    assert parse_bytes("32GB") == 32 * 10 ** 9 and parse_bytes("1GiB") == 2 ** 30 and parse_bytes("0") == 0


def test_score_prints_encodes_per_case_frame_and_writes_stats(bench, learned, tmp_path):
    env = dict(os.environ, NIAH_FEATURE_CACHE="none",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "runner", "score", "--data", str(bench.root), "--model", "vilamp",
                           "--model-path", str(learned), "--out", str(tmp_path), "--device", "cpu",
                           "--no-progress"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [run] = [p for p in tmp_path.iterdir() if p.is_dir()]
    stats = json.loads((run / "stats.json").read_text())
    frames = sum(c.length for c in bench.cases)
    unique = len({(r.video_id, r.frame) for c in bench.cases for r in bench.frame_refs(c)})
    from tiny_models import IMAGE_SIZE, PATCH
    frame_bytes = (IMAGE_SIZE // PATCH) ** 2 * 24 * 4  # SigLIP output of the tiny tower, fp32
    # on a CPU every reuse counts as the copy it would be from host memory to a GPU
    assert {k: stats[k] for k in ("vision_frames_encoded", "case_frames", "feature_bytes_to_device")} == {
        "vision_frames_encoded": unique, "case_frames": frames, "feature_bytes_to_device": (frames - unique) * frame_bytes}
    assert stats["cases_scored"] == len(bench.cases) and stats["llm_prefill_tokens"] > frames
    assert f"vision encodes per case frame: {unique / frames:.4f}" in proc.stdout


def _case(cid: str, segments: list[tuple[str, int, int]]) -> Case:
    segs = [Segment(v, s, n, "haystack") for v, s, n in segments]
    total = sum(n for _, _, n in segments)
    segs.append(Segment("needle", 0, 2, "needle"))
    return Case(case_id=cid, length=total + 2, fps=1.0, depth=1.0,
                needle=Needle("needle", "q", total, 2), segments=segs, question="?",
                options=["A. x", "B. y"], answer="A", task_type="t", domain="d", sub_category="s")


def test_simulation_counts_encodes_and_locality_order_helps():
    a = _case("a", [("v1", 0, 10)])
    b = _case("b", [("v2", 0, 10)])
    c = _case("c", [("v1", 5, 10)])      # shares v1 5..9 with a
    # capacity 12: a (12 encodes), b (10 more, a's frames evicted), c (all 10 v1 frames again)
    assert simulate_reuse([a, b, c], 12).encoded == 12 + 10 + 10
    ordered = locality_order([a, b, c])
    assert [x.case_id for x in ordered] == ["a", "c", "b"]
    assert simulate_reuse(ordered, 12).encoded == 12 + 5 + 10   # c right after a: v1 5..9 and the needle hit
    assert simulate_reuse([a, b, c], 0).encoded == 36           # no memory: every case frame
    assert simulate_reuse([a, b, c], 10 ** 6).unique_frames == 27


def test_score_on_a_tape_shard_reuses_as_the_replay_predicts_with_the_same_answers(
        small_bench, learned, tmp_path, monkeypatch, capsys):
    """`runner score --model vilamp --shard 1/2` on a tape benchmark under a budget that forces
    evictions: X within 10 % of the replay of that shard (next-use eviction, same budget in
    frames), and every answer equal to encoding every case frame (`--feature-memory 0`)."""
    from niah.cases import Benchmark
    from niah.results import read_run
    from runner import cli
    from runner.score import select_cases
    from tiny_models import IMAGE_SIZE, PATCH
    monkeypatch.setenv("NIAH_FEATURE_CACHE", "none")
    bench = Benchmark.open(small_bench)
    assert bench.dataset["haystacks"]["layout"] == "tape"
    frame_bytes = (IMAGE_SIZE // PATCH) ** 2 * 24 * 4  # SigLIP output of the tiny tower, fp32
    capacity = 120  # frames: less than one case, so frames are evicted within and across cases
    shard = locality_order(select_cases(bench, shard=(1, 2)))
    predicted = simulate_reuse(shard, capacity, "next-use").encodes_per_case_frame
    base = ["score", "--data", str(small_bench), "--model", "vilamp", "--model-path", str(learned), "--out",
            str(tmp_path), "--device", "cpu", "--no-progress", "--shard", "1/2"]
    assert cli.main([*base, "--run-name", "reuse", "--feature-memory", str(capacity * frame_bytes)]) == 0
    out = capsys.readouterr().out
    x = float(out.split("vision encodes per case frame: ")[1].split()[0])
    assert abs(x - predicted) <= 0.1 * predicted, (x, predicted)
    assert predicted < 0.6  # frames are reused at all under this budget
    stats = json.loads((tmp_path / "reuse" / "stats.json").read_text())
    hits = stats["case_frames"] - stats["vision_frames_encoded"]
    assert stats["feature_bytes_to_device"] == hits * frame_bytes  # CPU: every reuse counted as a copy
    assert "feature bytes to device per case frame:" in out
    assert cli.main([*base, "--run-name", "fresh", "--feature-memory", "0"]) == 0
    reuse, fresh = read_run(tmp_path / "reuse")[1], read_run(tmp_path / "fresh")[1]
    assert len(reuse) == len(shard) and {k: r.raw_output for k, r in reuse.items()} == {
        k: r.raw_output for k, r in fresh.items()}
