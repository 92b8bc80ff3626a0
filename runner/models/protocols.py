"""Named protocols: how one HF family is run, so a number says which experiment it is.

A *protocol* fixes everything besides the weights that changes an answer: which frames and how
many, their pixels, the prompt text, the system message, the dtype, the answer length, and
whether the model sees the video at all. Every family has the same three
(:data:`PROTOCOL_NAMES`); the family holds them (``Family.protocols``):

* ``lmms-eval`` (the default): what lmms-eval 0.7.3 does for ``--model <name>`` on its
  ``videomme`` task - the wrapper's frame count and sampler, its pixel budget, the task's
  prompt with the model's own ``lmms_eval_specific_kwargs``, ``max_new_tokens`` 16, the text
  passed as the task builds it (no whitespace collapsed). The default because a paper sets its
  numbers beside lmms-eval's, and only the same protocol makes them comparable.
* ``card``: the model card's recommended video settings (each family's ``defaults``;
  README "Models" says which card gives what) and this runner's prompt
  (``runner.models.prompt.build_prompt``, whitespace collapsed).
* ``blind``: no video at all, lmms-eval's ``videomme_no_visual`` task (its prompt, an empty
  visual list): what the model answers from the question and its language priors alone.

``docs/protocols.md`` tabulates what each sees of a 2K and a 10K-frame case.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from niah.errors import InputError

DEFAULT_PROTOCOL = "lmms-eval"
PROTOCOL_NAMES = ("lmms-eval", "card", "blind")
#: the system message of InternVL's ``internvl2_5`` conversation template (remote code's model.chat)
INTERNVL_SYSTEM = ("你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的"
                   "多模态大语言模型。")


@dataclass(frozen=True)
class Protocol:
    """How a family is run under one name.

    ``defaults``: the family's video options under it (``None``: the card's); ``fields``: family
    fields it changes (a sampler, a frame side); ``prompt``: a style of
    :func:`runner.models.prompt.protocol_prompt`; ``system_prompt``: a system message sent
    explicitly (``None``: whatever the checkpoint's chat template does on its own); ``dtype``:
    the weights' dtype on CUDA under ``--dtype auto``; ``source``: where the facts come from.
    """

    name: str
    source: str
    defaults: dict[str, Any] | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    prompt: str = "runner"
    system_prompt: str | None = None
    dtype: str = "bfloat16"
    max_new_tokens: int = 16
    visual: bool = True

    def settings(self) -> dict[str, Any]:
        """What the run records of it (beside the family's resolved options)."""
        return {"protocol": self.name, "system_prompt": self.system_prompt, "visual": self.visual}


def card(source: str) -> Protocol:
    return Protocol("card", source=source)


def blind(system_prompt: str | None = None, dtype: str = "bfloat16") -> Protocol:
    """lmms-eval's videomme_no_visual: the default Video-MME prompt, no visual (the task's kwargs
    have no model-specific entry, so every model gets the default prompt)."""
    return Protocol("blind", source="lmms-eval 0.7.3 tasks/videomme/no_visual/videomme_no_visual.yaml",
                    prompt="videomme", system_prompt=system_prompt, dtype=dtype, visual=False)


def choose(protocols: dict[str, Protocol], name: str | None, family: str) -> Protocol:
    """The family's protocol ``name`` (default :data:`DEFAULT_PROTOCOL`); unknown -> one line."""
    name = name or DEFAULT_PROTOCOL
    if name not in protocols:
        raise InputError("--protocol", f"{name!r} is not a protocol of {family} (known: {', '.join(protocols)})")
    return protocols[name]
