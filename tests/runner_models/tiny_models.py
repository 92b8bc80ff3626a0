"""Tiny random-weight checkpoints of the real architectures, built offline for tests/benchmarks.

* ``build_llava_ov(folder)``: ``LlavaOnevisionForConditionalGeneration`` (tiny SigLIP vision
  tower + 2-layer MLP projector + tiny Qwen2) and its real ``LlavaOnevisionProcessor``
  (image + video processors, a word-level ``PreTrainedTokenizerFast`` with the ChatML tokens
  and a ChatML chat template), saved with ``save_pretrained``.
* ``build_clip(folder)``: a tiny HF ``CLIPModel`` + tokenizer + preprocessor config.
* ``build_vilamp(folder)``: ``build_llava_ov`` + ``clip/`` + ``vilamp_config.json`` (+ optional
  learned merger weights ``vilamp_merger.safetensors``), the layout ``runner.vilamp.model`` reads.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

WORDS = ("a the what which is in of video frame color red blue green answer option letter with from "
         "given choices directly A B C D . , ? you are helpful assistant system user").split()
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>", "[UNK]"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'video' %}<video>\n"
    "{% elif c['type'] == 'image' %}<image>\n{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
IMAGE_SIZE = 42   # 3 x 3 = 9 patches of 14 px (SigLIP-so400m: 27 x 27 = 729)
PATCH = 14


def build_tokenizer(chat_template: str | None = CHAT_TEMPLATE):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    vocab = {tok: i for i, tok in enumerate(SPECIALS + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", bos_token=None,
                                   additional_special_tokens=["<|im_start|>", "<image>", "<video>"])
    if chat_template:
        fast.chat_template = chat_template
    return fast


def build_llava_ov(folder: str | Path, hidden: int = 32, seed: int = 0) -> Path:
    from transformers import (LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration,
                              LlavaOnevisionImageProcessor, LlavaOnevisionProcessor,
                              LlavaOnevisionVideoProcessor, Qwen2Config, SiglipVisionConfig)
    folder = Path(folder)
    tokenizer = build_tokenizer()
    vision = SiglipVisionConfig(hidden_size=24, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
                                image_size=IMAGE_SIZE, patch_size=PATCH, vision_use_head=False)
    text = Qwen2Config(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=8192, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id, bos_token_id=None, tie_word_embeddings=False)
    config = LlavaOnevisionConfig(vision_config=vision, text_config=text,
                                  image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
                                  video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
                                  vision_feature_layer=-1, vision_feature_select_strategy="full",
                                  image_grid_pinpoints=[[IMAGE_SIZE, IMAGE_SIZE]])
    torch.manual_seed(seed)
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    size = {"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    processor = LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size=size, image_grid_pinpoints=[[IMAGE_SIZE, IMAGE_SIZE]],
                                                     image_mean=[0.5] * 3, image_std=[0.5] * 3),
        tokenizer=tokenizer,
        video_processor=LlavaOnevisionVideoProcessor(size=size, image_mean=[0.5] * 3, image_std=[0.5] * 3),
        num_image_tokens=(IMAGE_SIZE // PATCH) ** 2, vision_feature_select_strategy="full",
        chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(folder)
    return folder


def build_clip(folder: str | Path, seed: int = 1) -> Path:
    from transformers import CLIPConfig, CLIPModel
    folder = Path(folder)
    tokenizer = build_tokenizer(chat_template=None)
    config = CLIPConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 2, "num_attention_heads": 2, "max_position_embeddings": 77,
                     "eos_token_id": 2, "pad_token_id": 0, "bos_token_id": 1},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                       "num_attention_heads": 2, "image_size": 32, "patch_size": 16},
        projection_dim=16)
    torch.manual_seed(seed)
    CLIPModel(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
        "crop_size": {"height": 32, "width": 32}, "size": {"shortest_edge": 32}}))
    return folder


def build_vilamp(folder: str | Path, learned_merger: bool = False, settings: dict | None = None,
                 seed: int = 0) -> Path:
    folder = build_llava_ov(folder, seed=seed)
    build_clip(folder / "clip")
    config = {"max_frame_num": 4, "f2f_thrd": 0.85, "mm_spatial_pool_mode": "bilinear",
              "composer_type": "sig_pooling" if learned_merger else None, "composer_proj_dim": 16}
    config.update(settings or {})
    (folder / "vilamp_config.json").write_text(json.dumps(config, indent=1))
    if learned_merger:
        from safetensors.torch import save_file
        from runner.vilamp.merging import Merger
        torch.manual_seed(seed + 7)
        merger = Merger(32, query_dim=16, learned=True, alpha=0.01)
        save_file({k: v.contiguous() for k, v in merger.state_dict().items()}, str(folder / "vilamp_merger.safetensors"))
    return folder


# ----- the released (original LLaVA-NeXT) layout -------------------------------------------------
SIGLIP_TINY = {"hidden_size": 144, "intermediate_size": 48, "num_hidden_layers": 3, "num_attention_heads": 2,
               "image_size": IMAGE_SIZE, "patch_size": PATCH}   # head size 72, as SigLIP-so400m's


def build_siglip(folder: str | Path, seed: int = 3) -> Path:
    """A tiny full SigLIP vision model folder (what google/siglip-so400m-patch14-384 is, at scale)."""
    from transformers import SiglipVisionConfig, SiglipVisionModel
    folder = Path(folder)
    torch.manual_seed(seed)
    SiglipVisionModel(SiglipVisionConfig(**SIGLIP_TINY)).eval().save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps({"image_mean": [0.5] * 3, "image_std": [0.5] * 3}))
    return folder


def released_state(hidden: int = 32, seed: int = 0, vision: bool = True, clip: bool = True,
                   merger: bool = True) -> tuple[dict, dict, "PreTrainedTokenizerFast"]:
    """(state dict with the released key names, released-style config.json dict, tokenizer)."""
    from transformers import (CLIPConfig, CLIPModel, Qwen2Config, Qwen2ForCausalLM, SiglipVisionConfig,
                              SiglipVisionModel)
    from runner.vilamp.merging import Merger
    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    text = dict(vocab_size=len(tokenizer) + 8, hidden_size=hidden, intermediate_size=2 * hidden,
                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=8192,
                rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=False,
                eos_token_id=tokenizer.eos_token_id, bos_token_id=None)
    state = {k: v for k, v in Qwen2ForCausalLM(Qwen2Config(**text)).state_dict().items()}   # model.*, lm_head.weight
    if vision:
        tower = SiglipVisionModel(SiglipVisionConfig(**SIGLIP_TINY, vision_use_head=True)).state_dict()
        for k, v in tower.items():
            k = k[len("vision_model."):] if k.startswith("vision_model.") else k
            if k.startswith(f"encoder.layers.{SIGLIP_TINY['num_hidden_layers'] - 1}."):
                continue                         # LLaVA-NeXT deletes the last layer before training/saving
            state["model.vision_tower.vision_tower.vision_model." + k] = v
    proj = torch.nn.Sequential(torch.nn.Linear(SIGLIP_TINY["hidden_size"], hidden), torch.nn.GELU(),
                               torch.nn.Linear(hidden, hidden))
    state.update({"model.mm_projector." + k: v for k, v in proj.state_dict().items()})
    state["model.image_newline"] = torch.randn(hidden)
    if clip:
        cfg = CLIPConfig(text_config={"vocab_size": 49408, "hidden_size": 64, "intermediate_size": 64,
                                      "num_hidden_layers": 1, "num_attention_heads": 1, "max_position_embeddings": 77,
                                      "hidden_act": "quick_gelu"},
                         vision_config={"hidden_size": 64, "intermediate_size": 64, "num_hidden_layers": 1,
                                        "num_attention_heads": 1, "image_size": 32, "patch_size": 16,
                                        "hidden_act": "quick_gelu"},
                         projection_dim=16)
        state.update({"model.frame_selector.model." + k: v for k, v in CLIPModel(cfg).state_dict().items()})
    if merger:
        m = Merger(hidden, query_dim=16, learned=True, alpha=0.01)
        state.update({"model.composer_projector." + k: v for k, v in m.state_dict().items()})
    config = {
        "architectures": ["LlavaQwenForCausalLM"], "model_type": "llava_qwen", **text,
        "hidden_act": "silu", "torch_dtype": "bfloat16", "use_sliding_window": False, "sliding_window": 4096,
        "max_window_layers": 2, "rope_scaling": None,
        "mm_vision_tower": "google/siglip-so400m-patch14-384", "mm_projector_type": "mlp2x_gelu",
        "mm_hidden_size": SIGLIP_TINY["hidden_size"], "mm_vision_select_layer": -2,
        "mm_vision_select_feature": "patch", "mm_patch_merge_type": "spatial_unpad",
        "image_aspect_ratio": "anyres_max_9", "image_grid_pinpoints": "(1x1),...,(6x6)",
        "mm_spatial_pool_mode": "bilinear", "mm_spatial_pool_stride": 2, "mm_newline_position": "one_token",
        "mm_tunable_parts": "mm_vision_tower,mm_mlp_adapter,mm_language_model", "use_mm_proj": True,
        "activate_frame_selector": True, "frame_selector_type": "SeqFrameSelector",
        "clip_model_path": "/ossfs/workspace/nas2/chengchuanqi/clip-ViT-B-32/0_CLIPModel",
        "f2f_thrd": 0.85, "f2t_thrd": -1, "max_frame_num": 4, "cluster_num": 64,
        "composer_type": "sig_pooling" if merger else None, "composer_proj_dim": 16, "composer_proj_mlp_depth": 2,
        "activate_pre_fusion": False,
    }
    return state, config, tokenizer


def build_clip_tokenizer(folder: str | Path) -> Path:
    """OpenAI CLIP's BPE tokenizer as an HF folder (``vocab.json`` + ``merges.txt``, what
    sentence-transformers/clip-ViT-B-32/0_CLIPModel ships), built offline from the BPE merges
    open_clip bundles: 256 byte symbols, the same with ``</w>``, one token per merge, then
    ``<|startoftext|>`` and ``<|endoftext|>`` (49,408 entries)."""
    import gzip
    import os

    import open_clip
    from transformers import CLIPTokenizer
    from open_clip.tokenizer import bytes_to_unicode
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bpe = Path(os.path.dirname(open_clip.__file__)) / "bpe_simple_vocab_16e6.txt.gz"
    merges = gzip.open(bpe).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({tok: i for i, tok in enumerate(vocab)}, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt")).save_pretrained(folder)
    return folder


def build_released(folder: str | Path, shards: int = 2, clip_tokenizer: bool = True,
                   config: dict | None = None, **kwargs) -> Path:
    """A tiny checkpoint in the released ViLAMP layout (sharded safetensors + index + config +
    tokenizer); ``clip_tokenizer``: also the CLIP tokenizer folder where the authors' script
    looks (``clip-ViT-B-32/0_CLIPModel``, here under the checkpoint); ``config``: keys to
    override in ``config.json`` (None values delete the key)."""
    from safetensors.torch import save_file
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state, cfg, tokenizer = released_state(**kwargs)
    for key, value in (config or {}).items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    if clip_tokenizer:
        build_clip_tokenizer(folder / "clip-ViT-B-32" / "0_CLIPModel")
    keys = sorted(state)
    weight_map = {}
    for i in range(shards):
        name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = {k: state[k].contiguous().clone() for k in keys[i::shards]}
        save_file(part, str(folder / name), metadata={"format": "pt"})
        weight_map.update({k: name for k in part})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    (folder / "config.json").write_text(json.dumps(cfg, indent=1))
    tokenizer.chat_template = None
    tokenizer.save_pretrained(folder)
    return folder
