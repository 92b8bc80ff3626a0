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
import struct

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.models

from runner.vilamp import prompt as authors_prompt
from runner.vilamp.keyframes import cos_sim, fill_distribute, fill_proportional, select_keyframes
from runner.vilamp.merging import Merger, merge_video, reference_frames


# ----- the reference (plain Python on lists) ------------------------------------------------
def rounder(dtype: torch.dtype):
    """Round a Python float to the nearest ``dtype`` number (ties to even), via ``struct``."""
    code = {torch.float16: "e", torch.float32: "f"}[dtype]
    return lambda x: struct.unpack(code, struct.pack(code, x))[0]


def ref_normalise(v: list[float], rnd) -> list[float]:
    """``F.normalize`` in the dtype: the norm rounded, each element divided by it and rounded."""
    norm = max(rnd(math.sqrt(math.fsum(x * x for x in v))), rnd(1e-12))
    return [rnd(x / norm) for x in v]


def ref_dot(a: list[float], b: list[float], rnd) -> float:
    """One entry of ``torch.mm`` in the dtype: the exact sum of products, rounded once."""
    return rnd(math.fsum(x * y for x, y in zip(a, b)))


def ref_walk(frames: list[list[float]], text: list[float], k: int, tau: float, floor: float | None,
             dtype: torch.dtype = torch.float32) -> list[int]:
    """The authors' ``SeqFrameSelector.forward`` in plain Python, in ``dtype`` arithmetic:
    scores as ``util.cos_sim`` (normalise in the dtype, multiply, round); visit frames by
    relevance (descending; equal relevance: earlier frame); stop when a relevance is below the
    floor or K are chosen; a chosen frame marks visited every frame more similar to it than tau.
    The thresholds are the dtype's numbers, as torch compares an fp16 tensor with a float."""
    rnd = rounder(dtype)
    unit = [ref_normalise(f, rnd) for f in frames]
    q = ref_normalise(text, rnd)
    rel = [ref_dot(f, q, rnd) for f in unit]
    order = sorted(range(len(frames)), key=lambda i: (-rel[i], i))
    tau = rnd(tau)
    floor = None if floor is None else rnd(floor)
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
            if ref_dot(unit[i], unit[j], rnd) > tau:
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
        flist, tlist = frames.tolist(), text.tolist()
        chosen = ref_walk(flist, tlist, k, tau, floor, torch.float32)
        expected = ref_fill(chosen, len(flist), k)
        got = select_keyframes(frames, text, k, tau, floor, profile="released")
        assert got.selected == chosen, f"trial {trial}: walk"
        assert got.indices == expected, f"trial {trial}: fill"
        assert len(got.indices) == min(k, len(flist))
        paper = select_keyframes(frames, text, k, tau, floor, profile="paper")
        differ_from_paper += paper.indices != got.indices
    assert differ_from_paper > 30  # the fill differs often: the profiles are really two behaviours


# ----- keyframes in fp16: the authors' arithmetic on hard inputs ------------------------------
FP16_STEP_NEAR_085 = 2.0 ** -11        # one fp16 step in [0.5, 1)


def _unit_near(base: list[float], cos: float, rng: random.Random) -> list[float]:
    """A unit vector at exactly ``cos`` (in float64) from the unit vector ``base``."""
    w = [rng.gauss(0, 1) for _ in base]
    along = sum(x * y for x, y in zip(w, base))
    w = [x - along * y for x, y in zip(w, base)]
    norm = math.sqrt(sum(x * x for x in w))
    return [cos * b + math.sqrt(max(0.0, 1 - cos * cos)) * x / norm for b, x in zip(base, w)]


