"""The two readings of ViLAMP a run can name: ``released`` (what the released checkpoint does
under its authors' public inference code) and ``paper`` (Algorithm 1 and the paper's text).

Where the paper and the public code (``steven-ccq/ViLAMP``: ``frame_selector.py``,
``llava_arch.py``, ``scripts/eval/exp_vMME.py``) disagree, each profile fixes one answer; the
profile's name goes into the run's settings, so the two never share a run id. The README's
Fidelity table lists every step.
"""
from __future__ import annotations

from dataclasses import dataclass

from niah.errors import InputError


@dataclass(frozen=True)
class Profile:
    """What differs between the readings. Options given explicitly still override
    ``min_relevance`` and ``max_new_tokens``."""

    name: str
    #: walk: a chosen frame suppresses frames with similarity ``> tau`` (True) or ``>= tau``
    strict_suppression: bool
    #: dtype of the walk's cosines: "embedding" (the CLIP embeddings' own, fp16 on CUDA, as the
    #: authors' ``util.cos_sim``) or "float32"
    walk_dtype: str
    #: dtype of the merger's cosines and softmax: "model" (the model dtype, as the authors'
    #: ``SigPooling``) or "float32"
    merge_dtype: str
    #: fill up to K: the authors' ``distribute_frames`` or the paper's proportional spread
    fill: str
    #: merge reference of a non-keyframe after the j-th keyframe: video frame j
    #: ("keyframe-ordinal", the public code) or that keyframe ("preceding-keyframe", the paper)
    merge_reference: str
    #: CLIP input: "centre-crop" (aspect restored, short side to 224, centre crop, as
    #: CLIPProcessor does on the original frame) or "squash" (the stored square frame resized)
    clip_input: str
    #: prompt: "vilamp-authors" (their Video-MME prompt in qwen_1_5 ChatML) or the common prompt
    prompt: str
    max_new_tokens: int
    #: relevance floor when neither the option nor the checkpoint sets one
    default_min_relevance: float | None
    #: dtype for ``--dtype auto`` on CUDA (CPU always uses float32 for auto)
    cuda_dtype: str


RELEASED = Profile(name="released", strict_suppression=True, walk_dtype="embedding", merge_dtype="model",
                   fill="distribute", merge_reference="keyframe-ordinal", clip_input="centre-crop",
                   prompt="vilamp-authors", max_new_tokens=1, default_min_relevance=0.2, cuda_dtype="float16")
PAPER = Profile(name="paper", strict_suppression=False, walk_dtype="float32", merge_dtype="float32",
                fill="proportional", merge_reference="preceding-keyframe", clip_input="squash",
                prompt="common", max_new_tokens=16, default_min_relevance=None, cuda_dtype="bfloat16")
PROFILES: dict[str, Profile] = {p.name: p for p in (RELEASED, PAPER)}


def profile_named(name: str) -> Profile:
    """The profile called ``name``; an unknown name is a one-line :class:`InputError`."""
    if name not in PROFILES:
        raise InputError("--model-option profile", f"unknown ViLAMP profile {name!r} (known: {', '.join(PROFILES)})")
    return PROFILES[name]
