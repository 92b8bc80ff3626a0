"""The released ViLAMP checkpoint layout (original LLaVA-NeXT ``LlavaQwenForCausalLM``), loaded
in memory as HF LLaVA-OneVision + ViLAMP parts, on a tiny checkpoint built here with released key names."""
import hashlib
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.models

from safetensors import safe_open

from niah.errors import InputError
from runner.models import llava_checkpoint, load_model
from runner.models.base import Answer
from runner.vilamp.clip import tokenizer_digest
from runner.models.llava_checkpoint import is_released_layout, map_key


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    from tiny_models import build_released
    return build_released(tmp_path_factory.mktemp("released") / "ViLAMP-llava-qwen")


def saved(folder: Path, key: str) -> torch.Tensor:
    for path in folder.glob("*.safetensors"):
        with safe_open(str(path), "pt") as f:
            if key in f.keys():
                return f.get_tensor(key)
    raise KeyError(key)


def test_key_mapping():
    assert map_key("model.layers.3.mlp.up_proj.weight") == ("llava", "model.language_model.layers.3.mlp.up_proj.weight")
    assert map_key("model.embed_tokens.weight") == ("llava", "model.language_model.embed_tokens.weight")
    assert map_key("model.mm_projector.0.weight") == ("llava", "model.multi_modal_projector.linear_1.weight")
    assert map_key("model.mm_projector.2.bias") == ("llava", "model.multi_modal_projector.linear_2.bias")
    assert map_key("model.image_newline") == ("llava", "model.image_newline")
    assert map_key("lm_head.weight") == ("llava", "lm_head.weight")
    assert map_key("model.vision_tower.vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight") == \
        ("vision", "encoder.layers.0.mlp.fc1.weight")
    assert map_key("model.composer_projector.linear_q.weight") == ("merger", "linear_q.weight")
    assert map_key("model.frame_selector.model.visual_projection.weight") == ("clip", "visual_projection.weight")
    assert map_key("model.layers.0.self_attn.rotary_emb.inv_freq") is None
    assert map_key("model.something_else.weight") == ("unknown", "model.something_else.weight")


def test_detection(released, tmp_path):
    from tiny_models import build_llava_ov
    assert is_released_layout(released)
    assert not is_released_layout(build_llava_ov(tmp_path / "hf"))


