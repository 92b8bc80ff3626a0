"""Every registered HF video-LLM family end to end on a tiny random-weight checkpoint of its real
architecture: ``runner score`` on demo cases, what reached the model held against the family's
formulas (the README's), answers parsed, resume, bad input; the formulas held against the real
processors at real sizes; ``--engine ray`` in ``test_video_families_ray.py``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from niah.answers import official_answer
from runner.cli import main as cli_main
from runner.models import HF_VIDEO, MODEL_NAMES, register, registry, summaries
from runner.models.video_families import FAMILIES, family, smart_resize, view

#: registered name -> (tiny builder key, model options keeping the tiny run small)
SMALL = {
    "llava-onevision": {"frames": 6},
    "llava-video": {"frames": 5},
    "qwen2-vl": {"max_frames": 6, "max_pixels": 112 * 112, "min_pixels": 28 * 28},
    "qwen2.5-vl": {"max_frames": 8, "fps": 0.1, "max_pixels": 84 * 84, "min_pixels": 28 * 28},
    "qwen3-vl": {"max_frames": 6, "max_pixels": 96 * 96, "min_pixels": 32 * 32, "total_pixels": 6 * 64 * 64},
    "internvl3": {"frames": 4},
    "videollama3": {"max_frames": 5, "max_visual_tokens": 40, "min_pixels": 28 * 28},
}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """One tiny checkpoint folder per family (LLaVA-Video shares LLaVA-OneVision's architecture)."""
    from tiny_models import FAMILY_BUILDERS
    root = tmp_path_factory.mktemp("families")
    built = {}
    for name in SMALL:
        key = "llava-onevision" if name == "llava-video" else name
        if key not in built:
            built[key] = FAMILY_BUILDERS[key](root / key)
        built[name] = built[key]
    return built


def _score(bench, name, folder, out, *extra, options=None):
    args = ["score", "--data", str(bench.root), "--model", name, "--model-path", str(folder), "--out", str(out),
            "--device", "cpu", "--limit", "2", "--no-progress", *extra]
    for key, value in (SMALL[name] if options is None else options).items():
        args += ["--model-option", f"{key}={value}"] if key != "frames" else ["--frames", str(value)]
    return cli_main(args)


def _lines(out: Path) -> list[dict]:
    [run] = [p for p in out.iterdir() if p.is_dir()]
    return [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]


# ----- end to end, one test per family ------------------------------------------------------
@pytest.mark.parametrize("name", list(SMALL))
def test_family_scores_end_to_end_and_resumes(name, tiny, bench, tmp_path, capsys):
    out = tmp_path / "out"
    assert _score(bench, name, tiny[name], out) == 0
    first = capsys.readouterr().out
    assert "(2 now, 0 before)" in first, first
    lines = _lines(out)
    fam = FAMILIES[name]
    store = (bench.store.settings.height, bench.store.settings.width)
    [run] = [p for p in out.iterdir() if p.is_dir()]
    settings = json.loads((run / "run.json").read_text())["settings"]
    assert settings["family"] == name and settings["prompt"] == "lmms-eval-videomme-v1"
    for line in lines:
        case = bench.case(line["case_id"])
        side = settings["frame_side"]
        resolved = fam.with_side(side) if side != "dynamic" else fam
        expected = view(resolved, case.length, *store, options={k: v for k, v in SMALL[name].items() if k != "frames"},
                        frames=SMALL[name].get("frames"))
        seen = line["view"]
        assert seen["full_frames"] == expected.indices                     # which frames
        assert seen["frames_in"] == expected.frames + (expected.frames % resolved.temporal
                                                         if hasattr(resolved, "temporal") else 0)
        assert seen["frame_size"] == [expected.height, expected.width]     # at what size
        if name == "videollama3":   # token compression can only drop tokens
            assert 0 < seen["visual_tokens"] <= expected.visual_tokens
        else:
            assert seen["visual_tokens"] == expected.visual_tokens         # the README's formula
        assert line["error"] is None and line["raw_output"] is not None
        assert line["prediction"] == official_answer(line["raw_output"], case.options)  # parsed
    # resume: the same command scores nothing more
    assert _score(bench, name, tiny[name], out) == 0
    assert "(0 now, 2 before)" in capsys.readouterr().out
    assert _lines(out) == lines


def test_videollama3_without_compression_matches_formula(tiny, bench, tmp_path, capsys):
    opts = {**SMALL["videollama3"], "token_compression": "false"}
    assert _score(bench, "videollama3", tiny["videollama3"], tmp_path, options=opts) == 0
    fam = FAMILIES["videollama3"]
    for line in _lines(tmp_path):
        case = bench.case(line["case_id"])
        expected = view(fam, case.length, bench.store.settings.height, bench.store.settings.width,
                        options={k: v for k, v in opts.items()})
        assert line["view"]["visual_tokens"] == expected.visual_tokens


def test_qwen3_timestamps_and_llava_video_time_instruction_reach_the_prompt(tiny, bench):
    from runner.models import load_model
    case = bench.cases[0]
    q3 = load_model("qwen3-vl", str(tiny["qwen3-vl"]), **SMALL["qwen3-vl"])
    idx = q3.frame_indices(case)
    video = bench.frames_at(case, idx)
    q3.generate(video, "which color ?", indices=idx, length=case.length, fps=case.fps)
    lv = load_model("llava-video", str(tiny["llava-video"]), frames=4)
    prefix = lv.family.prompt_prefix(lv.frame_indices(case), case.length, case.fps, lv.options)
    assert prefix.startswith(f"The video lasts for {case.length:.2f} seconds, and 4 frames")
    assert lv.settings()["time_instruction"] is True
    off = load_model("llava-video", str(tiny["llava-video"]), frames=4, time_instruction=False)
    assert off.family.prompt_prefix([0], 10, 1.0, off.options) == ""
    # Qwen3-VL's processor writes "<t seconds>" per temporal patch from the frames' case times
    text = q3.processor.apply_chat_template([{"role": "user", "content": [{"type": "video"}]}], tokenize=False)
    from transformers.video_utils import VideoMetadata
    md = VideoMetadata(total_num_frames=case.length, fps=1.0, frames_indices=idx)
    ids = q3.processor(text=[text], videos=[list(video)], video_metadata=[md], return_tensors="pt",
                       **q3.family.processor_kwargs(idx, case.length, 1.0, *video.shape[1:3], q3.options))["input_ids"]
    decoded = q3.processor.batch_decode(ids)[0]
    assert decoded.count("<|vision_start|>") == len(idx) // 2 + 1   # template's own + one per temporal patch


# ----- formulas against the real processors at real sizes (no weights) ---------------------------
def _qwen_video_processor(name):
    import transformers as tf
    return {"qwen2-vl": lambda: tf.Qwen2VLVideoProcessor(patch_size=14),
            "qwen2.5-vl": lambda: tf.Qwen2VLVideoProcessor(patch_size=14),
            "qwen3-vl": lambda: tf.Qwen3VLVideoProcessor(),
            "videollama3": lambda: tf.VideoLlama3VideoProcessor()}[name]()


@pytest.mark.models
@pytest.mark.parametrize("name", ["qwen2-vl", "qwen2.5-vl", "qwen3-vl", "videollama3"])
@pytest.mark.parametrize("frames,size", [(4, (384, 384)), (6, (360, 640)), (3, (224, 300))])
def test_dynamic_resolution_formula_matches_real_processor(name, frames, size):
    """The real video processor at the card's budget (scaled so few frames bind it) resizes the
    frames to the family's ``frame_size`` and gives its ``visual_tokens``."""
    from transformers.video_utils import VideoMetadata
    fam = family(name)
    opts = fam.resolve(None, {})
    if "total_pixels" in opts:
        opts["total_pixels"] = frames * 200_000
    if "max_visual_tokens" in opts:
        opts["max_visual_tokens"] = frames * 120
    video = np.zeros((frames, *size, 3), np.uint8)
    idx = list(range(frames))
    proc = _qwen_video_processor(name)
    out = proc(videos=[video], video_metadata=[VideoMetadata(total_num_frames=frames, fps=1.0, frames_indices=idx)],
               return_tensors="pt", **fam.processor_kwargs(idx, frames, 1.0, *size, opts))
    t, gh, gw = (int(x) for x in out["video_grid_thw"][0])
    h, w = fam.frame_size(*size, frames, opts)
    assert (gh * fam.patch, gw * fam.patch) == (h, w)
    merge = fam.merge ** 2
    assert t * gh * gw // merge == fam.visual_tokens(frames, *size, opts)


@pytest.mark.models
def test_fixed_size_formulas_match_real_processors():
    """LLaVA-OneVision / LLaVA-Video (384, 196 tokens + 1) and InternVL3 (448, 256) at real size."""
    import transformers as tf
    from tiny_models import build_tokenizer
    tok = build_tokenizer()
    proc = tf.LlavaOnevisionProcessor(video_processor=tf.LlavaOnevisionVideoProcessor(size={"height": 384, "width": 384}),
                                      image_processor=tf.LlavaOnevisionImageProcessor(), tokenizer=tok,
                                      num_image_tokens=729, vision_feature_select_strategy="full")
    video = np.zeros((3, 384, 384, 3), np.uint8)
    ids = proc(text=["<video>"], videos=[list(video)], return_tensors="pt")["input_ids"]
    n = int((ids == tok.convert_tokens_to_ids("<video>")).sum())
    for name in ("llava-onevision", "llava-video"):
        assert n == family(name).visual_tokens(3, 384, 384, {}) == 3 * 196 + 1
    iv = family("internvl3")
    assert iv.visual_tokens(8, 384, 384, {}) == 8 * 256 and iv.frame_size(384, 384, 8, {}) == (448, 448)


def test_sampling_rules():
    q = family("qwen2.5-vl")
    opts = q.resolve(None, {})
    assert q.sample(2000, opts) == np.linspace(0, 1999, 768).round().astype(int).tolist()
    assert len(q.sample(121, opts)) == 120 and len(q.sample(60, q.resolve(None, {"fps": 0.1}))) == 6
    assert len(family("qwen3-vl").sample(300, family("qwen3-vl").resolve(None, {}))) == 300   # 2 fps capped by frames
    iv = family("internvl3")
    # the card's get_index: seg = 79/8 = 9.875, int(seg/2 + round(seg*i)), worked by hand
    assert iv.sample(80, iv.resolve(None, {})) == [4, 14, 24, 34, 44, 53, 63, 73]
    lv = family("llava-video")
    assert lv.sample(10000, lv.resolve(None, {})) == np.linspace(0, 9999, 64).astype(int).tolist()


@pytest.mark.models
@pytest.mark.parametrize("length", [37, 600, 2000, 10000])
def test_videollama3_sampling_is_the_processors(length):
    import transformers as tf
    from transformers.video_utils import VideoMetadata
    fam = family("videollama3")
    opts = fam.resolve(None, {})
    theirs = tf.VideoLlama3VideoProcessor().sample_frames(VideoMetadata(total_num_frames=length, fps=1.0),
                                                          fps=1, max_frames=180, min_frames=4)
    assert fam.sample(length, opts) == [int(i) for i in theirs]


def test_smart_resize_reference_points():
    assert smart_resize(384, 384, 28, 100352, 151200) == (364, 364)   # Qwen2.5-VL card budget
    assert smart_resize(384, 384, 28, 3136, 10**9) == (392, 392)      # rounded to multiples of 28


# ----- registry, options, help ------------------------------------------------------------------
def test_every_family_registered_with_a_help_line():
    for name in ("qwen2.5-vl", "qwen3-vl", "internvl3", "llava-video", "videollama3", "llava-onevision",
                 "needle-oracle", "qwen2-vl", "vilamp", "random"):
        assert name in MODEL_NAMES and summaries()[name]


def test_one_register_line_adds_a_model(tiny, bench, tmp_path, capsys):
    """The README's example: a new name over a supported family, with its own default frames."""
    register("internvl3-16f", HF_VIDEO, family="internvl3", frames=3)      # the name written once
    try:
        assert "3 frames uniformly" in summaries()["internvl3-16f"]
        assert cli_main(["score", "--data", str(bench.root), "--model", "internvl3-16f", "--model-path",
                         str(tiny["internvl3"]), "--out", str(tmp_path), "--limit", "1", "--no-progress",
                         "--device", "cpu"]) == 0
        [line] = _lines(tmp_path)
        assert len(line["view"]["full_frames"]) == 3 and line["model"] == "internvl3-16f"
        [run] = [p for p in tmp_path.iterdir() if p.is_dir()]
        assert json.loads((run / "run.json").read_text())["settings"]["frames"] == 3
    finally:
        from runner import models
        models._REGISTRY.pop("internvl3-16f")
        models.MODEL_NAMES = tuple(models._REGISTRY)
    assert "internvl3-16f" not in registry()


def test_options_change_settings_and_run_id(tiny, bench, tmp_path, capsys):
    small = SMALL["qwen2-vl"]
    assert _score(bench, "qwen2-vl", tiny["qwen2-vl"], tmp_path, "--limit", "1") == 0
    assert _score(bench, "qwen2-vl", tiny["qwen2-vl"], tmp_path, "--limit", "1",
                  options={**small, "fps": 0.5}) == 0
    runs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert len(runs) == 2
    fps = sorted(json.loads((r / "run.json").read_text())["settings"]["fps"] for r in runs)
    assert fps == [0.5, 1.0]


# ----- bad input: one line, exit 2, before weights load ------------------------------------------
def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def _poisoned(folder: Path, dest: Path) -> Path:
    """A copy whose weights are garbage: any error but a load error proves the check came first."""
    shutil.copytree(folder, dest)
    for weights in dest.glob("*.safetensors"):
        weights.write_bytes(b"not safetensors")
    return dest


def test_folder_of_another_architecture_is_one_line(tiny, bench, tmp_path, capsys):
    folder = _poisoned(tiny["qwen2-vl"], tmp_path / "qwen2")
    assert _score(bench, "qwen2.5-vl", folder, tmp_path / "out", options={}) == 2
    line = _one_line(capsys)
    assert "'qwen2_vl' checkpoint" in line and "not qwen2.5-vl" in line and str(folder) in line
    folder = _poisoned(tiny["internvl3"], tmp_path / "internvl")
    assert _score(bench, "llava-video", folder, tmp_path / "out", options={}) == 2
    assert "'internvl' checkpoint" in _one_line(capsys)


@pytest.mark.parametrize("missing,says", [("processor_config.json", "missing processor files"),
                                          ("tokenizer.json", "missing tokenizer files"),
                                          ("chat_template.jinja", "no chat template")])
def test_missing_processor_file_is_one_line(missing, says, tiny, bench, tmp_path, capsys):
    folder = _poisoned(tiny["qwen3-vl"], tmp_path / "q3")
    (folder / missing).unlink()
    assert _score(bench, "qwen3-vl", folder, tmp_path / "out", options={}) == 2
    assert says in _one_line(capsys)


def test_bad_model_option_is_one_line_before_loading(tiny, bench, tmp_path, capsys):
    folder = _poisoned(tiny["videollama3"], tmp_path / "vl3")
    assert _score(bench, "videollama3", folder, tmp_path / "out", options={"fsp": 2}) == 2
    assert "unknown option(s) for videollama3: fsp" in _one_line(capsys)
    assert _score(bench, "videollama3", folder, tmp_path / "out", options={"fps": "fast"}) == 2
    assert "--model-option fps" in _one_line(capsys)


def test_needle_oracle_sees_only_the_needle(tiny, bench, tmp_path, capsys):
    """``needle-oracle`` through ``runner score``: the family's sampler within the needle only."""
    args = ["score", "--data", str(bench.root), "--model", "needle-oracle", "--model-path",
            str(tiny["llava-onevision"]), "--out", str(tmp_path), "--limit", "2", "--no-progress",
            "--device", "cpu", "--frames", "5"]
    assert cli_main(args) == 0
    for line in _lines(tmp_path):
        needle = bench.case(line["case_id"]).needle
        seen = line["view"]["full_frames"]
        assert seen == [needle.start_frame + i for i in np.linspace(0, needle.num_frames - 1, 5).astype(int)]
        assert line["view"]["frames_in"] == 5
