"""Score one model on a benchmark, resumably, into ``<out>/<run_id>/``.

    bench = Benchmark.open("data/niah")
    summary = score(bench, model, "results/", model_name="vilamp", model_path="...", shard=(3, 8))

* ``run_id`` is ``<model>-<hash>`` where the hash covers everything that changes answers:
  model name, model path, revision, ``model.settings()``, the runner options, the manifest
  fingerprint and the schema versions (or ``--run-name``). ``run.json`` records them; a
  folder whose ``run.json`` disagrees is refused (:class:`InputError`), so results of
  different settings never mix.
* One :class:`Result` line per case is appended to ``results.jsonl`` (or
  ``results-shard{i}of{N}.jsonl``) with a single ``write`` + ``fsync``, so a killed run
  loses at most the case in flight. A rerun skips cases present in any results file of the
  run; a torn last line of this process's file is cut off (and rescored), never trusted.
* ``--shard i/N`` takes the ``i``-th of ``N`` contiguous runs of the cases in locality order
  (:func:`niah.schedule.locality_order`): every case in exactly one shard, and a shard's cases
  share source frames, so its feature memory reuses them.
* ``circular=True`` (``--circular``) asks each case once per cyclic rotation of its options
  and records every rotation (:func:`score_case`); it is part of the run id.
* A case that fails (decode error, model exception, out of memory) is recorded with
  ``error`` set and ``correct=False``; the run goes on. Ctrl-C stops after the case in
  flight is abandoned and returns a summary marked interrupted.
"""
from __future__ import annotations

import errno
import fcntl
import functools
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from niah import atomic, run_reading
from niah.answers import DEFAULT_RULE, SECOND_RULE, extract
from niah.cases import Benchmark
from niah.circular import all_rotations, shown_letter, to_original
from niah.errors import InputError
from niah.results import RESULTS_SCHEMA_VERSION, RUN_INFO_NAME, Result, read_run
from niah.schedule import locality_order
from niah.schema import SCHEMA_VERSION, Case
from runner.models.base import Answer

RUN_SCHEMA_VERSION = 1
#: run.json keys that must agree for results to share a folder
IDENTITY_KEYS = ("model", "model_path", "revision", "settings", "options",
                 "manifest_fingerprint", "schema_versions")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_ERROR = 500


# ----- identity ----------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def code_version() -> str:
    """``git describe`` of the checkout the runner runs from, else the package version."""
    root = Path(__file__).resolve().parent.parent
    try:
        proc = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty", "--tags"],
                              capture_output=True, text=True, timeout=10)
        if proc.returncode == 0 and proc.stdout.strip():
            return "git:" + proc.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        from importlib.metadata import PackageNotFoundError, version
        for dist in ("video-niah", "video_niah", "niah"):
            try:
                return f"{dist}=={version(dist)}"
            except PackageNotFoundError:
                continue
    except ImportError:  # pragma: no cover
        pass
    import runner
    return f"runner=={getattr(runner, '__version__', 'unknown')}"


