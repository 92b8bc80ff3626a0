"""Protocols by name (``runner score --protocol``): under ``lmms-eval`` a tiny Qwen2.5-VL and a
tiny InternVL3 see 32 frames of a 600-frame case, exactly the frames the family's sampler names;
the protocol is in the settings, the run id and the prompt the model gets; ``blind`` shows no
video at all; a bad protocol is one line before any weights load."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from niah_testlib import demo_bench, run_cli
from runner.cli import main as cli_main
from runner.models.video_families import FAMILIES


@pytest.fixture(scope="module")
def long_bench(tmp_path_factory):
    """One demo case of 600 frames."""
    return demo_bench(tmp_path_factory.mktemp("long") / "niah", "600", 1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tiny_models import FAMILY_BUILDERS
    root = tmp_path_factory.mktemp("protocol-models")
    return {name: FAMILY_BUILDERS[name](root / name) for name in ("qwen2.5-vl", "internvl3")}


def _run(bench, name, folder, out, *extra) -> tuple[dict, list[dict]]:
    assert cli_main(["score", "--data", str(bench.root), "--model", name, "--model-path", str(folder),
                     "--out", str(out), "--device", "cpu", "--limit", "1", "--no-progress", *extra]) == 0
    [run] = [p for p in Path(out).iterdir() if p.is_dir()]
    lines = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    return json.loads((run / "run.json").read_text()), lines


@pytest.mark.parametrize("name", ["qwen2.5-vl", "internvl3"])
def test_lmms_eval_protocol_sees_32_frames_of_a_600_frame_case(name, tiny, long_bench, tmp_path, capsys):
    info, [line] = _run(long_bench, name, tiny[name], tmp_path / "lmms")      # lmms-eval is the default
    case = long_bench.cases[0]
    assert case.length == 600
    fam = FAMILIES[name]
    proto = fam.protocols["lmms-eval"]
    expected = fam.under(proto).sample(600, fam.under(proto).resolve(None, {}))
    assert len(line["view"]["full_frames"]) == 32 and line["view"]["full_frames"] == sorted(expected)
    assert line["view"]["frames_in"] == 32 and line["error"] is None
    settings = info["settings"]
    assert settings["protocol"] == "lmms-eval" and settings["frames"] == 32
    assert settings["prompt"] == "lmms-eval-0.7.3:videomme" and settings["system_prompt"] == proto.system_prompt
    card_info, [card_line] = _run(long_bench, name, tiny[name], tmp_path / "card", "--protocol", "card")
    assert card_info["settings"]["protocol"] == "card" and card_info["run_id"] != info["run_id"]
    assert len(card_line["view"]["full_frames"]) != 32


def test_the_prompt_and_system_message_reach_the_model_as_lmms_eval_builds_them(tiny, long_bench):
    from runner.models import load_model
    from runner.models.prompt import protocol_prompt
    model = load_model("qwen2.5-vl", str(tiny["qwen2.5-vl"]))
    case = long_bench.cases[0]
    prompt = model._prompt(case, [], case.options)
    assert prompt == protocol_prompt("videomme", case.question, list(case.options))
    assert prompt.endswith("\n\nAnswer with the option's letter from the given choices directly.")
    text = model._chat_text(prompt)
    assert text.index("You are a helpful assistant.") < text.index("<|video_pad|>") < text.index(prompt)


def test_blind_protocol_shows_no_video(tiny, long_bench, tmp_path, capsys):
    info, [line] = _run(long_bench, "qwen2.5-vl", tiny["qwen2.5-vl"], tmp_path, "--protocol", "blind")
    assert info["settings"]["protocol"] == "blind" and info["settings"]["visual"] is False
    assert line["view"] == {"full_frames": [], "frames_in": 0, "visual_tokens": 0} and line["error"] is None


def test_unknown_protocol_is_one_line_before_loading(long_bench, tmp_path):
    proc = run_cli("runner", "score", "--data", str(long_bench.root), "--model", "qwen2.5-vl", "--model-path",
                   str(tmp_path / "no-such-folder"), "--out", str(tmp_path), "--protocol", "paper")
    assert proc.returncode == 2 and "--protocol" in proc.stderr and "lmms-eval, card, blind" in proc.stderr
    proc = run_cli("runner", "score", "--data", str(long_bench.root), "--model", "random", "--out", str(tmp_path),
                   "--protocol", "card")
    assert proc.returncode == 2 and "only the HF video-LLMs have protocols" in proc.stderr


def test_help_lists_each_familys_protocols():
    proc = run_cli("runner", "score", "--help")
    for name in FAMILIES:
        section = proc.stdout.split(f"  {name} ", 1)[1].split("\n  ", 4)
        assert [p for p in ("lmms-eval (default)", "card", "blind") if any(f"--protocol {p}" in l for l in section)]
    assert "--protocol lmms-eval (default): 32 frames (even) uniformly over the case" in proc.stdout


@pytest.mark.models  # a tiny model or the loader check: torch
def test_vilamp_blind_control_sees_nothing(long_bench, tmp_path, capsys):
    """ViLAMP's blind control: its LLM answers the question alone; the run says so, and a run that
    sees keeps the run id it always had (no protocol key in its settings)."""
    from tiny_models import build_vilamp
    folder = build_vilamp(tmp_path / "vilamp", learned_merger=True)
    info, [line] = _run(long_bench, "vilamp", folder, tmp_path / "out", "--protocol", "blind")
    assert info["settings"]["protocol"] == "blind" and info["settings"]["visual"] is False
    assert line["view"] == {"full_frames": []} and line["error"] is None
    proc = run_cli("runner", "score", "--data", str(long_bench.root), "--model", "vilamp", "--model-path",
                   str(folder), "--out", str(tmp_path), "--protocol", "card")
    assert proc.returncode == 2 and "known: blind" in proc.stderr


@pytest.mark.models  # a tiny model or the loader check: torch
def test_released_videollama3_layout_is_one_line_saying_how_to_convert(tmp_path):
    from niah.errors import InputError
    from runner.models.hf_video import check_checkpoint
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "videollama3_qwen2",
                                                      "architectures": ["Videollama3Qwen2ForCausalLM"]}))
    with pytest.raises(InputError) as err:
        check_checkpoint(tmp_path, "DAMO-NLP-SG/VideoLLaMA3-7B", FAMILIES["videollama3"])
    assert "videollama3_qwen2" in str(err.value) and "video_llama_3" in str(err.value)
    assert "\n" not in str(err.value)
