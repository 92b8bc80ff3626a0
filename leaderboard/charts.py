"""The page's charts as Altair specs (no Streamlit, so their encodings are unit-tested).

Conventions a NIAH reader expects (gkamradt's text NIAH, LongVA's V-NIAH): haystack length
on x, in frames and in time, needle depth on y with 0 % (start of the haystack) at the top.
One colour scale for every run, diverging at chance, so "at chance" is white and "below
chance" is visibly another hue; the numbers in a cell are black or white by its darkness.
Charts render as SVG so their text (axis titles, chance labels) is in the page's DOM.
"""
from __future__ import annotations

import colorsys

import altair as alt
import numpy as np
import pandas as pd

from leaderboard.cases import hmm
from leaderboard.columns import C

BELOW, AT, ABOVE = "#c2410c", "#f7f7f7", "#1d4ed8"  # below chance, chance, above chance
EMPTY = "#bdbdbd"  # a cell with no scored case: visibly grey, never "at chance"
WHISKER = "#111827"  # interval whiskers: dark on every bar colour
MUTED_OPACITY = 0.35  # a cell whose interval contains chance: drawn faint, so noise never looks like a finding
SVG = {"embedOptions": {"renderer": "svg"}}
INK = alt.condition("datum.ink == 'white'", alt.value("white"), alt.value("black"))
LEGEND = alt.Legend(labelLimit=0, orient="right", title=None)  # whole run names: seeds stay distinguishable
X_LENGTH_TITLE = "haystack length: frames · h:mm at 1 FPS"
Y_DEPTH_TITLE = "needle depth (0% = start of haystack)"
ROW = 36  # pixels per depth row of a heatmap: room for two lines of text
STEP = 84  # pixels per length column of a heatmap where the page does not stretch it
PLOT = 320  # plot height of the line and bar charts
#: Plot width of the line and bar charts where nothing stretches them (the SVG export; the
#: page stretches them to its width).
WIDTH = 720
#: The frames st.altair_chart must be given (plot, title, axis and legend), or Streamlit
#: squeezes the plots.
HEATMAP_FRAME = ROW * 10 + 140
CHART_FRAME = PLOT + 110
TIMELINE_FRAME = 170


#: Hue of the first entry and the step between entries' hues: the golden angle, so any run of
#: neighbouring ranks is spread around the colour wheel and no two of the first 20 entries
#: share a hue (a hash of the name gave #3fb81e and #3db81e to two runs).
FIRST_HUE, HUE_STEP = 0.6, 0.6180339887


def entry_colour(position: int, member: int = 0, members: int = 1) -> str:
    """The colour of the ``position``-th entry (0 = ranked first) and of its ``member``-th
    seed of ``members``: one hue per entry, the seeds of a group in lighter and darker
    shades of it, so seeds read as one model and neighbouring ranks never share a hue."""
    hue = (FIRST_HUE + position * HUE_STEP) % 1.0
    light = 0.45 if members < 2 else 0.3 + 0.35 * member / (members - 1)
    r, g, b = colorsys.hls_to_rgb(hue, light, 0.7)
    return "#{:02x}{:02x}{:02x}".format(round(r * 255), round(g * 255), round(b * 255))


def colour_scale(labels: list[str], colours: dict[str, str]) -> alt.Scale:
    """The colour scale of a chart showing runs by ``labels`` (each run's fixed colour)."""
    return alt.Scale(domain=labels, range=[colours.get(label, "#6b7280") for label in labels])


#: Slots on each side of a run's whisker slot (see :func:`_offsets`).
WHISKER_SPACERS = 15


