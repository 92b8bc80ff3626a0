"""`python -m runner score|report` end to end on a generator-built benchmark, and its bad inputs."""
from __future__ import annotations

import json
import shutil

import pytest

from niah.results import read_run
from niah_testlib import one_line_error, sigint_default
from runner_helpers import fake_bench_dir, real_bench_dir, run_cli  # noqa: F401 (fixtures)


def test_score_then_report(real_bench_dir, tmp_path):
    out = tmp_path / "results"
    first = run_cli("score", "--data", str(real_bench_dir), "--model", "random", "--out", str(out),
                    "--limit", "3", "--no-progress")
    assert first.returncode == 0, first.stderr
    assert "3/3 cases scored (3 now, 0 before)" in first.stdout
    partial = run_cli("report", "--out", str(out), "--data", str(real_bench_dir))
    assert partial.returncode == 0, partial.stderr
    assert "partial" in partial.stdout and "| 3/" in partial.stdout
    full = run_cli("score", "--data", str(real_bench_dir), "--model", "random", "--out", str(out),
                   "--seed", "0", "--no-progress")  # --seed 0 is the default: same run
    assert full.returncode == 0, full.stderr
    assert "(5 now, 3 before)" in full.stdout
    [run_dir] = [p for p in out.iterdir() if p.is_dir()]
    info, results, problems = read_run(run_dir)
    assert problems == [] and len(results) == info["cases_total"]
    assert info["model"] == "random" and info["settings"] == {"seed": 0} and info["device"] == "cpu"
    rep = run_cli("report", "--out", str(out), "--csv", str(tmp_path / "csv"))
    assert rep.returncode == 0 and "complete" in rep.stdout and "d9" in rep.stdout
    assert (tmp_path / "csv" / "by_length_depth.csv").exists()


def test_shards_match_the_unsharded_run(real_bench_dir, tmp_path):
    whole = tmp_path / "whole"
    assert run_cli("score", "--data", str(real_bench_dir), "--model", "random", "--out", str(whole),
                   "--no-progress").returncode == 0
    sharded = tmp_path / "sharded"
    for i in (1, 2, 3):
        proc = run_cli("score", "--data", str(real_bench_dir), "--model", "random", "--out", str(sharded),
                       "--shard", f"{i}/3", "--no-progress")
        assert proc.returncode == 0, proc.stderr
    [a] = list(whole.iterdir())
    [b] = list(sharded.iterdir())
    assert a.name == b.name  # same settings, same manifest -> same run id
    assert sorted(p.name for p in b.glob("results*.jsonl")) == [f"results-shard{i}of3.jsonl" for i in (1, 2, 3)]
    ra, rb = read_run(a)[1], read_run(b)[1]
    assert {k: v.prediction for k, v in ra.items()} == {k: v.prediction for k, v in rb.items()}


def test_run_json_mismatch_via_cli(real_bench_dir, tmp_path):
    out = tmp_path / "r"
    args = ["score", "--data", str(real_bench_dir), "--model", "random", "--out", str(out), "--run-name", "mine",
            "--no-progress", "--limit", "2"]
    assert run_cli(*args).returncode == 0
    line = one_line_error(run_cli(*args, "--seed", "7"))
    assert "run.json" in line and "--seed: 0 here, 7 now" in line


def test_missing_data_argument():
    assert "--data" in one_line_error(run_cli("score", "--model", "random"))


def test_data_folder_missing(tmp_path):
    assert "not a built benchmark" in one_line_error(
        run_cli("score", "--data", str(tmp_path / "nope"), "--model", "random", "--out", str(tmp_path)))


def test_unknown_model(real_bench_dir, tmp_path):
    line = one_line_error(run_cli("score", "--data", str(real_bench_dir), "--model", "gpt-17",
                                  "--out", str(tmp_path)))
    assert "unknown model 'gpt-17'" in line and "random" in line
    assert not any(tmp_path.iterdir())


