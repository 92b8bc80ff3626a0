"""The multiple-choice answer parser on a table of real-looking model outputs."""
import pytest

from niah.answers import option_letters, parse_answer

OPTIONS = [
    "A. A man is cooking in the kitchen.",
    "B. Three times.",
    "C. A red car drives past.",
    "D. The woman waves goodbye.",
]

TABLE = [
    # letter alone, however wrapped
    ("B", "B"),
    ("b", "B"),
    ("(C)", "C"),
    ("C.", "C"),
    ("D)", "D"),
    ("[A]", "A"),
    ("**B**", "B"),
    ("  B\n", "B"),
    ("B<|im_end|>", "B"),
    ("<answer>D</answer>", "D"),
    ("Option C", "C"),
    # explicit statements
    ("The answer is B", "B"),
    ("The answer is B.", "B"),
    ("Answer: b)", "B"),
    ("Answer: (D) The woman waves goodbye.", "D"),
    ("The correct answer is (C).", "C"),
    ("The best option is D.", "D"),
    ("Final answer - A", "A"),
    ("I would choose option C because the car is red.", "C"),
    ("B is correct.", "B"),
    ("Based on the video, the answer is C: a red car drives past.", "C"),
    # chain of thought: the last statement wins, options mentioned on the way don't
    ("Option A shows cooking, which never happens. Option D is also wrong. So the answer is B.", "B"),
    ("Answer: B. Option A cannot be right because no one cooks.", "B"),
    # leading lettered option, or a first line holding only the letter
    ("C\n\nExplanation: the man in option A never cooks; B and D do not happen.", "C"),
    ("The answer is: B", "B"),
    ("Best option: D", "D"),
    ("C. A red car drives past.", "C"),
    ("(A) A man is cooking", "A"),
    ("D: The woman waves goodbye", "D"),
    # the article "A" is not option A when a clearer answer exists
    ("A man is seen walking, and the answer is C.", "C"),
    ("A red car drives past the camera.", "C"),
    ("A woman is cooking. I think it is D.", "D"),
    ("Answer: A man is cooking in the kitchen.", "A"),
    ("The answer is a red car.", "C"),
    # option text without a letter
    ("Three times.", "B"),
    ("the woman waves goodbye", "D"),
    ("It happens three times in the clip.", "B"),
    ("In the video, a red car drives past.", "C"),
    ("red car", "C"),
    # a single stand-alone letter in prose
    ("Looking at the frames, I believe C fits best.", "C"),
    # echo of the whole option list followed by the choice
    ("A. A man is cooking\nB. Three times\nC. A red car\nD. The woman waves\nAnswer: D", "D"),
    # unparsable
    ("", None),
    ("I cannot determine the answer from the video.", None),
    ("Either B or C.", None),
    ("A person", None),
    ("a man", "A"),  # a fragment of exactly one option's text
    ("The video does not show this.", None),
    ("E", None),
    ("Answer: E", None),
    ("Because", None),
    # two different letters joined by "and"/"or" name two options: unparsed
    ("A and B", None),
    ("I'm not sure, maybe A or C.", None),
    # a lone lower-case letter after "it's" / "is" is that option
    ("I think it's b", "B"),
    ("it is c.", "C"),
]


@pytest.mark.parametrize("output,expected", TABLE)
def test_parse_table(output, expected):
    assert parse_answer(output, OPTIONS) == expected


def test_table_is_big_enough():
    assert len(TABLE) >= 20


def test_none_output():
    assert parse_answer(None, OPTIONS) is None


def test_option_letters():
    assert option_letters(OPTIONS)["B"] == "Three times."
    assert option_letters(["red", "blue"]) == {"A": "red", "B": "blue"}


def test_options_without_letter_prefix():
    assert parse_answer("B", ["red", "blue"]) == "B"
    assert parse_answer("blue", ["red", "blue"]) == "B"
    assert parse_answer("C", ["red", "blue"]) is None


def test_nested_option_texts_pick_the_longest():
    opts = ["A. red", "B. red and blue", "C. green", "D. none"]
    assert parse_answer("It is red and blue.", opts) == "B"
    assert parse_answer("Red.", opts) == "A"


# Video-MME's official extraction: (output, expected letter) as that rule reads it
OFFICIAL_TABLE = [
    ("The", None), ("Based on the video", "B"), ("The best answer is C.", "C"), ("A and B", "A"),
    ("answer: b", None), ("(D)", "D"), ("", None),
    ("this output has eleven words and not one single option letter here", None),
    ("The answer is A", "A"), ("Best option: (C) red", "C"),
]


@pytest.mark.parametrize("text,expected", OFFICIAL_TABLE)
def test_official_rule_table(text, expected):
    from niah.answers import official_answer
    assert official_answer(text, ["A. red", "B. blue", "C. green", "D. the sea"]) == expected


def test_prediction_under_reads_version_1_lines_as_strict_and_rescores_official():
    from niah_testlib import letter_under as prediction_under
    options = ["A. red", "B. blue", "C. green", "D. the sea"]
    # a v1 line: the strict parser read "the sea" as D; the official rule finds no capital letter
    assert prediction_under("strict", "the sea", options, "D", None, None) == "D"
    assert prediction_under("official", "the sea", options, "D", None, None) is None
    # a v2 line stores both
    assert prediction_under("official", "A and B", options, "A", "official", None) == "A"
    assert prediction_under("strict", "A and B", options, "A", "official", None) is None
