"""``--engine ray`` on a local Ray instance (CPU actors): results and frame stores equal to the
local engine's, a worker killed mid-run has its work redone, and the errors are one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from faults_lib import HERE, REPO, assert_every_case_once, cli, env, module, one_line_error, random_letter
from niah.cases import Benchmark
from niah_testlib import SMALL_BUILD
from runner_helpers import write_fake_bench

RAY = pytest.importorskip("ray", reason="the Ray engine needs `pip install ray`")
pytestmark = pytest.mark.slow


def test_ray_score_worker_dies_cases_retried_run_finishes(tmp_path: Path) -> None:
    """One shared results folder: the first 10 cases scored by the local engine, the rest by two
    Ray actors. The first model call on Ray kills its worker (``os._exit``), and one poison case
    kills every worker that tries it. The run finishes: the killed case is redone on a fresh
    actor, the poison case is recorded as an error after 3 tries, every case has exactly one
    line, and the 10 cases scored before are skipped, not redone."""
    bench_dir = write_fake_bench(tmp_path / "bench", n=30)
    bench = Benchmark.open(bench_dir)
    marker, poison = tmp_path / "died-once", bench.cases[17].case_id
    config = tmp_path / "exit.json"
    config.write_text(json.dumps({"marker": str(marker), "poison": [poison]}))
    out = tmp_path / "res"
    common = ["score", "--data", str(bench_dir), "--model", "exit-once", "--model-path", str(config),
              "--out", str(out), "--no-progress", "--device", "cpu"]
    marker.touch()  # no fault in the local run
    first = cli(*common, "--limit", "10")
    assert first.returncode == 0, first.stderr
    marker.unlink()
    proc = cli(*common, "--engine", "ray", "--actors", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "30/30 cases scored (20 now, 10 before)" in proc.stdout and "errors 1" in proc.stdout
    died = [l for l in proc.stderr.splitlines() if l.startswith("warning: --engine ray: the model actor died")]
    assert len(died) == 4, proc.stderr  # the first call, then the poison case three times
    assert sum(poison in l for l in died) == 3
    assert marker.exists()
    [run_dir] = list(out.iterdir())
    results = assert_every_case_once(run_dir, [c.case_id for c in bench.cases])
    assert "died 3 times" in results[poison].error and not results[poison].correct
    for case in bench.cases:
        if case.case_id != poison:
            assert results[case.case_id].error is None
            assert results[case.case_id].prediction == random_letter(case)


def test_ray_score_cli_matches_local_engine_and_resumes_it(tmp_path: Path) -> None:
    """``python -m runner score --engine ray`` with the ``random`` model: same run id and the same
    answers as the local engine; a later local rerun of the same command scores nothing."""
    bench_dir = write_fake_bench(tmp_path / "bench", n=24)
    bench = Benchmark.open(bench_dir)
    local, ray_out = tmp_path / "local", tmp_path / "ray"
    args = ["runner", "score", "--data", str(bench_dir), "--model", "random", "--seed", "3", "--no-progress"]
    assert module(*args, "--out", str(local)).returncode == 0
    proc = module(*args, "--out", str(ray_out), "--engine", "ray")
    assert proc.returncode == 0, proc.stderr[-3000:]
    [a], [b] = list(local.iterdir()), list(ray_out.iterdir())
    assert a.name == b.name  # the engine is not part of a run's identity
    ra = assert_every_case_once(a, [c.case_id for c in bench.cases])
    rb = assert_every_case_once(b, [c.case_id for c in bench.cases])
    assert {k: (r.prediction, r.correct) for k, r in ra.items()} == {k: (r.prediction, r.correct) for k, r in rb.items()}
    again = module(*args, "--out", str(ray_out))
    assert again.returncode == 0 and "(0 now, 24 before)" in again.stdout


BUILD_WITH_FAULT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from generator.build import BuildConfig, build
    from generator.ray_ingest import RayExecutor
    from generator.plan import parse_lengths

    def dies_once(marker, fn, *args):
        # the first decode of the whole build kills its Ray worker, as an OOM kill would
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return fn(*args)
        os._exit(9)

    class Faulty(RayExecutor):
        def submit(self, fn, *args):
            return super().submit(dies_once, sys.argv[3], fn, *args)

    source, out = sys.argv[1], sys.argv[2]
    build(BuildConfig(source=source, out=out, lengths=tuple(parse_lengths("100,200")), cases=12, seed=0,
                      frame_size=32), executor=Faulty)
""")


