"""FLOP and byte ledger of ViLAMP's all-hits path (every SigLIP feature already in memory), at
real shapes on the ``meta`` device: no weights, no GPU, seconds on a CPU.

It runs the project's own step-2 code (:func:`runner.vilamp.visual.stream_features` and
:class:`runner.vilamp.visual.VisualTokens`, with the real-size projector and learned merger of
the ``released`` checkpoint) and the real-size Qwen2-7B prefill on ``meta`` tensors. Every ATen
op is counted twice: FLOPs by ``torch.utils.flop_counter``'s formulas (matmuls and attention;
at the first length the total is checked against ``FlopCounterMode`` run alongside) and bytes
moved by a ``TorchDispatchMode`` (each input read once, each output written once; views and
allocations move nothing). Each op's floor time is ``max(FLOPs / peak, bytes / HBM bandwidth)``
at the H100 rates below, summed per component. Attention is one causal flash kernel (Q, K, V
read once, no score matrix), as an H100 run uses. Feature copies from host memory are counted
at the PCIe rate; they are on the critical path unless the code overlaps them with compute
(:data:`runner.vilamp.visual.COPIES_OVERLAP_COMPUTE`). The keyframe walk runs for real on this
CPU (synthetic fp16 CLIP embeddings), is timed here and is reported apart from the device floor.

    .venv/bin/python bench/bench_ledger.py
    .venv/bin/python bench/bench_ledger.py --merge fast

Compared with the all-hits seconds per case measured on an H100 (``bench/results/
bench_gpu_h100_run2.txt``; that run's merger computed in fp32, before the ``released``
profile's fp16 merger), the floor says how much of the measured time the arithmetic and the
memory traffic explain.
"""
from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode, flop_registry

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runner.vilamp import visual  # noqa: E402
from runner.vilamp.frame_features import FrameFeatures  # noqa: E402
from runner.vilamp.keyframes import select_keyframes  # noqa: E402
from runner.vilamp.merging import Merger  # noqa: E402

#: H100 SXM5 80 GB: dense fp16/bf16 tensor-core peak, fp32 without tensor cores (torch's default
#: for fp32 matmuls), HBM3 bandwidth, and pinned host-to-device copies over PCIe Gen5 x16
#: (64 GB/s raw; 50 GB/s is about what pinned copies reach)
PEAK_FLOPS = {torch.float16: 989.4e12, torch.bfloat16: 989.4e12, torch.float32: 66.9e12}
HBM = 3.35e12
PCIE = 50e9
LENGTHS = (2000, 4000, 6000, 8000, 10000)
MEASURED = ROOT / "bench" / "results" / "bench_gpu_h100_run2.txt"
#: real shapes: SigLIP-so400m features (729 patches x 1152, last layer dropped) and Qwen2-7B
PATCHES, VISION_DIM = 729, 1152
TEXT = dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
            num_key_value_heads=4, vocab_size=152064)
CLIP_DIM = 512
TEXT_TOKENS = 200   # prompt, template and question around the visual tokens, roughly

COPIES = "feature copies host->device (PCIe)"
PROJECTOR = "projector"
IQ_IK = "merger linear_iq + linear_ik"
K_Q = "merger linear_k + linear_q"
SCORING = "merger scoring (cosines, softmax, weighted sum)"
GLUE = "gathers, stacks, pooling, concat"
LLM = "LLM prefill (+ last-position logits)"
WALK = "keyframe walk (CPU, measured)"
VISUAL = (PROJECTOR, IQ_IK, K_Q, SCORING, GLUE)
#: ops that copy rows picked by a list or tensor of indices, or put rows together (torch.stack is cat)
GATHERS = ("index", "index_select", "cat", "stack")


@dataclass
class Row:
    flops: int = 0
    bytes: int = 0
    seconds: float = 0.0
    ops: int = 0
    names: Counter = field(default_factory=Counter)
    gathered: int = 0   # bytes of gathers and stacks/concats (GATHERS)


def _nbytes(t: torch.Tensor) -> int:
    """Bytes an op touches in ``t``: its elements, but no more than its storage holds (a
    broadcast view reads its storage once)."""
    n = t.numel() * t.element_size()
    try:
        return min(n, t.untyped_storage().nbytes())
    except (RuntimeError, NotImplementedError):
        return n


