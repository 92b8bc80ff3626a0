"""Window order of tape benchmarks, eviction by next use, and the replay that predicts reuse:
the replay against a brute-force reference, the runner's feature memory against the replay."""
from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest

from generator.plan import NeedleCandidate, parse_lengths, plan_cases
from niah.schedule import NEVER, NextUse, frame_sharing, locality_order, simulate_reuse, tape_order
from niah.videomme import QA

TASKS = ["Counting Problem", "OCR Problems", "Object Recognition", "Temporal Reasoning"]


def corpus(seed: int = 7, videos: int = 40, long_range: tuple[int, int] = (300, 900)):
    """Needle questions (short videos of 20-130 s) and haystack frame counts (long videos)."""
    rng = random.Random(seed)
    needles, haystacks = [], {}
    for n in range(videos):
        kind = ("short", "long")[n % 2]
        seconds = rng.randint(20, 130) if kind == "short" else rng.randint(*long_range)
        video = f"vid{n:03d}"
        if kind == "long":
            haystacks[video] = seconds
        for q in range(3):
            qa = QA(video=video, video_id=f"{n:03d}", duration=kind, domain="d", sub_category="s",
                    question_id=f"{n:03d}-{q + 1}", task_type=rng.choice(TASKS), question=f"q{n}-{q}?",
                    options=("A. a", "B. b", "C. c", "D. d"), answer="ABCD"[q])
            if kind == "short" and 30 <= seconds <= 120:
                needles.append(NeedleCandidate(qa, seconds))
    return needles, haystacks


def reference_replay(cases, capacity: int, policy: str) -> int:
    """Encodes of a frame-by-frame replay written the slow, obvious way (lists, full scans)."""
    stream = [(s.video_id, f) for c in cases for s in c.segments
              for f in range(s.src_start_frame, s.src_start_frame + s.num_frames)]
    kept: list = []  # lru: least recent first
    encoded = 0
    for t, ref in enumerate(stream):
        if ref in kept:
            if policy == "lru":
                kept.remove(ref)
                kept.append(ref)
            continue
        encoded += 1
        if capacity == 0:
            continue
        if len(kept) < capacity:
            kept.append(ref)
            continue
        if policy == "lru":
            kept.pop(0)
            kept.append(ref)
        else:
            def next_use(x):
                return next((u for u in range(t + 1, len(stream)) if stream[u] == x), NEVER)
            far = max(kept, key=next_use)
            if next_use(far) > next_use(ref):
                kept.remove(far)
                kept.append(ref)
    return encoded


@pytest.mark.parametrize("layout", ["tape", "independent"])
@pytest.mark.parametrize("policy", ["lru", "next-use"])
def test_replay_matches_a_brute_force_reference(layout, policy):
    needles, haystacks = corpus(videos=12, long_range=(40, 90))
    plan = plan_cases(needles, haystacks, [60, 120], 10, seed=1, layout=layout)
    order = locality_order(plan.cases)
    for capacity in (0, 50, 150):
        assert simulate_reuse(order, capacity, policy).encoded == reference_replay(order, capacity, policy)


def test_next_use_times_agree_with_the_stream():
    needles, haystacks = corpus(videos=12, long_range=(40, 90))
    cases = locality_order(plan_cases(needles, haystacks, [60, 120], 10, seed=2, layout="tape").cases)
    stream = [(s.video_id, f) for c in cases for s in c.segments
              for f in range(s.src_start_frame, s.src_start_frame + s.num_frames)]
    nu = NextUse(cases)
    got = np.concatenate([nu.after(r) for r in range(len(cases))])
    want = [next((u for u in range(t + 1, len(stream)) if stream[u] == ref), NEVER) for t, ref in enumerate(stream)]
    assert got.tolist() == want


def test_window_order_walks_the_tape_and_shards_sort_alike():
    needles, haystacks = corpus()
    plan = plan_cases(needles, haystacks, parse_lengths("1k..3k:1k"), 120, seed=0, layout="tape")
    tape = tape_order(plan.cases)
    cut = plan.tape.index(min(plan.tape))
    assert tape == plan.tape[cut:] + plan.tape[:cut]  # the recorded tape, read back from the cases
    order = locality_order(plan.cases)
    positions = [tape.index(next(s.video_id for s in c.segments if s.role == "haystack")) for c in order]
    assert positions == sorted(positions)
    for part in (order[:40], order[40:80], order[80:]):  # shards: contiguous runs sort as in the whole
        assert [c.case_id for c in locality_order(part[::-1])] == [c.case_id for c in part]
    gaps = [c.case_id for c in locality_order(order[70:90] + order[10:30])]  # two arcs: each stays whole
    assert gaps in ([c.case_id for c in order[10:30] + order[70:90]], [c.case_id for c in order[70:90] + order[10:30]])
    assert tape_order(plan_cases(needles, haystacks, [1000], 60, seed=0).cases) is None  # independent