def test_ray_build_worker_killed_mid_decode_same_bytes(release: Path, small_bench: Path, tmp_path: Path) -> None:
    """`generator build` with Ray ingest tasks, the first of which kills its worker: Ray runs it
    again and the build ends with the bytes of the local engine's build."""
    script = tmp_path / "build_fault.py"
    script.write_text(BUILD_WITH_FAULT)
    out, marker = tmp_path / "out", tmp_path / "died"
    proc = subprocess.run([sys.executable, str(script), str(release), str(out), str(marker)], cwd=REPO,
                          env=env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert marker.exists(), "no worker was killed"
    assert (out / "manifest.jsonl").read_bytes() == (small_bench / "manifest.jsonl").read_bytes()
    assert (out / "dataset.json").read_bytes() == (small_bench / "dataset.json").read_bytes()
    for index in (small_bench / "frames").glob("*.json"):
        assert (out / "frames" / index.name).read_bytes() == index.read_bytes()


def test_ray_build_cli_reports_bad_videos_like_local(release_copy: Path, tmp_path: Path) -> None:
    """`python -m generator build --engine ray` on a release with a zero-byte video: the same
    warning and skipped-video report as the local engine, then the same manifest."""
    (release_copy / "data" / "ndl00000003.mp4").write_bytes(b"")
    outs = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        proc = module("generator", "build", "--source", str(release_copy), "--out", str(out), *SMALL_BUILD,
                      "--engine", engine)
        assert proc.returncode == 0, proc.stderr[-3000:]
        warnings = [l for l in proc.stderr.splitlines() if l.startswith("warning:")]
        assert any("ndl00000003.mp4" in w and "skipped" in w for w in warnings), proc.stderr
        outs[engine] = out
    assert (outs["ray"] / "manifest.jsonl").read_bytes() == (outs["local"] / "manifest.jsonl").read_bytes()
    assert (outs["ray"] / "dataset.json").read_bytes() == (outs["local"] / "dataset.json").read_bytes()


def test_ray_build_reads_unextracted_zips(release: Path, small_bench: Path, tmp_path: Path) -> None:
    """Ray workers decode the members of ``videos_chunked_NN.zip`` in place: the frame store and
    manifest equal the local build of the extracted release."""
    from videomme_fixture import zip_release
    zipped = zip_release(release, tmp_path / "download")
    out = tmp_path / "ray"
    proc = module("generator", "build", "--source", str(zipped), "--out", str(out), *SMALL_BUILD, "--engine", "ray")
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr[-3000:]
    assert (out / "manifest.jsonl").read_bytes() == (small_bench / "manifest.jsonl").read_bytes()
    store = {p.name: p.read_bytes() for p in (out / "frames").iterdir()}
    assert store == {p.name: p.read_bytes() for p in (small_bench / "frames").iterdir()}


def test_engine_flags_without_ray_installed(tmp_path: Path, small_bench: Path) -> None:
    """Where `import ray` fails, `--engine ray` is one line and exit 2, and the local engine
    (and every other command) runs as before: ray is imported only by the Ray engine."""
    fake = tmp_path / "noray" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray (test stand-in)')\n")
    hide = {"PYTHONPATH": os.pathsep.join([str(fake.parent), str(REPO), str(HERE)])}
    one_line_error(module("runner", "score", "--data", str(small_bench), "--model", "random", "--out",
                          str(tmp_path / "r"), "--engine", "ray", **hide), "--engine ray", "pip install ray")
    one_line_error(module("generator", "build", "--source", "x", "--out", str(tmp_path / "b"), "--engine", "ray",
                          **hide), "--engine ray", "pip install ray")
    local = module("runner", "score", "--data", str(small_bench), "--model", "random", "--out", str(tmp_path / "r"),
                   "--no-progress", **hide)
    assert local.returncode == 0, local.stderr
    one_line_error(module("runner", "score", "--data", str(small_bench), "--model", "random", "--out",
                          str(tmp_path / "r"), "--address", "auto", **hide), "--address", "only with --engine ray")


def test_ray_errors_are_one_line(tmp_path: Path) -> None:
    """A model that cannot load on the actors prints the local engine's line; asking for GPUs of
    a cluster without any is one line too; neither creates a run folder."""
    bench_dir = write_fake_bench(tmp_path / "bench", n=4)
    out = tmp_path / "res"
    args = ["runner", "score", "--data", str(bench_dir), "--out", str(out), "--no-progress"]
    bad_path = ["--model", "llava-onevision", "--model-path", str(tmp_path / "missing"), "--device", "cpu"]
    local = one_line_error(module(*args, *bad_path))
    assert one_line_error(module(*args, *bad_path, "--engine", "ray", "--actors", "1")) == local
    one_line_error(module(*args, "--model", "random", "--device", "cuda", "--engine", "ray"),
                   "--device cuda", "no GPU")
    assert not out.exists()


POISON_BUILD = textwrap.dedent("""
    import os, sys
    import generator.ray_ingest as ray_ingest
    from generator.cli import main

    def always_dies(fn, *args):
        os._exit(9)

    class Faulty(ray_ingest.RayExecutor):
        def submit(self, fn, *args):  # every decode of one video kills its worker
            return super().submit(always_dies if "ndl00000001" in str(args) else fn, *args)

    ray_ingest.factory = lambda address=None: (lambda workers: Faulty(workers, address))
    sys.exit(main(sys.argv[1:]))
""")


def test_ray_build_video_that_kills_every_worker_stops_with_one_line(release: Path, tmp_path: Path) -> None:
    """A video whose decode kills the worker on every try (1 + 3 retries): the build stops with
    one line naming the file (exit 2), writes no manifest, and keeps what was decoded."""
    script = tmp_path / "poison_build.py"
    script.write_text(POISON_BUILD)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(script), "build", "--source", str(release), "--out", str(out),
                           *SMALL_BUILD, "--engine", "ray"],
                          cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)
    errors = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert proc.returncode == 2 and len(errors) == 1, proc.stderr[-3000:]
    assert "ndl00000001.mp4" in errors[0] and "died 4 times" in errors[0] and "rerun" in errors[0]
    assert "Traceback" not in proc.stderr
    assert not (out / "manifest.jsonl").exists() and not (out / "dataset.json").exists()
    assert not (out / "frames" / "ndl00000001.json").exists()


