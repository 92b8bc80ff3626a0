"""Synthetic needles: word cards and a marker, rendered by ffmpeg's lavfi into the frame store.

The ``text``, ``ordering`` and ``counting`` families need needles whose answer is exact by
construction and readable from the pixels alone. Each is a short clip made by one lavfi graph
(``color`` + ``drawbox``) and ingested like any source video, so a case plays them from the
frame store exactly as it plays a Video-MME needle:

* a **word card** (``synthetic-word-<WORD>``, :data:`WORD_SECONDS` frames at 1 FPS): one word of
  :data:`VOCABULARY` in large block capitals on a dark card;
* the **marker** (``synthetic-marker``, :data:`MARKER_SECONDS` frames): a yellow cross in a
  magenta ring on black.

Letters are drawn from the 5x7 dot font :data:`GLYPHS` with ``drawbox`` rather than with
``drawtext``: drawtext needs a font file, and no font ships with the Python environment (the
one fontconfig finds differs between machines), so cards drawn from boxes are the same to the
byte everywhere, as the demo source's digits are.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from niah.ffmpeg import run_ffmpeg

WIDTH, HEIGHT = 320, 180  # the demo source's frame size; the store scales it like any source
WORD_SECONDS = 4
MARKER_SECONDS = 3
WORD_PREFIX = "synthetic-word-"
MARKER_ID = "synthetic-marker"
CARD_COLOUR, INK_COLOUR = "0x102040", "0xf0f0f0"
#: The fixed vocabulary of the text and ordering families (five letters each, so every card has
#: the same layout); a build draws from it with its seed.
VOCABULARY = ("APPLE", "BREAD", "CHAIR", "CLOUD", "DANCE", "EAGLE", "FLAME", "GRAPE", "HOUSE", "JEWEL",
              "KNIFE", "LEMON", "MANGO", "NIGHT", "OCEAN", "PIANO", "QUEEN", "RIVER", "STONE", "TIGER",
              "UNCLE", "VOICE", "WHEAT", "ZEBRA")
#: 5x7 dot capitals: seven rows of five columns, ``#`` = a lit dot.
GLYPHS = {
    "A": (".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "B": ("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."),
    "C": (".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
    "D": ("####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "F": ("#####", "#....", "#....", "####.", "#....", "#....", "#...."),
    "G": (".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"),
    "H": ("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "I": (".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "J": ("..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."),
    "K": ("#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"),
    "L": ("#....", "#....", "#....", "#....", "#....", "#....", "#####"),
    "M": ("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"),
    "N": ("#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"),
    "O": (".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "P": ("####.", "#...#", "#...#", "####.", "#....", "#....", "#...."),
    "Q": (".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"),
    "R": ("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
    "S": (".####", "#....", "#....", ".###.", "....#", "....#", "####."),
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    "U": ("#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "V": ("#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."),
    "W": ("#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."),
    "X": ("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"),
    "Y": ("#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."),
    "Z": ("#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"),
}
DOT = 9  # pixels per font dot at WIDTH x HEIGHT


def word_video(word: str) -> str:
    """The frame-store id of ``word``'s card."""
    return WORD_PREFIX + word


def word_of(video_id: str) -> str | None:
    """The word a card shows (``None`` for any other video)."""
    return video_id[len(WORD_PREFIX):] if video_id.startswith(WORD_PREFIX) else None


def card_graph(word: str, seconds: int = WORD_SECONDS) -> str:
    """The lavfi graph of ``word``'s card: ``color`` then one ``drawbox`` per run of lit dots."""
    columns = 6 * len(word) - 1
    x0, y0 = (WIDTH - columns * DOT) // 2, (HEIGHT - 7 * DOT) // 2
    parts = [f"color=c={CARD_COLOUR}:s={WIDTH}x{HEIGHT}:r=1:d={seconds}"]
    for position, letter in enumerate(word):
        for row, line in enumerate(GLYPHS[letter]):
            column = 0
            while column < 5:  # one box per horizontal run of dots: fewer filters, same pixels
                if line[column] != "#":
                    column += 1
                    continue
                end = column
                while end < 5 and line[end] == "#":
                    end += 1
                parts.append(f"drawbox=x={x0 + (6 * position + column) * DOT}:y={y0 + row * DOT}"
                             f":w={(end - column) * DOT}:h={DOT}:color={INK_COLOUR}:t=fill")
                column = end
    return ",".join(parts)


def marker_graph(seconds: int = MARKER_SECONDS) -> str:
    """The marker's lavfi graph: a yellow cross inside a magenta square ring, on black."""
    cx, cy = WIDTH // 2, HEIGHT // 2
    return ",".join([f"color=c=black:s={WIDTH}x{HEIGHT}:r=1:d={seconds}",
                     f"drawbox=x={cx - 70}:y={cy - 70}:w=140:h=140:color=0xff00ff:t=14",
                     f"drawbox=x={cx - 45}:y={cy - 10}:w=90:h=20:color=yellow:t=fill",
                     f"drawbox=x={cx - 10}:y={cy - 45}:w=20:h=90:color=yellow:t=fill"])


def graphs(words: bool, marker: bool) -> dict[str, str]:
    """video id -> lavfi graph of the synthetic needles a build needs."""
    out = {word_video(w): card_graph(w) for w in VOCABULARY} if words else {}
    if marker:
        out[MARKER_ID] = marker_graph()
    return out


def render(root: str | Path, wanted: dict[str, str], workers: int = 2) -> dict[str, Path]:
    """Write each graph as ``<root>/<id>.mp4`` (kept if already there; written under a temporary
    name and renamed, so a present file is whole) and return video id -> path. Single-threaded
    x264 on a deterministic graph: the same bytes on every run."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)

    def one(item: tuple[str, str]) -> tuple[str, Path]:
        video, graph = item
        out = root / f"{video}.mp4"
        if not out.exists():
            tmp = out.with_name(f"{video}.tmp.mp4")
            run_ffmpeg(["-f", "lavfi", "-i", graph, "-c:v", "libx264", "-threads", "1", "-preset", "ultrafast",
                        "-pix_fmt", "yuv420p", str(tmp)])
            tmp.replace(out)
        return video, out

    with ThreadPoolExecutor(max(1, workers)) as pool:
        return dict(pool.map(one, sorted(wanted.items())))