def test_released_checkpoint_loads_and_answers(released, bench):
    model = load_model("vilamp", str(released), cache_dir="none")
    vlm = model.vlm
    # weights landed under their HF names
    assert torch.equal(vlm.model.multi_modal_projector.linear_1.weight, saved(released, "model.mm_projector.0.weight"))
    assert torch.equal(vlm.model.multi_modal_projector.linear_2.bias, saved(released, "model.mm_projector.2.bias"))
    assert torch.equal(vlm.model.language_model.layers[1].mlp.down_proj.weight,
                       saved(released, "model.layers.1.mlp.down_proj.weight"))
    assert torch.equal(vlm.lm_head.weight, saved(released, "lm_head.weight"))
    assert torch.equal(vlm.model.image_newline, saved(released, "model.image_newline"))
    tower = vlm.model.vision_tower
    tower_sd = tower.state_dict()
    key = next(k for k in tower_sd if k.endswith("encoder.layers.1.mlp.fc1.weight"))
    assert torch.equal(tower_sd[key],
                       saved(released, "model.vision_tower.vision_tower.vision_model.encoder.layers.1.mlp.fc1.weight"))
    # LLaVA-NeXT's tower: last SigLIP layer already deleted (2 of 3 kept), no head, last hidden state
    assert vlm.config.vision_config.num_hidden_layers == 2 and vlm.config.vision_feature_layer == -1
    assert vlm.config.vision_config.num_attention_heads == 2 and vlm.config.vision_config.image_size == 42
    # ViLAMP parts: learned merger and the checkpoint's own CLIP; the config's ViLAMP keys
    assert model.merger.learned
    assert torch.equal(model.merger.linear_q.weight, saved(released, "model.composer_projector.linear_q.weight"))
    assert torch.equal(model.clip.model.visual_projection.weight,
                       saved(released, "model.frame_selector.model.visual_projection.weight"))
    s = model.settings()
    assert (s["keyframes"], s["tau"], s["min_relevance"], s["merger"], s["query"]) == (4, 0.85, None, "learned", "clip-text")
    assert s["checkpoint_layout"] == "llava-next-released" and s["vision_tower"].startswith("checkpoint")
    # the released profile: the authors' Video-MME query in LLaVA-NeXT's qwen_1_5 conversation
    case = bench.cases[0]
    before, after = model.prompt_pieces(case)
    assert before == "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    options = "[" + ", ".join(repr(o) for o in case.options) + "]"
    assert after == (f"\n{case.question}. Please choose the right answer from the following options: "
                     f"{options}.<|im_end|>\n<|im_start|>assistant\n")
    assert (s["profile"], s["max_new_tokens"], s["prompt"]) == ("released", 1, "vilamp-authors-v1")
    # end to end on a generated case: the keyframes are what it saw at full resolution
    answer = model.answer(case, bench)
    assert isinstance(answer, Answer) and isinstance(answer.text, str) and answer.input_cut == 0
    last = model.stats()["last_case"]
    assert last["keyframes"] == 4 and last["frames"] == case.length
    assert answer.full_frames == last["keyframe_frames"] and len(answer.full_frames) == 4
    # the authors' CLIP tokenizer (HF, from the CLIP folder where their script looks) and the config's hash
    tok_folder = released / "clip-ViT-B-32" / "0_CLIPModel"
    assert s["clip_tokenizer"] == tokenizer_digest(tok_folder) and str(tok_folder) in model.clip.tokenizer_found
    assert s["checkpoint_config_sha256"] == hashlib.sha256((released / "config.json").read_bytes()).hexdigest()[:16]
    assert (s["composer_type"], s["walk_dtype"], s["merge_dtype"]) == ("sig_pooling", "float32", "model")


def test_missing_vision_tower_is_one_line_error_then_local_siglip(tmp_path, bench, monkeypatch):
    from tiny_models import build_released, build_siglip
    monkeypatch.delenv("NIAH_VISION_TOWER", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    import huggingface_hub.constants as c
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path / "hub"), raising=False)
    folder = build_released(tmp_path / "no-vision", vision=False)
    with pytest.raises(InputError) as err:
        load_model("vilamp", str(folder), cache_dir="none")
    msg = err.value.what
    assert "no vision tower weights" in msg and "google/siglip-so400m-patch14-384" in msg
    assert "NIAH_VISION_TOWER" in msg and "\n" not in msg
    # a local SigLIP folder, by option or by environment variable
    siglip = build_siglip(tmp_path / "siglip")
    model = load_model("vilamp", str(folder), cache_dir="none", vision_tower=str(siglip))
    assert model.vlm.config.vision_config.num_hidden_layers == 2      # 3-layer SigLIP minus the last
    with safe_open(str(next(siglip.glob("*.safetensors"))), "pt") as f:
        key = next(k for k in f.keys() if k.endswith("encoder.layers.0.self_attn.q_proj.weight"))
        ref = f.get_tensor(key)
    tower_sd = model.vlm.model.vision_tower.state_dict()
    assert torch.equal(tower_sd[next(k for k in tower_sd if k.endswith("encoder.layers.0.self_attn.q_proj.weight"))], ref)
    assert str(siglip) in model.settings()["vision_tower"]
    monkeypatch.setenv("NIAH_VISION_TOWER", str(siglip))
    model = load_model("vilamp", str(folder), cache_dir="none")
    assert isinstance(model.answer(bench.cases[0], bench).text, str)


