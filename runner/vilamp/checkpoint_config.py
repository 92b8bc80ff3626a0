"""The ViLAMP keys of a checkpoint's config, read and checked before any weight loads.

The authors' model reads these from its ``LlavaQwenConfig`` (``config.json`` of the released
checkpoint; ``vilamp_config.json`` beside an HF LLaVA-OneVision folder here):

* ``composer_type`` chooses what becomes of non-keyframes: ``sig_pooling`` (the learned merger,
  one token per frame) is what the released checkpoints use and the only one scored here.
  Their code also has ``single_token`` (the config class default, so an **absent** key means
  it), ``average_pooling[_res|_N]``, ``key_frame_pooling[_merge]``, ``uniform_sample_N`` and,
  with an explicit ``None``, the keyframes alone; each builds a different LLM input, so under
  the ``released`` profile any of them is refused in one line rather than scored as something
  the checkpoint's authors never ran;
* ``activate_frame_selector`` (default true) and ``frame_selector_type`` (default
  ``SeqFrameSelector``; ``ClusterFrameSelector`` is k-means): only the differential walk is here;
* ``f2f_thrd`` (tau), ``f2t_thrd`` (relevance floor), ``max_frame_num`` (K): read by the model;
* ``tokenizer_model_max_length``: their ``prepare_inputs_labels_for_multimodal`` cuts the LLM
  input (prompt + visual tokens) to this many positions; absent -> no cut.

The ``paper`` profile reads the same numbers but scores any checkpoint: without learned merger
weights it uses the paper's parameter-free merger.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from niah.errors import InputError
from runner.models import llava_checkpoint
from runner.vilamp.profiles import Profile

#: the ViLAMP keys' file beside an HF LLaVA-OneVision folder (the released layout keeps them in config.json)
CONFIG_NAME = "vilamp_config.json"

SUPPORTED_COMPOSERS = ("sig_pooling",)
#: (key, the authors' config-class default, the values scored here)
_CHECKED = (("activate_frame_selector", True, (True,)),
            ("frame_selector_type", "SeqFrameSelector", ("SeqFrameSelector",)))


@dataclass(frozen=True)
class CheckpointKeys:
    """A checkpoint's ViLAMP keys and what the profile makes of them, read before any weight loads.

    ``config``: the ViLAMP keys (empty when the folder has none); ``sha256``: digest of the file
    they came from (None when absent); ``max_input``: the LLM input cut (``released`` only)."""

    folder: Path
    released_layout: bool
    config: dict
    sha256: str | None
    max_input: int | None


def read_keys(folder: Path, where: str | Path, profile: Profile) -> CheckpointKeys:
    """Read the ViLAMP keys of ``folder`` and, under ``released``, refuse what the authors' code
    would not run (:func:`check_released`) and read its input cut (:func:`input_limit`)."""
    released_layout = llava_checkpoint.is_released_layout(folder)
    config_file = folder / ("config.json" if released_layout else CONFIG_NAME)
    if released_layout:
        raw = llava_checkpoint.read_config(folder)
        config = {k: raw[k] for k in llava_checkpoint.VILAMP_KEYS if k in raw}
    else:
        config = json.loads(config_file.read_text()) if config_file.exists() else {}
    max_input = None
    if profile.name == "released":
        check_released(config, where)
        max_input = input_limit(config, where)
    return CheckpointKeys(folder, released_layout, config, config_digest(config_file), max_input)


def check_released(config: dict, where: str | Path) -> None:
    """One-line :class:`InputError` naming the first key whose value the ``released`` profile
    does not reproduce (``composer_type`` first: an absent one means ``single_token``)."""
    composer = config.get("composer_type", "(absent: the config class default single_token)")
    if composer not in SUPPORTED_COMPOSERS:
        raise InputError(where, f"not supported: composer_type={composer}; supported: {', '.join(SUPPORTED_COMPOSERS)}")
    for key, default, supported in _CHECKED:
        value = config.get(key, default)
        if value not in supported:
            raise InputError(where, f"not supported: {key}={value}; supported: {', '.join(map(str, supported))}")


def input_limit(config: dict, where: str | Path) -> int | None:
    """``tokenizer_model_max_length`` as a positive int, or None (no cut)."""
    value = config.get("tokenizer_model_max_length")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError(where, f"tokenizer_model_max_length must be a positive integer, got {value!r}")
    return value


def config_digest(path: Path) -> str | None:
    """sha256 (16 hex digits) of the config file the ViLAMP keys came from; None when absent."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else None
