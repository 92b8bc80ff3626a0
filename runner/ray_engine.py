"""``python -m runner score --engine ray``: the model calls of a run on a Ray cluster.

Only ``model.answer`` moves. The driver (the ``python -m runner score`` process) still does
everything :func:`runner.score.score` does with the local engine: it opens the run folder,
holds the lock on its results file, decides which cases are left, and appends every result
with one ``write`` + ``fsync``. So there is one writer, a run folder looks the same whatever
engine filled it, and ``--engine local`` resumes a Ray run (and the other way round).

* Each actor holds one model replica: ``num_gpus=1`` with ``--device cuda``, ``num_cpus=1``
  otherwise. It opens the benchmark itself, so the benchmark folder (manifest and frame
  store) must be at the same path on every node (a shared filesystem).
* The driver sends one case at a time to each ready actor and yields results as they come.
* An actor that dies (segfault, host OOM kill, lost node, ``os._exit``) fails its case with a
  Ray actor error: the case goes back to the queue and the actor is replaced by a new one
  (the model is loaded again), up to ``max_replacements`` times in all. A case that killed
  ``max_case_attempts`` workers is recorded as an error result (like any other case that
  fails) so that one poison case cannot stop the run. When no actor is left the driver
  stops with one ``error:`` line (exit 2); what was scored is kept and a rerun resumes.
* One run folder holds one model configuration, whatever the nodes. The variables a model
  reads from its environment (:data:`WORKER_ENVIRONMENT`) are resolved once, on the driver, and
  passed to every actor as explicit arguments that replace the worker's own. The first actor
  to load sets the run's identity (settings and revision, as with the local engine); every
  later actor, first wave or replacement, is compared with it, and one that loaded anything
  else (another hub snapshot in its node's cache, other files at the same path) is retired
  with one ``warning:`` line and gets no case.

Ray is imported lazily (:mod:`niah.ray_cluster`, shared with ``generator build --engine ray``):
nothing else in the project needs it installed. Models load through
:func:`runner.loading.load_model`, as with the local engine.
"""
from __future__ import annotations

import os
import re
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from niah.cases import Benchmark
from niah.errors import InputError
from niah.ray_cluster import RayClusterError, init_ray
from niah.results import Result
from niah.schema import Case

#: Variables the models read where they load (runner.models.llava_checkpoint, runner.vilamp.model):
#: the SigLIP tower and the CLIP tokenizer of released checkpoints, ViLAMP's feature cache.
WORKER_ENVIRONMENT = ("NIAH_VISION_TOWER", "NIAH_CLIP_TOKENIZER", "NIAH_FEATURE_CACHE")


def resolve_environment(environ: Any = None) -> dict[str, str | None]:
    """The driver's values of :data:`WORKER_ENVIRONMENT` (``None``: unset, so unset on every
    worker too), with a path that exists here made absolute (``~`` and the driver's working
    directory mean something else on a worker); a hub id or a path absent here is kept as given."""
    environ = os.environ if environ is None else environ
    out: dict[str, str | None] = {}
    for name in WORKER_ENVIRONMENT:
        value = environ.get(name) or None
        if value is not None and Path(value).expanduser().exists():
            value = str(Path(value).expanduser().resolve())
        out[name] = value
    return out


def _apply_environment(environment: dict[str, str | None]) -> None:
    """Make this worker's process see the driver's resolved values (an actor owns its process)."""
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# ----- the actor -----------------------------------------------------------------------
class ModelActor:
    """One model replica on a Ray worker. Wrapped with ``ray.remote`` by :class:`RayEngine`.

    Loading errors are kept, not raised, so the driver can print the same one-line error the
    local engine prints (an exception in ``__init__`` would only surface as a dead actor).
    """

    def __init__(self, data: str, fingerprint: str, model_name: str, load_args: dict[str, Any],
                 registry: dict[str, tuple[str, dict[str, Any]]], environment: dict[str, str | None]) -> None:
        self.model_name = model_name
        self.error: tuple[str, str] | None = None
        self.model: Any = None
        try:
            _apply_environment(environment)
            _register(registry)
            from runner.loading import load_model
            self.bench = Benchmark.open(data)
            if self.bench.fingerprint != fingerprint:
                raise InputError(Path(data) / "manifest.jsonl", "differs on this Ray worker from the driver's "
                                 "(another build, or not on a shared filesystem)")
            self.model = load_model(model_name, **load_args)
        except InputError as exc:
            self.error = (exc.where, exc.what)
        except Exception as exc:  # noqa: BLE001 - reported by the driver as one line
            self.error = (f"--model {model_name}",
                          f"cannot load model on a Ray worker ({type(exc).__name__}: {' '.join(str(exc).split())})")

    def info(self) -> dict[str, Any]:
        if self.error is not None:
            return {"error": list(self.error)}
        settings = self.model.settings()
        return {"settings": settings, "revision": getattr(self.model, "revision", None),
                "name": getattr(self.model, "name", None), "pid": os.getpid(), "host": os.uname().nodename}

    def score(self, case_id: str, circular: bool = False) -> Result:
        from runner.score import score_case
        return score_case(self.model, self.bench.case(case_id), self.bench, self.model_name, circular)

    def stats(self) -> dict[str, Any]:
        try:
            return dict(self.model.stats()) if hasattr(self.model, "stats") else {}
        except Exception:  # noqa: BLE001
            return {}