def _jsonable(obj: Any) -> Any:
    """``obj`` as it reads back from run.json (so stored and fresh settings compare equal)."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def run_identity(model: Any, model_name: str, model_path: str | None, options: dict[str, Any],
                 bench: Benchmark) -> dict[str, Any]:
    settings = _jsonable(model.settings())
    revision = getattr(model, "revision", None)
    if revision is None and isinstance(settings, dict):
        revision = settings.get("revision")
    return _jsonable({
        "model": model_name,
        "model_path": model_path,
        "revision": revision,
        "settings": settings,
        # runner options not already stated by the model's settings (so `--seed 0` and the
        # default seed 0 share a run, while an option the model forgot to report still splits)
        "options": {k: v for k, v in sorted(options.items())
                    if v is not None and not (isinstance(settings, dict) and settings.get(k) == v)},
        "manifest_fingerprint": bench.fingerprint,
        "schema_versions": _schema_versions(),
    })


def _schema_versions() -> dict[str, int]:
    return {"manifest": SCHEMA_VERSION, "results": RESULTS_SCHEMA_VERSION, "run": RUN_SCHEMA_VERSION}


def make_run_id(identity: dict[str, Any]) -> str:
    digest = hashlib.sha256(atomic.dumps_json(identity).encode()).hexdigest()[:10]
    return f"{_SAFE.sub('_', identity['model']).strip('_.') or 'model'}-{digest}"


def check_run_name(name: str) -> str:
    if not name or name in (".", "..") or _SAFE.search(name):
        raise InputError("--run-name", f"{name!r}: use only letters, digits, '.', '_' and '-'")
    return name


def _differences(stored: dict[str, Any], fresh: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key in sorted(set(stored) | set(fresh)):
        a, b = stored.get(key), fresh.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {json.dumps(a)} here, {json.dumps(b)} now")
    return out


def open_run_dir(out_root: str | Path, run_id: str, identity: dict[str, Any], cases_total: int,
                 extra: dict[str, Any] | None = None, warn: Callable[[str], None] | None = None) -> Path:
    """Create ``<out>/<run_id>/run.json`` or check that the existing one agrees.

    Creation is exclusive (hard link of a complete temp file), so shards started together
    agree on one ``run.json``; raises :class:`InputError` on any disagreement.
    """
    run_dir = Path(out_root) / run_id
    info_path = run_dir / RUN_INFO_NAME
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(run_dir, f"cannot create run folder ({exc.strerror or exc})") from None
    if not info_path.exists():
        info = {"run_id": run_id, **identity, "cases_total": cases_total, "code_version": code_version(),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(extra or {})}
        tmp = run_dir / f".{RUN_INFO_NAME}.{os.getpid()}.tmp"
        try:
            atomic.write_json(tmp, info)
            try:
                os.link(tmp, info_path)
            except FileExistsError:
                pass  # another shard got there first: check against theirs below
        finally:
            tmp.unlink(missing_ok=True)
    stored = _read_run_info(info_path)
    _refuse_differences(info_path, _differences({k: stored.get(k) for k in IDENTITY_KEYS},
                                                {k: identity.get(k) for k in IDENTITY_KEYS}))
    version = code_version()
    if warn and stored.get("code_version") not in (None, version):
        warn(f"warning: {info_path}: written by code {stored.get('code_version')}, this is {version}")
    return run_dir


def _read_run_info(info_path: Path) -> dict[str, Any]:
    try:
        stored = json.loads(info_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(info_path, f"unreadable run.json ({exc})") from None
    if not isinstance(stored, dict):
        raise InputError(info_path, "run.json is not a JSON object")
    return stored


def _refuse_differences(info_path: Path, diffs: list[str]) -> None:
    if diffs:
        raise InputError(info_path, "holds results of another model, settings or manifest ("
                         + "; ".join(diffs[:3]) + (f"; +{len(diffs) - 3} more" if len(diffs) > 3 else "")
                         + "); use another --run-name or --out")


def check_run_before_loading(out_root: str | Path, run_name: str | None, model_name: str,
                             model_path: str | None, options: dict[str, Any], bench: Benchmark) -> None:
    """Refuse a ``--run-name`` folder of another run *before* the model loads.

    The full identity needs the loaded model (its revision and resolved settings), so
    :func:`open_run_dir` can only check it after a load that may take minutes and many GB.
    What the command line already says (model, path, each option given, manifest, schema
    versions) is compared here first; ``open_run_dir`` still checks everything after loading.
    Without ``--run-name`` the folder is named by a hash of the full identity, so a folder of
    other settings cannot be hit. An option given now is compared with the stored option, or
    with the stored setting of the same name (where ``run_identity`` left the option out).
    """
    if run_name is None:
        return
    info_path = Path(out_root) / check_run_name(run_name) / RUN_INFO_NAME
    if not info_path.exists():
        return
    stored = _read_run_info(info_path)
    settings = stored.get("settings") if isinstance(stored.get("settings"), dict) else {}
    stored_options = stored.get("options") if isinstance(stored.get("options"), dict) else {}
    given = _jsonable({k: v for k, v in options.items() if v is not None})
    fresh = {"model": model_name, "model_path": model_path, "manifest_fingerprint": bench.fingerprint,
             "schema_versions": _schema_versions()}
    before = {key: stored.get(key) for key in fresh}
    for key, value in given.items():  # named as the command line spells them: "--seed: 0 here, 7 now"
        fresh[f"--{key.replace('_', '-')}"] = value
        before[f"--{key.replace('_', '-')}"] = stored_options.get(key, settings.get(key))
    _refuse_differences(info_path, _differences(before, fresh))


# ----- case selection ------------------------------------------------------------
def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise InputError("--shard", f"{text!r}: expected I/N with 1 <= I <= N, e.g. 3/8")
    return int(match.group(1)), int(match.group(2))


def shard_file_name(shard: tuple[int, int] | None) -> str:
    if shard is None or shard[1] == 1:
        return "results.jsonl"
    return f"results-shard{shard[0]}of{shard[1]}.jsonl"


def select_cases(bench: Benchmark, case_ids: Sequence[str] | None = None,
                 shard: tuple[int, int] | None = None, limit: int | None = None) -> list[Case]:
    """The cases this process scores, in manifest order.

    Shards are contiguous runs of the whole manifest in locality order
    (:func:`niah.schedule.locality_order`), so each shard's feature memory sees neighbouring
    cases; the shard of a case depends only on the manifest, never on ``--cases`` or
    ``--limit``. ``--limit`` keeps the first N cases of what remains.
    """
    wanted = None
    if case_ids:
        wanted = {bench.case(cid).case_id for cid in case_ids}  # unknown id -> InputError
    rank = {case.case_id: i for i, case in enumerate(locality_order(bench.cases))} if shard else {}
    total = len(bench.cases)
    picked = []
    for case in bench.cases:
        if wanted is not None and case.case_id not in wanted:
            continue
        if shard is not None and rank[case.case_id] * shard[1] // total != shard[0] - 1:
            continue
        picked.append(case)
    if limit is not None:
        if limit < 1:
            raise InputError("--limit", f"{limit}: must be at least 1")
        picked = picked[:limit]
    return picked


# ----- the results file --------------------------------------------------------------
class ResultsFile:
    """This process's append-only results file, locked against a second writer."""

    def __init__(self, path: Path, warn: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self.fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise InputError(path, "another runner process is writing this file "
                                       "(same run and shard); wait for it or use another --shard") from None
            raise
        self.repaired = self._repair_torn_tail()
        if self.repaired and warn:
            warn(f"warning: {path}: dropped a torn last line ({self.repaired} bytes) left by an "
                 "interrupted run; that case is scored again")

    def _repair_torn_tail(self) -> int:
        """Cut a last line without its newline (a write cut short by a kill); returns bytes cut."""
        size = os.fstat(self.fd).st_size
        if size == 0:
            return 0
        with open(self.path, "rb") as handle:
            block = 1 << 16
            pos = size
            while pos > 0:
                start = max(0, pos - block)
                handle.seek(start)
                chunk = handle.read(pos - start)
                if pos == size and chunk.endswith(b"\n"):
                    return 0
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    keep = start + cut + 1
                    break
                pos = start
            else:
                keep = 0
        os.ftruncate(self.fd, keep)
        os.fsync(self.fd)
        return size - keep

    def append(self, result: Result) -> None:
        """Add one whole line (one ``write`` + ``fsync``). On a full disk the file is cut back
        to its last whole line and ``OSError(ENOSPC)`` naming this file is raised; so is it for
        a case that failed only because a disk was full (its features could not be cached),
        which is left unscored for the rerun rather than recorded as the case's error."""
        if result.error is not None and ("[Errno 28]" in result.error or "No space left on device" in result.error):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        data = (result.to_json() + "\n").encode("utf-8")
        view = memoryview(data)
        end = os.lseek(self.fd, 0, os.SEEK_END)
        try:
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
            os.fsync(self.fd)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            os.ftruncate(self.fd, end)  # no torn line left behind (freeing blocks needs no space)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path)) from None

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the lock
            self.fd = -1

    def __enter__(self) -> "ResultsFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----- scoring ------------------------------------------------------------------
def score_case(model: Any, case: Case, bench: Benchmark, model_name: str, circular: bool = False) -> Result:
    """Run the model on one case; any exception becomes a Result with ``error`` set.

    With ``circular`` the case is asked once per cyclic rotation of its options
    (:mod:`niah.circular`, through ``model.answer_rotations``); every rotation's output and
    its prediction, mapped back to the original option, go into ``rotations``; ``prediction``
    and ``raw_output`` are rotation 0's (the plain question) and ``correct`` needs every
    rotation right."""
    start = time.perf_counter()
    raw, prediction, strict, error, view, cut, rotations = "", None, None, None, None, None, None
    correct = False
    try:
        if circular:
            option_lists = all_rotations(case.options)
            outs = model.answer_rotations(case, bench, option_lists)
            if len(outs) != len(option_lists):
                raise RuntimeError(f"answer_rotations gave {len(outs)} answers for {len(option_lists)} rotations")
            rotations = [_rotation_record(out, case, options, r) for r, (out, options)
                         in enumerate(zip(outs, option_lists))]
            first = outs[0]
            correct = all(r["correct"] for r in rotations)
        else:
            first = model.answer(case, bench)
        raw, view, cut = _unpack(first)
        prediction = extract(DEFAULT_RULE, raw, case.options)
        strict = extract(SECOND_RULE, raw, case.options)
        if not circular:
            correct = run_reading.is_correct(None, prediction, case.answer)
    except Exception as exc:  # noqa: BLE001 - one bad case must not stop the run
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        error = message[:_MAX_ERROR]
        rotations = None
        _free_accelerator_memory()
    seconds = round(time.perf_counter() - start, 3)
    return Result(case_id=case.case_id, model=model_name, prediction=prediction, raw_output=raw,
                  correct=error is None and correct, length=case.length,
                  depth=case.depth, task_type=case.task_type, seconds=seconds, error=error,
                  answer_rule=DEFAULT_RULE, prediction_strict=strict, view=view, input_cut=cut,
                  rotations=rotations)


def _unpack(out: Any) -> tuple[str, dict[str, Any] | None, int | None]:
    """(raw text, view, input_cut) of what ``answer`` returned (a str or an :class:`Answer`)."""
    if isinstance(out, Answer):
        view = None
        if out.full_frames is not None:
            view = {"full_frames": sorted(int(i) for i in out.full_frames), **(out.diagnostics or {})}
        return out.text, view, out.input_cut
    return ("" if out is None else str(out)), None, None


def _rotation_record(out: Any, case: Case, options: list[str], rotation: int) -> dict[str, Any]:
    """One rotation of a circular case: the raw output, the letter as answered (``shown``), the
    predictions mapped back to the original options, and whether it was right."""
    raw = _unpack(out)[0]
    shown = extract(DEFAULT_RULE, raw, options)
    prediction = to_original(shown, case.options, rotation)
    return {"rotation": rotation, "raw_output": raw, "shown": shown, "prediction": prediction,
            "prediction_strict": to_original(extract(SECOND_RULE, raw, options), case.options, rotation),
            "gold_shown": shown_letter(case.answer, case.options, rotation),
            "correct": run_reading.is_correct(None, prediction, case.answer)}


def _free_accelerator_memory() -> None:
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001
            pass


@dataclass
class Summary:
    run_id: str
    run_dir: Path
    results_path: Path
    selected: int = 0          # cases this process is responsible for
    skipped: int = 0           # of those, already scored before this process started
    scored: int = 0            # scored by this process
    done: int = 0              # selected cases with a result now
    correct: int = 0           # over ``done``
    unparsed: int = 0
    errors: int = 0
    interrupted: bool = False
    repaired_bytes: int = 0
    circular: bool = False     # accuracy is circular: every option rotation right

    def add(self, result: Result) -> None:
        self.done += 1
        self.correct += result.correct
        if result.error is not None:
            self.errors += 1
        elif result.prediction is None:
            self.unparsed += 1

    @property
    def accuracy(self) -> float:
        return self.correct / self.done if self.done else 0.0

    def line(self) -> str:
        head = "interrupted" if self.interrupted else "done"
        return (f"{head}: run {self.run_id}: {self.done}/{self.selected} cases scored "
                f"({self.scored} now, {self.skipped} before), {'circular ' if self.circular else ''}"
                f"accuracy {self.accuracy:.1%} "
                f"({self.correct}/{self.done}), unparsed {self.unparsed}, errors {self.errors} "
                f"-> {self.results_path}"
                + ("; rerun the same command to resume" if self.interrupted else ""))


def score(bench: Benchmark, model: Any, out_root: str | Path, *, model_name: str | None = None,
          model_path: str | None = None, options: dict[str, Any] | None = None,
          shard: tuple[int, int] | None = None, limit: int | None = None,
          case_ids: Sequence[str] | None = None, run_name: str | None = None,
          progress: bool = True, extra_info: dict[str, Any] | None = None,
          warn: Callable[[str], None] | None = None,
          engine: Callable[[list[Case]], Iterable[Result]] | None = None,
          circular: bool = False) -> Summary:
    """Score the selected cases not yet in the run folder; see the module docstring.

    ``engine`` turns the cases left to score into their results (any order, each case once);
    the default calls ``model.answer`` here, :class:`runner.ray_engine.RayEngine` on Ray actors.
    Either way this process is the only writer of the results file. ``circular`` asks each case
    once per option rotation (:func:`score_case`); it is part of the run's identity (and id).
    An engine must be built with the same setting.
    """
    warn = warn or (lambda message: print(message, file=sys.stderr, flush=True))
    name = model_name or getattr(model, "name", None) or type(model).__name__
    options = {**(options or {}), **({"circular": True} if circular else {})}
    identity = run_identity(model, name, model_path, options, bench)
    run_id = check_run_name(run_name) if run_name else make_run_id(identity)
    selected = select_cases(bench, case_ids, shard, limit)
    run_dir = open_run_dir(out_root, run_id, identity, len(bench.cases), extra_info, warn)
    path = run_dir / shard_file_name(shard)
    summary = Summary(run_id, run_dir, path, selected=len(selected), circular=circular)
    with ResultsFile(path, warn) as out:
        summary.repaired_bytes = out.repaired
        _, done, _ = read_run(run_dir)  # every shard file; torn or malformed lines not trusted
        todo = []
        for case in selected:
            if case.case_id in done:
                summary.skipped += 1
                summary.add(done[case.case_id])
            else:
                todo.append(case)
        todo = locality_order(todo)  # cases sharing source stretches back to back (feature reuse)
        bar = _progress(len(todo), run_id, progress)
        try:
            results = (engine(todo) if engine is not None
                       else (score_case(model, case, bench, name, circular) for case in todo))
            for result in results:
                out.append(result)
                summary.scored += 1
                summary.add(result)
                bar.update(1)
                bar.set_postfix_str(f"acc {summary.accuracy:.1%} ({summary.correct}/{summary.done})",
                                    refresh=False)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            bar.close()
    return summary


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm
    tty = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="case", file=sys.stderr, dynamic_ncols=tty,
                disable=not enabled or total == 0, mininterval=0.5 if tty else 30.0)


def iter_ids(text: str | None) -> list[str] | None:
    """``--cases ID,ID,...`` as a list (``None`` when not given)."""
    if text is None:
        return None
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise InputError("--cases", "no case ids given")
    return ids


__all__: Iterable[str] = ["score", "Summary", "select_cases", "parse_shard", "shard_file_name",
                          "open_run_dir", "check_run_before_loading", "run_identity", "make_run_id", "score_case"]