def _offsets(labels: list[str]) -> tuple[alt.XOffset, alt.XOffset]:
    """``(bars, whiskers)`` offset channels that put each whisker on its bar's centre.

    Renderers disagree on where a rule sits in an offset band (the page's Vega-Lite draws
    it at the band's start, which left whiskers half hidden at the bars' left edges; vl-convert
    at its centre), but every renderer fills a band with a bar. So a whisker is a thin bar in
    its own offset scale, the middle one of ``2 * WHISKER_SPACERS + 1`` equal slots per run
    (no padding): centred on the run's bar by construction. A stroke keeps it visible where
    the slot is under a pixel wide."""
    bars = alt.XOffset("run_label:N", sort=labels, scale=alt.Scale(domain=labels, paddingInner=0, paddingOuter=0))
    slots = []
    for i, label in enumerate(labels):
        slots += [f"\u2063{i}<{j}" for j in range(WHISKER_SPACERS)] + [label]
        slots += [f"\u2063{i}>{j}" for j in range(WHISKER_SPACERS)]
    whiskers = alt.XOffset("run_label:N", scale=alt.Scale(domain=slots, paddingInner=0, paddingOuter=0))
    return bars, whiskers


def _whiskers(data: pd.DataFrame, x: alt.X, offset: alt.XOffset) -> alt.Chart:
    return alt.Chart(data).mark_bar(color=WHISKER, stroke=WHISKER, strokeWidth=1.5).encode(
        x=x, xOffset=offset, y="ci_low:Q", y2="ci_high:Q")


def length_label(length: int, fps: float = 1.0) -> str:
    return f"{length:,} · {hmm(length / fps)}"


def _ink(distance: pd.Series) -> np.ndarray:
    """Text colour for a cell whose colour is ``distance`` (0 = chance, 1 = the scale's end)
    along the diverging scale: white on the dark far ends, black elsewhere."""
    return np.where(distance.fillna(0).to_numpy() > 0.55, "white", "black")


def heat_cells(cells: pd.DataFrame, chance: float, fps: float, min_cases: int) -> pd.DataFrame:
    """One run's grid cells with what the heatmap draws: axis labels, the cell's two text
    lines (accuracy; ``n=``, starred when under ``min_cases``) and their colour."""
    out = cells.copy()
    out["length_label"] = [length_label(int(n), fps) for n in out["length"]]
    acc = out["accuracy"]
    distance = (acc - chance).abs() / max(100 - chance, chance, 1e-9)  # the scale is symmetric about chance
    out["ink"] = _ink(pd.Series(distance, index=out.index))
    few = (out["n"] > 0) & (out["n"] < min_cases)
    out["few"] = few
    out["text"] = [f"{a:.0f}\nn={n}{'*' if f else ''}" if n else "–" for a, n, f in zip(acc, out["n"], few)]
    # noise: not beyond chance after Holm over the run's cells (drawn faint; black text stays
    # readable); a grid without that column falls back to "the cell's interval contains chance"
    if "beyond_chance" in out:
        out["muted"] = (out["n"] > 0) & ~out["beyond_chance"].astype(bool)
    else:
        out["muted"] = (out["n"] > 0) & (out["ci_low"] <= chance) & (out["ci_high"] >= chance)
    out.loc[out["muted"], "ink"] = "black"
    out["scored"] = out["n"] > 0
    # Vega-Lite drops marks whose colour value is missing (they showed as white, "at chance"):
    # unscored cells get a placeholder value, and the condition on "scored" paints them grey
    out["shade"] = acc.fillna(chance)
    return out


def _axes(lengths: list[int], fps: float, y_field: str = "depth_range", y_title: str = Y_DEPTH_TITLE,
          y_sort: list[str] | None = None, narrow: bool = False) -> tuple[alt.X, alt.Y]:
    """Length on x (every label kept, never dropped for overlap; slanted when ``narrow``,
    as in a side-by-side pair), the second key on y."""
    x = alt.X("length_label:O", title=X_LENGTH_TITLE, sort=[length_label(n, fps) for n in lengths],
              axis=alt.Axis(labelAngle=-40 if narrow else 0, orient="bottom", labelOverlap=False, labelLimit=0,
                            labelAlign="right" if narrow else "center"))
    y = alt.Y(f"{y_field}:O", title=y_title,
              sort=y_sort if y_sort is not None else [f"{d * 10}–{d * 10 + 10}%" for d in range(10)])
    return x, y


