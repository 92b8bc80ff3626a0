"""Circular evaluation (VNBench's): a case is asked once per cyclic rotation of its options
and counts as correct only if every rotation is answered correctly.

Rotation ``r`` keeps the letters A, B, C, ... in place and moves the contents: the option
shown as letter ``i`` is the original option ``(i + r) mod n``. Rotation 0 is the question
as published (the option strings untouched), so a circular run's rotation 0 is a plain run.
A guesser passes all ``n`` rotations with probability ``(1/n)^n`` (0.39 % for four options)
instead of ``1/n``, and a model that always says "A" never passes: an accuracy measured
this way is not position bias.
"""
from __future__ import annotations

from typing import Sequence

from niah.answers import option_letters


def rotated_options(options: Sequence[str], rotation: int) -> list[str]:
    """The options as shown in ``rotation`` (``"A. text"`` lines); rotation 0 is ``options`` itself."""
    if rotation % max(len(options), 1) == 0:
        return list(options)
    contents = list(option_letters(options).values())
    n = len(contents)
    return [f"{chr(ord('A') + i)}. {contents[(i + rotation) % n]}" for i in range(n)]


def all_rotations(options: Sequence[str]) -> list[list[str]]:
    """One option list per rotation, rotation 0 first (one list for a question of 0 or 1 option)."""
    return [rotated_options(options, r) for r in range(max(len(options), 1))]


def to_original(shown: str | None, options: Sequence[str], rotation: int) -> str | None:
    """The original option letter of the letter ``shown`` answered in ``rotation`` (``None`` stays)."""
    if shown is None:
        return None
    letters = list(option_letters(options))
    if rotation % max(len(letters), 1) == 0:
        return shown
    position = ord(shown) - ord("A")
    if not 0 <= position < len(letters):
        return None
    return letters[(position + rotation) % len(letters)]


def shown_letter(original: str | None, options: Sequence[str], rotation: int) -> str | None:
    """The letter under which the original option ``original`` is shown in ``rotation``; ``None``
    for no letter or one that is not an option."""
    letters = list(option_letters(options))
    if original not in letters:
        return None
    if rotation % len(letters) == 0:
        return original
    return chr(ord("A") + (letters.index(original) - rotation) % len(letters))


def circular_chance(n_options: int) -> float:
    """A uniform guesser's chance of passing every rotation: ``(1/n)^n``."""
    return (1.0 / n_options) ** n_options if n_options > 0 else float("nan")
