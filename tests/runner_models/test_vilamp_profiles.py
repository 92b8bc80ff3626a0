"""The two ViLAMP profiles against references written here, independently of ``runner.vilamp``.

The ``released`` reference is a plain-Python statement of the authors' inference as the
fidelity issue describes it (walk with strict suppression, ``distribute_frames`` fill, merge
against video frame ``j`` after the ``j``-th keyframe); the project must give identical
keyframes on hundreds of random inputs, and merged tokens (fp32) within 1e-5 of the reference
computed in float64.
"""
import copy
import math
import random

import numpy as np
import pytest
import torch

from runner.vilamp import prompt as authors_prompt
from runner.vilamp.keyframes import fill_distribute, fill_proportional, select_keyframes
from runner.vilamp.merging import Merger, merge_video, reference_frames


# ----- the reference (plain Python on lists) ------------------------------------------------
def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def ref_walk(frames: list[list[float]], text: list[float], k: int, tau: float, floor: float | None) -> list[int]:
    """Visit frames by relevance (descending; equal relevance: earlier frame); stop below the
    floor or at K; a chosen frame marks visited every frame more similar to it than tau."""
    rel = [_cos(f, text) for f in frames]
    order = sorted(range(len(frames)), key=lambda i: (-rel[i], i))
    visited = [False] * len(frames)
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= k:
            break
        if floor is not None and rel[i] < floor:
            break
        if visited[i]:
            continue
        visited[i] = True
        chosen.append(i)
        for j in range(len(frames)):
            if _cos(frames[i], frames[j]) > tau:
                visited[j] = True
    return chosen


def ref_fill(chosen: list[int], n: int, k: int) -> list[int]:
    """The issue's statement of distribute_frames; returns every selected frame, sorted."""
    sel = [i in chosen for i in range(n)]
    m = k - len(chosen)
    gaps, i = [], 0
    while i < n:
        if not sel[i]:
            j = i
            while j + 1 < n and not sel[j + 1]:
                j += 1
            gaps.append((i, j))
            i = j + 1
        else:
            i += 1

    def cuts(d):
        return sum(math.ceil((e - s + 1) / d) - 1 for s, e in gaps)

    d = next(d for d in range(1, n + 1) if cuts(d) <= m) if n else 1  # smallest D, by linear scan
    total = 0
    out = list(sel)
    for s, e in gaps:
        length = e - s + 1
        kk = math.ceil(length / d) - 1
        if kk > 0:
            total += kk
            step = math.ceil(length / (kk + 1))
            for t in range(kk):
                out[min(s + step * (t + 1), e)] = True
    r = m - total
    for s, e in reversed(gaps):
        for pos in range(e, s - 1, -1):
            if r <= 0:
                break
            if not out[pos]:
                out[pos] = True
                r -= 1
    return [i for i in range(n) if out[i]]


def ref_merge(patches: torch.Tensor, query: torch.Tensor, keys: list[int], merger: Merger) -> torch.Tensor:
    """The learned-merger formula frame by frame, reference = video frame j after the j-th keyframe."""
    n = patches.shape[0]
    out = []
    for f in range(n):
        before = [j for j, key in enumerate(keys) if key <= f]
        ref = patches[f] if not before else patches[before[-1]]
        x = patches[f]
        iq = x @ merger.linear_iq.weight.T + merger.linear_iq.bias
        ik = x @ merger.linear_ik.weight.T + merger.linear_ik.bias
        kk = ref @ merger.linear_k.weight.T + merger.linear_k.bias
        s = torch.stack([_tcos(query, iq[p]) - _tcos(kk[p], ik[p]) for p in range(x.shape[0])])
        w = torch.softmax(s / merger.tau, dim=0)
        out.append((w[:, None] * x).sum(0))
    return torch.stack(out)


def _tcos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum() / (a.norm() * b.norm())


def random_case(rng: random.Random):
    """Clustered embeddings (so suppression happens), exact duplicates (ties), random K, tau, floor."""
    n = rng.randint(1, 90)
    dim = rng.choice([3, 8])
    centres = [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(rng.randint(1, 6))]
    frames = []
    for _ in range(n):
        if frames and rng.random() < 0.15:
            frames.append(list(frames[rng.randrange(len(frames))]))  # exact duplicate
        else:
            c = rng.choice(centres)
            frames.append([x + rng.gauss(0, rng.choice([0.05, 0.3, 1.0])) for x in c])
    text = [rng.gauss(0, 1) for _ in range(dim)]
    k = rng.randint(1, 40)
    tau = rng.choice([0.3, 0.6, 0.85, 0.95, 0.99])
    floor = rng.choice([None, None, -0.2, 0.0, 0.2, 0.5])
    # float32 round trip, so both sides see the same numbers
    frames = torch.tensor(frames, dtype=torch.float32)
    text = torch.tensor(text, dtype=torch.float32)
    return frames, text, k, tau, floor


