"""A case's intermediate results travel as values between the steps that use them: no model
keeps one case's question, keyframes or view for a later step, so steps called out of order
(or for another case in between) cannot mix two cases."""
import pytest
import torch

from runner.models import load_model


@pytest.fixture(scope="module")
def vilamp(tmp_path_factory):
    from tiny_models import build_vilamp
    path = build_vilamp(tmp_path_factory.mktemp("ckpt") / "vilamp", learned_merger=True)
    return load_model("vilamp", str(path), cache_dir="none", keyframes=3, min_relevance=-1)


def _two_questions(bench):
    first = bench.cases[0]
    other = next(c for c in bench.cases if c.question != first.question)
    return first, other


def test_merge_query_is_the_cases_own_whatever_ran_before(bench, vilamp):
    a, b = _two_questions(bench)
    vilamp.keyframes(b, bench, list(range(b.length)))
    own = vilamp._merge_query(b)
    vilamp.keyframes(a, bench, list(range(a.length)))       # another case's step 1 in between
    assert torch.equal(vilamp._merge_query(b), own)        # formerly: a's question, silently
    assert not torch.equal(vilamp._merge_query(a), own)


def test_visual_tokens_and_view_follow_the_selection_passed(bench, vilamp):
    a, b = _two_questions(bench)
    sel_b = vilamp.select(b, bench)
    vilamp.select(a, bench)
    assert torch.equal(vilamp.visual_tokens(b, bench, sel_b), vilamp.visual_tokens(b, bench))
    view = vilamp._with_view(b, "A", sel_b)
    assert view.full_frames == sel_b.keyframe_frames
    assert not {"_seen", "_clip_text"} & set(vars(vilamp))


def test_hf_models_return_the_view_with_the_answer(bench, tmp_path):
    from tiny_models import build_llava_ov
    model = load_model("llava-onevision", str(build_llava_ov(tmp_path / "ov")), frames=4, max_new_tokens=2)
    a, b = bench.cases[0], next(c for c in bench.cases if c.length != bench.cases[0].length)
    answer = model.answer(a, bench)
    indices = model.frame_indices(b)
    text, seen = model._generate(bench.frames_at(b, indices), "which colour ?", indices, b.length, b.fps)
    assert answer.diagnostics["frames_in"] == 4 and seen["frames_in"] == 4 and isinstance(text, str)
    assert not hasattr(model, "last_view")                  # nothing of a case is left for a later step
