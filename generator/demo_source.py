"""The built-in demo source: a tiny synthetic Video-MME release made with ffmpeg's lavfi.

It exists so the whole pipeline runs on a fresh machine with no download, through the
very same reader as the real release (``videomme/test-*.parquet`` + ``data/<videoID>.mp4``).

* Haystacks: 45-minute "long" videos of Conway's game of life in different colours
  (lavfi ``life``: deterministic for a seed, unlike ``gradients``, so the demo source is
  the same to the byte on every machine). Four of them (a 10.8K-frame tape) unless the build's
  longest case needs more (:func:`haystacks_for`: twelve for 30K frames); the extra videos and
  their parquet rows come after the first four, whose bytes and rows never change, so a build
  of 2K-10K frames is the same benchmark it was before the demo source could grow.
* Needles: "short" clips of 20-118 s, each a solid background colour, one large
  seven-segment digit and a row of white squares. Their questions (OCR, attribute,
  counting) are answerable from the needle's pixels only: no haystack frame has a
  digit or squares. The 20 s clip is deliberately outside the 30-120 s needle range.

Drawn with ``drawbox`` only (no fonts needed). Needles are 2 FPS and haystacks 1 FPS, at
320x180, so the demo builds in well under a minute; ingestion still resamples needles
to 1 FPS like real videos.
"""
from __future__ import annotations

import hashlib
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from niah import atomic
from niah.ffmpeg import run_ffmpeg

WIDTH, HEIGHT, FPS = 320, 180, 2
HAYSTACK_SECONDS = 2700
HAYSTACK_COLOURS = (("0x20a0ff", "0x402020"), ("0xffc020", "0x102040"),
                    ("0x40ff80", "0x301030"), ("0xff60c0", "0x203020"))  # (life, death) per video
#: (life, death) colours of the haystacks after the first four, cycled
EXTRA_COLOURS = (("0xa0e0ff", "0x302010"), ("0xff8040", "0x102030"), ("0xc0ff40", "0x201030"),
                 ("0x8080ff", "0x203010"), ("0xffffff", "0x301020"), ("0x40ffe0", "0x302030"))
NEEDLE_SECONDS = (20, 30, 38, 47, 55, 64, 72, 81, 90, 99, 108, 118)
COLOURS = {"red": "0xd62728", "green": "0x2ca02c", "blue": "0x1f77b4", "orange": "0xff7f0e",
           "purple": "0x9467bd", "grey": "0x7f7f7f"}
SEGMENTS = {  # seven-segment digits: which of a..g are lit
    0: "abcdef", 1: "bc", 2: "abdeg", 3: "abcdg", 4: "bcfg",
    5: "acdfg", 6: "acdefg", 7: "abc", 8: "abcdefg", 9: "abcdfg",
}
PARQUET = "videomme/test-00000-of-00001.parquet"


def youtube_like_id(n: int) -> str:
    """A stable 11-character id in the style of Video-MME's ``videoID``."""
    digest = hashlib.sha256(f"video-niah-demo-{n}".encode()).hexdigest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = int(digest, 16)
    return "".join(alphabet[(value >> (6 * i)) & 63] for i in range(11))


