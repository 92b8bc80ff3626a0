"""Write a benchmark as an lmms-eval task folder (``python -m generator lmms-eval-task``).

    write_task(Benchmark.open("data/niah"), "tasks/video_niah", cache_bytes=20 * 10**9)

then ``lmms-eval --include_path tasks/video_niah --tasks video_niah ...`` scores any model
lmms-eval wraps. The folder holds, for lmms-eval 0.7.3:

* ``_default_template_yaml``: what every task shares: docs from ``manifest.jsonl`` through
  ``datasets``' local ``json`` loader, Video-MME's ``generation_kwargs`` and
  ``lmms_eval_specific_kwargs`` (the default prompt and the model-specific ones, as lmms-eval's
  ``videomme.yaml``), the functions of ``utils.py`` and the metrics: accuracy under the
  ``lmms-eval`` reading and the same per depth decile;
* ``video_niah_<length>.yaml``: one task per length (``video_niah_2k`` ... ``video_niah_10k``);
* ``video_niah.yaml``: the group of them (accuracy weighted by each length's cases);
* ``utils.py``: :mod:`generator.lmms_task_utils`, copied as it is;
* ``video_niah.json``: what ``utils.py`` needs: the benchmark's absolute path and manifest
  SHA-256, the interpreter and checkout that run ``generator export``, the MP4 cache and its bound.

Paths are absolute, so lmms-eval can run from any folder; moving the benchmark means exporting
the task again. Writing is atomic per file, and a second export over the same folder rewrites it.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from generator.lmms_task_utils import CONFIG_NAME, DECILES, READING, RECORD_METRIC
from niah import atomic
from niah.cases import Benchmark
from niah.errors import InputError
from niah.schema import MANIFEST_NAME

TASK_PREFIX = "video_niah"
TEMPLATE_NAME = "_default_template_yaml"
#: lmms-eval 0.7.3's ``tasks/videomme/videomme.yaml``, transcribed (tests compare them)
VIDEOMME_GENERATION_KWARGS = {"max_new_tokens": 16, "temperature": 0, "top_p": 1.0, "num_beams": 1,
                              "do_sample": False}
VIDEOMME_SPECIFIC_KWARGS = {
    "default": {"pre_prompt": "", "post_prompt": "\nAnswer with the option's letter from the given choices directly."},
    "gpt4v": {"pre_prompt": "", "post_prompt": "Answer the question with A, B, C, or D."},
    "llava_vid": {"pre_prompt": "", "post_prompt": "The best answer is:"},
    "qwen3_vl": {"format": "qwen3_vl", "pre_prompt": "Question: ", "post_prompt": "Answer with the option letter only."},
    "xcomposer2_4khd": {"pre_prompt": "[UNUSED_TOKEN_146]user\n",
                        "post_prompt": " Answer this question with A, B, C, or D.[UNUSED_TOKEN_145]\n"
                                       "[UNUSED_TOKEN_146]assistant\n"},
}


def length_label(length: int) -> str:
    """``2000`` -> ``2k``, ``600`` -> ``600``: the task name's suffix."""
    return f"{length // 1000}k" if length % 1000 == 0 else str(length)


def task_names(bench: Benchmark) -> dict[int, str]:
    """``{length: task name}`` for the benchmark's lengths, shortest first."""
    return {length: f"{TASK_PREFIX}_{length_label(length)}" for length in sorted({c.length for c in bench.cases})}


def _quote(value: Any) -> str:
    """A YAML scalar: JSON's spelling, which YAML reads back unchanged (strings, numbers, bools)."""
    return json.dumps(value, ensure_ascii=False)


def _mapping(data: dict[str, Any], indent: int) -> list[str]:
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines += [f"{' ' * indent}{key}:", *_mapping(value, indent + 2)]
        else:
            lines.append(f"{' ' * indent}{key}: {_quote(value)}")
    return lines


def template_yaml(manifest: Path) -> str:
    """The YAML every length's task includes."""
    metrics = [f"  - metric: {RECORD_METRIC}", "    aggregation: !function utils.accuracy", "    higher_is_better: true"]
    for d in range(DECILES):
        metrics += [f"  - metric: {RECORD_METRIC}_depth_d{d}", f"    aggregation: !function utils.accuracy_d{d}",
                    "    higher_is_better: true"]
    return "\n".join([
        "# Video NIAH as an lmms-eval task (python -m generator lmms-eval-task); docs/lmms-eval.md",
        "dataset_path: json",
        "dataset_kwargs:",
        "  data_files:",
        f"    test: {_quote(str(manifest))}",
        "test_split: test",
        "output_type: generate_until",
        "doc_to_visual: !function utils.doc_to_visual",
        "doc_to_text: !function utils.doc_to_text",
        "doc_to_target: answer",
        "# lmms-eval 0.7.3's Video-MME generation and prompt settings (tasks/videomme/videomme.yaml)",
        "generation_kwargs:", *_mapping(VIDEOMME_GENERATION_KWARGS, 2),
        "lmms_eval_specific_kwargs:", *_mapping(VIDEOMME_SPECIFIC_KWARGS, 2),
        "process_results: !function utils.process_results",
        "# accuracy under the lmms-eval reading (0.7.3's extract_mcq_answer), over the task and per depth decile",
        "metric_list:", *metrics,
        "metadata:",
        "  - version: 0.0",
        ""])


def length_yaml(name: str, length: int) -> str:
    return "\n".join([f"include: {TEMPLATE_NAME}", f"task: {name}", f"process_docs: !function utils.docs_{length}", ""])


def group_yaml(names: list[str]) -> str:
    return "\n".join([f"group: {TASK_PREFIX}", "task:", *(f"  - {n}" for n in names),
                      "aggregate_metric_list:", f"  - metric: {RECORD_METRIC}", "    aggregation: mean",
                      "    weight_by_size: true", "metadata:", "  version: 0.0", ""])


def write_task(bench: Benchmark, out: str | Path, cache_bytes: int, cache_dir: str | Path | None = None) -> list[str]:
    """Write the task folder; returns the task names (the group last)."""
    if cache_bytes <= 0:
        raise InputError("--cache-gb", f"{cache_bytes / 1e9:g}: must be positive")
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    names = task_names(bench)
    root = Path(__file__).resolve().parent.parent
    config = {"data": str(bench.root.resolve()), "manifest_sha256": bench.fingerprint,
              "cases": len(bench.cases), "tasks": {name: length for length, name in names.items()},
              "python": sys.executable, "project_root": str(root),
              "cache_dir": str(Path(cache_dir).resolve() if cache_dir else out / "mp4"), "cache_bytes": int(cache_bytes),
              "reading": READING}
    atomic.write_json(out / CONFIG_NAME, config)
    atomic.write_text(out / TEMPLATE_NAME, template_yaml(bench.root.resolve() / MANIFEST_NAME))
    for stale in set(out.glob(f"{TASK_PREFIX}_*.yaml")) - {out / f"{n}.yaml" for n in names.values()}:
        stale.unlink()  # a length of an earlier export's benchmark: lmms-eval would still list it
    for length, name in names.items():
        atomic.write_text(out / f"{name}.yaml", length_yaml(name, length))
    atomic.write_text(out / f"{TASK_PREFIX}.yaml", group_yaml(list(names.values())))
    with atomic.atomic_open(out / "utils.py") as handle, open(Path(__file__).with_name("lmms_task_utils.py"), "rb") as src:
        shutil.copyfileobj(src, handle)
    return [*names.values(), TASK_PREFIX]
