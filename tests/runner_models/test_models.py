"""Models end to end on tiny random-weight checkpoints and a small generated benchmark."""
import json

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.models

from niah.errors import InputError
from runner.models import MODEL_NAMES, load_model
from runner.models.base import Answer
from runner.models.hf_video import uniform_indices


@pytest.fixture(scope="session")
def ckpt(tmp_path_factory):
    from tiny_models import build_llava_ov, build_vilamp
    root = tmp_path_factory.mktemp("ckpt")
    return {"ov": build_llava_ov(root / "ov"), "vilamp": build_vilamp(root / "vilamp"),
            "vilamp_learned": build_vilamp(root / "vilamp_learned", learned_merger=True)}


def shared_pair(bench):
    """Two cases sharing source frames, and how many."""
    best = (0, None, None)
    for i, a in enumerate(bench.cases):
        ra = set(bench.frame_refs(a))
        for b in bench.cases[i + 1:]:
            n = len(ra & set(bench.frame_refs(b)))
            if n > best[0]:
                best = (n, a, b)
    assert best[0] > 0, "generator produced no cases sharing frames"
    return best


# ----- registry and errors -------------------------------------------------------------
def test_registry_names():
    assert {"vilamp", "llava-onevision", "needle-oracle", "random"} <= set(MODEL_NAMES)
    with pytest.raises(InputError):
        load_model("nope", None)


@pytest.mark.parametrize("name", ["vilamp", "llava-onevision", "needle-oracle"])
def test_missing_model_path_is_input_error(name, tmp_path):
    with pytest.raises(InputError) as err:
        load_model(name, str(tmp_path / "does-not-exist"))
    assert err.value.where.endswith("does-not-exist") and "\n" not in err.value.what
    with pytest.raises(InputError):
        load_model(name, None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="missing config.json"):
        load_model(name, str(tmp_path / "empty"))


def test_hub_id_not_cached_offline_is_input_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    import huggingface_hub.constants as c
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True, raising=False)
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"), raising=False)
    with pytest.raises(InputError, match="not in the local Hugging Face cache") as err:
        load_model("llava-onevision", "llava-hf/llava-onevision-qwen2-7b-ov-hf")
    assert err.value.where == "llava-hf/llava-onevision-qwen2-7b-ov-hf"


def test_vilamp_without_clip_is_input_error(ckpt, tmp_path):
    with pytest.raises(InputError, match="no such model folder"):
        load_model("vilamp", str(ckpt["vilamp_learned"]), clip_path=str(tmp_path / "no-clip"), cache_dir="none")
    with pytest.raises(InputError, match="unknown option"):
        load_model("vilamp", str(ckpt["vilamp"]), bogus=1)


# ----- uniform sampling models --------------------------------------------------------------
def test_uniform_indices():
    assert uniform_indices(10, 32) == list(range(10))
    assert uniform_indices(100, 4) == [0, 33, 66, 99]


def test_llava_onevision_and_oracle(bench, ckpt):
    ov = load_model("llava-onevision", str(ckpt["ov"]), frames=8)
    oracle = load_model("needle-oracle", str(ckpt["ov"]), frames=8)
    case = bench.cases[0]
    assert ov.frame_indices(case) == uniform_indices(case.length, 8)
    idx = oracle.frame_indices(case)
    start, n = case.needle.start_frame, case.needle.num_frames
    assert idx and all(start <= i < start + n for i in idx) and len(idx) == min(8, n)
    for model, idx_seen in ((ov, ov.frame_indices(case)), (oracle, idx)):
        answer = model.answer(case, bench)
        assert isinstance(answer.text, str) and answer.full_frames == idx_seen
        json.dumps(model.settings())
        assert model.settings()["frames"] == 8


# ----- ViLAMP ----------------------------------------------------------------------------
def test_vilamp_cache_hit_on_second_case_sharing_frames(bench, ckpt, tmp_path):
    shared, a, b = shared_pair(bench)
    # a checkpoint without a learned merger: the paper profile (released refuses it, see below)
    model = load_model("vilamp", str(ckpt["vilamp"]), cache_dir=tmp_path / "cache", profile="paper")
    s = model.settings()
    assert (s["keyframes"], s["tau"], s["merger"], s["query"]) == (4, 0.85, "cosine", "llm-token-mean")
    first = model.answer(a, bench)
    st = model.stats()["clip_cache"]
    assert st["hits"] == 0 and st["misses"] == len(set(bench.frame_refs(a)))
    model.answer(b, bench)
    st = model.stats()["clip_cache"]
    assert st["hits"] == shared
    # a fresh process reuses the disk cache entirely and answers identically
    again = load_model("vilamp", str(ckpt["vilamp"]), cache_dir=tmp_path / "cache", profile="paper")
    assert again.answer(a, bench) == first
    assert again.stats()["clip_cache"]["misses"] == 0


def test_vilamp_token_layout(bench, ckpt):
    model = load_model("vilamp", str(ckpt["vilamp_learned"]), cache_dir="none", keyframes=3)
    case = bench.cases[0]
    tokens = model.visual_tokens(case, bench)
    last = model.stats()["last_case"]
    # 3 keyframes x (3x3 -> 2x2 bilinear) + one token per other frame + image_newline
    assert last["keyframes"] == 3 and last["merged_frames"] == case.length - 3
    assert tokens.shape == (3 * 4 + case.length - 3 + 1, model.vlm.config.text_config.hidden_size)
    assert torch.equal(tokens[-1], model.vlm.model.image_newline.to(tokens.dtype))
    assert model.settings()["merger"] == "learned" and model.settings()["query"] == "clip-text"
    answer = model.answer(case, bench)
    assert isinstance(answer, Answer) and isinstance(answer.text, str) and answer.full_frames == last["keyframe_frames"]


def test_released_refuses_a_checkpoint_without_sig_pooling(ckpt):
    with pytest.raises(InputError) as err:
        load_model("vilamp", str(ckpt["vilamp"]), cache_dir="none")
    assert err.value.what == "not supported: composer_type=None; supported: sig_pooling"


def test_vilamp_keyframe_tokens_are_pooled_projected_patches(bench, ckpt):
    from runner.vilamp.merging import pool_keyframe
    model = load_model("vilamp", str(ckpt["vilamp"]), cache_dir="none", keyframes=2, keyframe_pool="none",
                       chunk=7, profile="paper")
    case = bench.cases[1]
    keys = model.keyframes(case, bench, list(range(case.length)))
    tokens = model.visual_tokens(case, bench)
    frames = bench.frames_at(case, [keys[0]])
    with torch.no_grad():
        feats = model.vlm.model.multi_modal_projector(model.vision_features(frames))
    # the first keyframe's 9 tokens follow one merged token per earlier frame
    start = keys[0]
    assert torch.allclose(tokens[start:start + 9], pool_keyframe(feats, "none")[0], atol=1e-5)
