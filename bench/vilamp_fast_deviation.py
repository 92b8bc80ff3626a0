"""How far ViLAMP's ``merge=fast`` reading lands from ``merge=exact`` (the ``released`` profile).

1. **Merged tokens at real shapes.** The real-size projector (1152 -> 3584 -> 3584, GELU) and
   learned merger (4 maps of 3584, CLIP query 512, temperature 0.01) with random weights, in
   fp16 on this CPU, on a few frames of random SigLIP-sized features (frames before the first
   keyframe, a keyframe, frames after it): the largest difference of a merged token between the
   readings in fp16 steps (units of the fp16 spacing at the token's largest magnitude), and
   whether the keyframes' tokens are identical.
2. **Answers of a tiny model.** The tests' tiny random-weight ViLAMP (learned merger) answers
   every case of a demo benchmark under both readings (fp16 on this CPU): the share of identical
   answers, with its 95 % Clopper-Pearson interval (``scipy.stats.binomtest``).

    .venv/bin/python bench/vilamp_fast_deviation.py --cases 240
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "runner_models"))

from runner.vilamp.merging import Merger  # noqa: E402
from runner.vilamp.visual import VisualTokens  # noqa: E402


def fp16_steps(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|a - b| of tokens (rows) in units of the fp16 spacing at the token's largest magnitude (as
    the fidelity tests count steps: relative to the token, so values near zero do not inflate it)."""
    big = torch.maximum(a.float().abs(), b.float().abs()).amax(-1, keepdim=True).half()
    spacing = (torch.nextafter(big, torch.tensor(float("inf"), dtype=torch.float16)) - big).float()
    return (a.float() - b.float()).abs() / spacing


def real_shape_tokens(frames: int = 6, seed: int = 0, dtype: torch.dtype = torch.float16) -> dict:
    """Both readings' tokens for one random case at real widths (keyframe at position 2)."""
    from transformers import LlavaOnevisionConfig, Qwen2Config, SiglipVisionConfig
    from transformers.models.llava_onevision.modeling_llava_onevision import LlavaOnevisionMultiModalProjector
    torch.manual_seed(seed)
    config = LlavaOnevisionConfig(text_config=Qwen2Config(hidden_size=3584).to_dict(),
                                  vision_config=SiglipVisionConfig(hidden_size=1152).to_dict(),
                                  multimodal_projector_bias=True)
    projector = LlavaOnevisionMultiModalProjector(config).to(dtype).eval()
    merger = Merger(3584, query_dim=512, learned=True, native_dtype=True).to(dtype).eval()
    newline = torch.randn(3584).to(dtype)
    raw = torch.randn(frames, 729, 1152).to(dtype)
    query = merger.project_query(torch.randn(512).to(dtype)).detach()
    keys = [2]
    out = {}
    for merge in ("exact", "fast"):
        tokens = VisualTokens(projector, merger, newline, "bilinear", 2, "keyframe-ordinal", dtype, merge=merge)
        out[merge], _ = tokens.build(keys, frames, query, [(range(0, frames), raw)])
    return {"exact": out["exact"], "fast": out["fast"], "keyframe_rows": slice(2, 2 + 196)}


def tiny_answers(cases: int, work: Path) -> tuple[int, int]:
    """(identical answers, cases) of the tiny model under the two readings."""
    from niah_testlib import demo_bench
    from tiny_models import build_vilamp
    from runner.models import load_model
    bench = demo_bench(work / "niah", "60,120", cases)
    path = build_vilamp(work / "vilamp", learned_merger=True)
    models = {m: load_model("vilamp", str(path), cache_dir="none", dtype="float16", merge=m) for m in ("exact", "fast")}
    same = 0
    for case in bench.cases:
        texts = {merge: model.answer(case, bench).text for merge, model in models.items()}
        same += texts["exact"] == texts["fast"]
    return same, len(bench.cases)


def main() -> None:
    from scipy.stats import binomtest
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=240, help="demo cases for the answer agreement (0: skip)")
    parser.add_argument("--frames", type=int, default=6, help="frames of the real-shape case")
    args = parser.parse_args()
    start = time.perf_counter()
    real = real_shape_tokens(args.frames)
    steps = fp16_steps(real["exact"], real["fast"])
    key_rows = real["keyframe_rows"]
    merged = torch.ones(steps.shape[0], dtype=torch.bool)
    merged[key_rows] = False
    merged[-1] = False
    m = steps[merged]
    print(f"real shapes, {args.frames} frames (fp16, CPU): merged tokens differ by at most {float(m.max()):.0f} fp16 "
          f"steps (median {float(m.median()):.2f}, 99th percentile {float(m.flatten().quantile(0.99)):.2f}; "
          f"{float((m == 0).float().mean()):.1%} of values identical); keyframe tokens identical: "
          f"{bool(torch.equal(real['exact'][key_rows], real['fast'][key_rows]))}", flush=True)
    if args.cases <= 0:
        return
    with tempfile.TemporaryDirectory() as tmp:
        same, n = tiny_answers(args.cases, Path(tmp))
    ci = binomtest(same, n).proportion_ci(confidence_level=0.95)
    print(f"tiny model, {n} demo cases (fp16, CPU): identical answers {same}/{n} = {same / n:.1%} "
          f"(95 % CI {ci.low:.1%}..{ci.high:.1%}, Clopper-Pearson)")
    print(f"({time.perf_counter() - start:.0f} s on this CPU)")


if __name__ == "__main__":
    main()