def _moves_nothing(func) -> bool:
    """Views alias their input; ``empty*`` only allocates."""
    return func._overloadpacket.__name__.startswith("empty") or any(
        r.alias_info is not None and not r.alias_info.is_write for r in func._schema.returns)


class Ledger(TorchDispatchMode):
    """Per component (the innermost labelled module or :meth:`label` running): FLOPs, bytes and
    roofline seconds of every op."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, Row] = defaultdict(Row)
        self.stack: list[str] = [GLUE]
        self.hooks: list = []

    def label(self, name: str):
        ledger = self

        class _Label:
            def __enter__(self):
                ledger.stack.append(name)

            def __exit__(self, *exc):
                ledger.stack.pop()
        return _Label()

    def watch(self, module: torch.nn.Module, name: str) -> None:
        """Label the ops inside ``module``'s forward (hooks that return nothing, so outputs stay)."""
        def enter(*_) -> None:
            self.stack.append(name)

        def leave(*_) -> None:
            self.stack.pop()
        self.hooks += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]

    def unwatch(self) -> None:
        for hook in self.hooks:
            hook.remove()
        self.hooks = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        flops = int(flop_registry[packet](*args, **kwargs, out_val=out)) if packet in flop_registry else 0
        row = self.rows[self.stack[-1]]
        row.ops += 1
        row.names[packet.__name__] += 1
        if _moves_nothing(func):
            return out
        ins = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        if self.stack[-1] == COPIES:  # the payload crosses the bus once
            moved = sum(_nbytes(t) for t in outs)
            row.bytes += moved
            row.seconds += moved / PCIE
            return out
        moved = sum(_nbytes(t) for t in ins) + sum(_nbytes(t) for t in outs)
        dtype = next((t.dtype for t in ins if t.is_floating_point()), torch.float32)
        row.flops += flops
        row.bytes += moved
        if packet.__name__ in GATHERS:
            row.gathered += moved
        row.seconds += max(flops / PEAK_FLOPS.get(dtype, PEAK_FLOPS[torch.float32]), moved / HBM)
        return out


class _LedgerFeatures(FrameFeatures):
    """The feature memory with its fetches labelled as host-to-device copies."""

    ledger: Ledger

    def fetch(self, *args, **kwargs):
        with self.ledger.label(COPIES):
            return super().fetch(*args, **kwargs)


@dataclass
class Case:
    """One length's ledger."""

    frames: int
    rows: dict[str, Row]
    merged: int
    visual_tokens: int
    flop_counter_total: int | None
    overlapped: bool
    walk_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def gather_stack_bytes(self) -> int:
        """Bytes of the step's gathers (``index`` with a list or tensor) and stacks/concats, by op."""
        return self.rows.get(GLUE, Row()).gathered

    def total(self, names) -> Row:
        out = Row()
        for n in names:
            r = self.rows.get(n, Row())
            out.flops += r.flops
            out.bytes += r.bytes
            out.seconds += r.seconds
        return out

    @property
    def floor(self) -> float:
        """Seconds per case on the device at the rates: GPU work in sequence, the copies beside
        the visual work when the code overlaps them (else in sequence). The CPU walk, measured
        here, is apart (:attr:`walk_seconds`)."""
        gpu = self.total(VISUAL + (LLM,)).seconds
        copies = self.rows.get(COPIES, Row()).seconds
        visual_s = self.total(VISUAL).seconds
        return gpu + (max(0.0, copies - visual_s) if self.overlapped else copies)


FLASH = "ledger_fused_attention"