def test_tape_layout_reuses_and_shares_frames_evenly():
    needles, haystacks = corpus(videos=60)
    layouts = {name: locality_order(plan_cases(needles, haystacks, parse_lengths("1k..3k:1k"), 300, seed=0,
                                               layout=name).cases) for name in ("tape", "independent")}
    capacity = 3500
    x = {(name, policy): simulate_reuse(cases, capacity, policy).encodes_per_case_frame
         for name, cases in layouts.items() for policy in ("lru", "next-use")}
    assert x["tape", "next-use"] < 0.5 * x["independent", "next-use"]
    assert x["tape", "next-use"] <= x["tape", "lru"] and x["independent", "next-use"] <= x["independent", "lru"]
    mean_tape, max_tape = frame_sharing(layouts["tape"])
    mean_ind, max_ind = frame_sharing(layouts["independent"])
    assert max_tape / mean_tape < 2.5 * max_ind / mean_ind  # no frame used far more often than in today's layout


def drive(memory: FrameFeatures, cases, bench, chunk: int = 64) -> None:
    """What ViLAMP does with its feature memory, without a model: fetch per chunk, encode and
    keep the misses."""
    import torch
    fp = bench.store.fingerprint
    for case in cases:
        memory.begin(case, bench)
        keys = [(fp, s.video_id, f) for s in case.segments for f in range(s.src_start_frame, s.src_start_frame + s.num_frames)]
        for start in range(0, len(keys), chunk):
            part = keys[start:start + chunk]
            found = memory.fetch(part, "cpu")
            for key, value in zip(part, found):
                if value is None:
                    memory.encoded += 1
                    memory.put(key, torch.full((3,), float(hash(key) % 1000)))
                else:
                    assert float(value[0]) == float(hash(key) % 1000)  # the frame's own features


@pytest.mark.models
@pytest.mark.parametrize("device_frames", [0, 100, 10 ** 6])
def test_feature_memory_evicts_by_next_use_as_the_replay_predicts(device_frames):
    pytest.importorskip("torch")
    from runner.vilamp.frame_features import FrameFeatures
    needles, haystacks = corpus(videos=30)
    cases = plan_cases(needles, haystacks, parse_lengths("1k..3k:1k"), 60, seed=3, layout="tape").cases
    bench = SimpleNamespace(cases=cases, store=SimpleNamespace(fingerprint="fp"))
    order = locality_order(cases)
    shard = order[20:40]  # a contiguous run, as --shard and Ray actors get
    capacity = 1500
    memory = FrameFeatures(capacity * 12, device_budget_bytes=device_frames * 12)  # 3 float32 = 12 B a frame
    drive(memory, shard, bench)
    predicted = simulate_reuse(shard, capacity, "next-use").encoded
    assert memory.case_frames == sum(c.length for c in shard)
    assert abs(memory.encoded - predicted) <= 0.02 * predicted, (memory.encoded, predicted)
    assert memory.used <= capacity * 12
    hits = memory.case_frames - memory.encoded
    if device_frames == 0:
        assert memory.bytes_to_device == hits * 12  # every reuse would cross from the host
    elif device_frames >= capacity:
        assert memory.bytes_to_device == 0
    else:
        assert 0 < memory.bytes_to_device < hits * 12


# ----- small hand-made runs against brute force -------------------------------------------
from niah.schema import Case, Needle, Segment  # noqa: E402
from niah.schedule import ReuseStats  # noqa: E402


def hand_case(case_id: str, *segments: tuple) -> Case:
    """A valid case from (video, first frame, frames, role) segments, one of them the needle."""
    segs = [Segment(v, first, n, role) for v, first, n, role in segments]
    at = 0
    for seg in segs:
        if seg.role == "needle":
            break
        at += seg.num_frames
    needle = next(s for s in segs if s.role == "needle")
    case = Case(case_id=case_id, length=sum(s.num_frames for s in segs), fps=1.0, depth=0.0,
                needle=Needle(needle.video_id, "q", at, needle.num_frames), segments=segs,
                question="?", options=["A. a", "B. b", "C. c", "D. d"], answer="A", task_type="T")
    case.validate()
    return case


def random_cases(seed: int, count: int = 6) -> list[Case]:
    """Short cases over a few small videos, overlapping a lot across cases (repeats at case
    boundaries too), never using a frame twice within a case (as planned cases never do)."""
    rng = random.Random(seed)
    cases = []
    for k in range(count):
        segs = [(v, rng.randint(0, 6), rng.randint(1, 4), "haystack") for v in rng.sample("abc", rng.randint(1, 3))]
        segs.insert(rng.randint(0, len(segs)), (rng.choice(["n1", "n2"]), 0, rng.randint(1, 3), "needle"))
        cases.append(hand_case(f"c{k}", *segs))
    return cases


