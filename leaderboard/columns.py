"""Every leaderboard column, declared once as data (the shape of the Hugging Face
leaderboard template's ``ColumnContent`` list), so the row built in :mod:`leaderboard.data`,
the ranking's columns, the compact table of :mod:`leaderboard.board`, the LaTeX and static
export and the settings read from ``run.json`` cannot drift apart: each derives its columns
from :data:`COLUMNS`, and code names a column as an attribute (``C.seed_group.name``,
``C.holds_up_to.header``), never as a string a rename would miss.

A column is a key of the per-run frame (``Tables.leaderboard``, its CSV). One with a
``header`` is also a column of the compact table the page and the export show; its
``format`` turns a run's row into the cell (a cell may read several keys, as "95% CI" reads
both bounds). ``per_length`` columns repeat for every haystack length (``acc@300``).
"""
from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Callable

import pandas as pd

#: Who computes a column: the run's folder (:mod:`leaderboard.loading`), the row builder
#: (:mod:`leaderboard.data`) or the ranking (:mod:`leaderboard.ranking`).
MADE_BY = ("run", "row", "ranking")


@dataclass(frozen=True)
class Column:
    """One column (the HF template's ``name``, ``type``, ``displayed_by_default``,
    ``hidden``, ``never_hidden``), with where it comes from and how it is shown.

    ``hidden``: never offered in the compact table (the machinery of ranking and marks);
    ``never_hidden``: always there, a column chooser cannot take it away;
    ``displayed_by_default``: in the compact table unless the reader removes it.
    """

    name: str
    type: str  # "str", "number", "int", "bool"
    made_by: str
    _: KW_ONLY
    displayed_by_default: bool = False
    hidden: bool = True
    never_hidden: bool = False
    header: str = ""
    help: str = ""
    format: Callable[[pd.Series], str] | None = None
    setting: str | None = None  # the run.json ``settings`` key it is read from
    per_length: bool = False

    def __post_init__(self) -> None:
        if self.made_by not in MADE_BY:
            raise ValueError(f"column {self.name!r}: made_by {self.made_by!r} is not one of {MADE_BY}")
        if not self.hidden and not (self.header and (self.format or self.per_length)):
            raise ValueError(f"column {self.name!r}: a shown column needs a header and a format")

    def at(self, length: int) -> str:
        """A per-length column's key at ``length`` (``acc@300``)."""
        return f"{self.name}@{length}"

    def header_at(self, length: int) -> str:
        return f"{self.header}{length}"


# ----- cells ---------------------------------------------------------------------------------
def pct(value: float) -> str:
    return f"{value:5.1f}" if value == value else ""


def interval(low: float, high: float) -> str:
    return f"{low:.1f}–{high:.1f}" if low == low else ""


def with_interval(acc: float, low: float, high: float) -> str:
    return f"{acc:5.1f} ({low:.0f}–{high:.0f})" if acc == acc else ""


def p_text(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}".rstrip("0").rstrip(".") if p < 1 else "p=1"


def paired_cell(diff: float, p_holm: float, n: float) -> str:
    """``−3.2 (p=0.012, 3000 cases)``: the difference in points and its Holm-corrected p."""
    if diff != diff:
        return ""
    return f"{diff:+.1f} ({p_text(p_holm)}, {int(n)} cases)"


def name_cell(run: str, marks: str) -> str:
    """The marks first, so no long name can push them out of sight."""
    return "".join(f"[{m}] " for m in marks.split(" · ") if m) + run


def _rank(row: pd.Series) -> str:
    if pd.isna(row[C.rank.name]):
        return "—"
    rank = f"{int(row[C.rank.name]):3d}"
    return rank + (" ≈#1" if row[C.tied_first.name] and row[C.rank.name] != 1 else "")


def _cases(row: pd.Series) -> str:
    scored, cases = row[C.scored.name], row[C.cases.name]
    return f"{scored}/{int(cases)}" if pd.notna(cases) else str(scored)


def _unparsed(row: pd.Series) -> str:
    return f"{row[C.unparsed.name]} ({row[C.unparsed_pct.name]:.0f}%)" if row[C.scored.name] else ""


def _length_cell(length: int) -> Callable[[pd.Series], str]:
    return lambda r: with_interval(r[C.acc.at(length)], r[C.lo.at(length)], r[C.hi.at(length)])


