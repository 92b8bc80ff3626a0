"""One tiny model through both harnesses: lmms-eval 0.7.3's own command line runs the exported
task with a random-weight Qwen2.5-VL (its ``qwen2_5_vl`` wrapper, the chat one it prefers), this
runner scores the same checkpoint under ``--protocol lmms-eval``; the raw outputs are equal on
every case, and the leaderboard pairs the two runs with no discordant case.

Qwen2.5-VL because its wrapper reads the MP4 itself (decord through qwen-vl-utils, installed
with the ``lmms`` extra). The ``llava_hf`` and ``internvl_hf`` wrappers hand the MP4's path to
transformers' processor, which decodes video only with torchcodec (torchvision 0.29 has no video
reader) and is not installed; ``llava_hf`` also passes ``images=[]`` beside the video, which
transformers 5.24's LLaVA-OneVision image processor indexes and fails on (docs/lmms-eval.md).

Small frames keep it quick: both sides get 8 frames and a 56-112 px pixel budget through the
wrapper's own arguments (``max_num_frames``, ``min_pixels``, ``max_pixels``), in bfloat16 (the
wrapper loads the weights so on any device).

The tiny model is made sensitive: ``tiny_models.build_qwen_vl``'s weights at their initial
scale give nearly the same text whatever the input (a system message more or less, frames
reversed: the same 16 tokens), so equal outputs would prove little. Its weight matrices are
multiplied by 8, after which those changes alter the text; the last test shows the comparison
catches the one difference found between the harnesses (frames resized by the processor instead
of as qwen-vl-utils resizes them). Its chat template adds "You are a helpful assistant." when no
system message is given, as the released Qwen2.5-VL's does (lmms-eval's ``qwen2_5_vl`` chat
wrapper sends none and relies on it; ``--protocol lmms-eval`` sends it).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lmms_testlib import ROOT, offline_env, run_lmms_eval
from niah.results import read_run
from niah_testlib import run_cli

#: lmms-eval comes with the models install (Makefile); `make test-fast` leaves these out
pytestmark = pytest.mark.models

FRAMES, MIN_PIXELS, MAX_PIXELS = 8, 56 * 56, 112 * 112
TASK = "video_niah_100"


SCALE = 8
DEFAULT_SYSTEM = ("{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant."
                  "<|im_end|>\n{% endif %}")


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2.5-VL whose text depends on its input (see the module docstring)."""
    from safetensors.torch import load_file, save_file
    sys.path.insert(0, str(ROOT / "tests" / "runner_models"))
    from tiny_models import build_qwen_vl
    folder = build_qwen_vl(tmp_path_factory.mktemp("tiny") / "qwen2.5-vl", "qwen2.5-vl")
    weights = load_file(folder / "model.safetensors")
    save_file({k: v * SCALE if v.ndim >= 2 else v for k, v in weights.items()}, folder / "model.safetensors",
              metadata={"format": "pt"})
    template = folder / "chat_template.jinja"
    template.write_text(DEFAULT_SYSTEM + template.read_text())
    return folder


@pytest.fixture(scope="module")
def both_runs(task_dir: Path, small_bench: Path, tiny_qwen: Path, tmp_path_factory: pytest.TempPathFactory):
    """(results root, lmms-eval's run folder, this runner's run folder, case ids)."""
    work = tmp_path_factory.mktemp("cross")
    args = f"pretrained={tiny_qwen},device=cpu,device_map=cpu,max_num_frames={FRAMES}," \
           f"min_pixels={MIN_PIXELS},max_pixels={MAX_PIXELS}"
    proc = run_lmms_eval(["--model", "qwen2_5_vl", "--model_args", args, "--tasks", TASK, "--include_path",
                          str(task_dir), "--batch_size", "1", "--log_samples", "--output_path",
                          str(work / "lmms_out")], work / "hf_home")
    assert list((work / "lmms_out").rglob(f"*_samples_{TASK}.jsonl")), proc.stdout[-3000:] + proc.stderr[-3000:]
    results = work / "results"
    proc = run_cli("runner", "import-lmms-eval", str(work / "lmms_out"), "--data", str(small_bench),
                   "--out", str(results))
    assert proc.returncode == 0, proc.stderr
    (theirs,) = [p for p in results.iterdir() if p.name.startswith("lmms-eval_")]
    case_ids = sorted(read_run(theirs)[1])
    proc = subprocess.run([sys.executable, "-m", "runner", "score", "--data", str(small_bench), "--model", "qwen2.5-vl",
                           "--protocol", "lmms-eval", "--model-path", str(tiny_qwen), "--device", "cpu",
                           "--dtype", "bfloat16",
                           "--frames", str(FRAMES), "--model-option", f"min_pixels={MIN_PIXELS}",
                           "--model-option", f"max_pixels={MAX_PIXELS}", "--cases", ",".join(case_ids),
                           "--out", str(results), "--no-progress"], cwd=ROOT, env=offline_env(work / "hf_home"),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (ours,) = [p for p in results.iterdir() if p.is_dir() and p != theirs]
    return results, theirs, ours, case_ids


def test_lmms_eval_and_this_runner_give_the_same_raw_output_on_every_case(both_runs):
    _, theirs, ours, case_ids = both_runs
    assert len(case_ids) >= 5
    lmms, here = read_run(theirs)[1], read_run(ours)[1]
    assert sorted(here) == case_ids
    different = {c: (lmms[c].raw_output, here[c].raw_output) for c in case_ids
                 if lmms[c].raw_output != here[c].raw_output}
    assert different == {}
    assert len({lmms[c].raw_output for c in case_ids}) >= len(case_ids) - 1     # the text follows the input
    settings = json.loads((ours / "run.json").read_text())["settings"]
    assert settings["protocol"] == "lmms-eval" and settings["frame_resize"] == "qwen-vl-utils"


def test_the_leaderboard_pairs_the_two_runs_with_no_discordant_case(both_runs, small_bench):
    from leaderboard import data, loading
    results, theirs, ours, case_ids = both_runs
    tables = data.build_tables(loading.load_results(results), loading.load_manifest(small_bench))
    for rule_tables in [tables] + [data.build_tables(loading.load_results(results), loading.load_manifest(small_bench),
                                                     rule) for rule in ("strict",)]:
        paired = data.paired_difference(rule_tables, theirs.name, ours.name)
        assert paired.common == len(case_ids)
        assert int(paired.overall["a_only"].iloc[0]) == 0 and int(paired.overall["b_only"].iloc[0]) == 0


def test_the_comparison_catches_frames_resized_the_other_way(both_runs, small_bench, tiny_qwen):
    """The same model with the processor resizing the uint8 frames itself (this runner before the
    difference was found) answers otherwise on some case: equal outputs above mean equal inputs."""
    import dataclasses

    from niah.cases import Benchmark
    from runner.models.hf_video import HFVideoLLM
    _, theirs, _, case_ids = both_runs
    bench = Benchmark.open(small_bench)
    model = HFVideoLLM(str(tiny_qwen), device="cpu", dtype="bfloat16", frames=FRAMES, name="qwen2.5-vl",
                       protocol="lmms-eval", min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    model.family = dataclasses.replace(model.family, resize_first=False)
    lmms = read_run(theirs)[1]
    other = {c: model.answer(bench.case(c), bench).text for c in case_ids}
    assert any(other[c] != lmms[c].raw_output for c in case_ids)
