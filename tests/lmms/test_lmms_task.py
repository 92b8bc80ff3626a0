"""``python -m generator lmms-eval-task``: the folder lmms-eval 0.7.3 loads with --include_path.

lmms-eval itself loads the task here (its ``TaskManager``, in a child process with no network):
the docs it builds are the manifest's cases per length, its prompt is its own Video-MME prompt,
its generation settings Video-MME's; the MP4 a doc becomes is ``generator export``'s bytes.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lmms_testlib import offline_env
from niah.cases import Benchmark
from niah_testlib import one_line_error, run_cli

#: lmms-eval comes with the models install (Makefile); `make test-fast` leaves these out
pytestmark = pytest.mark.models

HERE = Path(__file__).resolve().parent


def _probe(task_dir: Path, models: list[str], hf_home: Path) -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "lmms_probe.py"), str(task_dir), *models],
                          env=offline_env(hf_home), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def probed(task_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What lmms-eval builds from the task for ``--model qwen3_vl`` (its own prompt format) and
    for any other model (the default prompt), offline."""
    hf_home = tmp_path_factory.mktemp("hf_home")
    return _probe(task_dir, ["qwen3_vl", "qwen2_5_vl"], hf_home)


def _utils(task_dir: Path):
    """The task's utils.py, loaded as lmms-eval loads it (by file)."""
    spec = importlib.util.spec_from_file_location("utils", task_dir / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lmms_eval_loads_one_task_per_length_and_the_group_with_the_manifests_cases(probed, small_bench):
    bench = Benchmark.open(small_bench)
    for report in probed.values():
        assert report["groups"] == ["video_niah"]
        assert sorted(k for k in report if k != "groups") == ["video_niah_100", "video_niah_200"]
        for length in (100, 200):
            task = report[f"video_niah_{length}"]
            assert task["case_ids"] == [c.case_id for c in bench.cases if c.length == length]
            assert task["output_type"] == "generate_until"


def test_prompt_and_generation_are_lmms_evals_videomme_ones(probed, small_bench):
    from lmms_eval.tasks.videomme import utils as videomme
    videomme_yaml = Path(videomme.__file__).with_name("videomme.yaml")
    loader = type("L", (yaml.SafeLoader,), {})
    loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))
    reference = yaml.load(videomme_yaml.read_text(), Loader=loader)
    bench = Benchmark.open(small_bench)
    for model, report in probed.items():
        kwargs = reference["lmms_eval_specific_kwargs"]
        chosen = kwargs.get(model, kwargs["default"])
        for length in (100, 200):
            task = report[f"video_niah_{length}"]
            assert {k: task["specific_kwargs"][k] for k in kwargs} == kwargs
            assert {k: v for k, v in task["generation_kwargs"].items() if k != "until"} == \
                {k: (float(v) if k == "temperature" else v) for k, v in reference["generation_kwargs"].items()}
            cases = [bench.case(cid) for cid in task["case_ids"]]
            expected = [videomme.videomme_doc_to_text({"question": c.question, "options": c.options}, chosen)
                        for c in cases]
            assert task["texts"] == expected
    first = probed["qwen2_5_vl"]["video_niah_100"]["texts"][0]
    assert first.startswith("Select the best answer") and first.endswith(
        "\n\nAnswer with the option's letter from the given choices directly.")
    assert probed["qwen3_vl"]["video_niah_100"]["texts"][0].startswith("Question: ")


def test_a_docs_video_is_generator_exports_mp4_byte_for_byte(probed, task_dir, small_bench, tmp_path):
    visuals = probed["qwen2_5_vl"]["video_niah_100"]["visuals"]
    case_ids = probed["qwen2_5_vl"]["video_niah_100"]["case_ids"][:2]
    for (path,), case_id in zip(visuals, case_ids):
        assert Path(path).parent == task_dir / "mp4"
        proc = run_cli("generator", "export", "--data", str(small_bench), "--case", case_id,
                       "-o", str(tmp_path / f"{case_id}.mp4"))
        assert proc.returncode == 0, proc.stderr
        assert Path(path).read_bytes() == (tmp_path / f"{case_id}.mp4").read_bytes()


def test_what_lmms_evals_reader_decodes_is_the_frame_store(probed, small_bench):
    """decord (qwen-vl-utils' reader in lmms-eval's Qwen wrappers) gives the stored pixels."""
    import decord
    import numpy as np
    bench = Benchmark.open(small_bench)
    task = probed["qwen2_5_vl"]["video_niah_200"]
    for (path,), case_id in zip(task["visuals"], task["case_ids"]):
        reader = decord.VideoReader(path)
        decoded = reader.get_batch(list(range(len(reader)))).asnumpy()
        assert np.array_equal(decoded, np.stack(list(bench.frames(bench.case(case_id)))))
        assert reader.get_avg_fps() == bench.case(case_id).fps