def heatmap(cells: pd.DataFrame, title: str, *, chance: float, lengths: list[int], fps: float = 1.0,
            min_cases: int = 10, selectable: bool = False, y_field: str = "depth_range",
            y_title: str = Y_DEPTH_TITLE, y_sort: list[str] | None = None, narrow: bool = False) -> alt.LayerChart:
    """Accuracy per (length, depth decile) of one run (or per length and ``y_field``),
    every cell of the grid drawn: unscored cells grey, cells within noise of chance faint."""
    data = heat_cells(cells, chance, fps, min_cases)
    x, y = _axes(lengths, fps, y_field, y_title, y_sort, narrow)
    base = alt.Chart(data).encode(x=x, y=y)
    rect = base.mark_rect(stroke="white", strokeWidth=1).encode(
        opacity=alt.condition("datum.muted", alt.value(MUTED_OPACITY), alt.value(1.0)),
        color=alt.condition("datum.scored", accuracy_colour(chance), alt.value(EMPTY)),
        tooltip=[alt.Tooltip("length:Q", title="length (frames)"), alt.Tooltip(f"{y_field}:N"),
                 alt.Tooltip("accuracy:Q", title="accuracy %", format=".1f"),
                 alt.Tooltip("ci_low:Q", title="95% CI low", format=".1f"),
                 alt.Tooltip("ci_high:Q", title="95% CI high", format=".1f"),
                 alt.Tooltip("n:Q", title="cases"), alt.Tooltip("unparsed:Q", title="unparsed")])
    if selectable:
        cell = alt.selection_point(name="cell", fields=["length", "depth_decile"])
        rect = rect.add_params(cell)
    text = base.mark_text(fontSize=11, lineHeight=13, lineBreak="\n").encode(
        text="text:N", color=INK)
    rows = len(y_sort) if y_sort is not None else 10
    # a step per length where nothing stretches the chart (the SVG export); the page stretches it
    return (rect + text).properties(title=title, height=ROW * rows, width=alt.Step(STEP), usermeta=SVG)


#: Small multiples: pixels per length column and depth row, panels per row (fits 1,280 px).
SMALL_STEP, SMALL_ROW, SMALL_COLUMNS = 26, 14, 3


def heatmap_grid(cells: pd.DataFrame, labels: list[str], *, chance: float, lengths: list[int],
                 fps: float = 1.0) -> alt.FacetChart:
    """Length x depth heatmaps of several runs (``cells`` with ``run_label``), one small
    panel each in ``labels`` order, every panel on one shared colour scale (the V-NIAH /
    TimeScope figure); faint cells as in :func:`heatmap`, no numbers (hover for them)."""
    data = heat_cells(cells, chance, fps, min_cases=0)
    x = alt.X("length_label:O", title="frames", sort=[length_label(n, fps) for n in lengths],
              axis=alt.Axis(labelAngle=-60, labelOverlap=False, labelLimit=0, labelExpr="split(datum.label, ' ')[0]"))
    y = alt.Y("depth_range:O", title="depth", sort=[f"{d * 10}–{d * 10 + 10}%" for d in range(10)],
              axis=alt.Axis(labelExpr="indexof(['0–10%', '50–60%', '90–100%'], datum.label) >= 0 ? datum.label : ''"))
    rect = alt.Chart().mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=x, y=y, opacity=alt.condition("datum.muted", alt.value(MUTED_OPACITY), alt.value(1.0)),
        color=alt.condition("datum.scored", accuracy_colour(chance), alt.value(EMPTY)),
        tooltip=["run_label", alt.Tooltip("length:Q", title="length (frames)"), alt.Tooltip("depth_range:N"),
                 alt.Tooltip("accuracy:Q", title="accuracy %", format=".1f"), alt.Tooltip("n:Q", title="cases")])
    return alt.layer(rect, data=data).properties(width=SMALL_STEP * len(lengths), height=SMALL_ROW * 10).facet(
        facet=alt.Facet("run_label:N", sort=labels, title=None, header=alt.Header(labelLimit=260, labelFontSize=11)),
        columns=SMALL_COLUMNS).resolve_scale(color="shared").properties(usermeta=SVG)