def _registry_snapshot() -> dict[str, tuple[str, dict[str, Any]]]:
    """The driver's model registry, so models registered at run time (``register(...)``) load
    on the workers too (their module must be importable there)."""
    from runner.models import registry
    return registry()


def _register(registry: dict[str, tuple[str, dict[str, Any]]]) -> None:
    if not registry:
        return
    import runner.models as models
    for name, (target, fixed) in registry.items():
        if name not in models.MODEL_NAMES:
            models.register(name, target, **fixed)


# ----- the driver ----------------------------------------------------------------------
class RemoteModel:
    """What :func:`runner.score.score` sees on the driver instead of a model: the replicas'
    name, settings and revision (for ``run.json`` and the run id) and their summed stats."""

    def __init__(self, engine: "RayEngine", info: dict[str, Any]) -> None:
        self._engine = engine
        self._settings = info["settings"]
        self.revision = info.get("revision")
        if info.get("name"):
            self.name = info["name"]

    def settings(self) -> Any:
        return self._settings

    def answer(self, case: Case, bench: Benchmark) -> str:  # pragma: no cover - never called
        raise RuntimeError("RemoteModel answers through RayEngine.run")

    def stats(self) -> dict[str, Any]:
        return self._engine.stats()


@dataclass
class _Slot:
    handle: Any
    ready: bool = False
    case: Case | None = None
    generation: int = 0
    history: list[str] = field(default_factory=list)


