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


def build_llava_ov(folder: str | Path, hidden: int = 32, seed: int = 0, image_size: int = IMAGE_SIZE) -> Path:
    """``image_size=384``: SigLIP-so400m's token geometry (27 x 27 patches per frame, 196 video
    tokens after pooling), tiny widths: what a frame costs the LLM at real size, cheaply."""
    from transformers import (LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration,
                              LlavaOnevisionImageProcessor, LlavaOnevisionProcessor,
                              LlavaOnevisionVideoProcessor, Qwen2Config, SiglipVisionConfig)
    folder = Path(folder)
    tokenizer = build_tokenizer()
    vision = SiglipVisionConfig(hidden_size=24, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
                                image_size=image_size, patch_size=PATCH, vision_use_head=False)
    text = Qwen2Config(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=8192, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id, bos_token_id=None, tie_word_embeddings=False)
    config = LlavaOnevisionConfig(vision_config=vision, text_config=text,
                                  image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
                                  video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
                                  vision_feature_layer=-1, vision_feature_select_strategy="full",
                                  image_grid_pinpoints=[[image_size, image_size]])
    torch.manual_seed(seed)
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    size = {"height": image_size, "width": image_size}
    processor = LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size=size, image_grid_pinpoints=[[image_size, image_size]],
                                                     image_mean=[0.5] * 3, image_std=[0.5] * 3),
        tokenizer=tokenizer,
        video_processor=LlavaOnevisionVideoProcessor(size=size, image_mean=[0.5] * 3, image_std=[0.5] * 3),
        num_image_tokens=(image_size // PATCH) ** 2, vision_feature_select_strategy="full",
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


# ----- the families a long-video paper compares against -------------------------------------------
# One tiny random-weight checkpoint per HF architecture, with its real processor classes and a chat
# template shaped like the real one (the video placeholder where the real template puts it), saved
# with save_pretrained so AutoProcessor / AutoModelForImageTextToText load the folder offline.
QWEN_SPECIALS = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
QWEN_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
INTERNVL_SPECIALS = ["<img>", "</img>", "<IMG_CONTEXT>"]

VL3_SPECIALS = ["<|image_pad|>", "<|video_pad|>"]
VL3_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'video' %}<|video_pad|>\n"
    "{% elif c['type'] == 'image' %}<|image_pad|>\n{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _family_tokenizer(specials: list[str], chat_template: str, extra: dict | None = None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    vocab = {tok: i for i, tok in enumerate(SPECIALS + specials + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", bos_token=None,
                                   **({"extra_special_tokens": extra} if extra else {}))
    fast.add_tokens(["<|im_start|>", "<image>", "<video>", *specials], special_tokens=True)  # already in the vocab
    fast.chat_template = chat_template
    return fast


def _tiny_text(tokenizer, hidden: int = 32, **extra) -> dict:
    return dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32768,
                eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
                tie_word_embeddings=False, **extra)


def _save(model, processor, tokenizer, folder: Path) -> Path:
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def build_qwen_vl(folder: str | Path, family: str = "qwen2.5-vl", seed: int = 0) -> Path:
    """Tiny ``Qwen2VL`` / ``Qwen2_5_VL`` / ``Qwen3VL`` ``ForConditionalGeneration`` with the real
    processor (Qwen2VL image processor + the family's video processor), patch 14 (Qwen3-VL: 16),
    2x2 spatial merge, 2 frames per temporal patch, as the released checkpoints."""
    import transformers as tf
    folder = Path(folder)
    tokenizer = _family_tokenizer(QWEN_SPECIALS, QWEN_TEMPLATE)
    ids = {k: tokenizer.convert_tokens_to_ids(t) for k, t in (("image_token_id", "<|image_pad|>"),
           ("video_token_id", "<|video_pad|>"), ("vision_start_token_id", "<|vision_start|>"),
           ("vision_end_token_id", "<|vision_end|>"))}
    mrope = {"rope_type": "default", "mrope_section": [2, 1, 1], "rope_theta": 1000000.0}   # head_dim 8: 2+1+1 = 4
    if family == "qwen2-vl":
        vision = dict(depth=2, embed_dim=16, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=14,
                      spatial_merge_size=2, temporal_patch_size=2)
        config = tf.Qwen2VLConfig(vision_config=vision, text_config=_tiny_text(tokenizer, rope_parameters=mrope), **ids)
        cls, processor_cls, video_cls, patch = tf.Qwen2VLForConditionalGeneration, tf.Qwen2VLProcessor, tf.Qwen2VLVideoProcessor, 14
    elif family == "qwen2.5-vl":
        vision = dict(depth=2, hidden_size=16, intermediate_size=32, num_heads=2, out_hidden_size=32, patch_size=14,
                      spatial_merge_size=2, temporal_patch_size=2, window_size=56, fullatt_block_indexes=[1])
        config = tf.Qwen2_5_VLConfig(vision_config=vision, text_config=_tiny_text(tokenizer, rope_parameters=mrope), **ids)
        cls, processor_cls, video_cls, patch = (tf.Qwen2_5_VLForConditionalGeneration, tf.Qwen2_5_VLProcessor,
                                                tf.Qwen2VLVideoProcessor, 14)
    elif family == "qwen3-vl":
        vision = dict(depth=2, hidden_size=16, intermediate_size=32, num_heads=2, out_hidden_size=32, patch_size=16,
                      spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=64,
                      deepstack_visual_indexes=[0])
        text = _tiny_text(tokenizer, head_dim=8, rope_parameters={**mrope, "mrope_interleaved": True})
        config = tf.Qwen3VLConfig(vision_config=vision, text_config=text, **ids)
        cls, processor_cls, video_cls, patch = (tf.Qwen3VLForConditionalGeneration, tf.Qwen3VLProcessor,
                                                tf.Qwen3VLVideoProcessor, 16)
    else:
        raise ValueError(family)
    torch.manual_seed(seed)
    model = cls(config).eval()
    pixels = {"shortest_edge": 4 * (2 * patch) ** 2, "longest_edge": 64 * (2 * patch) ** 2}
    processor = processor_cls(image_processor=tf.Qwen2VLImageProcessor(patch_size=patch, size=pixels),
                              video_processor=video_cls(patch_size=patch, size=pixels), tokenizer=tokenizer,
                              chat_template=QWEN_TEMPLATE)
    return _save(model, processor, tokenizer, folder)


