"""The ``lmms-eval`` protocol against lmms-eval 0.7.3's own code, on the exported MP4 of every case
(``generator export``) of 20 cases of each of two lengths (61 frames: odd, 90: even):

* the frame indices each family takes equal what the wrapper's sampling code takes from the MP4
  (qwen-vl-utils' ``fetch_video`` as the Qwen wrappers call it; ``get_index``/``load_video`` of
  ``models/simple/internvl3.py``; ``Llava_OneVision.load_video``), and so do the pixel shapes,
  tiles and visual-token counts;
* the prompt equals ``videomme_doc_to_text`` / ``videomme_doc_to_text_qwen3vl`` with
  ``videomme.yaml``'s kwargs on generated questions and options.

Where a wrapper's code cannot be called it is transcribed here and named so: the Qwen2.5-VL/
Qwen3-VL wrappers' frame-count probe and the Qwen2-VL wrapper's 32-of-N subsampling (both inline
in ``generate_until``), and ``llava_vid``'s ``load_video`` (its module needs the LLaVA-NeXT
package). Skipped where lmms-eval is not installed (``make install`` adds it).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from niah_testlib import demo_bench
from runner.models.prompt import protocol_prompt
from runner.models.video_families import FAMILIES, torch_linspace_round

pytest.importorskip("lmms_eval", reason="lmms-eval 0.7.3 is not installed (make install adds it)")
decord = pytest.importorskip("decord")
vision_process = pytest.importorskip("qwen_vl_utils.vision_process")
LENGTHS = (61, 90)
PER_LENGTH = 20


def _file_module(relative: str, name: str):
    """A module of lmms-eval loaded from its file (without importing the lmms_eval package)."""
    root = Path(next(iter(importlib.util.find_spec("lmms_eval").submodule_search_locations)))
    spec = importlib.util.spec_from_file_location(name, root / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(bench, [(case, mp4 path)]) for 20 cases of each length."""
    root = tmp_path_factory.mktemp("lmms")
    bench = demo_bench(root / "niah", ",".join(map(str, LENGTHS)), PER_LENGTH * len(LENGTHS))
    out = []
    for case in bench.cases:
        path = root / "mp4" / f"{case.case_id}.mp4"
        bench.export(case, path)
        out.append((case, path))
    assert sorted({c.length for c, _ in out}) == list(LENGTHS)
    assert all(sum(c.length == n for c, _ in out) >= PER_LENGTH for n in LENGTHS)
    side = bench.frames_at(out[0][0], [0]).shape[1:3]
    return bench, out, side


def _under(name: str):
    fam = FAMILIES[name]
    under = fam.under(fam.protocols["lmms-eval"])
    return under, under.resolve(None, {})