@pytest.fixture
def token_cluster(tmp_path: Path):
    """A Ray head started as its own process (``ray start --head --block``, on loopback), with
    token authentication on; yields ``(address, token)`` and ends the head's process group."""
    import secrets
    import shutil
    import signal
    import socket
    import tempfile
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    temp_dir = tempfile.mkdtemp(prefix="niah-ray-", dir="/tmp")  # short: Ray's socket paths have a limit
    ray_cli = Path(sys.executable).with_name("ray")
    log = open(tmp_path / "head.log", "wb")
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
         "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"],
        env=env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in (tmp_path / "head.log").read_text(errors="replace"):
            assert head.poll() is None and time.monotonic() < deadline, (tmp_path / "head.log").read_text()
            time.sleep(0.5)
        yield f"127.0.0.1:{port}", token
    finally:
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):  # its agents ignore SIGTERM
            try:
                os.killpg(head.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(grace)
        head.wait(timeout=30)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_cluster_with_token_auth(token_cluster: tuple[str, str], release: Path, tmp_path: Path) -> None:
    """``runner score`` and ``generator build`` against a head started with ``ray start``: without
    the token, one line saying how to pass it (not Ray's wall of ``InvalidAuthToken`` lines);
    with ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` the run goes through on that cluster."""
    address, token = token_cluster
    bench_dir = write_fake_bench(tmp_path / "bench", n=12)
    args = ["runner", "score", "--data", str(bench_dir), "--model", "random", "--no-progress",
            "--out", str(tmp_path / "res"), "--engine", "ray", "--address", address]
    line = one_line_error(module(*args, RAY_AUTH_MODE=None, RAY_AUTH_TOKEN=None), f"--address {address}",
                          "RAY_AUTH_MODE=token", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
    assert "InvalidAuthToken" not in line
    build = module("generator", "build", "--source", str(release), "--out", str(tmp_path / "b"), *SMALL_BUILD,
                   "--engine", "ray", "--address", address, RAY_AUTH_MODE=None, RAY_AUTH_TOKEN=None)
    assert one_line_error(build) == line
    proc = module(*args, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [run_dir] = list((tmp_path / "res").iterdir())
    bench = Benchmark.open(bench_dir)
    results = assert_every_case_once(run_dir, [c.case_id for c in bench.cases])
    assert all(results[c.case_id].prediction == random_letter(c) for c in bench.cases)
