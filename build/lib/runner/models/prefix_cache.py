"""Greedy answers to several prompts that share one long prefix, prefilling the prefix once.

A circular run (``runner score --circular``) asks every case once per rotation of its
options. Whatever the model, the prompt is ``[text before the video][visual tokens][question,
options, instruction]``: the visual tokens, by far the longest part (thousands of tokens for
ViLAMP), do not depend on the options order. So the prefix up to the first token where the
rotations differ is run through the LLM once, and its KV cache is copied for each rotation,
which prefills only its own suffix. Rotations whose suffixes have the same length are decoded
together as one batch (no padding, so no position or mask changes).

Decoding goes through the model's own ``generate`` with the prefilled cache: generate skips
the cached positions (it feeds ``inputs[:, cached:]``) and keeps every logits processor and
stopping rule of the plain path, so the tokens equal a full prefill per rotation up to float
rounding (tested in fp32 on the tiny models). Works for any HF causal LM or VLM whose
``generate`` takes ``cache=``; models with other position schemes must check that themselves.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Sequence

import torch


def common_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by every sequence."""
    if not sequences:
        return 0
    first = sequences[0]
    n = min(len(s) for s in sequences)
    for i in range(n):
        if any(s[i] != first[i] for s in sequences[1:]):
            return i
    return n


def shareable_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    """The common prefix, short enough that every sequence keeps at least one token of its own
    (its last position's logits start its answer). Identical sequences share all but one token."""
    if not sequences:
        return 0
    return max(0, min(common_prefix_length(sequences), min(len(s) for s in sequences) - 1))


@dataclass
class SharedPrefixResult:
    """New tokens per prompt (1-D tensors, in input order) and the LLM tokens prefilled."""

    new_tokens: list[torch.Tensor]
    prefill_tokens: int


@torch.no_grad()
def prefill(model: Any, **inputs: Any) -> Any:
    """Run ``model`` over a prefix and return its KV cache (only the last position's logits are
    computed: at 16K visual tokens all of them would take gigabytes)."""
    out = model(**inputs, use_cache=True, logits_to_keep=1)
    return out.cache


@torch.no_grad()
def generate_shared(model: Any, prompts: Sequence[dict[str, torch.Tensor]], prefix_len: int,
                    prefix_inputs: dict[str, Any], **generate_kwargs: Any) -> SharedPrefixResult:
    """Greedy-generate for each full prompt in ``prompts`` with the first ``prefix_len`` positions
    prefilled once.

    ``prompts``: one dict per prompt holding either ``input_ids`` (1, L) or ``inputs_embeds``
    (1, L, D) of the *whole* prompt; all share their first ``prefix_len`` positions.
    ``prefix_inputs``: what the model's forward needs for those positions (e.g. ``input_ids``
    of the prefix with ``pixel_values_videos``, or ``inputs_embeds``). Each prompt must be
    longer than ``prefix_len`` (the last position's logits come from its own suffix).
    """
    if prefix_len < 1 or any(_length(p) <= prefix_len for p in prompts):
        raise ValueError("every prompt must extend past the shared prefix")
    cache = prefill(model, **prefix_inputs)
    groups: dict[int, list[int]] = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(_length(prompt), []).append(i)
    new: list[torch.Tensor | None] = [None] * len(prompts)
    prefilled = prefix_len
    for length, members in groups.items():
        key = "input_ids" if "input_ids" in prompts[members[0]] else "inputs_embeds"
        batch = torch.cat([prompts[i][key] for i in members])
        group_cache = copy.deepcopy(cache)
        if len(members) > 1:
            group_cache.batch_repeat_interleave(len(members))
        mask = torch.ones(batch.shape[:2], dtype=torch.long, device=batch.device)
        out = model.generate(**{key: batch}, attention_mask=mask, cache=group_cache, do_sample=False,
                             **generate_kwargs)
        if key == "input_ids":  # generate returns the prompt too; with inputs_embeds only the new tokens
            out = out[:, length:]
        for row, i in enumerate(members):
            new[i] = out[row]
        prefilled += (length - prefix_len) * len(members)
    return SharedPrefixResult([t for t in new if t is not None], prefilled)


def _length(prompt: dict[str, torch.Tensor]) -> int:
    tensor = prompt["input_ids"] if "input_ids" in prompt else prompt["inputs_embeds"]
    return int(tensor.shape[1])