# ----- transcriptions of code that cannot be called on its own -------------------------------------
def wrapper_nframes(path: Path, max_num_frames: int = 32) -> int:
    """TRANSCRIPTION of models/chat/qwen2_5_vl.py's inline probe (qwen3_vl passes nframes as is):
    min(max_num_frames, frames in the file), floored to even, at least 2."""
    total = len(decord.VideoReader(str(path)))
    return max(2, (min(max_num_frames, total) // 2) * 2)


def qwen2_vl_keep(n_read: int, max_num_frames: int = 32) -> np.ndarray:
    """TRANSCRIPTION of models/simple/qwen2_vl.py's inline subsampling of the frames qwen-vl-utils read."""
    return np.unique(np.linspace(0, n_read - 1, max_num_frames, dtype=int, endpoint=True))


def llava_vid_indices(path: Path, max_frames_num: int = 20, fps: int = 1) -> list[int]:
    """TRANSCRIPTION of models/simple/llava_vid.py's load_video (force_sample off)."""
    vr = decord.VideoReader(str(path))
    step = round(vr.get_avg_fps() / fps)
    idx = list(range(0, len(vr), step))
    if len(idx) > max_frames_num:
        idx = np.linspace(0, len(vr) - 1, max_frames_num, dtype=int).tolist()
    return idx


# ----- frames, pixels, tokens -----------------------------------------------------------------------
@pytest.mark.parametrize("name,patch,min_pixels,max_pixels", [("qwen2.5-vl", 14, 256 * 28 * 28, 1605632),
                                                              ("qwen3-vl", 16, 256 * 28 * 28, 1605632)])
def test_qwen_frames_and_pixels_are_qwen_vl_utils_on_the_mp4(name, patch, min_pixels, max_pixels, exported):
    bench, cases, (height, width) = exported
    fam, opts = _under(name)
    for case, path in cases:   # qwen-vl-utils' reader: smart_nframes + its linspace, on the file
        _, meta, _ = vision_process._read_video_decord({"video": str(path), "nframes": wrapper_nframes(path)})
        assert meta["frames_indices"] == fam.sample(case.length, opts), case.case_id
    for length in LENGTHS:     # fetch_video's resize (one case per length: it is the slow part)
        case, path = next((c, p) for c, p in cases if c.length == length)
        ele = {"video": str(path), "nframes": wrapper_nframes(path), "min_pixels": min_pixels, "max_pixels": max_pixels}
        video, meta = vision_process.fetch_video(ele, image_patch_size=patch, return_video_metadata=True)
        ours = fam.sample(case.length, opts)
        assert meta["frames_indices"] == ours
        h, w = fam.frame_size(height, width, len(ours), opts)
        assert tuple(video.shape) == (len(ours), 3, h, w)
        # the visual tokens: the real video processor on what qwen-vl-utils handed it, set up as the
        # wrapper's AutoProcessor is (its min/max pixels; Qwen3-VL's wrapper passes do_resize=False)
        import transformers
        if name == "qwen3-vl":
            processed = transformers.Qwen3VLVideoProcessor()(videos=[video], video_metadata=[meta], do_resize=False,
                                                            do_sample_frames=False, return_tensors="pt")
        else:
            processed = transformers.Qwen2VLVideoProcessor(min_pixels=min_pixels, max_pixels=max_pixels)(
                videos=[video], return_tensors="pt")
        t, gh, gw = (int(x) for x in processed["video_grid_thw"][0])
        assert fam.visual_tokens(len(ours), height, width, opts) == t * gh * gw // 4 == (len(ours) // 2) * (h // patch // 2) * (w // patch // 2)


def test_qwen2_vl_frames_and_pixels_are_the_wrappers(exported):
    bench, cases, (height, width) = exported
    fam, opts = _under("qwen2-vl")
    for case, path in cases:   # qwen-vl-utils' reader at its default fps, then the wrapper's 32 of those
        _, meta, _ = vision_process._read_video_decord({"video": str(path)})
        expected = [meta["frames_indices"][i] for i in qwen2_vl_keep(len(meta["frames_indices"]))]
        assert fam.sample(case.length, opts) == expected, case.case_id
    case, path = cases[0]
    video, meta = vision_process.fetch_video({"video": str(path), "min_pixels": 3136, "max_pixels": 602112},
                                             return_video_metadata=True)
    h, w = fam.frame_size(height, width, 32, opts)
    assert tuple(video.shape[1:]) == (3, h, w)


def test_internvl3_frames_tiles_and_pixels_are_the_wrappers(exported):
    internvl3 = pytest.importorskip("lmms_eval.models.simple.internvl3")
    bench, cases, (height, width) = exported
    fam, opts = _under("internvl3")
    for case, path in cases:
        vr = decord.VideoReader(str(path))
        index = internvl3.get_index(None, float(vr.get_avg_fps()), len(vr) - 1, first_idx=0, num_segments=32)
        assert fam.sample(case.length, opts) == index.tolist(), case.case_id
    case, path = cases[0]
    pixels, tiles = internvl3.load_video(str(path), num_segments=32, max_num=max(1, min(12, 64 // 32)))
    assert tiles == [1] * 32 and tuple(pixels.shape) == (32, 3, fam.side, fam.side)
    assert fam.visual_tokens(32, height, width, opts) == 256 * sum(tiles)


def test_llava_onevision_frames_are_the_wrappers(exported):
    onevision = pytest.importorskip("lmms_eval.models.simple.llava_onevision")
    bench, cases, (height, width) = exported
    fam, opts = _under("llava-onevision")
    for case, path in cases:
        frames = onevision.Llava_OneVision.load_video(None, str(path), 32)
        assert np.array_equal(frames, bench.frames_at(case, fam.sample(case.length, opts))), case.case_id


def test_llava_video_frames_are_the_wrappers_transcribed(exported):
    _, cases, _ = exported
    fam, opts = _under("llava-video")
    for case, path in cases:
        assert fam.sample(case.length, opts) == llava_vid_indices(path), case.case_id


@given(st.integers(1, 20000), st.integers(1, 16).map(lambda k: 2 * k))
@settings(max_examples=2000, deadline=None)
def test_linspace_without_torch_is_torchs_for_the_protocol_counts(length, steps):
    """The torch-free fallback equals torch.linspace(...).round() for every even count up to 32."""
    import torch

    from runner.models.video_families import _linspace_round_float32
    assert _linspace_round_float32(0, length - 1, steps) == torch.linspace(0, length - 1, steps).round().long().tolist()


# ----- the prompt -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def videomme_utils():
    pytest.importorskip("cv2")
    pytest.importorskip("datasets")
    return _file_module("tasks/videomme/utils.py", "lmms_eval_videomme_utils")


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
STYLE_KWARGS = {"videomme": {"pre_prompt": "", "post_prompt": "\nAnswer with the option's letter from the given choices directly."},
                "videomme-llava-vid": {"pre_prompt": "", "post_prompt": "The best answer is:"},
                "videomme-qwen3vl": {"format": "qwen3_vl", "pre_prompt": "Question: ",
                                     "post_prompt": "Answer with the option letter only."}}


@given(st.sampled_from(sorted(STYLE_KWARGS)), TEXT, st.lists(TEXT, min_size=2, max_size=5))
@settings(max_examples=1500, deadline=None)
def test_prompt_is_lmms_evals_doc_to_text(videomme_utils, style, question, bodies):
    options = [f"{chr(65 + i)}. {body}" for i, body in enumerate(bodies)]   # Video-MME's options carry their letter
    doc = {"question": question, "options": options}
    assert protocol_prompt(style, question, options) == videomme_utils.videomme_doc_to_text(doc, dict(STYLE_KWARGS[style]))