# ----- keyframes: released vs the reference on random inputs -----------------------------
def test_released_keyframes_equal_the_reference_on_300_random_inputs():
    rng = random.Random(2025)
    differ_from_paper = 0
    for trial in range(300):
        frames, text, k, tau, floor = random_case(rng)
        flist, tlist = frames.double().tolist(), text.double().tolist()
        chosen = ref_walk(flist, tlist, k, tau, floor)
        expected = ref_fill(chosen, len(flist), k)
        got = select_keyframes(frames, text, k, tau, floor, profile="released")
        assert got.selected == chosen, f"trial {trial}: walk"
        assert got.indices == expected, f"trial {trial}: fill"
        assert len(got.indices) == min(k, len(flist))
        paper = select_keyframes(frames, text, k, tau, floor, profile="paper")
        differ_from_paper += paper.indices != got.indices
    assert differ_from_paper > 30  # the fill differs often: the profiles are really two behaviours


def test_fill_distribute_equals_the_reference_on_random_selections():
    rng = random.Random(7)
    for _ in range(500):
        n = rng.randint(1, 300)
        k = rng.randint(1, 64)
        chosen = rng.sample(range(n), rng.randint(0, min(k, n)))
        got = sorted(chosen + fill_distribute(chosen, n, k))
        assert got == ref_fill(chosen, n, k)


# ----- merging: released reference vs the project ---------------------------------------
def test_released_merge_equals_the_reference_within_1e5_on_200_random_inputs():
    torch.manual_seed(0)
    rng = random.Random(3)
    for _ in range(200):
        n, p, d, q = rng.randint(2, 12), rng.choice([4, 9]), 6, 5
        merger = Merger(d, query_dim=q, learned=True, alpha=rng.choice([0.01, 0.1, 1.0]))
        for lin in (merger.linear_iq, merger.linear_ik, merger.linear_q, merger.linear_k):
            torch.nn.init.normal_(lin.weight, std=0.5)
            torch.nn.init.normal_(lin.bias, std=0.1)
        patches = torch.randn(n, p, d)
        query = merger.project_query(torch.randn(q))
        keys = sorted(rng.sample(range(n), rng.randint(1, n)))
        with torch.no_grad():
            got = merge_video(patches, query, keys, merger, "keyframe-ordinal")
            # the reference in float64: the project's fp32 result must be within 1e-5 of the exact one
            expected = ref_merge(patches.double(), query.double(), keys, copy.deepcopy(merger).double())
        plain = [f for f in range(n) if f not in keys]
        assert torch.allclose(got[plain].double(), expected[plain], atol=1e-5, rtol=0)


def test_reference_frames_hand_example():
    # keyframes at 2, 5, 8 of 10 frames
    assert reference_frames([2, 5, 8], 10, "keyframe-ordinal") == [0, 1, 0, 0, 0, 1, 1, 1, 2, 2]
    assert reference_frames([2, 5, 8], 10, "preceding-keyframe") == [0, 1, 2, 2, 2, 5, 5, 5, 8, 8]
    assert reference_frames([], 3, "keyframe-ordinal") == [0, 1, 2]


# ----- hand-worked cases ------------------------------------------------------------------
def unit(*v):
    return torch.tensor(v, dtype=torch.float32)


def test_similarity_exactly_tau_suppresses_in_paper_only():
    text = unit(1, 0)
    frames = torch.stack([unit(1, 0.2), unit(1, -0.5)])
    tau = float(torch.nn.functional.cosine_similarity(frames[0], frames[1], dim=0))
    assert select_keyframes(frames, text, 2, tau, profile="released").selected == [0, 1]   # not > tau
    assert select_keyframes(frames, text, 2, tau, profile="paper").selected == [0]         # >= tau
    # just below tau both suppress
    assert select_keyframes(frames, text, 2, tau - 1e-4, profile="released").selected == [0]


def test_exact_relevance_tie_goes_to_the_earlier_frame():
    text = unit(1, 0, 0)
    frames = torch.stack([unit(0, 1, 0), unit(1, 0.3, 0), unit(0, 0, 1), unit(1, 0.3, 0)])  # 1 and 3 tie
    for profile in ("released", "paper"):
        sel = select_keyframes(frames, text, 2, 0.85, profile=profile)
        assert sel.selected[0] == 1 and 3 not in sel.selected  # 3 duplicates 1: suppressed