def accuracy_scale(chance: float) -> alt.Scale:
    """Accuracy colours diverging at chance and symmetric about it: a cell 20 points below
    chance is as strong an orange as one 20 points above is blue (0-25 % no longer gets as
    much colour as 25-100 %); the far side is clamped at 0 / 100 %."""
    span = max(100 - chance, chance, 1e-9)
    return alt.Scale(domain=[0, chance, 100], interpolate="rgb",
                     range=[_mix(AT, BELOW, chance / span), AT, _mix(AT, ABOVE, (100 - chance) / span)])


def _mix(start: str, end: str, share: float) -> str:
    """The colour ``share`` of the way from ``start`` to ``end`` (in RGB, as the scale interpolates)."""
    a, b = (np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) for c in (start, end))
    return "#{:02x}{:02x}{:02x}".format(*np.rint(a + (b - a) * share).astype(int))


def accuracy_colour(chance: float, title: str = "accuracy %") -> alt.Color:
    return alt.Color("shade:Q", scale=accuracy_scale(chance), title=[title, f"white = chance ({chance:.0f}%)"],
                     legend=alt.Legend(orient="right", gradientLength=160, values=[0, round(chance), 50, 100]))


def difference(diff: pd.DataFrame, title: str, *, lengths: list[int], fps: float = 1.0) -> alt.LayerChart:
    """``A − B`` per cell on a scale diverging at 0; ``*`` marks a cell whose difference
    passes the per-cell test at 5 %, ``**`` one that still does after Holm's correction."""
    data = diff.copy()
    data["length_label"] = [length_label(int(n), fps) for n in data["length"]]
    stars = np.where(data["verdict"].str.startswith("beyond"), "**",
                     np.where(data["verdict"].str.startswith("p <"), "*", ""))
    data["text"] = [f"{d:+.0f}{s}" if c else "–" for d, s, c in zip(data["difference"], stars, data["covered"])]
    data["ink"] = _ink(data["difference"].abs() / 100)
    data["shade"] = data["difference"].fillna(0.0)  # uncovered cells are painted grey by the condition
    x, y = _axes(lengths, fps)
    scale = alt.Scale(domain=[-100, 0, 100], range=[BELOW, AT, ABOVE], interpolate="rgb")
    base = alt.Chart(data).encode(x=x, y=y)
    rect = base.mark_rect(stroke="white", strokeWidth=1).encode(
        opacity=alt.condition("datum.verdict == 'within noise'", alt.value(MUTED_OPACITY), alt.value(1.0)),
        color=alt.condition("datum.covered", alt.Color("shade:Q", scale=scale, title=["A − B", "(points)"]),
                            alt.value(EMPTY)),
        tooltip=[alt.Tooltip("length:Q", title="length (frames)"), alt.Tooltip("depth_range:N", title="depth"),
                 alt.Tooltip("accuracy_a:Q", title="A %", format=".1f"),
                 alt.Tooltip("accuracy_b:Q", title="B %", format=".1f"), alt.Tooltip("n:Q", title="common cases"),
                 alt.Tooltip("difference:Q", title="A − B", format="+.1f"), alt.Tooltip("p:Q", format=".3f"),
                 alt.Tooltip("p_holm:Q", title="p (Holm)", format=".3f"), alt.Tooltip("verdict:N")])
    text = base.mark_text(fontSize=11).encode(text="text:N", color=INK)
    return (rect + text).properties(title=title, height=ROW * 10, width=alt.Step(STEP), usermeta=SVG)


