"""Real-size ViLAMP on a GPU: seconds per case and peak GPU memory at 2K..10K frames, encoding
every case frame (the per-case schedule) vs reusing SigLIP features across cases, and the
projected hours for the 3,000-case benchmark.

No weights can be downloaded where the GPU is, so the model is built from configs of the real
shapes with random weights, directly on the GPU: SigLIP-so400m (26 layers, 384 px, 729
patches) + 2-layer projector + Qwen2-7B, CLIP ViT-B/32, the learned merger at width 3584;
every FLOP and byte is real. It runs the project's own ``ViLAMP`` (``released`` profile, fp16)
on a demo-shaped benchmark whose haystack frames are flat colours (~1 KB per stored frame, so
it travels to the GPU machine):

    .venv/bin/python bench/bench_gpu.py prepare --out bench/out/gpu            # here (CPU, ffmpeg)
    python3 bench/bench_gpu.py run --data bench/out/gpu/niah --device cuda      # on the GPU machine
    .venv/bin/python bench/bench_gpu.py run --data bench/out/gpu/niah --size tiny --device cpu   # dry run

Per length it scores one case six ways on one model instance: per-case with a cold CLIP cache,
per-case with a warm CLIP cache (each frame through SigLIP), reuse filling a host-only feature
memory, reuse with every frame there (each copied host -> device), the same two with the
device-resident tier (``--device-feature-memory``: frames stay where they were computed, no
copy); then the next case of that length with the device tier on. ``--project name=X``
(X: vision encodes per case frame, from ``bench/bench_reuse.py``) prints the hours for 3,000
cases (600 per length) at that X: per case, warm time minus the SigLIP share saved,
``t_hit + X * (t_warm - t_hit)``, with the host-only and the device-resident all-hits times.
Every row is printed for each reading of the merger in ``--merge`` (default ``exact,fast``:
the released code's merger, then ``merge=fast``, docs/vilamp-speed.md).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "runner_models"))  # tiny_models: the test tokenizer


# ----- data (here) ---------------------------------------------------------------------------
def prepare(out: Path, cases: int) -> None:
    """The demo source with flat-colour haystacks, built into a benchmark at 2K..10K frames."""
    import generator.demo_source as demo
    from generator.build import BuildConfig, build
    from generator.plan import parse_lengths

    def flat(n: int) -> str:  # one flat colour per haystack video
        return f"color=c={demo.HAYSTACK_COLOURS[n][0]}:s={demo.WIDTH}x{demo.HEIGHT}:r=1:d={demo.HAYSTACK_SECONDS}"

    demo._haystack_filter = flat
    niah = out / "niah"
    build(BuildConfig(source=None, out=str(niah), lengths=tuple(parse_lengths("2k..10k")), cases=cases))
    shutil.rmtree(niah / "demo-source", ignore_errors=True)
    size = sum(p.stat().st_size for p in niah.rglob("*") if p.is_file())
    print(f"wrote {niah}: {size / 1e6:.1f} MB")


# ----- model (there) -----------------------------------------------------------------------------
REAL = {"vision": dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=26, num_attention_heads=16,
                       image_size=384, patch_size=14),
        "text": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                     num_key_value_heads=4, vocab_size=152064),
        "clip": {}}  # CLIPConfig() defaults are ViT-B/32
TINY = {"vision": dict(hidden_size=24, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
                       image_size=42, patch_size=14),
        "text": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                     num_key_value_heads=2, vocab_size=64),
        "clip": dict(text_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                  "num_attention_heads": 2},
                     vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                    "num_attention_heads": 2, "image_size": 32, "patch_size": 16},
                     projection_dim=16)}


def make_folder(folder: Path, shapes: dict) -> "object":
    """Config, processor, CLIP and merger files of a ViLAMP folder (no LLaVA weights: the VLM is
    built on the device instead) and the LLaVA-OneVision config."""
    import torch
    from safetensors.torch import save_file
    from tiny_models import CHAT_TEMPLATE, build_tokenizer
    from transformers import (CLIPConfig, CLIPModel, LlavaOnevisionConfig, LlavaOnevisionImageProcessor,
                              LlavaOnevisionProcessor, LlavaOnevisionVideoProcessor, Qwen2Config,
                              SiglipVisionConfig)
    from runner.vilamp.merging import Merger

    tokenizer = build_tokenizer()
    side = shapes["vision"]["image_size"]
    text = Qwen2Config(**shapes["text"], max_position_embeddings=32768, rope_theta=1e6, tie_word_embeddings=False,
                       eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    config = LlavaOnevisionConfig(vision_config=SiglipVisionConfig(**shapes["vision"], vision_use_head=False),
                                  text_config=text, image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
                                  video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
                                  vision_feature_layer=-1, vision_feature_select_strategy="full",
                                  image_grid_pinpoints=[[side, side]])
    folder.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(folder)
    size = {"height": side, "width": side}
    LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size=size, image_grid_pinpoints=[[side, side]],
                                                     image_mean=[0.5] * 3, image_std=[0.5] * 3),
        tokenizer=tokenizer, video_processor=LlavaOnevisionVideoProcessor(size=size, image_mean=[0.5] * 3,
                                                                          image_std=[0.5] * 3),
        num_image_tokens=(side // shapes["vision"]["patch_size"]) ** 2, vision_feature_select_strategy="full",
        chat_template=CHAT_TEMPLATE).save_pretrained(folder)
    clip_config = CLIPConfig(**shapes["clip"])
    torch.manual_seed(1)
    CLIPModel(clip_config).half().save_pretrained(folder / "clip")
    build_tokenizer(chat_template=None).save_pretrained(folder / "clip")
    hidden = shapes["text"]["hidden_size"]
    merger = Merger(hidden, query_dim=clip_config.projection_dim, learned=True)
    save_file({k: v.contiguous().half() for k, v in merger.state_dict().items()},
              str(folder / "vilamp_merger.safetensors"))
    (folder / "vilamp_config.json").write_text(json.dumps({
        "max_frame_num": 32, "f2f_thrd": 0.85, "mm_spatial_pool_mode": "bilinear",
        "composer_type": "sig_pooling", "composer_proj_dim": clip_config.projection_dim}))
    return config


def load(folder: Path, config: object, device: str, feature_memory: str, device_feature_memory: str = "0",
         merge: str = "exact"):
    """``load_model("vilamp", folder)`` with the VLM built from ``config`` on ``device``
    (random weights) where the loader would read weight files; ``merge``: the merger's reading."""
    import torch
    from transformers import AutoProcessor, LlavaOnevisionForConditionalGeneration
    import runner.vilamp.model as vilamp_model
    from runner.models import hub, load_model

    def build_on_device(model_path: str, what: str, device_: str, dtype: str):
        torch_dtype = hub.torch_dtype(dtype, device_)
        torch.manual_seed(0)
        with torch.device(device_):
            vlm = LlavaOnevisionForConditionalGeneration(config).to(torch_dtype).eval()
        return AutoProcessor.from_pretrained(folder), vlm, folder, "random-weights", torch_dtype

    vilamp_model.load_hf_vlm = build_on_device
    return load_model("vilamp", str(folder), device=device, cache_dir=str(folder / "clip-cache"),
                      feature_memory=feature_memory, device_feature_memory=device_feature_memory, merge=merge)