def _rel_frames(rels: list[float]) -> torch.Tensor:
    """Frames with the given relevance to (1, 0, ...), mutually dissimilar beyond the first axis."""
    n = len(rels)
    out = torch.zeros(n, n + 1)
    for i, r in enumerate(rels):
        out[i, 0] = r
        out[i, i + 1] = math.sqrt(1 - r * r)
    return out


def test_relevance_floor_then_fill_by_hand():
    rels = [0.1, 0.0, 0.2, 0.9, 0.1, 0.3, 0.0, 0.8, 0.1, 0.0]
    frames, text = _rel_frames(rels), torch.eye(len(rels) + 1)[0]
    released = select_keyframes(frames, text, 4, 0.85, min_relevance=0.5, profile="released")
    assert released.selected == [3, 7]
    # gaps 0-2, 4-6, 8-9; 2 free slots; D = 2 (D = 1 needs 5 cuts): one cut in each 3-frame gap
    assert released.filled == [2, 6] and released.indices == [2, 3, 6, 7]
    paper = select_keyframes(frames, text, 4, 0.85, min_relevance=0.5, profile="paper")
    # shares 0.75 / 0.75 / 0.5: the first two gaps get one frame each, at their middle
    assert paper.filled == [1, 5] and paper.indices == [1, 3, 5, 7]


def test_nothing_passes_the_floor_by_hand():
    frames, text = _rel_frames([0.1] * 10), torch.eye(11)[0]
    released = select_keyframes(frames, text, 3, 0.85, min_relevance=0.5, profile="released")
    assert released.selected == [] and released.indices == [3, 6, 9]   # D = 3, step 3
    paper = select_keyframes(frames, text, 3, 0.85, min_relevance=0.5, profile="paper")
    assert paper.indices == [2, 5, 7]                                   # floor(j * 10 / 4)


def test_distribute_takes_leftovers_from_the_end_backwards():
    # one chosen frame at 0, 9 free frames, 5 slots: D = 2 gives 4 cuts (3, 5, 7, 9); one more from the end
    assert fill_distribute([0], 10, 6) == [3, 5, 7, 8, 9]
    assert fill_proportional([0], 10, 6) == [2, 4, 5, 7, 8]


# ----- prompt -------------------------------------------------------------------------------
def test_authors_prompt_prints_options_as_a_python_list():
    before, after = authors_prompt.chatml_pieces("What is shown?", ["A. a cat", "B. Bob's dog"])
    assert before.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
    assert after == ("\nWhat is shown?. Please choose the right answer from the following options: "
                     "['A. a cat', \"B. Bob's dog\"].<|im_end|>\n<|im_start|>assistant\n")


# ----- CLIP input ---------------------------------------------------------------------------
def _encoder(crop: bool):
    from runner.vilamp.clip import OPENAI_MEAN, OPENAI_STD, ClipEncoder
    enc = ClipEncoder.__new__(ClipEncoder)
    enc.device, enc.dtype, enc.crop, enc.size = "cpu", torch.float32, crop, 224
    enc.mean, enc.std = OPENAI_MEAN, OPENAI_STD
    return enc


@pytest.mark.parametrize("aspect", [16 / 9, 4 / 3, 9 / 16])
def test_centre_crop_matches_clip_processor_on_the_restored_frame(aspect):
    from PIL import Image
    from transformers import CLIPImageProcessor
    rng = np.random.default_rng(0)
    # a smooth image with distinct content at the sides (what a squash would keep and a crop drops)
    y, x = np.mgrid[0:384, 0:384] / 384.0
    frame = np.stack([np.sin(6 * x) * 0.5 + 0.5, y, (x > 0.85) * 1.0], -1)
    frame = (frame * 255 + rng.normal(0, 2, frame.shape)).clip(0, 255).astype(np.uint8)
    w, h = (round(384 * aspect), 384) if aspect >= 1 else (384, round(384 / aspect))
    restored = Image.fromarray(frame).resize((w, h), Image.BICUBIC)
    expected = CLIPImageProcessor()(images=restored, return_tensors="pt")["pixel_values"][0]
    got = _encoder(True).preprocess(frame[None], aspect)[0]
    squash = _encoder(False).preprocess(frame[None])[0]
    assert got.shape == expected.shape == (3, 224, 224)
    crop_err = (got - expected).abs().mean().item()
    squash_err = (squash - expected).abs().mean().item()
    assert crop_err < 0.05 and squash_err > 4 * crop_err, (crop_err, squash_err)
    with pytest.raises(ValueError):
        _encoder(True).preprocess(frame[None], None)