def test_missing_merger_and_lm_weights_are_input_errors(tmp_path):
    from tiny_models import build_released
    folder = build_released(tmp_path / "no-merger", merger=False)
    import json
    cfg = json.loads((folder / "config.json").read_text())
    cfg["composer_type"] = "sig_pooling"
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="merger weights"):
        load_model("vilamp", str(folder), cache_dir="none")
    # a shard listed in the index but absent
    broken = build_released(tmp_path / "broken")
    next(broken.glob("model-00002-*.safetensors")).unlink()
    with pytest.raises(InputError, match="missing"):
        load_model("vilamp", str(broken), cache_dir="none")


# ----- the checkpoint's config, enforced before any weight loads ---------------------------------
@pytest.fixture()
def no_weight_loading(monkeypatch):
    """Loading the LLM is a test failure: a refusal must come before it."""
    def refuse(*_, **__):
        raise AssertionError("weights loaded before the config was checked")
    monkeypatch.setattr(llava_checkpoint, "load_released", refuse)


@pytest.mark.parametrize("overrides, said", [
    ({"composer_type": "single_token"}, "not supported: composer_type=single_token; supported: sig_pooling"),
    ({"composer_type": None}, "not supported: composer_type=(absent: the config class default single_token); "
                              "supported: sig_pooling"),
    ({"composer_type": "average_pooling"}, "not supported: composer_type=average_pooling; supported: sig_pooling"),
    ({"frame_selector_type": "ClusterFrameSelector"},
     "not supported: frame_selector_type=ClusterFrameSelector; supported: SeqFrameSelector"),
    ({"activate_frame_selector": False}, "not supported: activate_frame_selector=False; supported: True"),
])
def test_released_refuses_other_configs_in_one_line_before_loading(tmp_path, no_weight_loading, overrides, said):
    from tiny_models import build_released
    folder = build_released(tmp_path / "other", config=overrides)
    with pytest.raises(InputError) as err:
        load_model("vilamp", str(folder), cache_dir="none")
    assert err.value.what == said and "\n" not in str(err.value)


def test_paper_profile_scores_what_released_refuses(tmp_path):
    from tiny_models import build_released
    folder = build_released(tmp_path / "single", merger=False, config={"composer_type": None})
    model = load_model("vilamp", str(folder), cache_dir="none", profile="paper")
    assert not model.merger.learned and model.settings()["merger"] == "cosine"


def test_missing_clip_tokenizer_is_one_line_before_loading(tmp_path, no_weight_loading, monkeypatch):
    from tiny_models import build_released
    monkeypatch.delenv(llava_checkpoint.CLIP_TOKENIZER_ENV, raising=False)
    folder = build_released(tmp_path / "no-clip-tok", clip_tokenizer=False)
    with pytest.raises(InputError) as err:
        load_model("vilamp", str(folder), cache_dir="none")
    msg = err.value.what
    assert "CLIP tokenizer" in msg and "/ossfs/workspace/nas2/chengchuanqi/clip-ViT-B-32/0_CLIPModel" in msg
    assert "clip_tokenizer=" in msg and "NIAH_CLIP_TOKENIZER" in msg and "\n" not in msg
    # a folder named by option that is not a tokenizer: one line naming it
    with pytest.raises(InputError) as err:
        load_model("vilamp", str(folder), cache_dir="none", clip_tokenizer=str(tmp_path))
    assert err.value.where == str(tmp_path) and "vocab.json" in err.value.what