def test_manifest_of_another_schema_version(real_bench_dir, tmp_path):
    bad = tmp_path / "bench"
    bad.mkdir()
    shutil.copy(real_bench_dir / "dataset.json", bad)
    (bad / "frames").symlink_to(real_bench_dir / "frames")
    lines = (real_bench_dir / "manifest.jsonl").read_text().splitlines()
    raw = json.loads(lines[0])
    raw["schema_version"] = 99
    (bad / "manifest.jsonl").write_text("\n".join([json.dumps(raw)] + lines[1:]) + "\n")
    line = one_line_error(run_cli("score", "--data", str(bad), "--model", "random", "--out", str(tmp_path / "o")))
    assert "schema_version 99" in line and "manifest.jsonl:1" in line


def test_missing_frame_store(real_bench_dir, tmp_path):
    bad = tmp_path / "bench"
    bad.mkdir()
    for name in ("dataset.json", "manifest.jsonl"):
        shutil.copy(real_bench_dir / name, bad)
    line = one_line_error(run_cli("score", "--data", str(bad), "--model", "random", "--out", str(tmp_path / "o")))
    assert "frame store" in line


@pytest.mark.parametrize("args,needle", [
    (["--shard", "4/3"], "--shard"),
    (["--cases", "no-such-case"], "no case"),
    (["--limit", "0"], "--limit"),
    (["--run-name", "../escape"], "--run-name"),
    (["--frames", "many"], "invalid int value"),
])
def test_bad_options(real_bench_dir, tmp_path, args, needle):
    line = one_line_error(run_cli("score", "--data", str(real_bench_dir), "--model", "random",
                                  "--out", str(tmp_path / "o"), *args))
    assert needle in line


def test_report_on_missing_folder(tmp_path):
    assert "no such results folder" in one_line_error(run_cli("report", "--out", str(tmp_path / "none")))


SLOW_CLI = '''
import sys
from runner.models import register
from runner.cli import main

register("slow", "runner_helpers:load_slow")
sys.exit(main(sys.argv[1:]))
'''


