"""Time the leaderboard's data load + aggregation on a full-size results folder.

    python bench/bench_leaderboard.py --cases 3000 --models 50 --repeat 3

Writes, in a temporary folder, a synthetic manifest of ``--cases`` cases over the
paper's lengths (2k..10k frames; each needle question asked at every length) and
``--models`` complete runs (the first one split into 4 shard files, as the runner writes
them; the last ten are two models of five seeds each), then times:

* ``fast``: what the page does on a cache miss: ``load_manifest`` + ``load_results``
  (pyarrow column reader) + ``build_tables``;
* ``line-by-line``: the same with the fallback reader (``niah.results.read_run``,
  ``json.loads`` + ``Result.from_dict`` per line), which names every bad line;
* ``naive``: a straightforward pandas approach: ``pd.read_json(lines=True)`` per file
  and one boolean filter per (run, length) and (run, length, decile) cell;
* ``cache hit``: unpickling the aggregated tables, which is what ``st.cache_data``
  does on every later page run;
* the statistics inside ``build_tables`` (every paired test with its rank range, the
  pairwise matrix, the copy check) beside a naive version of the same work: one pair at a
  time (pandas merge per pair of runs for copies, ``scipy.stats`` per pair for the tests)
  and one bootstrap replicate at a time for the rank ranges.
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
from leaderboard import copies, ranking  # noqa: E402
from leaderboard import loading as ld  # noqa: E402
from niah import comparisons  # noqa: E402
import synthetic_runs as synthetic  # noqa: E402
from niah.results import RESULTS_GLOB, list_runs  # noqa: E402

LENGTHS = list(range(2000, 10001, 1000))


#: Runs of the folder that are seeds of one model (five seeds each), counted from the end.
SEEDED = 10


def make_folder(root: Path, cases: int, models: int) -> None:
    per_length = -(-cases // len(LENGTHS))
    all_cases = synthetic.make_cases(LENGTHS, per_length, seed=0, videos=max(per_length // 3, 1))[:cases]
    fp = synthetic.write_manifest(root / "data", all_cases)
    for m in range(models):
        name = f"model-{m:02d}"
        info = synthetic.run_info(name, fp, len(all_cases), frames=32 + m)
        seeded = m >= models - SEEDED
        if seeded:  # two models of five seeds: runs that differ only by seed
            model = f"seeded-{(m - (models - SEEDED)) // 5}"
            info = {**synthetic.run_info(model, fp, len(all_cases)), "settings": {"seed": m % 5}}
        results = synthetic.make_results(all_cases, model if seeded else name, 0.95 - 0.015 * m, seed=m)
        synthetic.write_run(root / "results", name, results, info, shards=4 if m == 0 else 1)


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


def naive_statistics(tables: lb.Tables, replicates: int = comparisons.RANK_REPLICATES) -> None:
    """The statistics of ``build_tables`` one at a time: each pair of runs merged for the
    copy check; each pair of entries tested by ``scipy.stats`` on its per-question totals;
    each bootstrap replicate resampled and ranked on its own."""
    from scipy.stats import ttest_1samp

    res = tables.results[["run_id", "case_id", "code", "correct", "cluster"]]
    by_run = {run: frame for run, frame in res.groupby("run_id")}
    runs = list(by_run)
    for i, a in enumerate(runs):
        for b in runs[:i]:
            both = by_run[a].merge(by_run[b], on="case_id")
            (both["code_x"] == both["code_y"]).mean()
    ranked = tables.leaderboard[tables.leaderboard["rankable"]]
    scores = {entry: res[res["run_id"].isin(set(group["run"]))].groupby("case_id")["correct"].mean()
              for entry, group in ranked.groupby("entry")}
    cluster = res.drop_duplicates("case_id").set_index("case_id")["cluster"]
    entries = list(scores)
    for i, a in enumerate(entries):
        for b in entries[:i]:
            diff = (scores[a] - scores[b]).groupby(cluster).sum()
            ttest_1samp(diff, 0.0)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(scores).assign(cluster=cluster)
    totals = frame.groupby("cluster").sum()
    counts = frame.groupby("cluster").size()
    for _ in range(replicates):
        drawn = rng.integers(0, len(totals), len(totals))
        (totals.iloc[drawn].sum() / counts.iloc[drawn].sum()).rank(ascending=False, method="min")


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
    parser.add_argument("--models", type=int, default=50)
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
        assert tables.leaderboard["rankable"].all(), "every run of the folder is ranked (no copies)"
        pd.testing.assert_frame_equal(tables.leaderboard, slow_tables.leaderboard)
        parts = {}
        manifest = ld.load_manifest(root / "data")
        parts["load_manifest"], _ = timed(lambda: ld.load_manifest(root / "data"), args.repeat)
        parts["load_results"], loaded = timed(lambda: ld.load_results(root / "results"), args.repeat)
        parts["build_tables"], built = timed(lambda: lb.build_tables(loaded, manifest), args.repeat)
        cpu = time.process_time()
        lb.build_tables(loaded, manifest)
        cpu = time.process_time() - cpu
        # inside build_tables: the ranking with its paired tests and rank ranges, the matrix, the copy check
        board = built.leaderboard.drop(columns=ranking.RANK_COLUMNS)
        matrix = built.results.pivot(index="run_id", columns="case_id", values="correct").astype("float64")
        cluster = built.results.drop_duplicates("case_id").set_index("case_id")["cluster"]
        stats = {}
        stats["rank + paired tests + rank ranges"], ranked = timed(lambda: ranking.rank(board, matrix, cluster),
                                                                   args.repeat)
        stats["pairwise matrix"], pairs = timed(lambda: ranking.pairwise(ranked, matrix, cluster), args.repeat)
        codes = built.results[["run_id", "case_id", "code"]]
        order = list(built.leaderboard["run"])
        stats["copy check"], _ = timed(lambda: copies.closest_earlier(codes, order), args.repeat)
        t_stats = sum(stats.values())
        t_naive_stats, _ = timed(lambda: naive_statistics(built), 1)
        runs = list(built.leaderboard["run"][:2])
        parts["difference view (2 runs)"], _ = timed(lambda: lb.paired_difference(built, *runs), args.repeat)
        print(f"median of {args.repeat}:")
        print(f"  fast load + aggregate (page, cache miss): {t_fast * 1000:8.0f} ms   "
              + "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in parts.items()))
        print(f"  build_tables (every table, test, rank range, copy check): {parts['build_tables'] * 1000:.0f} ms wall, "
              f"{cpu * 1000:.0f} ms CPU (one run; wall on a shared machine includes waiting for a core)")
        print(f"  line-by-line reader + aggregate:          {t_slow * 1000:8.0f} ms   ({t_slow / t_fast:.1f}x fast)")
        print(f"  naive pandas (read_json + per-cell filter):{t_naive * 1000:8.0f} ms   ({t_naive / t_fast:.1f}x fast)")
        print(f"  cache hit (unpickle {len(blob) / 1e6:.1f} MB of tables):    {t_hit * 1000:8.0f} ms")
        entries = ranked.loc[ranked["rankable"], "entry"].nunique()
        print(f"statistics ({entries} ranked entries, {len(pairs)} pairs in the matrix, "
              f"{cluster.nunique()} question clusters, {comparisons.RANK_REPLICATES} bootstrap replicates):")
        print(f"  vectorised (in build_tables):             {t_stats * 1000:8.0f} ms   "
              + "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in stats.items()))
        print(f"  naive (a pair / a replicate at a time):   {t_naive_stats * 1000:8.0f} ms   "
              f"({t_naive_stats / t_stats:.1f}x vectorised; one run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