def _flash_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Causal attention as one flash kernel (what an H100 run uses): reads Q, K, V once (K and V
    at their 4 grouped heads), writes O; no score matrix. FLOPs: ``torch.utils.flop_counter``'s
    formula, which counts the full square (a causal kernel skips about half)."""
    out = torch.ops.aten._scaled_dot_product_flash_attention(query, key, value, 0.0, True, False, scale=scaling)[0]
    return out.transpose(1, 2), None


def build_parts(merge: str, device: str = "meta", dtype: torch.dtype = torch.float16):
    """The real-size projector + newline (from an HF LLaVA-OneVision config), learned merger and
    Qwen2-7B LLM + head, on ``device``; and the :class:`VisualTokens` the model would build."""
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration, Qwen2Config
    from transformers import AttentionInterface, SiglipVisionConfig
    vision = SiglipVisionConfig(hidden_size=VISION_DIM, intermediate_size=4304, num_hidden_layers=1,
                                num_attention_heads=16, image_size=384, patch_size=14)
    config = LlavaOnevisionConfig(text_config=Qwen2Config(**TEXT).to_dict(), vision_config=vision.to_dict(),
                                  vision_feature_layer=-1, vision_feature_select_strategy="full",
                                  multimodal_projector_bias=True)
    AttentionInterface.register(FLASH, _flash_attention)
    config.text_config._attn_implementation = FLASH
    with torch.device(device):
        vlm = LlavaOnevisionForConditionalGeneration(config).to(dtype).eval()
        merger = Merger(TEXT["hidden_size"], query_dim=CLIP_DIM, learned=True, native_dtype=True).to(dtype).eval()
    tokens = visual.VisualTokens.for_model(vlm, merger, "bilinear", 2, "keyframe-ordinal", dtype, merge=merge)
    return vlm, merger, tokens


def walk(frames: int, k: int, seed: int = 0) -> tuple[list[int], float, Ledger]:
    """The released walk on synthetic fp16 CLIP embeddings (pairwise cosine ~0.8, relevance ~0.3,
    so the walk and its floor run as on real frames), timed and byte-counted on this CPU."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(CLIP_DIM, generator=g)
    image = (base + 0.5 * torch.randn(frames, CLIP_DIM, generator=g) * base.norm() / CLIP_DIM ** 0.5).half()
    text = (0.3 * base / base.norm() + torch.randn(CLIP_DIM, generator=g) / CLIP_DIM ** 0.5).half()
    start = time.perf_counter()
    keys = _walk(image, text, k)
    seconds = time.perf_counter() - start
    ledger = Ledger()
    with ledger, ledger.label(WALK):
        _walk(image, text, k)
    return keys, seconds, ledger


def _walk(image: torch.Tensor, text: torch.Tensor, k: int) -> list[int]:
    """What :meth:`runner.vilamp.model.ViLAMP.select` runs on the embeddings (the walk returns
    the relevance the view reports, so nothing else touches the N x 512 matrix)."""
    return select_keyframes(image, text, k, 0.85, 0.2, profile="released").indices


def ledger_case(frames: int, parts, merge: str, k: int = 32, chunk: int = 64, text_tokens: int = TEXT_TOKENS,
                device: str = "meta", dtype: torch.dtype = torch.float16, check: bool = False) -> Case:
    """One all-hits case of ``frames`` frames on ``device``. ``check``: run ``FlopCounterMode``
    alongside (twice the dispatch cost) to hold the per-op FLOPs against it."""
    vlm, merger, tokens = parts
    keys, walk_s, walk_ledger = walk(frames, k)
    ledger = Ledger()
    for module, name in ((vlm.model.multi_modal_projector, PROJECTOR), (merger.linear_iq, IQ_IK),
                         (merger.linear_ik, IQ_IK), (merger.linear_k, K_Q), (merger.linear_q, K_Q),
                         (vlm.model.language_model, LLM), (vlm.lm_head, LLM)):
        ledger.watch(module, name)
    ledger.watch(merger, SCORING)
    projector = vlm.model.multi_modal_projector
    for module in (projector.linear_1, projector.act, projector.linear_2):   # the fast reading calls them apart
        ledger.watch(module, PROJECTOR)
    if tokens.fast is not None:
        for module, name in ((tokens.fast, SCORING), (tokens.fast.iq, IQ_IK), (tokens.fast.ik, IQ_IK),
                             (tokens.fast.k, K_Q)):
            ledger.watch(module, name)
    memory = _LedgerFeatures(10 ** 15, device=device, host_device=device)
    memory.ledger = ledger
    feature_keys = [("ledger", "v", f) for f in range(frames)]
    for key in feature_keys:
        memory.put(key, torch.empty(PATCHES, VISION_DIM, dtype=dtype, device=device))

    def encode(missing):
        raise AssertionError("the all-hits path encodes nothing")

    counter = FlopCounterMode(display=False) if check else contextlib.nullcontext()
    with torch.no_grad(), counter, ledger:
        query = merger.project_query(torch.empty(CLIP_DIM, dtype=dtype, device=device))
        out, merged = tokens.build(keys, frames, query,
                                   visual.stream_features(memory, feature_keys, chunk, device, encode))
        embeds = torch.empty(1, out.shape[0] + text_tokens, TEXT["hidden_size"], dtype=dtype, device=device)
        hidden = vlm.model.language_model(inputs_embeds=embeds, use_cache=True).last_hidden_state
        vlm.lm_head(hidden[:, -1:])
    ledger.unwatch()
    rows = dict(ledger.rows)
    rows[WALK] = Row(0, walk_ledger.rows[WALK].bytes, walk_s, walk_ledger.rows[WALK].ops)
    overlapped = bool(getattr(visual, "COPIES_OVERLAP_COMPUTE", False))
    total = int(counter.get_total_flops()) if check else None
    return Case(frames, rows, merged, int(out.shape[0]), total, overlapped, walk_s)


