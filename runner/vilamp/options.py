"""ViLAMP's run options, resolved by one pure function: explicit > the checkpoint's config > profile.

Kept apart from the model so the rule can be read and tested without weights: the checkpoint
config (``config.json`` of the released layout, ``vilamp_config.json`` beside an HF folder) is
a plain dict here, and every bad value is a one-line :class:`InputError` before anything loads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from niah.errors import InputError
from runner.vilamp.keyframes import DEFAULT_K, DEFAULT_TAU
from runner.vilamp.profiles import Profile

DEFAULT_CHUNK = 64
KEYFRAME_POOLS = ("bilinear", "average", "max", "none")
#: option name -> config key it falls back to (None: no config key)
_CONFIG_KEYS = {"keyframes": "max_frame_num", "tau": "f2f_thrd", "min_relevance": "f2t_thrd",
                "alpha": None, "keyframe_pool": "mm_spatial_pool_mode", "pool_stride": "mm_spatial_pool_stride",
                "chunk": None, "max_new_tokens": None}


@dataclass(frozen=True)
class Options:
    """The resolved numbers a ViLAMP run uses (all of them end up in ``settings()``).

    ``alpha`` is the merge temperature only when given explicitly (None: the learned merger's
    own ``tau``, or :data:`runner.vilamp.merging.DEFAULT_ALPHA` without one); ``query_dim`` is the
    config's ``composer_proj_dim`` (None: CLIP's embedding width, known once CLIP loads)."""

    keyframes: int
    tau: float
    min_relevance: float | None
    alpha: float | None
    keyframe_pool: str
    pool_stride: int
    chunk: int
    max_new_tokens: int
    query_dim: int | None


def check_names(explicit: Mapping[str, Any]) -> None:
    """A one-line error for options vilamp does not have (checked before the config is read)."""
    unknown = sorted(k for k in explicit if k not in _CONFIG_KEYS)
    if unknown:
        raise InputError("--model-option", f"unknown option(s) for vilamp: {', '.join(unknown)}")


def resolve_options(explicit: Mapping[str, Any], config: Mapping[str, Any], profile: Profile) -> Options:
    """``explicit`` (``--model-option`` values; None = not given) over ``config`` (the checkpoint's
    ViLAMP keys; a key holding None counts as absent) over ``profile``'s defaults.

    One exception, kept from the readings themselves: the relevance floor of the ``paper``
    profile is none unless given explicitly (Algorithm 1 has none; the config's ``f2t_thrd`` is
    the authors' code's). A floor of -1 or below means none."""
    check_names(explicit)

    def pick(name: str, default: Any) -> Any:
        if explicit.get(name) is not None:
            return explicit[name]
        key = _CONFIG_KEYS[name]
        return config[key] if key is not None and config.get(key) is not None else default

    if explicit.get("min_relevance") is not None:
        floor = explicit["min_relevance"]
    elif profile.default_min_relevance is None:
        floor = None
    else:
        floor = pick("min_relevance", profile.default_min_relevance)
    try:
        opts = Options(
            keyframes=int(pick("keyframes", DEFAULT_K)), tau=float(pick("tau", DEFAULT_TAU)),
            min_relevance=None if floor is None or float(floor) <= -1 else float(floor),
            alpha=None if explicit.get("alpha") is None else float(explicit["alpha"]),
            keyframe_pool=str(pick("keyframe_pool", "bilinear")), pool_stride=int(pick("pool_stride", 2)),
            chunk=int(pick("chunk", DEFAULT_CHUNK)), max_new_tokens=int(pick("max_new_tokens", profile.max_new_tokens)),
            query_dim=None if config.get("composer_proj_dim") is None else int(config["composer_proj_dim"]))
    except (TypeError, ValueError) as exc:
        raise InputError("--model-option", f"vilamp options must be numbers where numbers are expected ({exc})") from None
    if opts.keyframes <= 0 or not 0 < opts.tau <= 1 or opts.chunk <= 0 or opts.max_new_tokens <= 0:
        raise InputError("--model-option", f"need keyframes > 0, 0 < tau <= 1, chunk > 0, max_new_tokens > 0 "
                                           f"(got {opts.keyframes}, {opts.tau}, {opts.chunk}, {opts.max_new_tokens})")
    if opts.keyframe_pool not in KEYFRAME_POOLS:
        raise InputError("--model-option", f"unknown keyframe pooling {opts.keyframe_pool!r} "
                                           f"({', '.join(KEYFRAME_POOLS)})")
    return opts