def test_the_mp4_cache_is_reused_and_bounded_least_recently_used_first(small_bench, tmp_path):
    bench = Benchmark.open(small_bench)
    sizes = {}
    for case in bench.cases[:3]:
        bench.export(case, tmp_path / "sizes" / f"{case.case_id}.mp4")
        sizes[case.case_id] = (tmp_path / "sizes" / f"{case.case_id}.mp4").stat().st_size
    a, b, c = sizes
    bound = sizes[a] + sizes[b] + sizes[c] - 1     # all three never fit; any two do
    out = tmp_path / "task"
    proc = run_cli("generator", "lmms-eval-task", "--data", str(small_bench), "--out", str(out),
                   "--cache-gb", str(bound / 1e9))
    assert proc.returncode == 0, proc.stderr
    utils = _utils(out)
    cache = out / "mp4"
    first = Path(utils.doc_to_visual({"case_id": a})[0])
    inode = first.stat().st_ino
    os.utime(first, (1, 1))                        # long unused
    assert utils.doc_to_visual({"case_id": a}) == [str(first)] and first.stat().st_ino == inode  # reused
    assert first.stat().st_mtime > 1               # and marked used now
    utils.doc_to_visual({"case_id": b})
    os.utime(cache / f"{b}.mp4", (2, 2))           # b is now the least recently used
    utils.doc_to_visual({"case_id": c})            # three exceed the bound: b goes, a (used later) stays
    assert sorted(p.name for p in cache.iterdir()) == [f"{a}.mp4", f"{c}.mp4"]
    assert sum(p.stat().st_size for p in cache.iterdir()) <= bound


def test_a_case_larger_than_the_cache_is_still_handed_over(small_bench, tmp_path):
    out = tmp_path / "task"
    assert run_cli("generator", "lmms-eval-task", "--data", str(small_bench), "--out", str(out),
                   "--cache-gb", "0.000001").returncode == 0
    utils = _utils(out)
    case_id = Benchmark.open(small_bench).cases[0].case_id
    path = Path(utils.doc_to_visual({"case_id": case_id})[0])
    assert path.is_file() and path.stat().st_size > 1000


def test_process_results_reads_the_lmms_eval_way_and_aggregates_by_depth_decile(task_dir, small_bench):
    from lmms_eval.tasks._task_utils.mcq_extract import extract_mcq_answer
    utils = _utils(task_dir)
    bench = Benchmark.open(small_bench)
    docs = [json.loads(line) for line in (small_bench / "manifest.jsonl").read_text().splitlines()]
    outputs = ["Answer: C", "The best answer is B", "(D) because", "I think A", "", "B. no", "C"] * 2
    records = [utils.process_results(doc, [text]) for doc, text in zip(docs, outputs)]
    for doc, text, rec in zip(docs, outputs, records):
        main = rec["acc_lmms_eval"]
        assert main["prediction"] == (extract_mcq_answer(text, choices=["A", "B", "C", "D"]) or None)
        assert main["correct"] == (main["prediction"] == doc["answer"])
        assert main["depth_decile"] == bench.case(doc["case_id"]).depth_decile
        assert main["manifest_sha256"] == bench.fingerprint and main["reading"] == "lmms-eval"
        assert main["lmms_eval_version"] == "0.7.3"
    mains = [r["acc_lmms_eval"] for r in records]
    assert utils.accuracy(mains) == sum(m["correct"] for m in mains) / len(mains)
    for decile in range(10):
        values = [r[f"acc_lmms_eval_depth_d{decile}"] for r in records]
        inside = [m["correct"] for m in mains if m["depth_decile"] == decile]
        got = getattr(utils, f"accuracy_d{decile}")(values)
        assert (got != got and not inside) or got == sum(inside) / len(inside)
    with pytest.raises(AttributeError):
        utils.docs_twelve


def test_the_export_is_the_same_bytes_again_and_drops_lengths_of_an_earlier_benchmark(small_bench, tmp_path):
    out = tmp_path / "task"
    (out).mkdir()
    (out / "video_niah_9k.yaml").write_text("task: video_niah_9k\n")
    assert run_cli("generator", "lmms-eval-task", "--data", str(small_bench), "--out", str(out)).returncode == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "video_niah_9k.yaml" not in first
    assert run_cli("generator", "lmms-eval-task", "--data", str(small_bench), "--out", str(out)).returncode == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    assert first["utils.py"] == (Path(__file__).resolve().parents[2] / "generator" / "lmms_task_utils.py").read_bytes()
    config = json.loads(first["video_niah.json"])
    assert config["manifest_sha256"] == Benchmark.open(small_bench).fingerprint
    assert config["cache_bytes"] == 20 * 10**9 and config["cache_dir"] == str((out / "mp4").resolve())


@pytest.mark.parametrize("args, needles", [
    (["--cache-gb", "0"], ["--cache-gb", "must be positive"]),
    (["--data", "/nonexistent/niah"], ["/nonexistent/niah", "not a built benchmark"]),
])
def test_bad_input_is_one_line_and_exit_2(small_bench, tmp_path, args, needles):
    proc = run_cli("generator", "lmms-eval-task", "--data", str(small_bench), "--out", str(tmp_path / "t"), *args)
    one_line_error(proc, *needles)