class RayEngine:
    """Model actors on a Ray cluster; :meth:`run` is the ``engine`` of :func:`runner.score.score`.

        with RayEngine(bench, "random", device="cpu") as engine:
            score(bench, engine.model, "results/", engine=engine.run)
    """

    def __init__(self, bench: Benchmark, model_name: str, model_path: str | None = None, *,
                 device: str | None = None, dtype: str = "auto", frames: int | None = None,
                 options: dict[str, Any] | None = None, address: str | None = None,
                 actors: int | None = None, max_actors: int | None = None,
                 max_case_attempts: int = 3, max_replacements: int | None = None,
                 warn: Callable[[str], None] | None = None, allow_download: bool = False,
                 circular: bool = False) -> None:
        self.circular = circular  # runner score --circular: every case asked once per option rotation
        self.warn = warn or (lambda message: print(message, file=sys.stderr, flush=True))
        self.ray, self._own = init_ray(address)
        self.model_name = model_name
        self.max_case_attempts = max_case_attempts
        self._slots: list[_Slot] = []
        self._probes: dict[Any, _Slot] = {}
        try:
            resources = self.ray.cluster_resources()
            gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
            if device is None:
                device = "cuda" if gpus and model_name != "random" else "cpu"
            self.device = device
            want_gpu = device.startswith("cuda")
            if want_gpu and gpus < 1:
                raise RayClusterError("--device cuda", f"the Ray cluster has no GPU (resources: {_brief(resources)})")
            if actors is not None and actors < 1:
                raise RayClusterError("--actors", f"{actors}: must be at least 1")
            n = actors or max(1, gpus if want_gpu else cpus)
            if max_actors is not None:
                n = max(1, min(n, max_actors))
            self.max_replacements = 2 * n + 1 if max_replacements is None else max_replacements
            self._replacements = 0
            self._load_args = {"model_path": model_path, "device": device, "dtype": dtype, "frames": frames,
                               "allow_download": allow_download, **(options or {})}
            self._data = str(Path(bench.root).resolve())
            self._fingerprint = bench.fingerprint
            self._registry = _registry_snapshot()
            self._environment = resolve_environment()
            self._retired_other = 0  # actors that loaded other settings or another revision than the run's
            self._actor_cls = self.ray.remote(num_cpus=1, num_gpus=1 if want_gpu else 0,
                                              max_restarts=0)(ModelActor)
            self._slots = [_Slot(self._new_actor()) for _ in range(n)]
            self.model = RemoteModel(self, self._first_ready())
        except BaseException:
            self.close()
            raise

    # -- lifecycle --
    def _new_actor(self) -> Any:
        return self._actor_cls.remote(self._data, self._fingerprint, self.model_name, self._load_args,
                                      self._registry, self._environment)

    def _first_ready(self) -> dict[str, Any]:
        """Wait for the first actor to load its model; its ``info`` is the run's identity."""
        self._probes = {slot.handle.info.remote(): slot for slot in self._slots}
        info = None
        errors: list[str] = []
        while self._probes and info is None:
            [ref], _ = self.ray.wait(list(self._probes), num_returns=1)
            slot = self._probes.pop(ref)
            got = self._get_probe(ref)
            if isinstance(got, dict):
                slot.ready = True
                info = got
            else:
                errors.append(got)
                self._retire(slot)
        if info is None:
            raise RayClusterError("--engine ray", f"no model actor could start ({errors[-1] if errors else '?'})")
        return info

    def _differs(self, info: dict[str, Any]) -> str | None:
        """What an actor loaded that the run did not (``None``: the same name, settings and
        revision as the run's identity, taken from the first actor)."""
        run = self.model
        if info.get("revision") != run.revision:
            return f"revision {info.get('revision')!r}, the run has {run.revision!r}"
        if info.get("name") and info["name"] != getattr(run, "name", info["name"]):
            return f"model {info['name']!r}, the run has {run.name!r}"
        ours, theirs = run.settings(), info.get("settings")
        if theirs == ours:
            return None
        if isinstance(ours, dict) and isinstance(theirs, dict):
            key = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))[0]
            return f"settings[{key!r}] = {theirs.get(key)!r}, the run has {ours.get(key)!r}"
        return f"settings {theirs!r}, the run has {ours!r}"

    def _get_probe(self, ref: Any) -> dict[str, Any] | str:
        """An actor's ``info``: raises the model's loading error as :class:`InputError`
        (the same line the local engine prints); a dead actor comes back as a string."""
        try:
            info = self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            return _one_line(exc)
        if "error" in info:
            where, what = info["error"]
            raise InputError(where, what)
        return info

    def _retire(self, slot: _Slot) -> None:
        try:
            self.ray.kill(slot.handle)
        except Exception:  # noqa: BLE001 - already gone
            pass
        slot.ready = False
        slot.handle = None

    def _replace(self, slot: _Slot) -> bool:
        self._retire(slot)
        if self._replacements >= self.max_replacements:
            return False
        self._replacements += 1
        slot.handle = self._new_actor()
        slot.generation += 1
        self._probes[slot.handle.info.remote()] = slot
        return True

    def close(self) -> None:
        for slot in self._slots:
            if slot.handle is not None:
                self._retire(slot)
        if self._own and self.ray.is_initialized():
            self.ray.shutdown()
            self._own = False

    def __enter__(self) -> "RayEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        """The actors' ``stats()`` summed key by key (numbers), first value otherwise."""
        refs = [s.handle.stats.remote() for s in self._slots if s.handle is not None and s.ready]
        total: dict[str, Any] = {}
        for stats in self.ray.get(refs) if refs else []:
            for key, value in stats.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and key in total:
                    total[key] += value
                else:
                    total.setdefault(key, value)
        return total

    # -- scoring --
    def run(self, cases: Sequence[Case]) -> Iterator[Result]:
        """Score ``cases`` on the actors; yields each case's result exactly once, in
        completion order."""
        ray = self.ray
        pending = _Runs(cases, len(self._slots))
        attempts: dict[str, int] = {}
        errors: dict[str, str] = {}
        inflight: dict[Any, _Slot] = {}
        yielded: set[str] = set()
        while pending or inflight:
            for number, slot in enumerate(self._slots):
                if slot.ready and slot.case is None and pending:
                    slot.case = pending.take(number)
                    inflight[slot.handle.score.remote(slot.case.case_id, self.circular)] = slot
            live = [s for s in self._slots if s.handle is not None]
            if not live:
                retired = f", {self._retired_other} retired for other settings" if self._retired_other else ""
                raise RayClusterError("--engine ray", f"every model actor died ({self._replacements} replaced"
                                     f"{retired}); "
                                     f"{len(pending) + len(inflight)} cases left unscored; last error: "
                                     f"{next(reversed(errors.values()), '?')}; rerun to resume")
            # probes first: ray.wait returns the first finished ref in this order, so an actor that
            # has loaded is checked (and joins, or is retired) before the next result is taken
            waiting = list(self._probes) + list(inflight)
            if not waiting:  # live actors, none ready, no probe: cannot happen, but never spin
                raise RayClusterError("--engine ray", "no model actor is ready")
            ready, _ = ray.wait(waiting, num_returns=1)
            ref = ready[0]
            if ref in self._probes:
                slot = self._probes.pop(ref)
                got = self._get_probe(ref)
                if isinstance(got, dict):
                    other = self._differs(got)
                    if other is None:
                        slot.ready = True
                    else:
                        self._retire(slot)
                        self._retired_other += 1
                        self.warn(f"warning: --engine ray: retired the model actor on {got.get('host', '?')} "
                                  f"(pid {got.get('pid', '?')}): it loaded {other}; one run folder holds one "
                                  f"configuration ({sum(s.handle is not None for s in self._slots)} actor(s) left)")
                else:
                    self.warn(f"warning: --engine ray: a replacement model actor did not start ({got})")
                    if not self._replace(slot):
                        self._retire(slot)
                continue
            slot = inflight.pop(ref)
            case, slot.case = slot.case, None
            try:
                result = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                message = _one_line(exc)
                attempts[case.case_id] = attempts.get(case.case_id, 0) + 1
                errors[case.case_id] = message
                self.warn(f"warning: --engine ray: the model actor died while scoring {case.case_id} "
                          f"(attempt {attempts[case.case_id]}/{self.max_case_attempts}): {message}")
                if attempts[case.case_id] >= self.max_case_attempts:
                    result = _died_result(case, self.model_name, attempts[case.case_id], message)
                else:
                    pending.put_back(self._slots.index(slot), case)
                    result = None
                if not self._replace(slot):
                    self.warn("warning: --engine ray: no more actor replacements; going on with "
                              f"{sum(s.handle is not None for s in self._slots)} actor(s)")
                if result is None:
                    continue
            except ray.exceptions.RayError as exc:  # the actor method itself raised: a bug, not the model
                result = _died_result(case, self.model_name, 0, _one_line(exc))
            if result.case_id in yielded:  # cannot happen with one call per case; never write twice
                continue
            yielded.add(result.case_id)
            yield result


