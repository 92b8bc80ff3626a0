"""The planner with every task family, in process and in milliseconds (the family tests in
tests/test_task_families.py build benchmarks through the CLI, too slow for the mutation run):
each family's cases are balanced per length, valid and four-optioned, and the manifest is the
same to the byte as the one this code wrote when it was released (2026-12-02, commit e3e1e0f:
a later change of the family planner must change these digests on purpose, as a rebuilt
benchmark would no longer match scores made on the old one)."""
from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from generator import synthetic
from generator.plan import plan_cases
from niah.schema import FAMILIES
from test_schedule import corpus

DIGESTS = {("tape", 5): "5e49f05c9bfbf242b62971e5118d56ebf41fc2679169f601844baff713f7ba63",
           ("tape", 6): "c6c7a85c6c69812a1f2cb17c160a15a7e36a50424a3a6088328198dbf9514f71",
           ("independent", 5): "248cc513992a0ff6a7359f03b31c44f82b4e0b7c7b9e53d21618252aa74abfeb",
           ("independent", 6): "1d7df3f1457c652e08cc586906b0a8e16227443666a085359282569b9a8ed82d"}


@pytest.mark.parametrize("layout, seed", sorted(DIGESTS))
def test_every_family_planned_in_process(layout: str, seed: int):
    needles, haystacks = corpus(videos=90, long_range=(1800, 3600))
    frames = {video: synthetic.WORD_SECONDS for video in synthetic.graphs(words=True, marker=False)}
    frames[synthetic.MARKER_ID] = synthetic.MARKER_SECONDS
    plan = plan_cases(needles, haystacks, [2000, 4000], 120, seed=seed, layout=layout, tasks=FAMILIES,
                      synthetic_frames=frames)
    assert Counter((c.family, c.length) for c in plan.cases) == {(f, n): 12 for f in FAMILIES for n in (2000, 4000)}
    for case in plan.cases:
        case.validate()
        assert len(case.options) == 4 and len(set(case.options)) == 4
    text = "".join(c.to_json() + "\n" for c in plan.cases)
    assert hashlib.sha256(text.encode()).hexdigest() == DIGESTS[(layout, seed)]


def test_a_tape_too_short_for_a_synthetic_family_is_refused_at_its_boundary():
    """A synthetic family needs a haystack of the length less its fewest synthetic frames; a
    synthetic-only plan does not look at needles, nor one without clips at the clips."""
    from generator.plan import _check_tape_holds
    from niah.errors import InputError
    needles, haystacks = corpus(videos=90, long_range=(1800, 3600))
    pool = sorted(haystacks.items())
    total = sum(f for _, f in pool)
    clips = {"word": 40, "marker": 30}
    _check_tape_holds(needles, pool, [total + 30], ("text", "counting"), clips)   # exactly fits
    with pytest.raises(InputError) as err:
        _check_tape_holds(needles, pool, [total + 31], ("text", "counting"), clips)
    assert str(err.value) == (f"--lengths: the haystack tape holds {total} frames ({len(pool)} videos), shorter than "
                              f"the haystack of a {total + 31}-frame case with a 30-frame synthetic needle "
                              f"({total + 1} frames); use shorter --lengths or more haystack videos")
    _check_tape_holds(needles, pool, [10 * total], ("text",), None)        # no clips known: nothing to check
    with pytest.raises(InputError) as err:
        _check_tape_holds(needles, pool, [10 * total], ("text", "distractors"), clips)
    assert "-frame needle (" in str(err.value) and "synthetic" not in str(err.value)
