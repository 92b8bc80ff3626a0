"""bench/bench_ledger.py on a tiny frame count (real widths, meta device): its counts hold against
formulas stated independently here, the all-hits path has no gathers or stacks and its copies
are off the critical path, and the fast reading meets the issue's byte and FLOP targets."""
import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.models

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ledger():
    spec = importlib.util.spec_from_file_location("bench_ledger", ROOT / "bench" / "bench_ledger.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cases(ledger):
    return {merge: ledger.ledger_case(96, ledger.build_parts(merge), merge, k=4, chunk=16, text_tokens=8, check=True)
            for merge in ("exact", "fast")}


def test_counts_match_formulas_and_flop_counter(ledger, cases):
    case = cases["exact"]
    frames, merged, p, dv, d = 96, 92, 729, 1152, 3584
    assert case.merged == merged and case.visual_tokens == 4 * 196 + merged + 1
    assert case.rows[ledger.PROJECTOR].flops == 2 * frames * p * (dv * d + d * d)
    assert case.rows[ledger.IQ_IK].flops == 2 * 2 * merged * p * d * d
    assert case.rows[ledger.COPIES].bytes == frames * p * dv * 2        # fp16 features cross once
    assert sum(r.flops for r in case.rows.values()) == case.flop_counter_total
    assert case.rows[ledger.LLM].flops > 0 and case.rows[ledger.WALK].bytes > 0


def test_all_hits_path_has_no_gathers_and_overlaps_copies(ledger, cases):
    case = cases["exact"]
    assert case.gather_stack_bytes == 0
    assert not {"index", "stack", "cat"} & set(case.rows[ledger.GLUE].names)
    assert case.overlapped
    visual = case.total(ledger.VISUAL).seconds
    assert case.floor == pytest.approx(case.total(ledger.VISUAL + (ledger.LLM,)).seconds
                                       + max(0.0, case.rows[ledger.COPIES].seconds - visual))


def test_fast_reading_meets_the_byte_and_flop_targets(ledger, cases):
    exact, fast = cases["exact"], cases["fast"]
    assert fast.rows[ledger.SCORING].bytes / fast.merged <= 35e6
    per_frame = {m: c.total(ledger.VISUAL).flops / c.merged for m, c in cases.items()}
    assert per_frame["fast"] <= 0.75 * per_frame["exact"]
    assert fast.visual_tokens == exact.visual_tokens
    assert "| 96 |" in ledger.report([exact], "exact")