def test_clip_tokenizer_by_option_or_variable(tmp_path, bench, monkeypatch):
    from tiny_models import build_clip_tokenizer, build_released
    folder = build_released(tmp_path / "no-clip-tok", clip_tokenizer=False)
    tok = build_clip_tokenizer(tmp_path / "st" / "0_CLIPModel")
    model = load_model("vilamp", str(folder), cache_dir="none", clip_tokenizer=str(tmp_path / "st"))
    assert model.clip.tokenizer_found == f"{tok} (clip_tokenizer option)"
    assert model.settings()["clip_tokenizer"] == tokenizer_digest(tok)
    # the authors' tokenizer, not open_clip's: quotes and HTML entities tokenized as HF CLIP does
    import open_clip
    text = "What\u2019s the man\u2019s \u201cfavourite\u201d colour? Tom &amp; Jerry"
    ours = model.clip.tokenizer([text])["input_ids"][0]
    theirs_not = [i for i in open_clip.get_tokenizer("ViT-B-32")([text])[0].tolist() if i]
    assert len(ours) == 23 and len(theirs_not) == 15
    monkeypatch.setenv(llava_checkpoint.CLIP_TOKENIZER_ENV, str(tok))
    model = load_model("vilamp", str(folder), cache_dir="none")
    assert model.clip.tokenizer_found.endswith("(NIAH_CLIP_TOKENIZER)")
    assert model.settings()["clip_tokenizer"] == tokenizer_digest(tok)   # where it was found: not identity
    assert isinstance(model.answer(bench.cases[0], bench).text, str)


def test_input_is_cut_at_tokenizer_model_max_length(tmp_path, bench):
    from tiny_models import build_released
    full = load_model("vilamp", str(build_released(tmp_path / "uncut")), cache_dir="none")
    case = bench.cases[0]
    tokens = full.visual_tokens(case, bench).shape[0]
    assert full.answer(case, bench).input_cut == 0 and full.settings()["max_input_tokens"] is None
    limit = tokens  # the visual tokens alone: the prompt around them pushes the tail out
    cut = load_model("vilamp", str(build_released(tmp_path / "cut", config={"tokenizer_model_max_length": limit})),
                     cache_dir="none")
    before, after = cut.prompt_pieces(case)
    tok = cut.processor.tokenizer
    total = tokens + sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in (before, after))
    answer = cut.answer(case, bench)
    assert answer.input_cut == total - limit > 0 and cut.settings()["max_input_tokens"] == limit


# ----- end to end: a released run records both answer rules ----------------------------------------
def test_released_run_records_official_and_strict_predictions_for_every_case(released, bench, tmp_path):
    import json
    import os
    import subprocess
    import sys

    from niah.answers import official_answer, parse_answer
    from niah.results import read_run
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, NIAH_FEATURE_CACHE="none",
               PYTHONPATH=os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "runner", "score", "--data", str(bench.root), "--model", "vilamp",
                           "--model-path", str(released), "--out", str(tmp_path), "--device", "cpu", "--no-progress"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [run] = [p for p in tmp_path.iterdir() if p.is_dir()]
    info, results, problems = read_run(run)
    assert not problems and len(results) == len(bench.cases)
    assert info["settings"]["checkpoint_config_sha256"] == \
        hashlib.sha256((released / "config.json").read_bytes()).hexdigest()[:16]
    for case in bench.cases:
        r = results[case.case_id]
        assert r.error is None and r.answer_rule == "official"
        assert r.prediction == official_answer(r.raw_output, case.options)
        assert r.prediction_strict == parse_answer(r.raw_output, case.options)
        assert r.correct == (r.prediction == case.answer) and r.input_cut == 0
        assert len(r.view["full_frames"]) == 4 and all(0 <= f < case.length for f in r.view["full_frames"])
        line = json.loads(next(l for l in (run / "results.jsonl").read_text().splitlines() if case.case_id in l))
        assert "prediction_strict" in line and "prediction" in line


@pytest.mark.parametrize("hub_id", ["orange-sk/ViLAMP-llava-qwen_sig", "orange-sk/ViLAMP-llava-qwen"])
def test_both_published_hub_ids_load_from_the_local_cache(hub_id, tmp_path, monkeypatch):
    """The authors' install link names ``..._sig``, their badge and script the other; both are
    read from the local Hugging Face cache (no download) the same way."""
    import huggingface_hub.constants as c
    from tiny_models import build_released
    cache = tmp_path / "hub"
    repo = cache / ("models--" + hub_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    build_released(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(cache), raising=False)
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True, raising=False)
    model = load_model("vilamp", hub_id, cache_dir="none")
    s = model.settings()
    assert (s["model_path"], s["revision"], s["composer_type"]) == (hub_id, commit, "sig_pooling")