def significance(pairs: pd.DataFrame, order: list[str], alpha: float) -> alt.LayerChart:
    """The pairwise matrix: row entry ``a`` minus column entry ``b`` (points) on a scale
    diverging at 0, ``**`` where Holm-corrected p is below ``alpha``, ``*`` uncorrected only,
    faint within noise."""
    data = pairs.copy()
    stars = np.where(data["p_holm"] < alpha, "**", np.where(data["p"] < alpha, "*", ""))
    data["text"] = [f"{d:+.1f}{s}" for d, s in zip(data["difference"], stars)]
    data["noise"] = data["p_holm"] >= alpha
    data["ink"] = _ink(data["difference"].abs() / 50)
    scale = alt.Scale(domain=[-50, 0, 50], range=[BELOW, AT, ABOVE], interpolate="rgb", clamp=True)
    base = alt.Chart(data).encode(
        x=alt.X("b:N", sort=order, title="compared with (column)", axis=alt.Axis(labelAngle=-30, labelLimit=220)),
        y=alt.Y("a:N", sort=order, title="entry (row)", axis=alt.Axis(labelLimit=260)))
    rect = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("difference:Q", scale=scale, title=["row − column", "(points)"]),
        opacity=alt.condition("datum.noise", alt.value(MUTED_OPACITY), alt.value(1.0)),
        tooltip=["a", "b", alt.Tooltip("difference:Q", format="+.1f"), alt.Tooltip("p:Q", format=".2g"),
                 alt.Tooltip("p_holm:Q", title="p (Holm)", format=".2g"), "test", "common"])
    text = base.mark_text(fontSize=11).encode(text="text:N", color=INK)
    return (rect + text).properties(height=ROW * max(len(order) - 1, 1), width=alt.Step(STEP), usermeta=SVG)


def _chance_rule(chance: float) -> alt.LayerChart:
    frame = pd.DataFrame({"chance": [chance], "label": [f"chance {chance:.0f}%"]})
    rule = alt.Chart(frame).mark_rule(strokeDash=[6, 4], color="#555").encode(y="chance:Q")
    text = alt.Chart(frame).mark_text(align="left", dx=4, dy=-6, color="#555").encode(
        y="chance:Q", x=alt.value(0), text="label:N")
    return rule + text


def by_length(frame: pd.DataFrame, lengths: list[int], chance: float, fps: float = 1.0,
              colours: dict[str, str] | None = None, holds: pd.DataFrame | None = None) -> alt.LayerChart:
    """Accuracy against length, one line per run, its 95 % interval as a dark bar through
    each point, chance as a dashed rule, and a triangle at the length each run holds up to.

    Runs are spread a little around each length so they do not hide each other; the spread
    is in the data (``x``, a number), not an offset channel, so a point, its interval and
    its triangle share one x in every renderer (offset bands put rules 13-42 px beside their
    points in the page and the SVG)."""
    labels = list(dict.fromkeys(frame["run_label"]))
    step = min(0.6 / max(len(labels), 1), 0.12)
    shift = {label: (i - (len(labels) - 1) / 2) * step for i, label in enumerate(labels)}
    index = {n: i for i, n in enumerate(lengths)}

    def placed(rows: pd.DataFrame, length_field: str) -> pd.DataFrame:
        return rows.assign(x=[index[int(n)] + shift.get(r, 0.0) for n, r in zip(rows[length_field], rows["run_label"])])

    data = placed(frame[frame["length"].astype(int).isin(index)], "length")
    names = "[" + ",".join(f"'{length_label(n, fps)}'" for n in lengths) + "]"
    x = alt.X("x:Q", title=X_LENGTH_TITLE, scale=alt.Scale(domain=[-0.5, len(lengths) - 0.5], nice=False, zero=False),
              axis=alt.Axis(values=list(range(len(lengths))), labelExpr=f"{names}[datum.value]", grid=False,
                            labelOverlap=False))
    y = alt.Y("accuracy:Q", title="accuracy % (95% CI)", scale=alt.Scale(domain=[0, 100]))
    colour = alt.Color("run_label:N", legend=LEGEND, scale=colour_scale(labels, colours or {}))
    base = alt.Chart(data).encode(x=x)
    whiskers = base.mark_rule(color=WHISKER, strokeWidth=1.5).encode(y="ci_low:Q", y2="ci_high:Q")
    line = base.mark_line(point=alt.OverlayMarkDef(size=40, filled=True)).encode(
        y=y, color=colour, tooltip=["run_label", "length", alt.Tooltip("accuracy:Q", format=".1f"),
                                    alt.Tooltip("ci_low:Q", format=".1f"), alt.Tooltip("ci_high:Q", format=".1f"), "n"])
    layers = whiskers + line + _chance_rule(chance)
    if holds is not None and len(holds):
        marks = placed(holds[holds[C.holds_up_to.name].astype(int).isin(index)], C.holds_up_to.name)
        held = alt.Chart(marks).mark_point(shape="triangle-down", size=120, filled=True, yOffset=-14).encode(
            x=x, y=y, color=colour,
            tooltip=["run_label", alt.Tooltip(f"{C.holds_up_to.name}:Q", title=f"{C.holds_up_to.header} (frames)")])
        layers = layers + held
    return layers.properties(height=PLOT, width=WIDTH, usermeta=SVG)


