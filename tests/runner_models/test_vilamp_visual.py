"""Step 2 (runner/vilamp/visual.py) without gathers or stacks: the ``exact`` reading gives the
former list-indexed loop's tokens bit for bit; the ``fast`` reading is the same formula (equal in
float64); kept features reach the chunk without a stack."""
import random

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.models

import torch.nn as nn  # noqa: E402

from runner.vilamp.frame_features import FrameFeatures
from runner.vilamp.merging import Merger, pool_keyframe, reference_frames
from runner.vilamp.visual import FastMerge, VisualTokens, stream_features

SIDE, RAW, HIDDEN, QUERY = 3, 12, 16, 8


class Projector(nn.Module):
    """LLaVA-OneVision's projector layout (linear_1, act, linear_2)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear_1, self.act, self.linear_2 = nn.Linear(RAW, HIDDEN), nn.GELU(), nn.Linear(HIDDEN, HIDDEN)

    def forward(self, x):
        return self.linear_2(self.act(self.linear_1(x)))


def parts(dtype, seed=0, native=True):
    torch.manual_seed(seed)
    projector = Projector().to(dtype).eval()
    merger = Merger(HIDDEN, query_dim=QUERY, learned=True, native_dtype=native).to(dtype).eval()
    merger.tau.data.fill_(0.05)
    return projector, merger, torch.randn(HIDDEN).to(dtype)


def list_indexed_loop(projector, merger, newline, keys, frames, query, chunks, reference, dtype):
    """Step 2 as it was before the gathers and stacks went (the reference the exact reading must equal)."""
    key_set = set(keys)
    refs = reference_frames(keys, frames, reference)
    needed = {r for p, r in enumerate(refs) if r != p and p not in key_set}
    ref_keys, tokens = {}, []
    for positions, raw in chunks:
        positions = list(positions)
        feats = projector(raw.to(dtype))
        for j, p in enumerate(positions):
            if p in needed:
                ref_keys[p] = merger.key(feats[j])
        plain = [j for j, p in enumerate(positions) if p not in key_set]
        if plain:
            own = [j for j in plain if refs[positions[j]] == positions[j]]
            own_keys = dict(zip(own, merger.key(feats[own]))) if own else {}
            stacked = torch.stack([own_keys[j] if j in own_keys else ref_keys[refs[positions[j]]] for j in plain])
            rows = iter(merger(feats[plain], query, ref_keys=stacked))
        for j, p in enumerate(positions):
            tokens.append(pool_keyframe(feats[j:j + 1], "bilinear")[0] if p in key_set else next(rows)[None])
    tokens.append(newline[None].to(dtype))
    return torch.cat(tokens)


def chunked(raw, size):
    return [(range(s, min(s + size, len(raw))), raw[s:s + size]) for s in range(0, len(raw), size)]


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32])
@pytest.mark.parametrize("reference", ["keyframe-ordinal", "preceding-keyframe"])
def test_exact_reading_equals_the_list_indexed_loop_bit_for_bit(dtype, reference):
    rng = random.Random(7)
    for trial in range(12):
        projector, merger, newline = parts(dtype, seed=trial)
        frames, chunk = rng.randint(1, 40), rng.randint(1, 9)
        keys = sorted(rng.sample(range(frames), rng.randint(0, min(6, frames))))
        raw = torch.randn(frames, SIDE * SIDE, RAW).to(dtype)
        query = merger.project_query(torch.randn(QUERY).to(dtype)).detach()
        with torch.no_grad():
            expected = list_indexed_loop(projector, merger, newline, keys, frames, query, chunked(raw, chunk),
                                         reference, dtype)
        got, merged = VisualTokens(projector, merger, newline, "bilinear", 2, reference, dtype).build(
            keys, frames, query, chunked(raw, chunk))
        assert merged == frames - len(keys)
        assert got.dtype == expected.dtype and torch.equal(got, expected), (trial, frames, chunk, keys)


def test_fast_reading_is_the_same_formula():
    """In float64 the folded maps, the merge before the second layer (bias passing through) and the
    unit-key scores give the exact reading's tokens; in fp16 they differ by rounding only."""
    for dtype, tol in ((torch.float64, 1e-5), (torch.float16, 5e-2)):
        projector, merger, newline = parts(dtype, seed=3)
        frames, keys = 23, [4, 9, 17]
        raw = torch.randn(frames, SIDE * SIDE, RAW).to(dtype)
        query = merger.project_query(torch.randn(QUERY).to(dtype)).detach()
        out = {}
        for merge in ("exact", "fast"):
            tokens = VisualTokens(projector, merger, newline, "bilinear", 2, "keyframe-ordinal", dtype, merge=merge)
            out[merge], _ = tokens.build(keys, frames, query, chunked(raw, 5))
        assert out["fast"].shape == out["exact"].shape
        assert torch.allclose(out["fast"].double(), out["exact"].double(), atol=tol, rtol=0), dtype
        assert not torch.equal(out["fast"], out["exact"]) or dtype == torch.float64


def test_fast_reading_needs_the_learned_merger():
    projector, _, _ = parts(torch.float32)
    with pytest.raises(ValueError, match="learned merger"):
        FastMerge(projector, Merger(HIDDEN))


def test_kept_frames_reach_the_chunk_without_a_stack_and_encodes_are_counted():
    memory = FrameFeatures(10 ** 6)
    values = {("s", "v", f): torch.full((2, 3), float(f)) for f in range(10)}
    for f in (0, 1, 2, 5, 6, 7, 8):
        memory.put(("s", "v", f), values[("s", "v", f)])
    encoded = []

    def encode(missing):
        encoded.extend(missing)
        return torch.stack([values[k] for k in missing])

    keys = [("s", "v", f) for f in (0, 1, 3, 3, 4, 5, 6, 7, 8, 9)]
    chunks = [(p, c.clone()) for p, c in stream_features(memory, keys, 4, "cpu", encode)]  # buffers are reused
    assert [list(p) for p, _ in chunks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    got = torch.cat([c for _, c in chunks])
    assert torch.equal(got, torch.stack([values[k] for k in keys]))
    assert encoded == [("s", "v", 3), ("s", "v", 4), ("s", "v", 9)] and memory.encoded == 3
    assert memory.case_frames == 10


def test_fast_reading_is_in_settings_and_needs_learned_weights(tmp_path):
    from niah.errors import InputError
    from runner.models import load_model
    from tiny_models import build_vilamp
    learned = build_vilamp(tmp_path / "learned", learned_merger=True)
    fast = load_model("vilamp", str(learned), cache_dir="none", merge="fast")
    exact = load_model("vilamp", str(learned), cache_dir="none")
    assert (fast.settings()["merge"], exact.settings()["merge"]) == ("fast", "exact")
    with pytest.raises(InputError, match="merge=fast needs the learned merger") as err:
        load_model("vilamp", str(build_vilamp(tmp_path / "plain")), cache_dir="none", profile="paper", merge="fast")
    assert "\n" not in str(err.value)
