"""Peak GPU memory and seconds per case of the HF video-LLM families at their default frame
budget, at real shapes with random weights (no weights can be downloaded where the GPU is).

Each family's tiny test checkpoint (``tests/runner_models/tiny_models.py``) gives the real
processor classes and a tokenizer; its config is then widened to the released checkpoint's
shapes (``REAL`` below: the same numbers ``runner/models/model_table.py`` estimates from) and
the model is built with random weights directly on the device in bf16, and scored through the
project's own ``HFVideoLLM`` on one case per length of a benchmark:

    .venv/bin/python bench/bench_gpu.py prepare --out bench/out/gpu          # a 2K..10K benchmark (here)
    python3 bench/bench_families_gpu.py --data bench/out/gpu/niah --families qwen2.5-vl,videollama3 --device cuda
    .venv/bin/python bench/bench_families_gpu.py --data data/niah --size tiny --device cpu   # dry run, tiny shapes
    .venv/bin/python bench/bench_families_gpu.py --device meta --families ...   # parameter counts at the real shapes

Prints, per family and length: frames, frame size and visual tokens that reached the model,
seconds, and peak GPU memory (``torch.cuda.max_memory_allocated``; "n/a" on CPU) beside the
README's estimate.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "runner_models"))  # tiny_models: processors and tokenizers

QWEN25_TEXT = dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                   num_key_value_heads=4, vocab_size=152064,
                   rope_parameters={"rope_type": "default", "mrope_section": [16, 24, 24], "rope_theta": 1000000.0})
#: the released checkpoints' shapes (vision tower, LLM) that change memory; see each family's shapes (video_families.FAMILIES)
REAL = {
    "llava-onevision": ({"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 26,
                         "num_attention_heads": 16, "image_size": 384, "patch_size": 14},
                        {k: v for k, v in QWEN25_TEXT.items() if k != "rope_parameters"}),
    "qwen2-vl": ({"depth": 32, "embed_dim": 1280, "hidden_size": 3584, "num_heads": 16, "mlp_ratio": 4}, QWEN25_TEXT),
    "qwen2.5-vl": ({"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
                    "out_hidden_size": 3584, "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31]},
                   QWEN25_TEXT),
    "qwen3-vl": ({"depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "num_heads": 16, "out_hidden_size": 4096,
                  "num_position_embeddings": 2304, "deepstack_visual_indexes": [8, 16, 24]},
                 dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36, num_attention_heads=32,
                      num_key_value_heads=8, head_dim=128, vocab_size=151936,
                      rope_parameters={"rope_type": "default", "mrope_section": [24, 20, 20],
                                       "mrope_interleaved": True, "rope_theta": 5000000.0})),
    "internvl3": ({"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
                   "image_size": [448, 448], "patch_size": [14, 14]},
                  {k: v for k, v in QWEN25_TEXT.items() if k != "rope_parameters"}),
    "videollama3": ({"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27, "num_attention_heads": 16},
                    {k: v for k, v in QWEN25_TEXT.items() if k != "rope_parameters"}),
}
REAL["llava-video"] = REAL["llava-onevision"]
SIDE = {"llava-onevision": 384, "llava-video": 384, "internvl3": 448}
#: tiny runs: the test suite's small options, so the dry run takes seconds
TINY_OPTIONS = {
    "llava-onevision": {"frames": 6}, "llava-video": {"frames": 5},
    "qwen2-vl": {"max_frames": 6, "max_pixels": 112 * 112, "min_pixels": 28 * 28},
    "qwen2.5-vl": {"max_frames": 8, "max_pixels": 84 * 84, "min_pixels": 28 * 28},
    "qwen3-vl": {"max_frames": 6, "max_pixels": 96 * 96, "min_pixels": 32 * 32, "total_pixels": 6 * 64 * 64},
    "internvl3": {"frames": 4}, "videollama3": {"max_frames": 5, "max_visual_tokens": 40, "min_pixels": 28 * 28},
}


def _widened(sub, shapes: dict):
    """``sub`` (a sub-config) rebuilt with ``shapes``, so derived fields (layer types, head size)
    follow the new sizes instead of the tiny ones."""
    values = sub.to_dict()
    for derived in ("layer_types", "head_dim", "max_window_layers"):
        if derived not in shapes:
            values.pop(derived, None)
    return type(sub)(**{**values, **shapes})


def build(name: str, size: str, device: str, folder: Path):
    """An ``HFVideoLLM`` of family ``name``: tiny checkpoint as is, or widened to ``REAL`` on ``device``."""
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

    from runner.models import hf_video, load_model
    from tiny_models import FAMILY_BUILDERS
    FAMILY_BUILDERS["llava-onevision" if name == "llava-video" else name](folder)
    options = TINY_OPTIONS[name] if size == "tiny" else {}
    if size == "tiny":
        return load_model(name, str(folder), device=device, dtype="float32", **options)
    config = AutoConfig.from_pretrained(folder)
    vision, text = REAL[name]
    config.vision_config = _widened(config.vision_config, vision)
    config.text_config = _widened(config.text_config, text)
    processor = AutoProcessor.from_pretrained(folder)
    if name in SIDE:       # fixed-size families: the processor at the real frame side
        side = SIDE[name]
        processor.video_processor.size = {"height": side, "width": side}
        if hasattr(processor, "num_image_tokens"):
            processor.num_image_tokens = (side // 14) ** 2
        if hasattr(processor, "image_seq_length"):
            processor.image_seq_length = int(side // 14 * config.downsample_ratio) ** 2
    with torch.device(device):
        model = AutoModelForImageTextToText.from_config(config, dtype=torch.bfloat16).eval()

    def real_vlm(model_path, what, device_, dtype, fam=None):
        return processor, model, folder, "random-weights", torch.bfloat16

    hf_video.load_hf_vlm = real_vlm
    return load_model(name, str(folder), device=device, dtype="bfloat16", **options)


def main() -> None:
    from niah.cases import Benchmark
    from runner.models.model_table import peak_gib
    from runner.models.video_families import FAMILIES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="benchmark folder (bench_gpu.py prepare, or make demo's); not with --device meta")
    parser.add_argument("--families", default="qwen2.5-vl,videollama3", help="comma-separated registered names")
    parser.add_argument("--size", choices=["real", "tiny"], default="real")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--lengths", default="2000,10000", help="one case of each of these lengths")
    args = parser.parse_args()
    import torch
    cases: dict = {}
    if args.device != "meta":
        if not args.data:
            parser.error("--data is needed to score a case")
        bench = Benchmark.open(args.data)
        lengths = [int(x) for x in args.lengths.split(",")]
        cases = {n: next((c for c in bench.cases if c.length == n), None) for n in lengths}
        if not any(cases.values()):   # a dry run on any benchmark: its shortest and longest case
            by_length = sorted(bench.cases, key=lambda c: c.length)
            cases = {by_length[0].length: by_length[0], by_length[-1].length: by_length[-1]}
    if args.device != "meta":
        print("| family | frames | case frames seen | frame size | visual tokens | seconds | peak GPU GiB | estimate GiB |")
        print("|---|---|---|---|---|---|---|---|")
    for name in args.families.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            model = build(name, args.size, args.device, Path(tmp) / name)
            if args.device == "meta":   # shapes only: the parameter count the estimate assumes
                params = sum(p.numel() for p in model.model.parameters()) / 1e9
                print(f"| {name} | {type(model.model).__name__}: {params:.2f}B parameters at the REAL shapes "
                      f"(model_table: {FAMILIES[name].shapes.params_b}B) |", flush=True)
                continue
            for length, case in cases.items():
                if case is None:
                    continue
                if args.device.startswith("cuda"):
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                start = time.perf_counter()
                answer = model.answer(case, bench)
                seconds = time.perf_counter() - start
                view = answer.diagnostics
                peak = (f"{torch.cuda.max_memory_allocated() / 1024 ** 3:.1f}" if args.device.startswith("cuda")
                        else "n/a")
                estimate = f"{peak_gib(name, view['visual_tokens']):.1f}" if args.size == "real" else "-"
                print(f"| {name} | {length} | {view['frames_in']} | {view['frame_size'][0]}x{view['frame_size'][1]} "
                      f"| {view['visual_tokens']} | {seconds:.2f} | {peak} | {estimate} |", flush=True)
            del model


if __name__ == "__main__":
    main()