# ----- the columns ---------------------------------------------------------------------------
class C:
    """The columns by attribute, in the order of the per-run frame; the compact table takes
    the shown ones in this order too."""

    rank = Column("rank", "int", "ranking", displayed_by_default=True, hidden=False, never_hidden=True,
                  header="rank", format=lambda r: _rank(r),
                  help="Rank within the section; '≈#1': not significantly below #1 (exact paired test, Holm, 5%); "
                       "'—': not ranked (see 'why not ranked').")
    section = Column("section", "str", "row")
    run = Column("run", "str", "row", displayed_by_default=True, hidden=False, never_hidden=True,
                 header="run", format=lambda r: name_cell(r[C.run.name], r[C.marks.name]),
                 help="Run (or seed group) with its marks in brackets: partial, other manifest, near copy, uploaded.")
    label = Column("label", "str", "row")
    marks = Column("marks", "str", "row")
    rankable = Column("rankable", "bool", "row")
    model = Column("model", "str", "row", displayed_by_default=True, hidden=False,
                   header="model", help="The model, where the run's name does not already say it.",
                   format=lambda r: "" if str(r[C.model.name]) in str(r[C.run.name]) else str(r[C.model.name]))
    status = Column("status", "str", "row")
    accuracy = Column("accuracy", "number", "row", displayed_by_default=True, hidden=False, never_hidden=True,
                      header="accuracy %", help="Accuracy over the cases the run scored.",
                      format=lambda r: pct(r[C.accuracy.name]))
    ci_low = Column("ci_low", "number", "row", displayed_by_default=True, hidden=False,
                    header="95% CI", help="95% interval of the accuracy: Wilson's on the effective number of cases "
                                          "(cases / design effect of the needle questions), so it widens where "
                                          "cases share a question; plain Wilson without a benchmark manifest.",
                    format=lambda r: interval(r[C.ci_low.name], r[C.ci_high.name]))
    ci_high = Column("ci_high", "number", "row")
    chance = Column("chance", "number", "row")
    entry = Column("entry", "str", "ranking")
    entry_accuracy = Column("entry_accuracy", "number", "ranking")
    entry_members = Column("entry_members", "number", "ranking")
    d_above = Column("d_above", "number", "ranking", displayed_by_default=True, hidden=False,
                     header="vs above",
                     help="Difference in points to the entry ranked just above on the cases both answered, with p "
                          "(Holm over the table): exact McNemar for two single runs (cluster-adjusted where cases "
                          "share a needle question), paired t on per-question totals where a seed group is involved.",
                     format=lambda r: paired_cell(r[C.d_above.name], r[C.p_above_holm.name], r[C.n_above.name]))
    p_above = Column("p_above", "number", "ranking")
    p_above_holm = Column("p_above_holm", "number", "ranking")
    n_above = Column("n_above", "number", "ranking")
    test_above = Column("test_above", "str", "ranking")
    d_first = Column("d_first", "number", "ranking", displayed_by_default=True, hidden=False,
                     header="vs #1",
                     help="Difference in points to #1 on the cases both answered, p (Holm over the table) by the "
                          "same tests as 'vs above'.",
                     format=lambda r: paired_cell(r[C.d_first.name], r[C.p_first_holm.name], r[C.n_first.name]))
    p_first = Column("p_first", "number", "ranking")
    p_first_holm = Column("p_first_holm", "number", "ranking")
    n_first = Column("n_first", "number", "ranking")
    test_first = Column("test_first", "str", "ranking")
    tied_first = Column("tied_first", "bool", "ranking")
    rank_low = Column("rank_low", "int", "ranking", displayed_by_default=True, hidden=False,
                      header="rank 95% range",
                      help="The ranks the entry takes in 95% of 1,000 bootstrap redraws of the needle questions "
                           "(cluster bootstrap, within its section).",
                      format=lambda r: "" if pd.isna(r[C.rank_low.name]) else
                      f"{int(r[C.rank_low.name])}–{int(r[C.rank_high.name])}")
    rank_high = Column("rank_high", "int", "ranking")
    holds_up_to = Column("holds_up_to", "int", "row", displayed_by_default=True, hidden=False,
                         header="holds up to",
                         help="Longest haystack length up to which accuracy is not significantly below the "
                              "shortest length's (one-sided Fisher exact tests, Holm over the lengths, 5%); blank: "
                              "not above chance at the shortest length.",
                         format=lambda r: "" if pd.isna(r[C.holds_up_to.name]) else f"{int(r[C.holds_up_to.name]):,}")
    reason = Column("reason", "str", "row", displayed_by_default=True, hidden=False,
                    header="why not ranked", help="Why a run has no rank (in view beside the numbers).",
                    format=lambda r: r[C.reason.name])
    readings = Column("readings", "str", "row", displayed_by_default=True, hidden=False,
                      header="answer reading",
                      help="Shown only where another answer reading (the registry of niah.answers) gives a "
                           "different letter on more than 5% of the run's cases: the reading the row uses, the "
                           "reading that differs most and on what share. Such a run's accuracy measures its answer "
                           "format as much as the model.",
                      format=lambda r: r[C.readings.name])
    readings_gap = Column("readings_gap", "number", "row")
    acc = Column("acc", "number", "row", displayed_by_default=True, hidden=False, per_length=True,
                 header="@", help="Accuracy (95% interval) at this haystack length.")
    lo = Column("lo", "number", "row", per_length=True)
    hi = Column("hi", "number", "row", per_length=True)
    n = Column("n", "int", "row", per_length=True)
    scored = Column("scored", "int", "row", displayed_by_default=True, hidden=False,
                    header="cases", help="Cases scored / cases in the benchmark.", format=lambda r: _cases(r))
    cases = Column("cases", "int", "row")
    unparsed = Column("unparsed", "int", "row", displayed_by_default=True, hidden=False,
                      header="unparsed", help="Answers with no option letter under the rule (counted wrong).",
                      format=lambda r: _unparsed(r))
    unparsed_pct = Column("unparsed %", "number", "row")
    errors = Column("errors", "int", "row")
    problems = Column("problems", "int", "row")
    seconds_per_case = Column("s/case", "number", "row")
    manifest = Column("manifest", "str", "row")
    uploaded = Column("uploaded", "bool", "row")
    near_copy_of = Column("near_copy_of", "str", "row")
    created = Column("created", "str", "row")
    # model metadata from run.json's optional "metadata" object: offered by the column chooser
    parameters = Column("parameters", "str", "row", hidden=False, header="parameters",
                        help="The model's size as run.json's metadata states it.", format=lambda r: r[C.parameters.name])
    organisation = Column("organisation", "str", "row", hidden=False, header="organisation",
                          help="Who made the model (run.json metadata).", format=lambda r: r[C.organisation.name])
    protocol = Column("protocol", "str", "row", hidden=False, header="protocol",
                      help="How the model was run: frames or tokens per case, prompt (run.json metadata).",
                      format=lambda r: r[C.protocol.name])
    link = Column("link", "str", "row", hidden=False, header="link", help="The model's page (run.json metadata), "
                  "shown as text.", format=lambda r: r[C.link.name])
    date = Column("date", "str", "row", hidden=False, header="date", help="When the run was created (UTC day).",
                  format=lambda r: r[C.date.name])
    agreement = Column("agreement", "number", "row")
    seed = Column("seed", "str", "run")
    seed_group = Column("seed_group", "str", "run")
    frames = Column("frames", "int", "run", setting="frames")
    keyframes = Column("K", "int", "run", setting="keyframes_k")
    tau = Column("τ", "number", "run", setting="tau")
    settings = Column("settings", "str", "run")
    model_path = Column("model_path", "str", "run")
    revision = Column("revision", "str", "run")
    code_version = Column("code_version", "str", "run")