class _Runs:
    """The cases (in the runner's locality order) cut into one contiguous run per actor, so
    each actor's feature memory sees neighbouring cases that share source frames; an actor
    whose run is done takes from the end of the longest run left (work stealing)."""

    def __init__(self, cases: Sequence[Case], actors: int) -> None:
        n = max(1, actors)
        self.runs = [deque(cases[i * len(cases) // n:(i + 1) * len(cases) // n]) for i in range(n)]

    def __len__(self) -> int:
        return sum(len(run) for run in self.runs)

    def take(self, actor: int) -> Case:
        own = self.runs[actor]
        return own.popleft() if own else max(self.runs, key=len).pop()

    def put_back(self, actor: int, case: Case) -> None:
        self.runs[actor].appendleft(case)


def _died_result(case: Case, model_name: str, times: int, message: str) -> Result:
    error = (f"RayActorError: the model worker died {times} times scoring this case ({message})" if times
             else message)
    return Result(case_id=case.case_id, model=model_name, prediction=None, raw_output="", correct=False,
                  length=case.length, depth=case.depth, task_type=case.task_type, seconds=0.0,
                  error=error[:500])


def _one_line(exc: BaseException) -> str:
    """The first sentence of a Ray error (they run to many lines), plus the dead worker's pid."""
    text = " ".join(str(exc).split())
    first = text.split(". ")[0].rstrip(".")
    pid = re.search(r"\bpid: (\d+)", text)
    return f"{type(exc).__name__}: {first[:200]}" + (f" (worker pid {pid.group(1)})" if pid else "")


def _brief(resources: dict[str, Any]) -> str:
    parts = [f"{k}={resources[k]:g}" for k in ("CPU", "GPU") if k in resources]
    if "memory" in resources:
        parts.append(f"memory={resources['memory'] / 2**30:.1f} GiB")
    return ", ".join(parts) or "none"


__all__ = ["RayEngine", "RayClusterError", "RemoteModel", "ModelActor", "WORKER_ENVIRONMENT", "resolve_environment"]
