"""Read the chosen option letter out of a model's free-text answer, under named readings.

Every reading is one entry of :data:`READINGS` (name, extractor, description, older names);
the CLIs' choices and help, the report and the leaderboard are derived from it:

* ``lmms-eval`` (the default everywhere): lmms-eval 0.7.3's ``extract_mcq_answer``, as its
  Video-MME task calls it (:func:`niah.answer_references.lmms_eval_answer`): numbers set beside
  lmms-eval's are read the same way.
* ``videomme``: Video-MME's ``eval_your_results.py`` exactly, quirks included
  (:func:`niah.answer_references.videomme_answer`), with its accuracy over answered questions
  beside the all-cases one. ``official`` (this project's earlier, approximate transcription)
  is accepted as its old name; lines stored under ``official`` are read again from their output.
* ``strict``: this project's parser (:func:`parse_answer`), which also reads option text and
  refuses ambiguous outputs; kept as a second reading and stored beside the default one.

    parse_answer("The answer is (B).", case.options)  -> "B"
    parse_answer("I am not sure.", case.options)       -> None   (wrong, counted as unparsed)

Rules, tried in this order; the first that gives exactly one letter wins:

1. the whole output is one option letter, however wrapped: ``B``, ``(B)``, ``B.``, ``b)``,
   ``[C]``, ``**D**``, ``Option C``, ``<answer>A</answer>``;
2. an explicit statement: ``The answer is B``, ``Answer: b)``, ``the correct option is (C)``,
   ``I choose D``, ``B is correct``, ``I think it's b``; when a chain of thought states several, the last wins;
3. the output starts with a lettered option (``B. The man ...``, ``(C) red``) or a line
   holding only a letter (``C\n\nExplanation: ...``), and does not echo the option list;
4. the output contains the text of exactly one option (``Three times.``), or is a fragment
   of exactly one option's text;
5. exactly one distinct option letter stands alone anywhere in the output (two different
   letters, as in ``A and B`` or ``maybe A or C``, are unparsable).

Letters inside words never count, and neither does the English article: a bare ``A``/``a``
followed by a lower-case word (``A man walks ...``) is read as an option only when it is
marked as one (``(A)``, ``A.``, ``A)``, ``A:``). Anything else is unparsable -> ``None``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from niah.answer_references import lmms_eval_answer, videomme_answer

_OPTION = re.compile(r"^\s*[\(\[]?([A-Za-z])\s*[\.\):\]]\s*(.*)$", re.S)
_CHAT_JUNK = re.compile(r"<\|[^|>]*\|>|</?s>|<\|endoftext\|>")
_MARKUP = re.compile(r"[*`_#]+")
# a candidate option letter: not part of a word, optionally bracketed
_LETTER = r"[\(\[\{]?\s*([A-Za-z])\s*[\)\]\}]?"
_NOT_WORD_AFTER = r"(?![A-Za-z0-9'])"
_CONNECTOR = r"(?:\s+(?:is|was|would\s+be|should\s+be|will\s+be|must\s+be)\b\s*[:\-=]?|\s*[:=\-])"
# tiers of explicit statements; the first tier with a hit decides, the last hit in it wins
_STATEMENTS = [
    # "the answer is B", "Answer: b)", "correct option is (C)", "final answer - D", "answer (B)"
    [re.compile(r"\banswers?\b(?:" + _CONNECTOR + r")?\s*(?:option\s+|choice\s+|letter\s+)?"
                + _LETTER + _NOT_WORD_AFTER, re.I),
     re.compile(r"\b(?:option|choice)s?" + _CONNECTOR + r"\s*(?:option\s+|choice\s+|letter\s+)?"
                + _LETTER + _NOT_WORD_AFTER, re.I)],
    # "I choose D", "I'd pick (B)", "I would select option C", "go with A."
    [re.compile(r"\b(?:choose|chose|pick|picked|select|selected|go\s+with)\s+(?:option\s+|choice\s+)?"
                + _LETTER + _NOT_WORD_AFTER, re.I)],
    # "B is correct", "(C) is the right answer", "option D is the best"
    [re.compile(r"(?<![A-Za-z0-9'])" + _LETTER + r"\s+is\s+(?:the\s+)?(?:correct|right|best|most\s+likely|answer)",
                re.I)],    # "I think it's b", "it is C": a letter right after "it's"/"is", ending the text or a clause
    [re.compile(r"\b(?:it'?s|it\s+is|is)\s+(?:option\s+|choice\s+)?" + _LETTER + _NOT_WORD_AFTER, re.I)],
]
_STANDALONE = re.compile(r"(?<![A-Za-z0-9'])" + _LETTER + _NOT_WORD_AFTER)
_LEADING = re.compile(r"^\s*(?:\(\s*([A-Za-z])\s*\)|\[\s*([A-Za-z])\s*\]|([A-Za-z])\s*[\.\):])(?=\s|$)")
# "... and B", "... or (C)": after a letter, a conjunction and another lone letter
_JOINED = re.compile(r"\s+(?:and|or|nor)\s+[\(\[]?[A-Za-z](?![A-Za-z0-9'])")
_LINE_OPTION = re.compile(r"(?m)^\s*[\(\[]?([A-Za-z])[\.\):\]]\s+\S")


def option_letters(options: Sequence[str]) -> dict[str, str]:
    """``{"A": "option text", ...}`` from Video-MME style options (``"A. text"``);
    options without a letter prefix get A, B, C... by position."""
    out: dict[str, str] = {}
    for number, option in enumerate(options):
        match = _OPTION.match(option)
        if match and match.group(1).isupper():
            out[match.group(1)] = match.group(2).strip()
        else:
            out[chr(ord("A") + number)] = option.strip()
    return out


def _clean(text: str) -> str:
    text = _CHAT_JUNK.sub(" ", text)
    text = _MARKUP.sub("", text)
    return text.strip().strip("\"'“”‘’").strip()


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _letter_at(text: str, match: re.Match, group: int, letters: dict[str, str]) -> str | None:
    """The option letter a match names, or None if it is not one (or is the article "a")."""
    raw = match.group(group)
    letter = raw.upper()
    if letter not in letters:
        return None
    if re.search(r"[\(\[\{]", text[match.start():match.start(group)]):
        return letter  # "(a)": bracketed; one followed by ")" "." ":" passes every test below as well
    if raw == "A" and re.match(r"\s+[a-z]", text[match.end(group):]) and not _JOINED.match(text[match.end(group):]):
        return None  # "A man is ...": the article (but "A and B" / "A or C" name two options)
    if raw.islower():
        # "is b" at the end or before punctuation is a choice; "b" before a word is not, and a
        # bare "a" is then the article ("the answer is a" still reads A)
        return letter if not re.match(r"\s*[A-Za-z]", text[match.end(group):]) else None
    return letter


def _whole_letter(text: str, letters: dict[str, str]) -> str | None:
    bare = re.sub(r"</?answer>", " ", text, flags=re.I)
    bare = re.sub(r"^(?:the\s+)?(?:answer|option|choice)\s*(?:is)?\s*[:\-]?\s*", "", bare.strip(), flags=re.I)
    bare = bare.strip().strip(" \t\n.()[]{}:;,!\"'").strip()
    if len(bare) == 1 and bare.upper() in letters:
        return bare.upper()
    return None


def _statement(text: str, letters: dict[str, str]) -> str | None:
    for tier in _STATEMENTS:
        found: list[tuple[int, str]] = []
        for pattern in tier:
            for match in pattern.finditer(text):
                letter = _letter_at(text, match, 1, letters)
                if letter:
                    found.append((match.start(1), letter))
        if found:
            return max(found)[1]  # the last statement: a chain of thought ends with it
    return None


def _leading(text: str, letters: dict[str, str]) -> str | None:
    first_line = text.partition("\n")[0]
    if "\n" in text and _whole_letter(first_line, letters):
        return _whole_letter(first_line, letters)  # "C\n\nExplanation: ..."
    match = _LEADING.match(text)
    if not match:
        return None
    raw = next(g for g in match.groups() if g)
    if raw.upper() not in letters:
        return None
    echoed = {letter for m in _LINE_OPTION.finditer(text) if (letter := m.group(1).upper()) in letters}
    if len(echoed) > 1:
        return None  # the model repeated the option list
    return raw.upper()


def _option_text(text: str, letters: dict[str, str]) -> str | None:
    said = _normalise(text)
    if not said:
        return None
    texts = {letter: _normalise(body) for letter, body in letters.items() if _normalise(body)}
    contained = [l for l, body in texts.items() if re.search(rf"(?<![a-z0-9]){re.escape(body)}(?![a-z0-9])", said)]
    # keep only maximal matches ("red" is inside "red and blue")
    contained = [l for l in contained if not any(l != o and texts[l] in texts[o] for o in contained)]
    if len(contained) == 1:
        return contained[0]
    if contained:
        return None
    said = re.sub(r"^(?:i think |so )?(?:the )?(?:correct |right |final |best )?(?:answer|option|choice) (?:is )?",
                  "", said)
    if len(said) >= 3:
        fragment = [l for l, body in texts.items()
                    if re.search(rf"(?<![a-z0-9]){re.escape(said)}(?![a-z0-9])", body)]
        if len(fragment) == 1:
            return fragment[0]
    return None


def _standalone(text: str, letters: dict[str, str]) -> str | None:
    found = {letter for m in _STANDALONE.finditer(text)
             if (letter := _letter_at(text, m, 1, letters)) and m.group(1).isupper()}
    return found.pop() if len(found) == 1 else None


def parse_answer(text: str | None, options: Sequence[str]) -> str | None:
    """The option letter ("A".."D") the output chooses, or ``None`` if it cannot be told."""
    if not text:
        return None
    letters = option_letters(options)
    if not letters:
        return None
    cleaned = _clean(text)
    for rule in (_whole_letter, _statement, _leading, _option_text, _standalone):
        letter = rule(cleaned, letters)
        if letter is not None:
            return letter
    return None


# ----- the registry of readings -------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """One named way to read the letter out of an output. Everything that names, offers or
    describes readings (``runner report --answer-rule``, the report's header, the leaderboard's
    control, the export's ``--rule``) is derived from :data:`READINGS`, so a new reading is one
    :func:`register_reading` call."""

    name: str
    extract: Callable[[str | None, Sequence[str]], str | None]
    description: str                  # one clause: what the reading is, for help texts and reports
    aliases: tuple[str, ...] = ()     # older names still accepted on the command line and the page
    #: the reference also reports accuracy over the answered questions only (no letter: left out)
    answered_only: bool = False


#: name -> reading, in the order offered (the default first)
READINGS: dict[str, Reading] = {}
#: the reading every run stores as ``prediction`` and every table shows unless asked otherwise
DEFAULT_RULE = "lmms-eval"
#: the reading a version-1 line (no ``answer_rule``) stored as its ``prediction``
LEGACY_RULE = "strict"
#: the reading stored beside the default one in a line's ``prediction_strict``
SECOND_RULE = "strict"


def register_reading(reading: Reading) -> Reading:
    """Add a reading (its name and aliases must be new)."""
    taken = set(READINGS) | {alias for r in READINGS.values() for alias in r.aliases}
    clash = sorted({reading.name, *reading.aliases} & taken)
    if clash:
        raise ValueError(f"answer reading name(s) already taken: {', '.join(clash)}")
    READINGS[reading.name] = reading
    return reading


def rule_names(aliases: bool = False) -> list[str]:
    """The readings' names, the default first (with ``aliases``: their older names after them)."""
    names = sorted(READINGS, key=lambda name: name != DEFAULT_RULE)
    return names + [a for name in names for a in READINGS[name].aliases] if aliases else names


def canonical(rule: str) -> str:
    """The reading's name for ``rule`` (a name or an alias); unknown -> ``ValueError``."""
    for reading in READINGS.values():
        if rule == reading.name or rule in reading.aliases:
            return reading.name
    raise ValueError(f"unknown answer rule {rule!r}; known: {', '.join(rule_names())}")


def extract(rule: str, text: str | None, options: Sequence[str]) -> str | None:
    """The letter ``text`` chooses under the reading ``rule``."""
    return READINGS[canonical(rule)].extract(text, options)


def rules_help() -> str:
    """One line per reading for help texts: ``name (default): description``."""
    return "; ".join(f"{name}{' (default)' if name == DEFAULT_RULE else ''}: {READINGS[name].description}"
                     + (f" (also accepted as {', '.join(READINGS[name].aliases)})" if READINGS[name].aliases else "")
                     for name in rule_names())


register_reading(Reading("lmms-eval", lmms_eval_answer, "lmms-eval 0.7.3's extract_mcq_answer, as its Video-MME "
                                                         "task reads answers"))
register_reading(Reading("videomme", videomme_answer, "Video-MME's eval_your_results.py exactly (its prefix list's "
                                                      "missing commas included; also accuracy over answered cases)",
                         aliases=("official",), answered_only=True))
register_reading(Reading("strict", parse_answer, "the project's parser, which also reads option text and "
                                                 "refuses ambiguous outputs"))