#: Every column, in the per-run frame's order.
COLUMNS: list[Column] = [v for v in vars(C).values() if isinstance(v, Column)]
#: The run.json settings shown as their own columns: ``(settings key, column name)``.
SETTING_COLUMNS: list[tuple[str, str]] = [(c.setting, c.name) for c in COLUMNS if c.setting]
#: The columns :func:`leaderboard.ranking.rank` adds.
RANK_COLUMNS: list[str] = [c.name for c in COLUMNS if c.made_by == "ranking"]


def names(lengths: list[int]) -> list[str]:
    """The per-run frame's columns for a benchmark of ``lengths``: the per-length block
    (every per-length column at the first length, then at the next, ...) where it is declared."""
    out: list[str] = []
    per_length = [c for c in COLUMNS if c.per_length]
    for column in COLUMNS:
        if not column.per_length:
            out.append(column.name)
        elif column is per_length[0]:
            out += [c.at(n) for n in lengths for c in per_length]
    return out


def select(board: pd.DataFrame, lengths: list[int]) -> pd.DataFrame:
    """``board`` with exactly the declared columns in order; a computed column that is not
    declared (or a declared one never computed) is an error, not a silent drop."""
    wanted = names(lengths)
    undeclared = [c for c in board.columns if c not in set(wanted)]
    missing = [c for c in wanted if c not in board.columns]
    assert not undeclared and not missing, (
        f"leaderboard columns out of step with leaderboard.columns.C: computed but not declared {undeclared}, "
        f"declared but not computed {missing}")
    return board[wanted]


@dataclass(frozen=True)
class Shown:
    """A column of the compact table: its header, what it means and how a row gives its cell."""

    header: str
    help: str
    cell: Callable[[pd.Series], str]
    column: Column


#: Columns a reader may add to the compact table (the column chooser).
def optional() -> list[Column]:
    return [c for c in COLUMNS if not c.hidden and not c.displayed_by_default]


def shown(lengths: list[int], extra: tuple[str, ...] = ()) -> list[Shown]:
    """The compact table's columns: every column displayed by default and the optional ones
    named in ``extra`` (per-length ones once per length), in declaration order."""
    out: list[Shown] = []
    for column in COLUMNS:
        if column.hidden or not (column.displayed_by_default or column.name in extra):
            continue
        if column.per_length:
            out += [Shown(column.header_at(n), f"Accuracy (95% interval) at {n:,} frames.", _length_cell(n), column)
                    for n in lengths]
        else:
            out.append(Shown(column.header, column.help, column.format, column))
    return out


