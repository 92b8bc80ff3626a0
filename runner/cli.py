"""Command line: ``python -m runner score ...`` and ``python -m runner report ...``.

``runner/__main__.py`` only calls :func:`main`; tests and scripts import it from here (no module
imports a ``__main__``).

    python -m runner score --data data/niah --model vilamp --model-path orange-sk/ViLAMP-llava-qwen --out results/
    python -m runner score --data data/niah --model llava-onevision --model-path llava-hf/llava-onevision-qwen2-7b-ov-hf --frames 64
    python -m runner score --data data/niah --model random --seed 0 --shard 3/8
    python -m runner score --data data/niah --model vilamp --model-path ... --engine ray --address auto
    python -m runner report --out results/ [--data data/niah] [--csv DIR]

Bad input (missing or invalid benchmark, unknown model, run.json of other settings) prints
``error: <where>: <what>`` on one line and exits 2; Ctrl-C prints a summary and exits 130.
"""
from __future__ import annotations

import argparse
import errno
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from niah import answers, atomic
from niah.errors import InputError


EXAMPLES = """examples (after `make demo`, in the checkout, with .venv activated):
  python -m runner score --data data/niah --model random --out results
  python -m runner score --data data/niah --model llava-onevision --model-path FOLDER_OR_HUB_ID --frames 32
  python -m runner report --out results --data data/niah
Weights come from a local folder or the local Hugging Face cache (`hf download ID` first);
--allow-download lets a hub id be fetched. More: docs/runner.md, docs/scaling.md."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every InputError
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def _models_help() -> str:
    """One line per registered model on what it sees (its family's defaults), and for an HF
    video-LLM one line per protocol (``--protocol``; the first is the default)."""
    from runner.models import protocol_summaries, summaries
    from runner.models.protocols import DEFAULT_PROTOCOL
    lines = []
    for name, line in summaries().items():
        lines.append(f"  {name:<16} {line}")
        lines += [f"  {'':<16}   --protocol {protocol}{' (default)' if protocol == DEFAULT_PROTOCOL else ''}: {text}"
                  for protocol, text in protocol_summaries(name).items()]
    return "models (what each sees by default; the HF video-LLMs under each protocol):\n" + "\n".join(lines)


def _model_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as JSON where it parses (``fps=0.5``, ``time_instruction=false``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE, e.g. fps=0.5")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def build_parser() -> argparse.ArgumentParser:
    from runner.models import MODEL_NAMES
    models = ", ".join(MODEL_NAMES)
    parser = _Parser(prog="python -m runner", description="Score models on Video NIAH and report results.",
                     epilog=f"models: {models}\n{EXAMPLES}", formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="{score,report,import-lmms-eval,lmms-eval}")

    s = sub.add_parser("score", help="score one model on a benchmark (resumable)",
                       epilog=_models_help() + "\n" + EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--data", help="benchmark folder built by `python -m generator build` (required)")
    s.add_argument("--model", help=f"model to score (required): {models}")
    s.add_argument("--model-path", help="weights: a local folder, or a Hugging Face hub id already in the "
                                        "local cache (`hf download ID`); not needed by random")
    s.add_argument("--allow-download", action="store_true",
                   help="fetch a hub id missing from the local Hugging Face cache (default: never download)")
    s.add_argument("--out", default="results", help="results root (default: results/)")
    s.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda if available; random: cpu)")
    s.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"],
                   help="weights dtype (default auto: float32 on CPU; on CUDA float16 for vilamp's released "
                        "profile, as the authors' code, bfloat16 otherwise)")
    s.add_argument("--limit", type=int, help="score only the first N selected cases")
    s.add_argument("--cases", help="comma-separated case ids to score")
    s.add_argument("--shard", help="I/N: score the I-th of N shards (1-based; contiguous runs of the locality order)")
    s.add_argument("--frames", type=int, help="frames given to the model (uniform sampling models; fps-sampling "
                                              "models: the cap, max_frames)")
    s.add_argument("--model-option", action="append", type=_model_option, metavar="KEY=VALUE", default=[],
                   help="override a video default of an HF video-LLM (repeatable), e.g. fps=0.5, "
                        "max_pixels=200704, time_instruction=false; see docs/runner.md")
    s.add_argument("--max-frames", type=int, metavar="N",
                   help="vilamp: at most N case frames, picked as np.linspace(0, n - 1, N) truncated to ints; "
                        "600 reproduces the authors' Video-MME script (default: every frame, the NIAH setting)")
    s.add_argument("--keyframes", type=int, help="ViLAMP: keyframes K")
    s.add_argument("--tau", type=float, help="ViLAMP: keyframe similarity threshold")
    s.add_argument("--feature-memory", metavar="SIZE",
                   help="ViLAMP: memory for SigLIP features reused across cases, device and host together "
                        "(default 32GB or half the RAM, whichever is less; frames needed farthest ahead are "
                        "dropped first; 0 encodes every case frame anew); does not change answers or the run id")
    s.add_argument("--device-feature-memory", metavar="SIZE",
                   help="ViLAMP: the part of --feature-memory kept in GPU memory, where the features are "
                        "computed (default on CUDA: 16GB or a quarter of the GPU, whichever is less; 0 on a CPU)")
    s.add_argument("--protocol", help="HF video-LLMs: lmms-eval (default: what lmms-eval 0.7.3 does for that model "
                                      "on Video-MME, so numbers compare with lmms-eval's), card (the model card's "
                                      "video settings) or blind (no video: lmms-eval's videomme_no_visual); "
                                      "each family's below")
    s.add_argument("--profile", choices=["released", "paper"],
                   help="ViLAMP: released (default: the authors' public inference code) or paper "
                        "(Algorithm 1 as written); see docs/vilamp-fidelity.md")
    s.add_argument("--seed", type=int, help="random seed (the `random` baseline)")
    s.add_argument("--circular", action="store_true",
                   help="ask each case once per cyclic rotation of its options (letters stay, contents move); "
                        "correct only if every rotation is (chance (1/n)^n: 0.39%% for 4 options); the visual "
                        "prefix is computed once per case; a run of its own (part of the run id)")
    s.add_argument("--run-name", help="run folder name instead of <model>-<settings hash>")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process runs the model; ray: one model replica per Ray actor, "
                        "results written by this process (see docs/scaling.md)")
    s.add_argument("--address", help="with --engine ray: Ray cluster to join (auto, HOST:PORT, ray://HOST:PORT); "
                                     "default: start a local Ray instance")
    s.add_argument("--actors", type=int, help="with --engine ray: model replicas (default: one per GPU "
                                              "with --device cuda, else one per CPU of the cluster)")

    r = sub.add_parser("report", help="accuracy tables for the runs in a results folder")
    r.add_argument("--out", default="results", help="results root (default: results/)")
    r.add_argument("--data", help="only runs on this benchmark's manifest, totals from it")
    r.add_argument("--csv", help="also write summary/by_task_type/by_length_depth CSVs here")
    r.add_argument("--format", choices=["markdown", "text"], default="markdown")
    r.add_argument("--answer-rule", choices=answers.rule_names(aliases=True), default=answers.DEFAULT_RULE,
                   help=f"how an answer's letter is read: {answers.rules_help()}; results stored under another "
                        "rule are re-read from their output with --data's options and answers")
    i = sub.add_parser("import-lmms-eval", help="turn lmms-eval's logged samples of the exported task into a run",
                       description="Read lmms-eval's --log_samples output of the task `python -m generator "
                                   "lmms-eval-task` wrote and write it as a run of this project (protocol lmms-eval): "
                                   "case ids matched to the manifest, raw outputs kept, lmms-eval's model, model args, "
                                   "version and task configs in run.json. docs/lmms-eval.md")
    i.add_argument("samples", help="lmms-eval's --output_path folder (one run), its *_results.json, or one "
                                   "*_samples_video_niah_*.jsonl")
    i.add_argument("--data", help="the benchmark the task was exported from (required)")
    i.add_argument("--out", default="results", help="results root (default: results/)")
    i.add_argument("--run-name", help="run folder name instead of lmms-eval_<model>-<settings hash>")

    sub.add_parser("lmms-eval", add_help=False,
                   help="lmms-eval 0.7.3's own command line, started so that it runs beside this project's "
                        "filelock 4 (every argument goes to lmms-eval; docs/lmms-eval.md)")
    return parser


def cmd_import(args: argparse.Namespace) -> int:
    from niah.cases import Benchmark
    from runner.lmms_import import import_run
    from runner.score import check_run_name
    if not args.data:
        raise InputError("--data", "required: the benchmark folder the lmms-eval task was exported from")
    if args.run_name:
        check_run_name(args.run_name)
    run_dir, count = import_run(args.samples, Benchmark.open(args.data), args.out, args.run_name)
    print(f"imported {count} cases -> {run_dir}")
    return 0


def cmd_lmms_eval(argv: Sequence[str]) -> int:
    """``python -m lmms_eval ARGV``, run in this process (``runpy``, as ``-m`` runs it). lmms-eval
    0.7.3's evaluator patches ``filelock._api``, a module filelock 4 no longer has (this project
    pins filelock 4.3.1), and stops there; the patch only makes nested locks of one file
    re-entrant across two lock classes, which a single-process run does not need, so it is
    marked done instead of run."""
    import runpy

    import lmms_eval.evaluator
    lmms_eval.evaluator._enable_reentrant_filelocks._patched = True
    saved = sys.argv
    sys.argv = ["lmms-eval", *argv]
    try:
        runpy.run_module("lmms_eval", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from niah.cases import Benchmark
    from runner.loading import check_device, check_device_spelling, check_model_name, load_model
    from runner.models import MODEL_NAMES
    from runner.score import (check_run_before_loading, check_run_name, iter_ids, parse_shard, score,
                              select_cases)

    missing = [flag for flag, value in (("--data", args.data), ("--model", args.model)) if not value]
    if missing:
        raise InputError(", ".join(missing), "required (--data: the benchmark folder built by "
                         "`python -m generator build`; --model: one of "
                         f"{', '.join(MODEL_NAMES)}); see `python -m runner score --help`")
    shard = parse_shard(args.shard)
    case_ids = iter_ids(args.cases)
    if args.run_name:
        check_run_name(args.run_name)
    if args.limit is not None and args.limit < 1:
        raise InputError("--limit", f"{args.limit}: must be at least 1")
    if args.engine != "ray" and (args.address or args.actors is not None):
        raise InputError("--address" if args.address else "--actors", "only with --engine ray")
    check_model_name(args.model)
    if args.protocol is not None:   # before any weights load
        from runner.models import protocol_summaries
        known = protocol_summaries(args.model)
        if args.protocol not in known:
            raise InputError("--protocol", f"{args.protocol!r} is not a protocol of {args.model} (known: "
                             f"{', '.join(known) if known else 'none; only the HF video-LLMs have protocols'})")
    if args.max_frames is not None:  # ViLAMP's name for its frame cap (its `frames` option)
        if args.model != "vilamp":
            raise InputError("--max-frames", "only for vilamp (uniform-sampling models take --frames)")
        if args.max_frames < 1 or args.frames not in (None, args.max_frames):
            raise InputError("--max-frames", f"{args.max_frames}: must be at least 1, and not differ from --frames")
        args.frames = args.max_frames
    if args.engine == "ray":  # whether the cluster has a GPU is checked when it is reached
        check_device_spelling(args.device)
        device = args.device
    else:
        device = check_device(args.device, args.model)
    bench = Benchmark.open(args.data)
    selected = select_cases(bench, case_ids, shard, args.limit)  # check --cases before loading weights
    extra = {k: v for k, v in (("keyframes", args.keyframes), ("tau", args.tau), ("seed", args.seed),
                                          ("profile", args.profile), ("protocol", args.protocol))
             if v is not None}
    for key, value in args.model_option:
        if key in extra or key in ("dtype", "frames", "feature_memory", "circular"):
            raise InputError(f"--model-option {key}", "has its own flag; use it")
        extra[key] = value
    options = {"dtype": args.dtype, "frames": args.frames, **extra, "circular": True if args.circular else None}
    check_run_before_loading(args.out, args.run_name, args.model, args.model_path, options, bench)
    if args.feature_memory is not None:  # a model option, but not part of the run's identity
        extra["feature_memory"] = args.feature_memory
    if args.device_feature_memory is not None:  # likewise
        extra["device_feature_memory"] = args.device_feature_memory
    engine = None
    if args.engine == "ray":  # model replicas on Ray actors; this process still writes the results
        from runner.ray_engine import RayEngine
        engine = RayEngine(bench, args.model, args.model_path, device=device, dtype=args.dtype,
                           frames=args.frames, options=extra, address=args.address, actors=args.actors,
                           max_actors=len(selected), allow_download=args.allow_download,
                           circular=args.circular)
        model, device = engine.model, engine.device
    else:
        model = load_model(args.model, args.model_path, device, args.dtype, args.frames,
                           allow_download=args.allow_download, **extra)
    try:
        summary = score(bench, model, args.out, model_name=args.model, model_path=args.model_path,
                        options=options, shard=shard, limit=args.limit, case_ids=case_ids,
                        run_name=args.run_name, progress=not args.no_progress,
                        extra_info={"device": device, "data": str(bench.root)},
                        engine=engine.run if engine is not None else None, circular=args.circular)
        print(summary.line(), file=sys.stderr if summary.interrupted else sys.stdout, flush=True)
        stats = _model_stats(model)
        _write_reuse_stats(stats, summary.run_dir, summary.scored)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise _disk_full(exc, args.out, selected) from None
    finally:
        if engine is not None:
            engine.close()
    if stats and not summary.interrupted:  # interrupted: the one summary line only
        print(f"model stats: {json.dumps(stats, sort_keys=True, default=str)}", flush=True)
    return 130 if summary.interrupted else 0


def _disk_full(exc: OSError, out: str, selected: Sequence[Any]) -> InputError:
    """A full disk as one line: which file, and how many of this invocation's cases have a
    whole result line (kept: a rerun after freeing space scores the rest, each once)."""
    from niah.results import RUN_INFO_NAME, read_run
    where = Path(exc.filename) if exc.filename else Path(out)
    kept = 0
    for folder in (where.parent, where):
        if (folder / RUN_INFO_NAME).exists():
            done = read_run(folder)[1]
            kept = sum(case.case_id in done for case in selected)
            break
    return InputError(where, f"no space left on device ({kept} of {len(selected)} cases kept; rerun to resume)")


def _write_reuse_stats(stats: dict[str, Any], run_dir: Path, scored: int) -> None:
    """For models that count their work (ViLAMP's vision encodes, the video-LLMs' LLM prefill
    tokens): print the ratios of this invocation and write its counts to ``<run>/stats.json``
    (``cases_scored``: the cases this invocation scored)."""
    counts: dict[str, int] = {}
    if "vision_frames_encoded" in stats:
        encoded, frames = int(stats["vision_frames_encoded"]), int(stats["case_frames"])
        moved = int(stats.get("feature_bytes_to_device", 0))
        counts.update(vision_frames_encoded=encoded, case_frames=frames, feature_bytes_to_device=moved)
        print(f"vision encodes per case frame: {encoded / frames if frames else 0.0:.4f} "
              f"({encoded} of {frames})", flush=True)
        print(f"feature bytes to device per case frame: {moved / frames if frames else 0.0:.0f} "
              f"({moved} bytes)", flush=True)
    if "llm_prefill_tokens" in stats:
        tokens = int(stats["llm_prefill_tokens"])
        counts.update(llm_prefill_tokens=tokens, cases_scored=scored)
        print(f"LLM prefill tokens per case: {tokens / scored if scored else 0.0:.1f} ({tokens} over {scored} cases)",
              flush=True)
    if counts:
        atomic.write_json(run_dir / "stats.json", counts)


def _model_stats(model: Any) -> dict[str, Any]:
    """The model's statistics, asked once (on Ray a round trip to every actor); {} if it has none."""
    try:
        return model.stats() if hasattr(model, "stats") else {}
    except Exception:  # noqa: BLE001 - statistics must never fail a finished run
        return {}


def cmd_report(args: argparse.Namespace) -> int:
    from runner.report import report
    sys.stdout.write(report(args.out, args.data, args.csv, args.format, args.answer_rule))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["lmms-eval"]:  # everything after it is lmms-eval's
        return cmd_lmms_eval(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `python -m runner`: the whole help, not just the usage line
        parser.print_help(sys.stderr)
        return 2
    try:
        commands = {"score": cmd_score, "report": cmd_report, "import-lmms-eval": cmd_import}
        return commands[args.command](args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # outside the scoring loop (opening, loading): nothing written
        print("interrupted: nothing scored", file=sys.stderr)
        return 130