def measured_all_hits(path: Path = MEASURED) -> dict[int, float]:
    """frames -> all-hits seconds per case from a ``bench_gpu.py`` result file (empty if none)."""
    if not path.exists():
        return {}
    found = re.findall(r"^(\d+): .*?all hits ([\d.]+) s", path.read_text(), re.M)
    return {int(n): float(s) for n, s in found}


def _fmt(x: float, unit: float, digits: int = 2) -> str:
    return f"{x / unit:,.{digits}f}"


def report(cases: list[Case], merge: str) -> str:
    lines = [f"ViLAMP all-hits ledger, merge={merge} (released profile, fp16, K=32, chunk 64; meta device, "
             f"H100 rates: {PEAK_FLOPS[torch.float16] / 1e12:.1f} TFLOP/s fp16, {HBM / 1e12:.2f} TB/s HBM, "
             f"{PCIE / 1e9:.0f} GB/s PCIe)", "",
             "| frames | component | TFLOP | GB moved | floor s |", "|---|---|---|---|---|"]
    for c in cases:
        for name in (COPIES, *VISUAL, LLM, WALK):
            r = c.rows.get(name, Row())
            where = " (overlapped)" if name == COPIES and c.overlapped else ""
            lines.append(f"| {c.frames:,} | {name}{where} | {_fmt(r.flops, 1e12)} | {_fmt(r.bytes, 1e9)} | "
                         f"{r.seconds:.3f} |")
    measured = measured_all_hits()
    lines += ["", "| frames | visual tokens | device floor s/case | + walk here s | measured all-hits s/case "
                  "(H100, run 2) | device floor / measured | merger scoring MB per merged frame | "
                  "visual GFLOP per merged frame | gathers + stacks (GB) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for c in cases:
        m = measured.get(c.frames)
        scoring_mb = c.rows.get(SCORING, Row()).bytes / max(c.merged, 1) / 1e6
        visual_gf = c.total(VISUAL).flops / max(c.merged, 1) / 1e9
        lines.append(f"| {c.frames:,} | {c.visual_tokens:,} | {c.floor:.3f} | {c.walk_seconds:.3f} | "
                     f"{'not measured' if m is None else m} | {'' if m is None else f'{c.floor / m:.0%}'} | "
                     f"{scoring_mb:.1f} | {visual_gf:.2f} | {c.gather_stack_bytes / 1e9:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)), help="frames per case, comma-separated")
    parser.add_argument("--merge", default="exact", help="the merger reading (exact or fast)")
    parser.add_argument("--keyframes", type=int, default=32)
    args = parser.parse_args()
    start = time.perf_counter()
    parts = build_parts(args.merge)
    cases = []
    for n, frames in enumerate(int(x) for x in args.lengths.split(",")):
        case = ledger_case(frames, parts, args.merge, k=args.keyframes, check=n == 0)
        counted = sum(r.flops for r in case.rows.values())
        if case.flop_counter_total is not None and counted != case.flop_counter_total:
            raise SystemExit(f"FLOPs per op ({counted}) differ from FlopCounterMode ({case.flop_counter_total})")
        cases.append(case)
    print(report(cases, args.merge))
    print(f"\n({time.perf_counter() - start:.0f} s on this CPU)")


if __name__ == "__main__":
    main()
