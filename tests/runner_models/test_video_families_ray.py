"""``runner score --engine ray`` with the HF video families, one Ray instance for all: each
family's tiny checkpoint is scored by a Ray actor and gives the local engine's run id, raw
outputs and view (greedy decoding on CPU in fp32 is deterministic). One family per adapter
class (Qwen: fps + pixel budget + timestamps; InternVL: fixed size + frame labels; VideoLLaMA3:
token budget + compression): an actor costs ~10 s to start on 2 cores, so not all seven."""
from __future__ import annotations

import json

import pytest

from test_video_families import SMALL, _lines, _score, tiny  # noqa: F401 - the fixture

ray = pytest.importorskip("ray")
FAMILIES = ["qwen3-vl", "internvl3", "videollama3"]


@pytest.fixture(scope="module")
def ray_instance():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_engine_matches_local_engine_for_every_family(tiny, bench, tmp_path, capsys, ray_instance):  # noqa: F811
    for name in FAMILIES:
        local, remote = tmp_path / name / "local", tmp_path / name / "ray"
        assert _score(bench, name, tiny[name], local, "--limit", "1") == 0
        assert _score(bench, name, tiny[name], remote, "--limit", "1", "--engine", "ray", "--actors", "1") == 0, \
            capsys.readouterr().err[-2000:]
        [a], [b] = [p for p in local.iterdir() if p.is_dir()], [p for p in remote.iterdir() if p.is_dir()]
        assert a.name == b.name, name
        la, lb = _lines(local), _lines(remote)
        assert [(x["case_id"], x["raw_output"], x["view"]) for x in la] == \
               [(x["case_id"], x["raw_output"], x["view"]) for x in lb], name
        assert json.loads((b / "run.json").read_text())["settings"]["family"] == name
