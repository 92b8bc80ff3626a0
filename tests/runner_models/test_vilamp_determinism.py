"""ViLAMP answers do not depend on cache state or on how the run was driven (tiny models, CPU):
the streamed visual tokens equal the whole-video computation, and ``runner score`` gives
byte-identical ``raw_output`` cold, warm, without a cache, resumed after SIGKILL and on Ray."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.models

from runner.models import load_model
from runner.vilamp.merging import merge_video, pool_keyframe

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    from tiny_models import build_vilamp
    return build_vilamp(tmp_path_factory.mktemp("ckpt") / "vilamp", learned_merger=True)


@pytest.mark.parametrize("profile", ["released", "paper"])
def test_streamed_tokens_equal_the_whole_video_merge(bench, learned, profile):
    model = load_model("vilamp", str(learned), cache_dir="none", keyframes=5, chunk=7, profile=profile,
                       min_relevance=-1)
    case = bench.cases[2]
    streamed = model.visual_tokens(case, bench)
    keys = model.keyframes(case, bench, list(range(case.length)))
    with torch.no_grad():
        frames = bench.frames_at(case, list(range(case.length)))
        patches = model.vlm.model.multi_modal_projector(model.vision_features(frames))
        merged = merge_video(patches, model._merge_query(case), keys, model.merger, model.profile.merge_reference)
    expected = []
    for f in range(case.length):
        expected.append(pool_keyframe(patches[f:f + 1], model.keyframe_pool)[0] if f in keys else merged[f:f + 1])
    expected = torch.cat(expected + [model.vlm.model.image_newline[None]])
    assert streamed.shape == expected.shape
    assert torch.allclose(streamed, expected, atol=1e-5, rtol=0)


def test_clip_embeddings_cold_warm_and_uncached_are_identical(bench, learned, tmp_path):
    case = bench.cases[0]
    indices = list(range(case.length))
    cold = load_model("vilamp", str(learned), cache_dir=tmp_path / "c")
    a = cold.clip_embeddings(case, bench, indices)
    warm = load_model("vilamp", str(learned), cache_dir=tmp_path / "c")
    b = warm.clip_embeddings(case, bench, indices)
    assert warm.stats()["clip_cache"]["misses"] == 0
    c = load_model("vilamp", str(learned), cache_dir="none").clip_embeddings(case, bench, indices)
    assert a.dtype == b.dtype == c.dtype == np.float32
    assert a.tobytes() == b.tobytes() == c.tobytes()


def _score(bench_root: Path, model: Path, out: Path, cache: str, *extra: str, wait: bool = True):
    env = dict(os.environ, NIAH_FEATURE_CACHE=cache,
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "runner", "score", "--data", str(bench_root), "--model", "vilamp",
           "--model-path", str(model), "--out", str(out), "--device", "cpu", "--no-progress", *extra]
    if not wait:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _raw(out: Path) -> dict[str, str]:
    [run] = [p for p in out.iterdir() if p.is_dir()]
    lines = [json.loads(l) for f in sorted(run.glob("results*.jsonl")) for l in f.read_text().splitlines() if l]
    assert len({l["case_id"] for l in lines}) == len(lines)
    return {l["case_id"]: l["raw_output"] for l in lines}


@pytest.mark.parametrize("profile", ["released", "paper"])
def test_raw_output_identical_cold_warm_none_killed_and_ray(bench, learned, tmp_path, profile):
    root = bench.root
    args = ("--profile", profile)
    _score(root, learned, tmp_path / "cold", str(tmp_path / "cache"), *args)
    reference = _raw(tmp_path / "cold")
    assert len(reference) == len(bench.cases)
    _score(root, learned, tmp_path / "warm", str(tmp_path / "cache"), *args)
    _score(root, learned, tmp_path / "none", "none", *args)
    # SIGKILL once the first answer is on disk, then resume with the partly filled cache
    proc = _score(root, learned, tmp_path / "killed", str(tmp_path / "cache2"), *args, wait=False)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        files = list((tmp_path / "killed").glob("*/results*.jsonl"))
        if files and files[0].read_text().count("\n") >= 1:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    partial = len(_raw(tmp_path / "killed"))
    _score(root, learned, tmp_path / "killed", str(tmp_path / "cache2"), *args)
    runs = {"warm": _raw(tmp_path / "warm"), "none": _raw(tmp_path / "none"), "killed": _raw(tmp_path / "killed")}
    pytest.importorskip("ray")
    _score(root, learned, tmp_path / "ray", str(tmp_path / "cache3"), *args, "--engine", "ray", "--actors", "1")
    runs["ray"] = _raw(tmp_path / "ray")
    for name, raw in runs.items():
        assert raw == reference, f"{name} differs from the cold run"
    assert partial < len(bench.cases)  # the kill really interrupted the run
