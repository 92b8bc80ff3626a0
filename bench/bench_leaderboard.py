"""Time the leaderboard's data load + aggregation on a full-size results folder.

    python bench/bench_leaderboard.py [--cases 3000] [--models 20] [--repeat 3]

Writes, in a temporary folder, a synthetic manifest of ``--cases`` cases over the
paper's lengths (2k..10k frames) and ``--models`` complete runs (the first one split
into 4 shard files, as the runner writes them), then times:

* ``fast``: what the page does on a cache miss: ``load_manifest`` + ``load_results``
  (pyarrow column reader) + ``build_tables``;
* ``line-by-line``: the same with the fallback reader (``niah.results.read_run``,
  ``json.loads`` + ``Result.from_dict`` per line), which names every bad line;
* ``naive``: a straightforward pandas approach: ``pd.read_json(lines=True)`` per file
  and one boolean filter per (run, length) and (run, length, decile) cell;
* ``cache hit``: unpickling the aggregated tables, which is what ``st.cache_data``
  does on every later page run.
"""
from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests" / "leaderboard"):  # synthetic_runs is a test fixture, kept beside the tests
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from leaderboard import data as lb  # noqa: E402
from leaderboard import loading as ld  # noqa: E402
import synthetic_runs as synthetic  # noqa: E402
from niah.results import RESULTS_GLOB, list_runs  # noqa: E402

LENGTHS = list(range(2000, 10001, 1000))


def make_folder(root: Path, cases: int, models: int) -> None:
    per_length = -(-cases // len(LENGTHS))
    all_cases = synthetic.make_cases(LENGTHS, per_length, seed=0)[:cases]
    fp = synthetic.write_manifest(root / "data", all_cases)
    for m in range(models):
        name = f"model-{m:02d}"
        synthetic.write_run(root / "results", name, synthetic.make_results(all_cases, name, 0.95 - 0.02 * m),
                            synthetic.run_info(name, fp, len(all_cases), frames=32 + m),
                            shards=4 if m == 0 else 1)


def fast(root: Path, fast_reader: bool = True) -> lb.Tables:
    manifest = ld.load_manifest(root / "data")
    return lb.build_tables(ld.load_results(root / "results", fast=fast_reader), manifest)


def naive(root: Path) -> dict:
    frames = []
    for run_dir in list_runs(root / "results"):
        for path in sorted(run_dir.glob(RESULTS_GLOB)):
            part = pd.read_json(path, lines=True)
            part["run_id"] = run_dir.name
            frames.append(part)
    res = pd.concat(frames, ignore_index=True)
    res["decile"] = np.minimum((res["depth"] * 10).astype(int), 9)
    out = {}
    for run in res["run_id"].unique():
        sub = res[res["run_id"] == run]
        out[run] = {"overall": sub["correct"].mean()}
        for length in sub["length"].unique():
            in_length = sub[sub["length"] == length]
            out[run][length] = in_length["correct"].mean()
            for decile in range(10):
                cell = in_length[in_length["decile"] == decile]
                out[run][(length, decile)] = (cell["correct"].mean(), len(cell))
    return out


def timed(fn, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-leaderboard-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        make_folder(root, args.cases, args.models)
        size = sum(p.stat().st_size for p in (root / "results").rglob("*.jsonl"))
        print(f"results folder: {args.models} runs x {args.cases} cases = {args.models * args.cases} lines, "
              f"{size / 1e6:.1f} MB (written in {time.perf_counter() - start:.1f} s)")
        fast(root)  # warm imports (pyarrow, niah.cases/av) so they are not timed
        t_fast, tables = timed(lambda: fast(root), args.repeat)
        t_slow, slow_tables = timed(lambda: fast(root, fast_reader=False), args.repeat)
        t_naive, _ = timed(lambda: naive(root), args.repeat)
        blob = pickle.dumps(tables)
        t_hit, _ = timed(lambda: pickle.loads(blob), args.repeat)
        assert len(tables.leaderboard) == args.models and (tables.leaderboard["status"] == "complete").all()
        pd.testing.assert_frame_equal(tables.leaderboard, slow_tables.leaderboard)
        parts = {}
        manifest = ld.load_manifest(root / "data")
        parts["load_manifest"], _ = timed(lambda: ld.load_manifest(root / "data"), args.repeat)
        parts["load_results"], loaded = timed(lambda: ld.load_results(root / "results"), args.repeat)
        parts["build_tables"], built = timed(lambda: lb.build_tables(loaded, manifest), args.repeat)
        # inside build_tables: the ranking with its paired tests (exact McNemar vs above and vs #1, Holm)
        from leaderboard import ranking
        board = built.leaderboard.drop(columns=ranking.RANK_COLUMNS)
        matrix = built.results.pivot(index="run_id", columns="case_id", values="correct").astype("float64")
        parts["of which rank + paired tests"], _ = timed(lambda: ranking.rank(board, matrix), args.repeat)
        runs = list(built.leaderboard["run"][:2])
        parts["difference view (2 runs)"], _ = timed(lambda: lb.paired_difference(built, *runs), args.repeat)
        print(f"median of {args.repeat}:")
        print(f"  fast load + aggregate (page, cache miss): {t_fast * 1000:8.0f} ms   "
              + "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in parts.items()))
        print(f"  line-by-line reader + aggregate:          {t_slow * 1000:8.0f} ms   ({t_slow / t_fast:.1f}x fast)")
        print(f"  naive pandas (read_json + per-cell filter):{t_naive * 1000:8.0f} ms   ({t_naive / t_fast:.1f}x fast)")
        print(f"  cache hit (unpickle {len(blob) / 1e6:.1f} MB of tables):    {t_hit * 1000:8.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