def build_internvl(folder: str | Path, seed: int = 0) -> Path:
    """Tiny ``InternVLForConditionalGeneration`` (InternViT-style vision + pixel-shuffle 0.5 MLP + Qwen2)
    with the real ``InternVLProcessor`` (GotOcr2 image processor, InternVL video processor) at 28 px
    frames: (28/14)^2 patches -> pixel shuffle 0.5 -> 1 token per frame (InternVL3: 448 px, 256)."""
    import transformers as tf
    folder = Path(folder)
    extra = {"start_image_token": "<img>", "end_image_token": "</img>", "context_image_token": "<IMG_CONTEXT>",
             "video_token": "<video>"}
    tokenizer = _family_tokenizer(INTERNVL_SPECIALS, CHAT_TEMPLATE, extra)
    size = 56
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                  image_size=[size, size], patch_size=[14, 14])
    config = tf.InternVLConfig(vision_config=vision, text_config=_tiny_text(tokenizer),
                               image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
                               downsample_ratio=0.5, image_seq_length=(size // 14 // 2) ** 2,
                               tie_word_embeddings=False)   # InternVL3-8B's LLM (Qwen2.5-7B) is untied
    torch.manual_seed(seed)
    model = tf.InternVLForConditionalGeneration(config).eval()
    px = {"height": size, "width": size}
    processor = tf.InternVLProcessor(image_processor=tf.GotOcr2ImageProcessor(size=px),
                                     video_processor=tf.InternVLVideoProcessor(size=px), tokenizer=tokenizer,
                                     image_seq_length=(size // 14 // 2) ** 2, chat_template=CHAT_TEMPLATE)
    return _save(model, processor, tokenizer, folder)


def build_videollama3(folder: str | Path, seed: int = 0) -> Path:
    """Tiny ``VideoLlama3ForConditionalGeneration`` (SigLIP-NaViT vision, 2x2 merge for video, Qwen2)
    with the real ``VideoLlama3Processor`` (timestamps ``Time t.ts:`` per frame, token compression)."""
    import transformers as tf
    folder = Path(folder)
    tokenizer = _family_tokenizer(VL3_SPECIALS, VL3_TEMPLATE)
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2, patch_size=14)
    config = tf.VideoLlama3Config(vision_config=vision, text_config=_tiny_text(tokenizer),
                                  image_token_id=tokenizer.convert_tokens_to_ids("<|image_pad|>"),
                                  video_token_id=tokenizer.convert_tokens_to_ids("<|video_pad|>"))
    torch.manual_seed(seed)
    model = tf.VideoLlama3ForConditionalGeneration(config).eval()
    processor = tf.VideoLlama3Processor(image_processor=tf.VideoLlama3ImageProcessor(),
                                        video_processor=tf.VideoLlama3VideoProcessor(), tokenizer=tokenizer,
                                        chat_template=VL3_TEMPLATE)
    return _save(model, processor, tokenizer, folder)


FAMILY_BUILDERS = {
    "llava-onevision": build_llava_ov, "llava-video": build_llava_ov,
    "qwen2-vl": lambda f: build_qwen_vl(f, "qwen2-vl"), "qwen2.5-vl": lambda f: build_qwen_vl(f, "qwen2.5-vl"),
    "qwen3-vl": lambda f: build_qwen_vl(f, "qwen3-vl"), "internvl3": build_internvl, "videollama3": build_videollama3,
}