def run(args: argparse.Namespace) -> None:
    from niah.cases import Benchmark
    from runner.models.hub import check_device

    check_device(args.device)  # before any weights are made: no CUDA is one line at once
    bench = Benchmark.open(args.data)
    work = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    config = make_folder(work / "vilamp", REAL if args.size == "real" else TINY)
    for merge in args.merge.split(","):
        run_reading(args, work, config, merge, bench)
    shutil.rmtree(work, ignore_errors=True)


def run_reading(args: argparse.Namespace, work: Path, config: object, merge: str, bench: object) -> None:
    """Every row for one reading of the merger (``merge=exact`` or ``fast``)."""
    import torch
    from niah.schedule import locality_order
    from runner.vilamp.frame_features import FrameFeatures, parse_bytes

    cuda = args.device.startswith("cuda")
    start = time.perf_counter()
    if cuda:
        torch.cuda.empty_cache()
    model = load(work / "vilamp", config, args.device, args.feature_memory, merge=merge)
    print(f"\n== merge={merge} ==")
    print(f"model built in {time.perf_counter() - start:.1f} s on {torch.cuda.get_device_name() if cuda else 'cpu'}; "
          f"dtype {model.settings()['dtype']}, profile {model.settings()['profile']}; "
          f"weights {torch.cuda.memory_allocated() / 2**30:.1f} GiB" if cuda else "")
    by_length: dict[int, list] = {}
    for case in locality_order(bench.cases):
        by_length.setdefault(case.length, []).append(case)

    def timed(case) -> tuple[float, float, int]:
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        encoded = model.frame_features.encoded
        t0 = time.perf_counter()
        model.answer(case, bench)
        if cuda:
            torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0
        return time.perf_counter() - t0, peak, model.frame_features.encoded - encoded

    rows = []
    budget = parse_bytes(args.feature_memory)
    on_device = parse_bytes(args.device_feature_memory, "--device-feature-memory")
    for length in sorted(by_length):
        cases = by_length[length]
        model.frame_features = FrameFeatures(0)            # per-case: every frame through SigLIP
        cold = timed(cases[0]) if not args.no_cold else (float("nan"), 0.0, 0)
        warm = timed(cases[0])
        model.frame_features = FrameFeatures(budget, pin=cuda, device=args.device)   # reuse, host memory only
        fill = timed(cases[0])
        hit = timed(cases[0])
        host_bytes = model.frame_features.bytes_to_device
        model.frame_features = None
        model.frame_features = FrameFeatures(budget, pin=cuda, device=args.device, device_budget_bytes=on_device)
        fill_dev = timed(cases[0])
        before = model.frame_features.bytes_to_device
        hit_dev = timed(cases[0])
        dev_bytes = model.frame_features.bytes_to_device - before
        nxt = timed(cases[1]) if len(cases) > 1 else (float("nan"), float("nan"), 0)
        tokens = model.last.get("visual_tokens")
        model.frame_features = FrameFeatures(0)
        rows.append((length, cold, warm, fill, hit, nxt, tokens, fill_dev, hit_dev, host_bytes, dev_bytes))
        print(f"{length}: per-case cold {cold[0]:.2f} s, warm {warm[0]:.2f} s; reuse fill {fill[0]:.2f} s, "
              f"all hits {hit[0]:.2f} s ({host_bytes / 1e6:.1f} MB to device); device-resident fill {fill_dev[0]:.2f} s, "
              f"all hits {hit_dev[0]:.2f} s ({dev_bytes / 1e6:.1f} MB to device); next case {nxt[0]:.2f} s "
              f"({nxt[2]} encodes); peak {max(cold[1], warm[1], fill[1], hit[1], nxt[1], fill_dev[1], hit_dev[1]):.1f} GiB; "
              f"{tokens} visual tokens", flush=True)

    print("\n| frames | per-case, CLIP warm (s) | all hits, host memory (s) | all hits, device-resident (s) "
          "| host / device-resident | next case (s, encodes) | peak GPU (GiB) | visual tokens |")
    print("|---|---|---|---|---|---|---|---|")
    for length, cold, warm, fill, hit, nxt, tokens, fill_dev, hit_dev, _, _ in rows:
        peak = max(cold[1], warm[1], fill[1], hit[1], nxt[1], fill_dev[1], hit_dev[1])
        print(f"| {length:,} | {warm[0]:.2f} | {hit[0]:.2f} | {hit_dev[0]:.2f} | {hit[0] / hit_dev[0]:.2f}x | "
              f"{nxt[0]:.2f} ({nxt[2]:,}) | {peak:.1f} | {tokens:,} |")
    if not cuda:
        print("(CPU: the 'device' tier is host memory too; only the GPU figures mean anything for speed)")
    per_length = 3000 / len(rows)
    hours = sum(r[2][0] for r in rows) * per_length / 3600
    print(f"\nprojected 3,000 cases ({per_length:.0f} per length), per-case schedule (CLIP warm): {hours:.2f} h")
    for item in args.project:
        name, x = item.split("=")
        for label, column in (("host memory", 4), ("device-resident", 8)):
            total = sum(r[column][0] + float(x) * (r[2][0] - r[column][0]) for r in rows) * per_length
            print(f"projected 3,000 cases, reuse at {float(x):.4f} vision encodes per case frame ({name}), "
                  f"{label}: {total / 3600:.2f} h")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--out", default="bench/out/gpu")
    p.add_argument("--cases", type=int, default=10, help="cases in all (2 per length by default)")
    r = sub.add_parser("run")
    r.add_argument("--data", default="bench/out/gpu/niah")
    r.add_argument("--device", default="cuda")
    r.add_argument("--size", choices=["real", "tiny"], default="real")
    r.add_argument("--feature-memory", default="32GB")
    r.add_argument("--device-feature-memory", default="16GB",
                   help="device-resident part of the feature memory for the device-resident rows")
    r.add_argument("--no-cold", action="store_true", help="skip the cold-CLIP-cache run (saves device time)")
    r.add_argument("--merge", default="exact,fast",
                   help="the merger readings to run, comma-separated (exact: the released code's; fast)")
    r.add_argument("--project", action="append", default=[], metavar="NAME=X",
                   help="print projected hours at X vision encodes per case frame")
    args = parser.parse_args()
    if args.cmd == "prepare":
        prepare(Path(args.out), args.cases)
    else:
        run(args)


if __name__ == "__main__":
    from niah.errors import InputError
    try:
        main()
    except InputError as exc:  # no CUDA, missing weights or data: one line, as the CLIs say it
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    except ModuleNotFoundError as exc:  # the core install has no torch
        print(f"error: {exc.name} is not installed: this benchmark needs `make install`", file=sys.stderr)
        raise SystemExit(2) from None