def hard_fp16_case(rng: random.Random):
    """fp16 CLIP-like embeddings built to land on every edge the fp16 walk has:

    * scenes of near-duplicate frames whose cosine to the scene's first frame is within 0.002
      (about four fp16 steps) of tau, so fp16 rounding decides suppression;
    * relevance ties in fp16: exact copies, copies scaled by a power of two (same normalised
      vector), and copies one fp16 step away in one coordinate;
    * a floor placed at, or one fp16 step beside, a relevance the walk meets, so it stops early;
    * raw (unnormalised) norms of ~10, as CLIP's projection gives.
    """
    dim = rng.choice([8, 16, 32])
    tau = rng.choice([0.85, 0.85, 0.9, 0.7, 0.95])
    text = [rng.gauss(0, 1) for _ in range(dim)]
    frames: list[list[float]] = []
    n = rng.randint(20, 70)
    while len(frames) < n:
        kind = rng.random()
        if frames and kind < 0.12:
            frames.append(list(rng.choice(frames)))                       # exact copy: a tie
        elif frames and kind < 0.2:
            frames.append([x * rng.choice([0.5, 2.0]) for x in rng.choice(frames)])  # same direction
        elif frames and kind < 0.28:
            f = list(rng.choice(frames))
            i = rng.randrange(dim)
            f[i] = float(np.nextafter(np.float16(f[i]), np.float16(np.inf)))           # one fp16 step
            frames.append(f)
        else:                                                             # a scene of near-duplicates
            base = [rng.gauss(0, 1) for _ in range(dim)]
            base = [x / math.sqrt(sum(y * y for y in base)) for x in base]
            scale = rng.uniform(8, 12)
            frames.append([x * scale for x in base])
            for _ in range(rng.randint(1, 6)):
                near = _unit_near(base, tau + rng.uniform(-0.002, 0.002), rng)
                frames.append([x * scale * rng.uniform(0.9, 1.1) for x in near])
    frames = torch.tensor(frames[:n], dtype=torch.float16)
    text16 = torch.tensor(text, dtype=torch.float16) * 10
    k = rng.randint(2, 24)
    floor = None
    if rng.random() < 0.5:   # a floor at a relevance in the middle of the ranking, or one fp16 step beside it
        rel = sorted(ref_dot(ref_normalise(f, rounder(torch.float16)), ref_normalise(text16.tolist(),
                     rounder(torch.float16)), rounder(torch.float16)) for f in frames.tolist())
        pick = rel[rng.randrange(len(rel) // 3, len(rel))]
        floor = float(np.nextafter(np.float16(pick), np.float16(rng.choice([-1, 1]) * np.inf))) \
            if rng.random() < 0.5 else pick
    return frames, text16, k, tau, floor


def _fp16_cases(count: int = 300):
    rng = random.Random(16)
    return [hard_fp16_case(rng) for _ in range(count)]


def test_released_fp16_keyframes_equal_the_authors_arithmetic_on_300_hard_inputs():
    near_tau = ties = stopped = differ_in_fp32 = 0
    rnd = rounder(torch.float16)
    for trial, (frames, text, k, tau, floor) in enumerate(_fp16_cases()):
        flist, tlist = frames.tolist(), text.tolist()
        chosen = ref_walk(flist, tlist, k, tau, floor, torch.float16)
        got = select_keyframes(frames, text, k, tau, floor, profile="released")
        assert got.selected == chosen, f"trial {trial}: walk"
        assert got.indices == ref_fill(chosen, len(flist), k), f"trial {trial}: fill"
        # what made the input hard, counted on the reference's own numbers
        unit = [ref_normalise(f, rnd) for f in flist]
        rel = [ref_dot(f, ref_normalise(tlist, rnd), rnd) for f in unit]
        sims = [ref_dot(unit[c], u, rnd) for c in chosen for u in unit]
        near_tau += any(abs(x - rnd(tau)) <= 2 * FP16_STEP_NEAR_085 for x in sims)
        ties += len(set(rel)) < len(rel)
        stopped += len(chosen) < k and floor is not None and any(r < rnd(floor) for r in rel)
        differ_in_fp32 += select_keyframes(frames.float(), text.float(), k, tau, floor,
                                           profile="released").selected != chosen
    assert near_tau > 150 and ties > 150 and stopped > 50, (near_tau, ties, stopped)
    assert differ_in_fp32 > 20, differ_in_fp32   # fp32 arithmetic on the same embeddings: another walk


def _authors_forward_in_torch(img: torch.Tensor, text: torch.Tensor, k: int, f2f: float, f2t: float) -> list[int]:
    """``SeqFrameSelector.forward`` as their code runs it on these tensors: ``util.cos_sim``
    (``F.normalize``, then ``torch.mm`` in fp16), a sort (earlier frame first on ties), fp16
    tensors compared with the float thresholds; returns the walk's frames in the order chosen."""
    def util_cos_sim(a, b):
        return torch.mm(torch.nn.functional.normalize(a, p=2, dim=1), torch.nn.functional.normalize(b, p=2, dim=1).T)
    f2f_scores, f2t_scores = util_cos_sim(img, img), util_cos_sim(img, text[None]).reshape(-1)
    visited = torch.zeros(len(img), dtype=torch.bool)
    scores, order = torch.sort(f2t_scores, descending=True, stable=True)
    chosen: list[int] = []
    for idx in range(len(img)):
        if len(chosen) >= k or scores[idx] < f2t:
            break
        cur = int(order[idx])
        if visited[cur]:
            continue
        visited[cur] = True
        chosen.append(cur)
        visited |= f2f_scores[cur] > f2f
    return chosen


def test_released_fp16_walk_equals_the_authors_torch_code_on_the_cpu():
    """Their forward run with torch's own fp16 kernels on the same 300 hard inputs. torch's fp16
    GEMM sums in fp32 in its own order and lands one fp16 step from the exact sum in about 0.2 %
    of scores (bench/vilamp_fp16_walk.py); on these inputs no keyframe depends on such a step."""
    for trial, (frames, text, k, tau, floor) in enumerate(_fp16_cases()):
        theirs = _authors_forward_in_torch(frames, text, k, tau, -1.0 if floor is None else floor)
        assert select_keyframes(frames, text, k, tau, floor, profile="released").selected == theirs, trial


@pytest.mark.parametrize("which", ["tau", "floor"])
@pytest.mark.parametrize("step", [-1, 1])
def test_one_fp16_step_of_tau_or_floor_changes_keyframes(which, step):
    """The inputs above are sharp enough that a walk whose tau or floor is off by one fp16 step
    (e.g. comparing with the float64 threshold instead of its fp16 value) fails the test above."""
    changed = 0
    for frames, text, k, tau, floor in _fp16_cases(120):
        if which == "floor" and floor is None:
            continue
        moved = float(np.nextafter(np.float16(tau if which == "tau" else floor), np.float16(step * np.inf)))
        args = (moved, floor) if which == "tau" else (tau, moved)
        changed += select_keyframes(frames, text, k, *args, profile="released").selected != \
            ref_walk(frames.tolist(), text.tolist(), k, tau, floor, torch.float16)
    assert changed >= 3, changed


def test_fp16_threshold_is_compared_as_an_fp16_number():
    """0.85 is 0.85009765625 in fp16: a similarity of exactly that does not exceed it (torch's
    ``f2f_scores > 0.85`` on fp16 scores), though it exceeds the float 0.85."""
    text = torch.tensor([1.0, 0.0], dtype=torch.float16)
    a = torch.tensor([1.0, 0.0], dtype=torch.float16)
    target = 0.85009765625
    b = torch.tensor([target, math.sqrt(1 - target ** 2)], dtype=torch.float16)
    sim = float(cos_sim(a[None], b[None])[0, 0])
    assert sim == target and sim > 0.85
    assert not bool(torch.tensor([sim], dtype=torch.float16) > 0.85)          # torch's own comparison
    assert select_keyframes(torch.stack([a, b]), text, 2, 0.85, profile="released").selected == [0, 1]
    below = float(np.nextafter(np.float16(0.85), np.float16(0)))              # one fp16 step lower
    assert select_keyframes(torch.stack([a, b]), text, 2, below, profile="released").selected == [0]


def test_fill_distribute_equals_the_reference_on_random_selections():
    rng = random.Random(7)
    for _ in range(500):
        n = rng.randint(1, 300)
        k = rng.randint(1, 64)
        chosen = rng.sample(range(n), rng.randint(0, min(k, n)))
        got = sorted(chosen + fill_distribute(chosen, n, k))
        assert got == ref_fill(chosen, n, k)


# ----- merging: released reference vs the project ---------------------------------------
def test_float32_merge_equals_the_reference_within_1e5_on_200_random_inputs():
    """The float32 merger (``paper``; ``released`` on a CPU in float32) against float64."""
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


# ----- merging in fp16: the authors' SigPooling arithmetic ----------------------------------------
def _h(x: float) -> float:
    return rounder(torch.float16)(x)


def _ref_linear16(x: list[float], layer: torch.nn.Linear) -> list[float]:
    """``nn.Linear`` in fp16: each output the exact sum of products plus bias, rounded once."""
    return [_h(math.fsum([a * w for a, w in zip(x, row)] + [b]))
            for row, b in zip(layer.weight.tolist(), layer.bias.tolist())]


def _ref_cos16(a: list[float], b: list[float]) -> float:
    """``F.cosine_similarity`` in fp16 (ATen: each side divided by its norm, the products summed):
    norms rounded, quotients rounded, products rounded, their sum rounded."""
    na, nb = (_h(math.sqrt(math.fsum(x * x for x in v))) for v in (a, b))
    return _h(math.fsum(_h(_h(x / na) * _h(y / nb)) for x, y in zip(a, b)))


def ref_sig_pooling16(patches: list, query: list[float], keys: list[int], merger: Merger) -> torch.Tensor:
    """The authors' ``SigPooling.forward`` in plain Python, fp16 at every step: scores
    ``(cos(q, iq) - cos(k, ik)) / tau`` (``q = linear_q(clip text)``, ``k = linear_k`` of the
    patches of video frame ``j`` after the ``j``-th keyframe, or of the frame itself before the
    first), softmax over patches, weights times patches rounded, summed and rounded."""
    tau = float(merger.tau.detach())
    q = _ref_linear16(query, merger.linear_q)
    refs = reference_frames(keys, len(patches), "keyframe-ordinal")
    out = []
    for f, x in enumerate(patches):
        scores = []
        for p, xp in enumerate(x):
            to_query = _ref_cos16(q, _ref_linear16(xp, merger.linear_iq))
            to_ref = _ref_cos16(_ref_linear16(patches[refs[f]][p], merger.linear_k), _ref_linear16(xp, merger.linear_ik))
            scores.append(_h(_h(to_query - to_ref) / tau))
        top = max(scores)
        e = [math.exp(v - top) for v in scores]
        w = [_h(v / math.fsum(e)) for v in e]
        out.append([_h(math.fsum(_h(w[p] * x[p][d]) for p in range(len(x)))) for d in range(len(x[0]))])
    return torch.tensor(out)


def test_released_merge_in_fp16_is_within_fp16_rounding_of_the_authors_arithmetic():
    """Merged tokens (released: ``native_dtype``) within 4 fp16 steps (relative to the token's
    largest entry) of the fp16 transcription on 60 random inputs; the float32 merger on the same
    fp16 weights misses that bound on some, so the bound tells the two arithmetics apart. (The
    bound is not 1 step: an fp16 GEMM's accumulation order flips the last bit of about one
    ``nn.Linear`` output in 2,400, and ``/ tau`` magnifies that in the softmax.)"""
    torch.manual_seed(0)
    rng = random.Random(5)
    bound = 4 * 2.0 ** -11
    fp32_outside = 0
    for trial in range(60):
        n, p, d, qd = rng.randint(2, 8), rng.choice([4, 9]), 6, 5
        merger = Merger(d, query_dim=qd, learned=True, alpha=rng.choice([0.01, 0.1, 1.0]), native_dtype=True)
        for lin in (merger.linear_iq, merger.linear_ik, merger.linear_q, merger.linear_k):
            torch.nn.init.normal_(lin.weight, std=0.5)
            torch.nn.init.normal_(lin.bias, std=0.1)
        merger = merger.half().requires_grad_(False)
        patches, query = torch.randn(n, p, d).half(), (torch.randn(qd) * 10).half()
        keys = sorted(rng.sample(range(n), rng.randint(1, n - 1)))
        plain = [f for f in range(n) if f not in keys]
        got = merge_video(patches, merger.project_query(query), keys, merger, "keyframe-ordinal")
        assert got.dtype == torch.float16
        expected = ref_sig_pooling16(patches.tolist(), query.tolist(), keys, merger)[plain]
        scale = expected.abs().max().item()
        assert (got[plain].float() - expected).abs().max().item() <= bound * scale, f"trial {trial}"
        fp32 = copy.deepcopy(merger).float()
        fp32.native_dtype = False
        in_fp32 = merge_video(patches.float(), fp32.project_query(query.float()), keys, fp32, "keyframe-ordinal")
        fp32_outside += (in_fp32[plain] - expected).abs().max().item() > bound * scale
    assert fp32_outside >= 3, fp32_outside


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


def test_frame_cap_picks_the_frames_the_authors_linspace_picks():
    """``--max-frames 600``: their script keeps every frame up to 600, else
    ``np.linspace(0, n - 1, 600, dtype=int)`` of the 1-fps frames; the cap uses the same picks."""
    from runner.models.hf_video import uniform_indices
    for n in list(range(1, 1300, 7)) + [3600, 10_000]:
        theirs = list(range(n)) if n <= 600 else np.linspace(0, n - 1, 600, dtype=int).tolist()
        assert uniform_indices(n, 600) == theirs, n
