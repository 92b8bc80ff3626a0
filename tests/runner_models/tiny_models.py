"""Tiny random-weight checkpoints of the real architectures, built offline for tests/benchmarks.

* ``build_llava_ov(folder)``: ``LlavaOnevisionForConditionalGeneration`` (tiny SigLIP vision
  tower + 2-layer MLP projector + tiny Qwen2) and its real ``LlavaOnevisionProcessor``
  (image + video processors, a word-level ``PreTrainedTokenizerFast`` with the ChatML tokens
  and a ChatML chat template), saved with ``save_pretrained``.
* ``build_clip(folder)``: a tiny HF ``CLIPModel`` + tokenizer + preprocessor config.
* ``build_vilamp(folder)``: ``build_llava_ov`` + ``clip/`` + ``vilamp_config.json`` (+ optional
  learned merger weights ``vilamp_merger.safetensors``), the layout ``runner.models.vilamp`` reads.
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
