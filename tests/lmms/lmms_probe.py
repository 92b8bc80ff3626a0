"""Run by the tests as a script, in lmms-eval's environment: load the exported task the way
``lmms-eval --include_path`` does and print, as JSON, what lmms-eval makes of it.

    python tests/lmms/lmms_probe.py TASK_DIR MODEL_NAME...  ->  {model: {task: {case_ids, texts, visuals, config}}}
"""
from __future__ import annotations

import json
import sys


def tasks_of(tree: dict) -> dict:
    """``get_task_dict``'s nested {group: {task: Task}} as {task name: Task}."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(tasks_of(value))
        else:
            out[key if isinstance(key, str) else key.group_name] = value
    return out


def probe(include: str, model: str) -> dict:
    from lmms_eval.tasks import TaskManager, get_task_dict
    manager = TaskManager(include_path=include, include_defaults=False, model_name=model)
    tree = get_task_dict(["video_niah"], manager)
    report = {"groups": [getattr(k, "group_name", k) for k in tree]}
    for name, task in sorted(tasks_of(tree).items()):
        docs = list(task.test_docs())
        report[name] = {"case_ids": [d["case_id"] for d in docs], "texts": [task.doc_to_text(d) for d in docs],
                        "visuals": [task.doc_to_visual(d) for d in docs[:2]],
                        "generation_kwargs": task.config.generation_kwargs,
                        "specific_kwargs": task.config.lmms_eval_specific_kwargs,
                        "output_type": task.config.output_type}
    return report


if __name__ == "__main__":
    print(json.dumps({model: probe(sys.argv[1], model) for model in sys.argv[2:]}))