def test_ctrl_c_stops_cleanly_and_resumes(fake_bench_dir, tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from runner_helpers import REPO, subprocess_env

    script = tmp_path / "slow_cli.py"
    script.write_text(SLOW_CLI)
    out = tmp_path / "res"
    cmd = [sys.executable, str(script), "score", "--data", str(fake_bench_dir), "--model", "slow",
           "--out", str(out), "--no-progress", "--device", "cpu"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default)
    deadline = time.time() + 60
    while time.time() < deadline:
        files = list(out.glob("*/results.jsonl"))
        if files and files[0].read_text().count("\n") >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    lines = [l for l in stderr.strip().splitlines() if l]
    assert len(lines) == 1 and lines[0].startswith("interrupted: run slow-") and "resume" in lines[0]
    again = subprocess.run(cmd, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    [run_dir] = list(out.iterdir())
    info, results, problems = read_run(run_dir)
    assert problems == [] and len(results) == info["cases_total"] and all(r.correct for r in results.values())
    assert "100.0%" in again.stdout


def test_missing_required_options_are_one_line():
    line = one_line_error(run_cli("score"))
    assert "--data, --model: required" in line and "random" in line and "vilamp" in line


def test_help_lists_the_models_and_a_bare_call_prints_it():
    from runner.models import MODEL_NAMES
    assert run_cli("score", "--help").returncode == 0
    helps = run_cli("score", "--help").stdout
    bare = run_cli()
    assert bare.returncode == 2 and "usage:" in bare.stderr
    for name in MODEL_NAMES:
        assert name in helps and name in bare.stderr
    assert "score" in bare.stderr and "report" in bare.stderr and "python -m runner score --data" in bare.stderr


@pytest.mark.models
def test_device_is_checked_for_every_model(real_bench_dir, tmp_path):
    torch = pytest.importorskip("torch")
    out = tmp_path / "o"
    common = ["score", "--data", str(real_bench_dir), "--model", "random", "--out", str(out)]
    assert "expected cpu, cuda or cuda:N" in one_line_error(run_cli(*common, "--device", "gpu"))
    beyond = f"cuda:{torch.cuda.device_count()}"  # one past the last GPU (cuda:0 on a CPU machine)
    assert "no CUDA device" in one_line_error(run_cli(*common, "--device", beyond)) \
        or f"{torch.cuda.device_count()} CUDA device" in one_line_error(run_cli(*common, "--device", beyond))
    if not torch.cuda.is_available():
        line = one_line_error(run_cli(*common, "--device", "cuda"))
        assert line.startswith("error: --device: cuda") and "--device cpu" in line
    assert not out.exists()


MARKER_CLI = '''
import sys
from pathlib import Path
from runner.models import register
from runner.models.random_choice import RandomChoiceModel
from runner.cli import main

def load_marked(model_path=None, **options):
    Path(sys.argv[1]).touch()  # the loader ran
    return RandomChoiceModel(model_path, **options)

register("marked", "__main__:load_marked")
sys.exit(main(sys.argv[2:]))
'''


def test_mismatched_rerun_fails_before_the_model_loads(real_bench_dir, tmp_path):
    """A --run-name folder holding another run is refused from the command line alone: the
    loader (for a real model, minutes and many GB) is never called."""
    import subprocess
    import sys
    from runner_helpers import REPO, subprocess_env

    script, marker, out = tmp_path / "marked_cli.py", tmp_path / "loaded", tmp_path / "r"
    script.write_text(MARKER_CLI)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(script), str(marker), "score", "--data", str(real_bench_dir),
                               "--model", "marked", "--out", str(out), "--run-name", "mine", "--no-progress",
                               "--limit", "2", *args], cwd=REPO, env=subprocess_env(), capture_output=True,
                              text=True, timeout=120)

    assert run("--seed", "3").returncode == 0 and marker.exists()
    for args, needle in ((["--seed", "4"], "--seed: 3 here, 4 now"),
                         (["--seed", "3", "--frames", "8"], "--frames: null here, 8 now"),
                         (["--seed", "3", "--model-path", "elsewhere"], "model_path")):
        marker.unlink(missing_ok=True)
        line = one_line_error(run(*args))
        assert "run.json" in line and needle in line and "--run-name" in line
        assert not marker.exists(), args
    again = run("--seed", "3")  # the same command still resumes, after loading
    assert again.returncode == 0 and "(0 now, 2 before)" in again.stdout and marker.exists()


@pytest.mark.models
def test_hub_id_is_never_fetched_unless_allowed(real_bench_dir, tmp_path):
    """A hub id missing from the cache: one line naming `hf download` and --allow-download, and no
    connection tried. With --allow-download the fetch is tried (here against a closed local port)."""
    import subprocess
    import sys
    env = {**__import__("os").environ, "HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9",
           "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("HF_HUB_OFFLINE", None)
    args = [sys.executable, "-m", "runner", "score", "--data", str(real_bench_dir), "--model", "llava-onevision",
            "--model-path", "some-org/some-model", "--out", str(tmp_path / "o"), "--device", "cpu"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    line = one_line_error(proc, "some-org/some-model", "hf download some-org/some-model", "--allow-download")
    assert "not in the local Hugging Face cache" in line
    fetched = subprocess.run([*args, "--allow-download"], capture_output=True, text=True, env=env, timeout=300)
    assert "cannot get llava-onevision weights from the hub" in one_line_error(fetched)


def test_max_frames_is_vilamps_frame_cap_and_help_says_so(fake_bench_dir):
    line = one_line_error(run_cli("score", "--data", str(fake_bench_dir), "--model", "random", "--max-frames", "600"))
    assert line == "error: --max-frames: only for vilamp (uniform-sampling models take --frames)"
    line = one_line_error(run_cli("score", "--data", str(fake_bench_dir), "--model", "vilamp", "--max-frames", "0"))
    assert line.startswith("error: --max-frames: 0: must be at least 1")
    helps = " ".join(run_cli("score", "--help").stdout.split())
    assert "600 reproduces the authors' Video-MME script" in helps
    assert "float16 for vilamp's released profile" in helps