def _digit_boxes(digit: int, x0: int = 130, y0: int = 25, w: int = 60, h: int = 110, t: int = 12) -> list[str]:
    half = h // 2
    boxes = {"a": (x0, y0, w, t), "d": (x0, y0 + h - t, w, t), "g": (x0, y0 + half - t // 2, w, t),
             "f": (x0, y0, t, half), "b": (x0 + w - t, y0, t, half),
             "e": (x0, y0 + half, t, half), "c": (x0 + w - t, y0 + half, t, half)}
    return [f"drawbox=x={x}:y={y}:w={bw}:h={bh}:color=black:t=fill"
            for x, y, bw, bh in (boxes[s] for s in SEGMENTS[digit])]


def _needle_filter(seconds: int, colour: str, digit: int, squares: int) -> str:
    parts = [f"color=c={COLOURS[colour]}:s={WIDTH}x{HEIGHT}:r={FPS}:d={seconds}"]
    parts += _digit_boxes(digit)
    parts += [f"drawbox=x={20 + 34 * i}:y=148:w=22:h=22:color=white:t=fill" for i in range(squares)]
    return ",".join(parts)


def haystacks_for(longest: int) -> int:
    """How many haystack videos the demo source holds for cases of up to ``longest`` frames:
    the four of a 10.8K-frame tape, or as many as make the tape at least ``longest`` frames."""
    return max(len(HAYSTACK_COLOURS), -(-longest // HAYSTACK_SECONDS))


def _haystack_filter(n: int) -> str:
    life, death = HAYSTACK_COLOURS[n] if n < len(HAYSTACK_COLOURS) else EXTRA_COLOURS[(n - 4) % len(EXTRA_COLOURS)]
    return (f"life=s={WIDTH // 4}x{HEIGHT // 4}:r=1:seed={n + 1}:mold=10:life_color={life}"
            f":death_color={death}:mold_color=0x106030,scale={WIDTH}:{HEIGHT}:flags=neighbor,"
            f"trim=duration={HAYSTACK_SECONDS}")


def _options(rng: random.Random, correct: str, pool: list[str]) -> tuple[list[str], str]:
    """Four options in Video-MME's "A. text" form with the correct one at a random letter."""
    choices = rng.sample([p for p in pool if p != correct], 3) + [correct]
    rng.shuffle(choices)
    letter = "ABCD"[choices.index(correct)]
    return [f"{l}. {c}" for l, c in zip("ABCD", choices)], letter


def _rows(rng: random.Random, haystacks: int = len(HAYSTACK_COLOURS)) -> tuple[list[dict], dict[str, str]]:
    """The parquet rows and the lavfi graph of every video, keyed by videoID (the rows of
    ``haystacks`` haystack videos: extra ones are drawn after, so the others stay as they are)."""
    rows: list[dict] = []
    graphs: dict[str, str] = {}

    def row(n: int, duration: str, q: int, task: str, question: str, options: list[str], answer: str) -> dict:
        vid = youtube_like_id(n)
        return {"video_id": f"{n:03d}", "duration": duration, "domain": "Demo", "sub_category": "Synthetic",
                "url": f"https://www.youtube.com/watch?v={vid}", "videoID": vid,
                "question_id": f"{n:03d}-{q}", "task_type": task, "question": question,
                "options": options, "answer": answer}

    for n, seconds in enumerate(NEEDLE_SECONDS, 1):
        colour = rng.choice(sorted(COLOURS))
        digit = rng.randrange(10)
        squares = rng.randint(1, 6)
        graphs[youtube_like_id(n)] = _needle_filter(seconds, colour, digit, squares)
        opts, ans = _options(rng, str(digit), [str(d) for d in range(10)])
        rows.append(row(n, "short", 1, "OCR Problems", "Which digit is shown in large black type?", opts, ans))
        opts, ans = _options(rng, colour, sorted(COLOURS))
        rows.append(row(n, "short", 2, "Attribute Perception",
                        "What is the background colour behind the large digit?", opts, ans))
        opts, ans = _options(rng, str(squares), [str(k) for k in range(1, 8)])
        rows.append(row(n, "short", 3, "Counting Problem",
                        "How many white squares are shown along the bottom of the frame?", opts, ans))
    for k in range(haystacks):
        n = 100 + k
        graphs[youtube_like_id(n)] = _haystack_filter(k)
        opts, ans = _options(rng, "a cellular automaton", [
            "a cellular automaton", "a football match", "a cooking show", "a news broadcast"])
        rows.append(row(n, "long", 1, "Information Synopsis", "What does this video show?", opts, ans))
    return rows, graphs


def _haystacks_listed(parquet: Path) -> int | None:
    """How many haystack videos the demo parquet lists (``None``: no readable parquet)."""
    try:
        return pq.read_table(parquet, columns=["duration"]).column("duration").to_pylist().count("long")
    except (OSError, pa.ArrowException):
        return None


def make_demo_source(root: str | Path, workers: int = 2, haystacks: int = len(HAYSTACK_COLOURS)) -> Path:
    """Create the demo release under ``root`` with ``haystacks`` haystack videos (idempotent:
    finished files are kept; a parquet listing another number of haystacks is rewritten, so the
    source is always exactly the one asked for, and videos it no longer lists stay unused).

    Each video is written to a temporary name and renamed when complete; the parquet is
    written last, so a folder with a parquet is a complete source.
    """
    root = Path(root)
    parquet = root / PARQUET
    if _haystacks_listed(parquet) == haystacks:
        return root
    rows, graphs = _rows(random.Random(0), haystacks)
    (root / "data").mkdir(parents=True, exist_ok=True)

    def render(item: tuple[str, str]) -> None:
        vid, graph = item
        out = root / "data" / f"{vid}.mp4"
        if out.exists():
            return
        tmp = out.with_name(f"{vid}.tmp.mp4")
        run_ffmpeg(["-f", "lavfi", "-i", graph, "-c:v", "libx264", "-threads", "1", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(tmp)])
        tmp.replace(out)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        list(tqdm(pool.map(render, sorted(graphs.items())), total=len(graphs), desc="demo source", unit="video"))
    table = pa.Table.from_pylist(rows, schema=pa.schema(
        [(c, pa.list_(pa.string()) if c == "options" else pa.string()) for c in rows[0]]))
    with atomic.atomic_open(parquet) as handle:
        pq.write_table(table, handle)
    return root
