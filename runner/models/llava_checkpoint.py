"""Load original-LLaVA-format checkpoints (LLaVA-NeXT ``LlavaQwenForCausalLM``, as released for
ViLAMP at ``orange-sk/ViLAMP-llava-qwen`` and for LLaVA-OneVision at ``lmms-lab/...``) as the
Hugging Face ``LlavaOnevisionForConditionalGeneration`` + ``LlavaOnevisionProcessor``, in memory.

Nothing is converted on disk and nothing is written: the config is mapped and the state-dict
keys are renamed while the safetensors are read. ViLAMP's own parts come out alongside:

* the learned merger (``composer_type: sig_pooling``, module ``model.composer_projector``) as a
  state dict for :class:`runner.vilamp.merging.Merger`;
* the keyframe-selection CLIP ViT-B-32 (module ``model.frame_selector.model``, an HF ``CLIPModel``
  built from ``clip_model_path``'s config), as an in-memory :class:`runner.vilamp.clip.ClipEncoder`
  with the HF CLIP tokenizer the authors' ``CLIPProcessor`` uses (:func:`clip_tokenizer_folder`;
  missing is a one-line error, never another tokenizer).

Released layout (what :func:`is_released_layout` detects)::

    config.json                  Qwen2Config + LLaVA keys: architectures [LlavaQwenForCausalLM],
                                 model_type llava_qwen (ViLAMP) / llava / qwen2, mm_vision_tower
                                 (google/siglip-so400m-patch14-384), mm_projector_type mlp2x_gelu,
                                 mm_hidden_size 1152, mm_vision_select_layer -2, image_aspect_ratio,
                                 image_grid_pinpoints, mm_spatial_pool_mode / _stride,
                                 mm_patch_merge_type, and ViLAMP's activate_frame_selector,
                                 frame_selector_type, clip_model_path, f2f_thrd, f2t_thrd,
                                 max_frame_num, composer_type, composer_proj_dim
    model-0000x-of-0000N.safetensors (+ model.safetensors.index.json)
    vocab.json, merges.txt, tokenizer_config.json (Qwen2 tokenizer; tokenizer.json optional)

Config mapping (released -> HF):

* text_config = ``Qwen2Config`` from the top-level Qwen2 keys (hidden_size, layers, heads, kv
  heads, intermediate_size, vocab_size, rope_theta, rms_norm_eps, max_position_embeddings,
  sliding window keys, tie_word_embeddings); ``rope_scaling`` dropped (LlavaQwenForCausalLM
  sets it to None);
* vision_config = ``SiglipVisionConfig``: from a local SigLIP folder when one is given or
  found (``vision_tower=`` option, ``NIAH_VISION_TOWER``, or ``mm_vision_tower`` as a local
  folder / already-cached hub id), else inferred from the vision weights in the checkpoint
  (hidden size, patch size, grid, layers, MLP width from the tensor shapes; heads = hidden/72,
  SigLIP-so400m's head size; image size from the ``-384`` suffix of ``mm_vision_tower``);
  ``vision_use_head=False``;
* LLaVA-NeXT's SigLIP tower deletes the **last** encoder layer and returns the last remaining
  hidden state (``mm_vision_select_layer: -2``), so the HF model keeps ``n - 1`` layers of a
  full SigLIP (the layers saved in the checkpoint when it has them: 26 for so400m) with
  ``vision_feature_layer = -1``, ``vision_feature_select_strategy = "full"`` (no CLS token);
* ``mm_projector_type`` must be ``mlp2x_gelu`` (linear-GELU-linear = HF's projector);
  ``image_aspect_ratio`` -> ``vision_aspect_ratio``; ``image_grid_pinpoints`` as a list or
  the ``"(1x1),...,(6x6)"`` string form; ``use_image_newline_parameter`` on;
* processor: the checkpoint's tokenizer plus ``<image>`` / ``<video>`` placeholder tokens (ids
  inside Qwen2's padded vocabulary, never embedded by ViLAMP) and LLaVA-NeXT's ``qwen_1_5``
  conversation as the chat template; SigLIP preprocessing (resize to 384, mean = std = 0.5).

Key renames (released -> HF ``LlavaOnevisionForConditionalGeneration`` module names)::

    model.embed_tokens.* / model.layers.* / model.norm.*  -> model.language_model.*
    lm_head.weight                                         -> lm_head.weight (embed_tokens if tied)
    model.mm_projector.0.*                                 -> model.multi_modal_projector.linear_1.*
    model.mm_projector.2.*                                 -> model.multi_modal_projector.linear_2.*
    model.image_newline                                    -> model.image_newline
    model.vision_tower.vision_tower.vision_model.*         -> model.vision_tower[.vision_model].*
        (encoder layers beyond the kept ones and the attention-pooling ``head.*`` dropped)
    model.composer_projector.*                             -> Merger state (linear_q/iq/k/ik, tau)
    model.frame_selector.model.*                           -> CLIPModel state (keyframe selection)
    *.rotary_emb.inv_freq, *.position_ids                  -> dropped (recomputed buffers)
    model.vision_resampler.*                               -> dropped (spatial pooling has no weights)
    anything else                                          -> ignored with a warning (listed in notes)

A SigLIP folder (``google/siglip-so400m-patch14-384``: keys ``vision_model.*``) supplies the
vision tower when the checkpoint has none. Anything else missing is a one-line
:class:`~niah.errors.InputError` naming it.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch

from niah.errors import InputError
from runner.models import hub

VISION_TOWER_ENV = "NIAH_VISION_TOWER"
LAYOUT = "llava-next-released"

#: LLaVA-NeXT's ``qwen_1_5`` conversation, with the video placeholder where ``<image>`` goes.
QWEN_1_5_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'video' %}<video>\n"
    "{% elif c['type'] == 'image' %}<image>\n{% endif %}{% endfor %}"
    "{% for c in message['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}"
    "{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_TEXT_KEYS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
              "num_key_value_heads", "hidden_act", "max_position_embeddings", "initializer_range",
              "rms_norm_eps", "rope_theta", "use_sliding_window", "sliding_window", "max_window_layers",
              "attention_dropout", "bos_token_id", "eos_token_id", "tie_word_embeddings")
#: the ViLAMP keys ``runner.vilamp.model`` reads (same names as its ``vilamp_config.json``)
VILAMP_KEYS = ("activate_frame_selector", "frame_selector_type", "clip_model_path", "f2f_thrd", "f2t_thrd",
               "max_frame_num", "composer_type", "composer_proj_dim", "composer_proj_mlp_depth",
               "mm_spatial_pool_mode", "mm_spatial_pool_stride", "activate_pre_fusion",
               "tokenizer_model_max_length")


# ----- detection -----------------------------------------------------------------------------
def read_config(folder: Path) -> dict:
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(folder / "config.json", f"unreadable ({exc})") from None


def is_released_layout(folder: str | Path) -> bool:
    """True for an original-LLaVA-format folder (``mm_vision_tower`` at the top level of config.json)."""
    path = Path(folder) / "config.json"
    if not path.exists():
        return False
    raw = read_config(Path(folder))
    archs = raw.get("architectures") or []
    return ("mm_vision_tower" in raw or raw.get("model_type") == "llava_qwen"
            or any(str(a).startswith("LlavaQwen") for a in archs)) and "vision_config" not in raw


# ----- weights ---------------------------------------------------------------------------------
def weight_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.exists():
        names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        missing = [n for n in names if not (folder / n).exists()]
        if missing:
            raise InputError(folder, f"weight shard(s) listed in model.safetensors.index.json are missing: "
                                     f"{', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        return [folder / n for n in names]
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        files = sorted(folder.glob("pytorch_model*.bin"))
    if not files:
        raise InputError(folder, "no model weights (*.safetensors or pytorch_model*.bin)")
    return files


def iter_tensors(files: list[Path]) -> Iterator[tuple[str, Any]]:
    """(key, loader) for every tensor; ``loader()`` reads it (lazily, one at a time)."""
    for path in files:
        if path.suffix == ".safetensors":
            from safetensors import safe_open
            with safe_open(str(path), framework="pt", device="cpu") as handle:
                for key in handle.keys():
                    yield key, (lambda h=handle, k=key: h.get_tensor(k))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
            for key, value in state.items():
                yield key, (lambda v=value: v)


def map_key(key: str) -> tuple[str, str] | None:
    """Released key -> (part, key in that part) with part in llava / vision / merger / clip / unknown;
    None for keys that carry no weights we need."""
    if key.endswith("rotary_emb.inv_freq") or key.startswith("model.vision_resampler."):
        return None
    if key.startswith("model.frame_selector.model."):
        return "clip", key[len("model.frame_selector.model."):]
    if key.startswith("model.composer_projector."):
        return "merger", key[len("model.composer_projector."):]
    if key.startswith("model.vision_tower."):
        rest = key[len("model.vision_tower."):]
        for prefix in ("vision_tower.", "vision_model."):
            if rest.startswith(prefix):
                rest = rest[len(prefix):]
        return "vision", rest
    m = re.match(r"^model\.mm_projector\.([02])\.(weight|bias)$", key)
    if m:
        return "llava", f"model.multi_modal_projector.linear_{1 if m.group(1) == '0' else 2}.{m.group(2)}"
    if key == "model.image_newline":
        return "llava", "model.image_newline"
    if key == "lm_head.weight":
        return "llava", "lm_head.weight"
    if key.startswith(("model.embed_tokens.", "model.layers.", "model.norm.")):
        return "llava", "model.language_model." + key[len("model."):]
    return "unknown", key


# ----- SigLIP ------------------------------------------------------------------------------------
def _siglip_folder(option: str | None, name: str | None) -> tuple[Path | None, str]:
    """A local SigLIP folder (option, env, or the config's tower name if local / cached) and how it was found."""
    for spec, how in ((option, "vision_tower option"), (os.environ.get(VISION_TOWER_ENV), VISION_TOWER_ENV)):
        if spec:
            folder, _ = hub.resolve(spec, "SigLIP vision tower")
            return folder, how
    if name:
        try:
            folder, _ = hub.resolve(name, "SigLIP vision tower", local_files_only=True)
            return folder, "mm_vision_tower"
        except InputError:
            pass
    return None, ""


def _siglip_config_dict(folder: Path) -> dict:
    raw = read_config(folder)
    if raw.get("model_type") == "siglip" or "vision_config" in raw:
        raw = raw.get("vision_config") or {}
    return {k: v for k, v in raw.items() if k in ("hidden_size", "intermediate_size", "num_hidden_layers",
                                                 "num_attention_heads", "image_size", "patch_size",
                                                 "num_channels", "hidden_act", "layer_norm_eps",
                                                 "attention_dropout")}


def _infer_siglip(vision: dict[str, torch.Tensor], tower_name: str | None) -> dict:
    """SigLIP config from the tower's tensor shapes (the released code hard-codes so400m's config)."""
    def get(suffix: str) -> torch.Tensor:
        for k, v in vision.items():
            if k.endswith(suffix):
                return v
        raise KeyError(suffix)
    patch = get("embeddings.patch_embedding.weight")
    hidden, channels, size = int(patch.shape[0]), int(patch.shape[1]), int(patch.shape[-1])
    side = int(round(get("embeddings.position_embedding.weight").shape[0] ** 0.5))
    image = side * size
    m = re.search(r"(\d+)$", tower_name or "")
    if m and int(m.group(1)) // size == side:
        image = int(m.group(1))            # 384 // 14 = 27: so400m's 384 px, not 27 * 14 = 378
    heads = hidden // 72 if hidden % 72 == 0 else max(1, hidden // 64)
    return {"hidden_size": hidden, "intermediate_size": int(get("layers.0.mlp.fc1.weight").shape[0]),
            "num_hidden_layers": _count_layers(vision, "encoder.layers."), "num_attention_heads": heads,
            "image_size": image, "patch_size": size, "num_channels": channels,
            "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6}


def _count_layers(state: dict, prefix: str) -> int:
    idx = {int(m.group(1)) for k in state for m in [re.search(re.escape(prefix) + r"(\d+)\.", k)] if m}
    return max(idx) + 1 if idx else 0


def _load_siglip_weights(folder: Path, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    out = {}
    bare = ("embeddings.", "encoder.", "post_layernorm.", "head.")   # a SiglipVisionModel saved on its own
    for key, load in iter_tensors(weight_files(folder)):
        for prefix in ("vision_model.", "model.vision_model.", ""):
            if key.startswith(prefix) and (prefix or key.startswith(bare)):
                out[key[len(prefix):]] = load().to(dtype)
                break
    if not out:
        raise InputError(folder, "no SigLIP vision weights (vision_model.*) in this folder")
    return out


# ----- CLIP (keyframe selection) ------------------------------------------------------------
CLIP_TOKENIZER_ENV = "NIAH_CLIP_TOKENIZER"
#: where the authors' Video-MME script loads ``CLIPProcessor`` from (relative to their working directory)
AUTHORS_CLIP_FOLDER = "clip-ViT-B-32/0_CLIPModel"
_TOKENIZER_SETS = (("vocab.json", "merges.txt"), ("tokenizer.json",))


def _tokenizer_folder(path: Path) -> Path | None:
    """``path`` (or its sentence-transformers ``0_CLIPModel`` sub-folder) if it holds a tokenizer."""
    for cand in (path, path / "0_CLIPModel"):
        if any(all((cand / f).is_file() for f in files) for files in _TOKENIZER_SETS):
            return cand
    return None


def clip_tokenizer_folder(checkpoint: Path, config: dict, option: str | None = None) -> tuple[Path, str]:
    """The folder of the CLIP tokenizer the authors' ``CLIPProcessor`` uses, and how it was found.

    Looked for, in order: ``option`` (``clip_tokenizer=``), ``$NIAH_CLIP_TOKENIZER``, the
    config's ``clip_model_path`` (as given, or under the checkpoint folder) and
    ``<checkpoint>/clip-ViT-B-32/0_CLIPModel`` (the path the authors' script loads, relative to
    its working directory). Nothing found is one line saying what to put where; there is no
    fallback to another tokenizer (open_clip's differs on quotes, HTML entities and full-width
    characters)."""
    for spec, how in ((option, "clip_tokenizer option"), (os.environ.get(CLIP_TOKENIZER_ENV), CLIP_TOKENIZER_ENV)):
        if spec:
            found = _tokenizer_folder(Path(spec).expanduser())
            if found is None:
                raise InputError(spec, f"no CLIP tokenizer here ({how}): need vocab.json + merges.txt or "
                                       f"tokenizer.json, as in sentence-transformers/clip-ViT-B-32/0_CLIPModel")
            return found, how
    configured = config.get("clip_model_path")
    candidates = [Path(configured).expanduser(), checkpoint / configured] if configured else []
    for cand in candidates + [checkpoint / AUTHORS_CLIP_FOLDER]:
        found = _tokenizer_folder(cand)
        if found is not None:
            return found, "clip_model_path" if cand in candidates else AUTHORS_CLIP_FOLDER
    raise InputError(checkpoint, f"the CLIP tokenizer for keyframe selection is missing: the authors' "
                                      f"CLIPProcessor reads it from {configured or AUTHORS_CLIP_FOLDER}, not on disk; "
                                      f"put sentence-transformers/clip-ViT-B-32's 0_CLIPModel folder at "
                                      f"<checkpoint>/{AUTHORS_CLIP_FOLDER}, or pass --model-option "
                                      f"clip_tokenizer=<folder> or set {CLIP_TOKENIZER_ENV}")


def _infer_clip_config(state: dict[str, torch.Tensor]):
    from transformers import CLIPConfig
    tok = state["text_model.embeddings.token_embedding.weight"]
    vpatch = state["vision_model.embeddings.patch_embedding.weight"]
    vpos = state["vision_model.embeddings.position_embedding.weight"].shape[0]
    side = int(round((vpos - 1) ** 0.5))
    vocab = int(tok.shape[0])
    return CLIPConfig(
        text_config={"vocab_size": vocab, "hidden_size": int(tok.shape[1]),
                     "intermediate_size": int(state["text_model.encoder.layers.0.mlp.fc1.weight"].shape[0]),
                     "num_hidden_layers": _count_layers(state, "text_model.encoder.layers."),
                     "num_attention_heads": max(1, int(tok.shape[1]) // 64),
                     "max_position_embeddings": int(state["text_model.embeddings.position_embedding.weight"].shape[0]),
                     "hidden_act": "quick_gelu", "eos_token_id": vocab - 1, "bos_token_id": vocab - 2,
                     "pad_token_id": 1},
        vision_config={"hidden_size": int(vpatch.shape[0]), "patch_size": int(vpatch.shape[-1]),
                       "image_size": side * int(vpatch.shape[-1]),
                       "intermediate_size": int(state["vision_model.encoder.layers.0.mlp.fc1.weight"].shape[0]),
                       "num_hidden_layers": _count_layers(state, "vision_model.encoder.layers."),
                       "num_attention_heads": max(1, int(vpatch.shape[0]) // 64), "hidden_act": "quick_gelu"},
        projection_dim=int(state["visual_projection.weight"].shape[0]))


def clip_from_checkpoint(released: "Released", device: str, dtype: torch.dtype, crop: bool = True,
                         tokenizer: str | None = None):
    """The checkpoint's own keyframe-selection CLIP (``model.frame_selector.model.*``) as a
    ClipEncoder (``crop``: its image input, see :mod:`runner.vilamp.clip`), with the HF CLIP
    tokenizer of :func:`clip_tokenizer_folder` (``tokenizer``: the ``clip_tokenizer=`` option)."""
    from transformers import AutoTokenizer, CLIPConfig, CLIPModel
    from runner.vilamp.clip import OPENAI_MEAN, OPENAI_STD, ClipEncoder, tokenizer_digest
    state = {k: v for k, v in released.clip_state.items() if not k.endswith("position_ids")}
    folder, how = clip_tokenizer_folder(released.folder, released.vilamp_config, tokenizer)
    has_config = (folder / "config.json").is_file()
    try:
        config = CLIPConfig.from_pretrained(folder) if has_config else _infer_clip_config(state)
    except KeyError as exc:
        raise InputError(released.folder, f"frame_selector CLIP weights incomplete (no {exc})") from None
    model = CLIPModel(config)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys:
        raise InputError(released.folder, f"frame_selector CLIP weights do not fit a CLIPModel "
                                          f"(missing {result.missing_keys[0]} and {len(result.missing_keys) - 1} more)")
    try:
        clip_tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise InputError(folder, f"cannot load the CLIP tokenizer ({str(exc).splitlines()[0]})") from None
    if len(clip_tokenizer) > config.text_config.vocab_size:
        raise InputError(folder, f"CLIP tokenizer has {len(clip_tokenizer)} tokens, more than the checkpoint's "
                                 f"CLIP vocabulary ({config.text_config.vocab_size})")
    pre = {}
    for name in ("preprocessor_config.json", "image_processor_config.json"):
        if (folder / name).exists():
            pre = json.loads((folder / name).read_text())
            break
    mean, std = tuple(pre.get("image_mean", OPENAI_MEAN)), tuple(pre.get("image_std", OPENAI_STD))

    enc = ClipEncoder.__new__(ClipEncoder)
    enc.spec = f"{released.folder}#model.frame_selector.model"
    enc.device, enc.dtype, enc.crop = device, dtype, crop
    enc.model = model.to(device, dtype).eval()
    enc.tokenizer = clip_tokenizer
    enc.tokenizer_source = tokenizer_digest(folder)
    enc.tokenizer_found = f"{folder} ({how})"
    enc.folder = released.folder
    enc.revision = released.revision
    enc.backend, enc.arch = "hf", config.vision_config.model_type
    enc.mean, enc.std = mean, std
    enc.size = int(config.vision_config.image_size)
    enc.max_text = int(config.text_config.max_position_embeddings)
    enc.fingerprint = hub.weights_fingerprint(released.folder, {
        "part": "frame_selector", "config": "local" if has_config else "inferred", "size": enc.size, "mean": mean,
        "std": std, "dtype": hub.dtype_name(dtype), "preprocess": enc.preprocessing, "output": enc.OUTPUT_FORM})
    return enc


# ----- the loader ----------------------------------------------------------------------------------
@dataclass
class Released:
    processor: Any
    model: Any
    folder: Path
    revision: str
    dtype: torch.dtype
    raw_config: dict
    vilamp_config: dict
    merger_state: dict[str, torch.Tensor] | None
    clip_state: dict[str, torch.Tensor] | None
    vision_source: str
    notes: list[str] = field(default_factory=list)


def _pinpoints(raw: Any, size: int) -> list[list[int]]:
    if isinstance(raw, list) and raw and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in raw):
        return [[int(a), int(b)] for a, b in raw]
    if isinstance(raw, str):
        grid = re.findall(r"\((\d+)x(\d+)\)", raw)
        if grid:
            lo_a, lo_b = min(int(a) for a, _ in grid), min(int(b) for _, b in grid)
            hi_a, hi_b = max(int(a) for a, _ in grid), max(int(b) for _, b in grid)
            return [[i * size, j * size] for i in range(lo_a, hi_a + 1) for j in range(lo_b, hi_b + 1)]
    return [[size, size]]


def load_released(model_path: str | None, what: str, device: str = "cpu", dtype: str = "auto",
                  vision_tower: str | None = None) -> Released:
    """Build the HF LLaVA-OneVision model + processor from a released-format folder / hub snapshot.

    Named steps, each refusing bad input in one line: the config's projector, the tensors routed
    by part, the tokenizer, the vision tower, the HF config, the HF state dict (complete, or an
    error: never random weights), the model, the processor."""
    folder, revision = hub.resolve(model_path, what)
    device = hub.check_device(device)
    torch_dtype = hub.torch_dtype(dtype, device)
    raw = read_config(folder)
    where = model_path or str(folder)
    _check_supported(raw, where)
    parts, notes = _route_tensors(folder, torch_dtype, where)
    tokenizer, image_id, video_id = _load_tokenizer(folder, where)
    tower = _vision_tower(parts["vision"], raw.get("mm_vision_tower"), vision_tower, torch_dtype, where)
    config = _hf_config(raw, tower.config, image_id, video_id)
    state = _hf_state(config, parts["llava"], tower.state, max(image_id, video_id), where, notes)
    model = _build_model(config, state, torch_dtype, device, tokenizer)
    processor = _processor(tower, config, tokenizer)
    vilamp = {k: raw[k] for k in VILAMP_KEYS if k in raw}
    return Released(processor, model, folder, revision, torch_dtype, raw, vilamp, parts["merger"] or None,
                    parts["clip"] or None, tower.source, notes)


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers' logging at error level inside (its "model of type llava_qwen" warnings are
    expected for this layout), restored after."""
    from transformers.utils import logging as hf_logging
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def _check_supported(raw: dict, where: str) -> None:
    """Refuse, before any tensor is read, layouts this mapping does not reproduce."""
    proj = raw.get("mm_projector_type", "linear")
    if proj != "mlp2x_gelu":
        raise InputError(where, f"mm_projector_type {proj!r} is not supported (only mlp2x_gelu, LLaVA-OneVision's)")
    if raw.get("activate_pre_fusion"):
        raise InputError(where, "activate_pre_fusion checkpoints are not supported")


def _route_tensors(folder: Path, torch_dtype: torch.dtype, where: str) -> tuple[dict[str, dict], list[str]]:
    """Every tensor by part (``llava``/``vision`` in the model dtype, ``merger``/``clip`` in
    float32 until their modules cast them); weights no HF module takes are named in a note."""
    parts: dict[str, dict[str, torch.Tensor]] = {"llava": {}, "vision": {}, "merger": {}, "clip": {}, "unknown": {}}
    for key, load in iter_tensors(weight_files(folder)):
        routed = map_key(key)
        if routed is None:
            continue
        part, name = routed
        if part == "unknown":
            parts[part][name] = None
            continue
        tensor = load()
        parts[part][name] = tensor.to(torch_dtype) if part in ("llava", "vision") else tensor.float()
    notes: list[str] = []
    if parts["unknown"]:
        # weights of modules this pipeline never runs (e.g. a training-only head): ignored, but said
        names = sorted(parts["unknown"])
        notes.append(f"ignored {len(names)} weight(s) no HF module takes, e.g. {names[0]}")
        warnings.warn(f"{where}: {notes[-1]}", stacklevel=3)
    return parts, notes


def _load_tokenizer(folder: Path, where: str) -> tuple[Any, int, int]:
    """The checkpoint's tokenizer with ``<image>``/``<video>`` added when it lacks them, and their ids."""
    from transformers import AutoTokenizer
    with _quiet_transformers():
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder)
        except (OSError, ValueError) as exc:
            raise InputError(where, f"cannot load the tokenizer ({str(exc).splitlines()[0]})") from None
    new = [t for t in ("<image>", "<video>") if tokenizer.convert_tokens_to_ids(t) in (None, tokenizer.unk_token_id)]
    if new:
        tokenizer.add_tokens(new, special_tokens=True)
    image_id, video_id = (tokenizer.convert_tokens_to_ids(t) for t in ("<image>", "<video>"))
    return tokenizer, image_id, video_id


@dataclass
class _Tower:
    """The vision tower as the HF model takes it: config, weights (last layer dropped), where
    they came from, and the local SigLIP folder if one was used (its preprocessor config)."""

    config: Any
    state: dict[str, torch.Tensor]
    source: str
    siglip: Path | None


def _vision_tower(vision: dict[str, torch.Tensor], tower_name: str | None, vision_tower: str | None,
                  torch_dtype: torch.dtype, where: str) -> _Tower:
    """Checkpoint weights, else a local SigLIP folder (``vision_tower=`` or the environment)."""
    from transformers import SiglipVisionConfig
    siglip, how = _siglip_folder(vision_tower, tower_name)
    vision = {k: v for k, v in vision.items() if not k.startswith("head.") and not k.endswith("position_ids")}
    if vision:
        vcfg = _siglip_config_dict(siglip) if siglip is not None else _infer_siglip(vision, tower_name)
        kept = _count_layers(vision, "encoder.layers.")
        source = f"checkpoint (config from {how})" if siglip is not None else "checkpoint (config inferred)"
    else:
        if siglip is None:
            raise InputError(where, f"the checkpoint has no vision tower weights and SigLIP "
                                    f"{tower_name or '(mm_vision_tower unset)'} is not available locally: pass "
                                    f"vision_tower=<SigLIP folder> or set {VISION_TOWER_ENV}")
        vcfg = _siglip_config_dict(siglip)
        vision = {k: v for k, v in _load_siglip_weights(siglip, torch_dtype).items()
                  if not k.startswith("head.") and not k.endswith("position_ids")}
        kept = int(vcfg.get("num_hidden_layers", _count_layers(vision, "encoder.layers."))) - 1   # LLaVA-NeXT drops the last layer
        source = f"{siglip} ({how})"
    vcfg = {**vcfg, "num_hidden_layers": kept, "vision_use_head": False}
    vision = {k: v for k, v in vision.items()
              if not (m := re.match(r"encoder\.layers\.(\d+)\.", k)) or int(m.group(1)) < kept}
    return _Tower(SiglipVisionConfig(**vcfg), vision, source, siglip)


def _hf_config(raw: dict, vision_config: Any, image_id: int, video_id: int) -> Any:
    """The ``LlavaOnevisionConfig`` equivalent of the original LLaVA config."""
    from transformers import LlavaOnevisionConfig, Qwen2Config
    text_config = Qwen2Config(**{k: raw[k] for k in _TEXT_KEYS if k in raw})
    config = LlavaOnevisionConfig(
        text_config=text_config.to_dict(), vision_config=vision_config.to_dict(),
        image_token_index=image_id, video_token_index=video_id, vision_feature_layer=-1,
        vision_feature_select_strategy="full", projector_hidden_act="gelu", multimodal_projector_bias=True,
        vision_aspect_ratio=raw.get("image_aspect_ratio", "anyres_max_9"),
        image_grid_pinpoints=_pinpoints(raw.get("image_grid_pinpoints"), int(vision_config.image_size)),
        tie_word_embeddings=bool(raw.get("tie_word_embeddings", False)))
    config.text_config.tie_word_embeddings = bool(raw.get("tie_word_embeddings", False))
    return config


def _hf_state(config: Any, llava: dict[str, torch.Tensor], vision: dict[str, torch.Tensor], top_token_id: int,
              where: str, notes: list[str]) -> dict[str, torch.Tensor]:
    """The state dict in HF names, exactly the keys the model has: a missing one is an error
    naming the part (never random weights), an extra one too. Appends to ``notes``."""
    from transformers import LlavaOnevisionForConditionalGeneration
    with torch.device("meta"):
        skeleton = LlavaOnevisionForConditionalGeneration(config)
    expected = set(skeleton.state_dict())
    del skeleton
    vprefix = "model.vision_tower.vision_model." if any(k.startswith("model.vision_tower.vision_model.")
                                                       for k in expected) else "model.vision_tower."
    state = dict(llava)
    state.update({vprefix + k: v for k, v in vision.items()})
    if "lm_head.weight" not in state and "model.language_model.embed_tokens.weight" in state:
        if not config.text_config.tie_word_embeddings:
            notes.append("lm_head.weight absent: tied to embed_tokens")
        state["lm_head.weight"] = state["model.language_model.embed_tokens.weight"]
    missing = sorted(k for k in expected - set(state) if not k.endswith("position_ids"))
    if missing:
        label = "vision tower" if missing[0].startswith("model.vision_tower") else \
            "projector" if "projector" in missing[0] else "language model" if "language_model" in missing[0] else missing[0]
        raise InputError(where, f"{label} weights missing from the checkpoint: {missing[0]}"
                                f"{f' and {len(missing) - 1} more' if len(missing) > 1 else ''}")
    extra = sorted(set(state) - expected)
    if extra:
        raise InputError(where, f"weights that do not fit LlavaOnevision: {extra[0]}"
                                f"{f' and {len(extra) - 1} more' if len(extra) > 1 else ''}")
    if top_token_id >= state["model.language_model.embed_tokens.weight"].shape[0]:
        notes.append("placeholder token ids exceed the embedding table (fine for ViLAMP, which never embeds them)")
    return state


def _build_model(config: Any, state: dict[str, torch.Tensor], torch_dtype: torch.dtype, device: str,
                 tokenizer: Any) -> Any:
    """The model from ``state``, on ``device``, its generation config ending at ``<|im_end|>``/EOS."""
    from transformers import LlavaOnevisionForConditionalGeneration
    with _quiet_transformers():
        model = LlavaOnevisionForConditionalGeneration.from_pretrained(
            None, config=config, state_dict=state, dtype=torch_dtype)
    model = model.to(device).eval()
    eos = [tokenizer.convert_tokens_to_ids("<|im_end|>")] if "<|im_end|>" in tokenizer.get_vocab() else []
    eos = [i for i in eos + ([tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []) if i is not None]
    model.generation_config.eos_token_id = sorted(set(eos)) or model.generation_config.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos or [None])[0]
    return model


def _processor(tower: _Tower, config: Any, tokenizer: Any) -> Any:
    """LLaVA-OneVision's processor at the tower's size and normalisation (SigLIP's 0.5/0.5 unless
    the local SigLIP folder says otherwise), with the qwen_1_5 chat template."""
    from transformers import (LlavaOnevisionImageProcessor, LlavaOnevisionProcessor,
                              LlavaOnevisionVideoProcessor)
    pre = {}
    if tower.siglip is not None and (tower.siglip / "preprocessor_config.json").exists():
        pre = json.loads((tower.siglip / "preprocessor_config.json").read_text())
    mean, std = pre.get("image_mean", [0.5] * 3), pre.get("image_std", [0.5] * 3)
    size = int(tower.config.image_size)
    sz = {"height": size, "width": size}
    return LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size=sz, image_grid_pinpoints=config.image_grid_pinpoints,
                                                     image_mean=mean, image_std=std),
        video_processor=LlavaOnevisionVideoProcessor(size=sz, image_mean=mean, image_std=std),
        tokenizer=tokenizer, num_image_tokens=(size // int(tower.config.patch_size)) ** 2,
        vision_feature_select_strategy="full", chat_template=QWEN_1_5_TEMPLATE)


def load_vlm(model_path: str | None, what: str, device: str, dtype: str, vision_tower: str | None = None):
    """Same return as ``hf_video.load_hf_vlm`` (processor, model, folder, revision, dtype) for a
    released-format checkpoint; ``hf_video.load_hf_vlm`` can call this when
    :func:`is_released_layout` says so (original LLaVA-OneVision checkpoints)."""
    rel = load_released(model_path, what, device, dtype, vision_tower=vision_tower)
    return rel.processor, rel.model, rel.folder, rel.revision, rel.dtype