def grouped_bars(frame: pd.DataFrame, category: str, order: list[str], chance: float,
                 colours: dict[str, str] | None = None) -> alt.LayerChart:
    """Accuracy per category, a bar per run, its 95 % interval as a dark whisker centred on
    the bar, chance as a rule."""
    labels = list(dict.fromkeys(frame["run_label"]))
    x = alt.X(f"{category}:N", title=category.replace("_", " "), sort=order,
              axis=alt.Axis(labelAngle=0, labelOverlap=False, labelLimit=0))
    offset, whisker_offset = _offsets(labels)
    base = alt.Chart(frame).encode(x=x, xOffset=offset)
    bars = base.mark_bar().encode(
        color=alt.Color("run_label:N", legend=LEGEND, scale=colour_scale(labels, colours or {})),
        y=alt.Y("accuracy:Q", title="accuracy % (95% CI)", scale=alt.Scale(domain=[0, 100])),
        tooltip=["run_label", category, alt.Tooltip("accuracy:Q", format=".1f"),
                 alt.Tooltip("ci_low:Q", format=".1f"), alt.Tooltip("ci_high:Q", format=".1f"), "n"])
    errors = _whiskers(frame, x, whisker_offset)
    return (bars + errors + _chance_rule(chance)).resolve_scale(xOffset="independent").properties(
        height=PLOT, width=WIDTH, usermeta=SVG)


def case_timeline(segments: pd.DataFrame, title: str) -> alt.LayerChart:
    """The whole case as one bar: haystack segments by source video in grey tones, the
    needle (where the answer is) in the accent colour and labelled with its h:mm:ss span
    (a 60 s needle in a 10,000 s case is a sliver otherwise); ticks in h:mm:ss."""
    data = segments.assign(kind=np.where(segments["role"] == "needle", "needle (the answer is here)",
                                         "haystack: " + segments["video"].astype(str)))
    kinds = list(dict.fromkeys(data["kind"]))
    order = [k for k in kinds if k.startswith("needle")] + [k for k in kinds if not k.startswith("needle")]
    greys = ["#9ca3af", "#d1d5db", "#6b7280", "#e5e7eb", "#4b5563"]
    colours = [ABOVE] + [greys[i % len(greys)] for i in range(len(order) - 1)]
    end = float(data["end"].max()) if len(data) else 0.0
    ticks = sorted({float(round(t)) for t in np.linspace(0, end, 7)}) if end else [0.0]
    x = alt.X("start:Q", title="time in the case (h:mm:ss)", scale=alt.Scale(domain=[0, end], nice=False),
              axis=alt.Axis(values=ticks, labelExpr="floor(datum.value / 3600) + ':' + "
                            "timeFormat(datetime(2000, 0, 1, 0, 0, datum.value % 3600), '%M:%S')"))
    bar = alt.Chart(data).mark_bar(height=28).encode(
        x=x, x2="end:Q", color=alt.Color("kind:N", scale=alt.Scale(domain=order, range=colours), legend=LEGEND),
        tooltip=["kind", "video", "from", "to", "frames"])
    needle = data[data["role"] == "needle"].assign(
        middle=lambda f: (f["start"] + f["end"]) / 2, text=lambda f: "needle " + f["from"] + "–" + f["to"])
    marker = alt.Chart(needle).mark_rule(color=ABOVE, strokeWidth=2).encode(x="middle:Q")
    label = alt.Chart(needle).mark_text(dy=-24, color=ABOVE, fontWeight="bold").encode(x="middle:Q", text="text:N")
    return (bar + marker + label).properties(title=title, height=70, usermeta=SVG)
