"""ViLAMP's options resolved without weights: explicit > the checkpoint's ViLAMP keys > profile."""
import pytest

from niah.errors import InputError
from runner.vilamp.options import resolve_options
from runner.vilamp.profiles import PAPER, RELEASED

CONFIG = {"max_frame_num": 16, "f2f_thrd": 0.9, "f2t_thrd": 0.3, "mm_spatial_pool_mode": "average",
          "mm_spatial_pool_stride": 3, "composer_proj_dim": 256}


def test_profile_defaults_without_config_or_options():
    released, paper = resolve_options({}, {}, RELEASED), resolve_options({}, {}, PAPER)
    assert (released.keyframes, released.tau, released.min_relevance, released.keyframe_pool) == (32, 0.85, 0.2, "bilinear")
    assert (released.pool_stride, released.chunk, released.max_new_tokens, released.alpha) == (2, 64, 1, None)
    assert paper.min_relevance is None and paper.max_new_tokens == 16 and paper.query_dim is None


def test_config_beats_profile_and_explicit_beats_config():
    from_config = resolve_options({}, CONFIG, RELEASED)
    assert (from_config.keyframes, from_config.tau, from_config.min_relevance) == (16, 0.9, 0.3)
    assert (from_config.keyframe_pool, from_config.pool_stride, from_config.query_dim) == ("average", 3, 256)
    explicit = resolve_options({"keyframes": 8, "tau": 0.7, "min_relevance": 0.1, "keyframe_pool": "max",
                                "pool_stride": 4, "alpha": 0.05, "chunk": 7, "max_new_tokens": 3}, CONFIG, RELEASED)
    assert (explicit.keyframes, explicit.tau, explicit.min_relevance, explicit.keyframe_pool) == (8, 0.7, 0.1, "max")
    assert (explicit.pool_stride, explicit.alpha, explicit.chunk, explicit.max_new_tokens) == (4, 0.05, 7, 3)


def test_none_means_not_given_at_every_level():
    opts = resolve_options({"keyframes": None, "tau": None}, {"max_frame_num": None, "f2f_thrd": 0.9}, RELEASED)
    assert (opts.keyframes, opts.tau) == (32, 0.9)


def test_paper_has_no_relevance_floor_unless_given_and_minus_one_means_none():
    assert resolve_options({}, CONFIG, PAPER).min_relevance is None       # the config's f2t_thrd is the code's
    assert resolve_options({"min_relevance": 0.25}, CONFIG, PAPER).min_relevance == 0.25
    assert resolve_options({"min_relevance": -1}, CONFIG, RELEASED).min_relevance is None
    assert resolve_options({}, {"f2t_thrd": -1}, RELEASED).min_relevance is None


@pytest.mark.parametrize("explicit, message", [
    ({"frobnicate": 1}, "unknown option(s) for vilamp: frobnicate"),
    ({"keyframes": 0}, "need keyframes > 0"),
    ({"tau": 1.5}, "0 < tau <= 1"),
    ({"chunk": 0}, "chunk > 0"),
    ({"keyframes": "many"}, "numbers"),
    ({"keyframe_pool": "median"}, "unknown keyframe pooling 'median'"),
])
def test_bad_options_are_one_line_errors(explicit, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        resolve_options(explicit, {}, RELEASED)
    assert "\n" not in str(err.value)