def test_replay_of_small_runs_matches_the_reference_at_every_capacity():
    for seed in range(40):
        cases = random_cases(seed)
        total = sum(c.length for c in cases)
        for policy in ("lru", "next-use"):
            for capacity in range(0, 8):
                got = simulate_reuse(cases, capacity, policy)
                assert got.encoded == reference_replay(cases, capacity, policy), (seed, policy, capacity)
                assert got.case_frames == total


def test_replay_with_room_for_one_frame_reuses_a_frame_played_twice_in_a_row():
    # stream a0 a1 a2 | a2 a3 a4 and a needle frame each: a2 is played twice in a row
    cases = [hand_case("c0", ("n", 0, 1, "needle"), ("a", 0, 3, "haystack")),
             hand_case("c1", ("a", 2, 3, "haystack"), ("m", 0, 1, "needle"))]
    for policy in ("lru", "next-use"):
        assert simulate_reuse(cases, 1, policy) == ReuseStats(encoded=7, case_frames=8, unique_frames=7)
        assert simulate_reuse(cases, 0, policy) == ReuseStats(encoded=8, case_frames=8, unique_frames=7)


def test_next_use_keeps_what_is_needed_soonest_and_drops_a_frame_needed_later():
    # stream: a0 b0 a0 c0 a0 b0 (room for one frame). Belady keeps a0 (needed at 2 and 4) and
    # does not keep b0 (needed only at 5, after a0): encodes a0 b0 c0 b0 = 4. LRU with one slot
    # encodes every frame that differs from the one before it: all 6.
    cases = [hand_case("c0", ("a", 0, 1, "haystack"), ("b", 0, 1, "needle")),
             hand_case("c1", ("a", 0, 1, "haystack"), ("c", 0, 1, "needle")),
             hand_case("c2", ("a", 0, 1, "haystack"), ("b", 0, 1, "needle"))]
    assert simulate_reuse(cases, 1, "next-use").encoded == 4 == reference_replay(cases, 1, "next-use")
    assert simulate_reuse(cases, 1, "lru").encoded == 6 == reference_replay(cases, 1, "lru")


def test_an_empty_run_encodes_nothing():
    for policy in ("lru", "next-use"):
        for capacity in (0, 1, 10):
            stats = simulate_reuse([], capacity, policy)
            assert stats == ReuseStats(0, 0, 0) and stats.encodes_per_case_frame == 0.0


def test_an_unknown_policy_is_named_in_the_error():
    with pytest.raises(ValueError) as info:
        simulate_reuse([], 10, "fifo")
    assert str(info.value) == "policy 'fifo': expected one of ('lru', 'next-use')"


def brute_sharing(cases, role: str) -> tuple[float, int]:
    users: dict = {}
    for k, case in enumerate(cases):
        for s in case.segments:
            if s.role == role:
                for f in range(s.src_start_frame, s.src_start_frame + s.num_frames):
                    users.setdefault((s.video_id, f), []).append(k)
    if not users:
        return 0.0, 0
    counts = [len(u) for u in users.values()]
    return sum(counts) / len(counts), max(counts)


def test_frame_sharing_counted_by_hand():
    cases = [hand_case("c0", ("a", 0, 4, "haystack"), ("n", 0, 2, "needle"), ("b", 5, 3, "haystack")),
             hand_case("c1", ("a", 2, 4, "haystack"), ("n", 0, 2, "needle")),
             hand_case("c2", ("m", 1, 2, "needle"), ("a", 2, 1, "haystack"))]
    # haystack: a0..a5 used by 1,1,3,2,1,1 cases, b5..b7 once each (b0..b4 never): 12 uses of 9 frames
    assert frame_sharing(cases) == (12 / 9, 3)
    assert frame_sharing(cases, role="haystack") == (12 / 9, 3)
    # needle: n0, n1 twice each, m1, m2 once (m0 never): 6 uses of 4 frames
    assert frame_sharing(cases, role="needle") == (1.5, 2)
    assert frame_sharing(cases[2:], role="needle") == (1.0, 1)
    assert frame_sharing([]) == (0.0, 0)


def test_frame_sharing_matches_a_brute_force_count():
    for seed in range(30):
        cases = random_cases(seed, count=5)
        for role in ("haystack", "needle"):
            mean, peak = frame_sharing(cases, role)
            want_mean, want_peak = brute_sharing(cases, role)
            assert peak == want_peak and mean == pytest.approx(want_mean), (seed, role)


def test_next_use_of_small_runs_matches_a_scan_of_the_stream():
    for seed in range(30):
        cases = random_cases(seed)
        stream = [(s.video_id, f) for c in cases for s in c.segments
                  for f in range(s.src_start_frame, s.src_start_frame + s.num_frames)]
        nu = NextUse(cases)
        got = [nu.after(r) for r in range(len(cases))]
        assert all(g.dtype == np.int64 and len(g) == c.length for g, c in zip(got, cases))
        want = [next((u for u in range(t + 1, len(stream)) if stream[u] == ref), NEVER)
                for t, ref in enumerate(stream)]
        assert np.concatenate(got).tolist() == want, seed
