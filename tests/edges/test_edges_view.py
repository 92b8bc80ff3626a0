"""What a model saw against where a case's needles are (niah.view): every needle of a
several-needle case counts for ``needles_seen``, only the asked ones for ``needle_in_view``."""
from __future__ import annotations

from niah.schema import Case, Needle, Segment
from niah.view import needle_in_view, needles_seen


def distractors_case() -> Case:
    """A 40-frame case asking about the needle at 10..14, with distractors at 20..24 and 30..34."""
    target, first, second = (Needle(f"n{i}", f"q{i}", start, 5) for i, start in ((0, 10), (1, 20), (2, 30)))
    segments = [Segment("hay", 0, 10, "haystack"), Segment("n0", 0, 5, "needle"), Segment("hay", 10, 5, "haystack"),
                Segment("n1", 0, 5, "needle"), Segment("hay", 15, 5, "haystack"), Segment("n2", 0, 5, "needle"),
                Segment("hay", 20, 5, "haystack")]
    return Case("L40-0000", 40, 1.0, 1 / 3, target, segments, "Which colour?", ["A. red", "B. blue"], "A", "T",
                family="distractors", needles=[target, first, second], about="the first needle")


def test_needles_seen_counts_each_needle_with_a_frame_seen_once():
    """Two frames in one distractor and one at the target's last frame: two needles seen, the
    target's frame alone in view; frames outside every needle count for neither."""
    case = distractors_case()
    case.validate()
    view = {"full_frames": [14, 20, 24, 24, 35, 9]}
    assert needles_seen(view, case) == 2 and needle_in_view(view, case) == 1
    assert needles_seen({"full_frames": [0, 15, 39]}, case) == 0


def test_needles_seen_is_none_when_the_view_was_not_recorded():
    """A result without ``full_frames`` (a failed case, a line from before schema 2) says nothing."""
    case = distractors_case()
    assert needles_seen(None, case) is None and needles_seen({"kept": 3}, case) is None
