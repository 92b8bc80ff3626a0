"""The one interface every model implements (like lmms-eval's ``lmms``, with less).

A model turns one case into the raw generated text; parsing the option letter, timing,
scoring and writing results are the runner's job. ``settings()`` must list everything that
can change an answer (frames, K, tau, alpha, dtype, model path and revision, prompt version,
...): the runner stores it in ``run.json`` and hashes it into the run id.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any

from niah.cases import Benchmark
from niah.circular import shown_letter
from niah.schema import Case


@dataclass
class Answer:
    """What a model returns when it has more to say than the text.

    ``full_frames``: the case-frame indices the model saw at full resolution (uniform
    models: the sampled frames; ViLAMP: its keyframes; the oracle: the needle's; chance:
    none -> ``[]``). ``diagnostics``: model-specific, JSON-serialisable extras recorded
    beside them in the result's ``view``. ``input_cut``: LLM input tokens cut at the
    model's maximum length (0 when nothing was cut).
    """

    text: str
    full_frames: list[int] | None = None
    diagnostics: dict[str, Any] | None = None
    input_cut: int = 0


class Model(ABC):
    """A model under evaluation. Subclasses set ``name`` and implement the two methods."""

    #: Registry name: "vilamp", "llava-onevision", "random", "needle-oracle", ...
    name: str = ""

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """Everything that changes answers, JSON-serialisable (goes into ``run.json``)."""

    @abstractmethod
    def answer(self, case: Case, bench: Benchmark) -> "str | Answer":
        """The raw generated text for ``case`` (frames read from ``bench``), or an
        :class:`Answer` carrying it with what the model saw."""

    def answer_rotations(self, case: Case, bench: Benchmark,
                         option_lists: list[list[str]]) -> "list[str | Answer]":
        """One answer per option list (``runner score --circular``: the cyclic rotations of
        ``case.options``, rotation 0 first), each as :meth:`answer` would give it for the case
        with those options.

        This default asks :meth:`answer` once per rotation. Models whose expensive part does
        not depend on the options (the visual tokens) override it to compute that part once
        and reuse it for every option list (ViLAMP, the HF video-LLMs)."""
        return [self.answer(rotated_case(case, options, r), bench) for r, options in enumerate(option_lists)]

    def stats(self) -> dict[str, Any]:
        """Optional run statistics (e.g. feature-cache hits/misses, reuse ratio). Not settings."""
        return {}


def rotated_case(case: Case, options: list[str], rotation: int) -> Case:
    """``case`` with its options shown as in ``rotation`` (and the gold letter moved with them)."""
    if options == list(case.options):
        return case
    return replace(case, options=list(options), answer=shown_letter(case.answer, case.options, rotation) or "")
