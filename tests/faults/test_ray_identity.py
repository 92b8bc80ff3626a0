"""One run folder, one configuration, on a Ray cluster whose workers' environments differ: the
driver's resolved variables replace each worker's own, and an actor that loaded other settings
than the run's is retired with one warning line (two local actors, each given its environment)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from faults_lib import REPO, env
from niah.cases import Benchmark
from runner.ray_engine import WORKER_ENVIRONMENT, resolve_environment
from runner_helpers import write_fake_bench

pytest.importorskip("ray", reason="the Ray engine needs `pip install ray`")
pytestmark = pytest.mark.slow

#: Each scenario on one local Ray instance: the driver's variables set (``driver``), then two
#: actors, the k-th started with ``envs[k]`` (Ray's runtime_env) on top of the driver's environment.
TWO_ENVIRONMENTS = textwrap.dedent("""
    import json, logging, os, sys
    import ray
    from niah.cases import Benchmark
    from runner.models import register
    from runner.ray_engine import RayEngine

    register("env-settings", "env_model:load")
    bench, scenarios = Benchmark.open(sys.argv[1]), json.loads(sys.argv[2])

    class TwoEnvironments(RayEngine):
        def _new_actor(self):
            started = getattr(self, "_started", 0)
            self._started = started + 1
            cls = self._actor_cls.options(runtime_env={"env_vars": self.envs[started % len(self.envs)]})
            return cls.remote(self._data, self._fingerprint, self.model_name, self._load_args,
                              self._registry, self._environment)

    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False)
    for scenario in scenarios:
        os.environ.update(scenario["driver"])
        TwoEnvironments.envs = scenario["envs"]
        warnings = []
        with TwoEnvironments(bench, "env-settings", device="cpu", actors=2, warn=warnings.append) as engine:
            ray.wait(list(engine._probes), num_returns=len(engine._probes), timeout=120)  # both loaded first
            raw = {r.case_id: r.raw_output for r in engine.run(bench.cases)}
            print(json.dumps({"settings": engine.model.settings(), "warnings": warnings, "raw": raw,
                              "ready": sum(slot.ready for slot in engine._slots)}))
        for name in scenario["driver"]:
            del os.environ[name]
""")


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``resolved``: both workers set their own NIAH_VISION_TOWER, the driver another (a folder);
    ``differ``: the workers' NIAH_TEST_FLAVOUR differs and the driver does not resolve it."""
    tmp = tmp_path_factory.mktemp("ray-identity")
    bench = write_fake_bench(tmp / "bench", n=12)
    (tmp / "tower").mkdir()
    runs = {"resolved": {"driver": {"NIAH_VISION_TOWER": str(tmp / "tower")},
                         "envs": [{"NIAH_VISION_TOWER": "/node-a/tower"}, {"NIAH_VISION_TOWER": "/node-b/tower"}]},
            "differ": {"driver": {}, "envs": [{"NIAH_TEST_FLAVOUR": "x"}, {"NIAH_TEST_FLAVOUR": "y"}]}}
    proc = subprocess.run([sys.executable, "-c", TWO_ENVIRONMENTS, str(bench), json.dumps(list(runs.values()))],
                          cwd=REPO, env=env(**{"NIAH_TEST_FLAVOUR": None, **dict.fromkeys(WORKER_ENVIRONMENT)}),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {"case_ids": sorted(c.case_id for c in Benchmark.open(bench).cases), "tower": (tmp / "tower").resolve(),
            **dict(zip(runs, outs))}


def test_driver_resolves_the_environment_for_every_actor(scenarios: dict) -> None:
    """Workers with their own NIAH_VISION_TOWER load the driver's: both actors agree, none is
    retired, every case is scored once."""
    out = scenarios["resolved"]
    assert out["settings"]["vision_tower"] == str(scenarios["tower"])
    assert out["warnings"] == [] and out["ready"] == 2
    assert sorted(out["raw"]) == scenarios["case_ids"]


def test_an_actor_with_other_settings_is_retired_with_one_warning(scenarios: dict) -> None:
    """The actor that loaded second differs from the run's identity (the first's): it is retired
    with one warning line naming the setting, and every case is scored once, by the run's
    configuration."""
    out = scenarios["differ"]
    flavour = out["settings"]["flavour"]
    assert flavour in ("x", "y") and out["ready"] == 1
    [line] = out["warnings"]
    assert line.startswith("warning: --engine ray: retired the model actor") and "'flavour'" in line, line
    assert f"the run has {flavour!r}" in line and "\n" not in line
    assert sorted(out["raw"]) == scenarios["case_ids"]
    assert all(raw.endswith(f"flavour={flavour}") for raw in out["raw"].values())


def test_resolve_environment_pins_unset_and_makes_local_paths_absolute(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clip").mkdir()
    got = resolve_environment({"NIAH_CLIP_TOKENIZER": "clip", "NIAH_VISION_TOWER": "google/siglip-so400m-patch14-384"})
    assert got == {"NIAH_VISION_TOWER": "google/siglip-so400m-patch14-384",  # a hub id, kept
                   "NIAH_CLIP_TOKENIZER": str(tmp_path / "clip"), "NIAH_FEATURE_CACHE": None}
