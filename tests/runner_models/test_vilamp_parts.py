"""Pure-tensor tests: keyframe selection, merging, pooling, feature cache, prompt."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.models

from runner.models.prompt import INSTRUCTION, PRE_PROMPT, build_prompt
from runner.vilamp.feature_cache import FeatureCache
from runner.vilamp.keyframes import differential_select, fill_proportional, relevance, select_keyframes
from runner.vilamp.merging import Merger, merge_frame, pool_keyframe


def unit(*v):
    return torch.tensor(v, dtype=torch.float32)


# ----- keyframes --------------------------------------------------------------------
def test_duplicate_frames_never_both_selected():
    text = unit(1, 0, 0)
    frames = torch.stack([unit(1, 0.1, 0), unit(1, 0.1, 0), unit(0, 1, 0), unit(0, 0, 1)])
    sel = select_keyframes(frames, text, k=3, tau=0.85)
    assert not {0, 1} <= set(sel.selected)
    assert sel.selected == [0, 2, 3]           # 1 is a duplicate of 0 (cos 1 >= tau)
    assert sel.indices == [0, 2, 3] and sel.filled == []


def test_most_relevant_frame_always_selected():
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        frames = torch.randn(50, 8, generator=gen)
        text = torch.randn(8, generator=gen)
        best = int(torch.argmax(relevance(frames, text)))
        for k, tau in ((1, 0.1), (5, 0.5), (32, 0.85)):
            assert best in select_keyframes(frames, text, k=k, tau=tau).indices
            assert differential_select(frames, text, k, tau)[0] == best


def test_fill_in_when_fewer_than_k_qualify():
    # 10 frames, all identical except frame 7: only 2 qualify, K = 4 -> 2 filled evenly in the gaps
    frames = torch.stack([unit(1, 0, 0)] * 10)
    frames[7] = unit(0, 1, 0)
    text = unit(0, 1, 0.1)                       # frame 7 is the most relevant
    sel = select_keyframes(frames, text, k=4, tau=0.85, profile="paper")
    assert sel.selected == [7, 0]                # 7 first (most relevant); 0 = earliest of the tie
    # gaps: [1..6] (6 frames), [8..9] (2 frames); 2 slots -> shares 1.5 / 0.5 -> 2 and 0
    assert sel.filled == [1 + 6 // 3, 1 + 12 // 3] == [3, 5]
    assert sel.indices == [0, 3, 5, 7]


def test_fill_proportional_hand_examples():
    assert fill_proportional([], 10, 2) == [3, 6]                  # one gap of 10: 10//3, 20//3
    assert fill_proportional([], 3, 8) == [0, 1, 2]                # shorter than K: every frame
    assert fill_proportional([0, 9], 10, 3) == [1 + 8 // 2]        # middle of the 8-frame gap [1..8]
    assert fill_proportional([0, 1, 2], 3, 3) == []
    out = fill_proportional([5], 100, 32)
    assert len(out) == 31 and 5 not in out and len(set(out)) == 31


def test_keyframes_time_order_and_count():
    gen = torch.Generator().manual_seed(1)
    frames = torch.randn(200, 16, generator=gen)
    sel = select_keyframes(frames, torch.randn(16, generator=gen), k=32, tau=0.3)
    assert sel.indices == sorted(sel.indices) and len(sel.indices) == 32 == len(set(sel.indices))
    for profile in ("released", "paper"):
        assert select_keyframes(frames[:5], torch.randn(16), k=32, profile=profile).indices == [0, 1, 2, 3, 4]


def test_min_relevance_stops_the_walk():
    frames = torch.stack([unit(1, 0), unit(0, 1), unit(-1, 0.2)])
    text = unit(1, 0)
    assert differential_select(frames, text, 3, 0.85, min_relevance=0.5) == [0]
    assert differential_select(frames, text, 3, 0.85) == [0, 1, 2]


# ----- merging ----------------------------------------------------------------------
def test_merged_token_equals_hand_computed_weighted_sum():
    patches = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])      # P=3, D=2
    ref = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    query = torch.tensor([0.0, 1.0])
    alpha = 0.5
    s2 = 1 / math.sqrt(2)
    # cos(q, x_p) - cos(x_p, k_p): p0: 0 - 1, p1: 1 - 0, p2: s2 - s2
    scores = [-1.0, 1.0, 0.0]
    w = np.exp(np.array(scores) / alpha)
    w /= w.sum()
    expected = w[0] * np.array([1, 0]) + w[1] * np.array([0, 1]) + w[2] * np.array([1, 1])
    got = merge_frame(patches, query, ref, alpha=alpha)
    assert np.allclose(got.numpy(), expected, atol=1e-6)
    # a batch through the module gives the same token
    batch = Merger(2, alpha=alpha)(patches[None].repeat(3, 1, 1), query, ref[None])
    assert np.allclose(batch.numpy(), np.tile(expected, (3, 1)), atol=1e-6)


def test_self_reference_reduces_to_query_relevance():
    patches = torch.randn(9, 4)
    query = torch.randn(4)
    merger = Merger(4, alpha=0.01)
    w = merger.weights(patches[None], query, patches[None])[0]
    direct = torch.softmax(torch.nn.functional.cosine_similarity(patches, query[None], dim=-1) / 0.01, dim=0)
    assert torch.allclose(w, direct, atol=1e-5)


def test_learned_merger_state_dict_names_match_public_module():
    merger = Merger(8, query_dim=4, learned=True)
    assert set(merger.state_dict()) == {f"linear_{n}.{p}" for n in ("iq", "ik", "q", "k")
                                        for p in ("weight", "bias")} | {"tau"}
    out = merger(torch.randn(3, 9, 8), merger.project_query(torch.randn(4)), torch.randn(1, 9, 8))
    assert out.shape == (3, 8)


def test_keyframe_pooling_shapes():
    x = torch.randn(2, 729, 5)
    assert pool_keyframe(x, "bilinear").shape == (2, 196, 5)
    assert pool_keyframe(x, "none").shape == (2, 729, 5)
    assert pool_keyframe(x, "average", 3).shape == (2, 81, 5)
    with pytest.raises(ValueError):
        pool_keyframe(x, "nearest")


# ----- feature cache ----------------------------------------------------------------
def test_feature_cache_hits_persist_and_dedupe(tmp_path):
    calls = []

    def compute(values):
        def fn(positions):
            calls.append(list(positions))
            return np.stack([values[p] for p in positions])
        return fn

    refs_a = [("v1", 0), ("v1", 1), ("v2", 300), ("v1", 0)]
    vals = {i: np.full(4, i, np.float32) for i in range(4)}
    cache = FeatureCache(tmp_path, "clip", "store", "model", chunk=256)
    out = cache.get_or_compute(refs_a, compute(vals))
    assert calls == [[0, 1, 2]]                       # the repeated ("v1", 0) computed once
    assert np.array_equal(out[3], out[0])
    assert cache.stats() == {"hits": 1, "misses": 3, "reuse_ratio": 0.25}
    # a second process (new instance, same folder) reads everything from disk
    again = FeatureCache(tmp_path, "clip", "store", "model", chunk=256)
    out2 = again.get_or_compute([("v2", 300), ("v1", 1)], compute({}))
    assert np.array_equal(out2[0], out[2]) and again.stats()["hits"] == 2 and again.misses == 0
    # another store or model fingerprint never sees these features
    other = FeatureCache(tmp_path, "clip", "store2", "model", chunk=256)
    other.get_or_compute([("v1", 1)], compute({0: np.zeros(4, np.float32)}))
    assert other.misses == 1


def test_feature_cache_unreadable_chunk_is_a_miss(tmp_path):
    cache = FeatureCache(tmp_path, "clip", "s", "m", chunk=4)
    cache.put("v", [1], np.ones((1, 3), np.float32))
    path = next(tmp_path.rglob("*.npz"))
    path.write_bytes(b"garbage")
    fresh = FeatureCache(tmp_path, "clip", "s", "m", chunk=4)
    values, missing = fresh.get("v", [1])
    assert missing == [0] and values == [None]


# ----- prompt -----------------------------------------------------------------------
def test_prompt_layout():
    text = build_prompt("What colour is  it?", ["A. red", "B. blue", "green", "D. grey"])
    assert text.splitlines() == [PRE_PROMPT, "What colour is it?", "A. red", "B. blue", "C. green", "D. grey", "",
                                 INSTRUCTION]
