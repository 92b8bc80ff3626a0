"""``bench/tape_audit.py``'s cut count: with the tape every haystack cut is one of the tape's
neighbour pairs (so a benchmark samples at most as many cuts as the tape has videos); with
independent haystacks far more."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_reuse import videomme_like  # noqa: E402
from generator.plan import parse_lengths, plan_cases  # noqa: E402
from tape_audit import audit, haystack_cuts  # noqa: E402


def test_tape_cuts_are_its_neighbour_pairs_and_far_fewer_than_independent() -> None:
    needles, haystacks = videomme_like()
    tape_plan = plan_cases(needles, haystacks, parse_lengths("2k..10k"), 500, seed=3, layout="tape")
    tape = tape_plan.tape
    neighbours = {(tape[i], tape[(i + 1) % len(tape)]) for i in range(len(tape))}
    cuts = haystack_cuts(tape_plan.cases)
    assert cuts and cuts <= neighbours
    independent = plan_cases(needles, haystacks, parse_lengths("2k..10k"), 500, seed=3, layout="independent")
    assert len(haystack_cuts(independent.cases)) > 3 * len(neighbours)


def test_audit_gives_one_figure_per_seed_and_layout() -> None:
    figures = audit(seeds=2, cases=200)
    for layout in ("tape", "independent"):
        assert [len(figures[layout][k]) for k in ("mean", "max", "cuts")] == [2, 2, 2]
        assert all(peak >= mean for peak, mean in zip(figures[layout]["max"], figures[layout]["mean"]))
