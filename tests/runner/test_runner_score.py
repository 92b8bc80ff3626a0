"""Scoring: results lines, resume after interruption or kill, torn lines, sharding, run.json."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from niah.cases import Benchmark
from niah.errors import InputError
from niah.results import read_run
from runner.models.random_choice import RandomChoiceModel
from runner.score import (ResultsFile, make_run_id, open_run_dir, parse_shard, run_identity, score,
                          select_cases, shard_file_name)
from runner_helpers import REPO, fake_bench, fake_bench_dir, subprocess_env, write_fake_bench  # noqa: F401


class FakeModel:
    """Answers from a script: right on even case numbers, wrong on odd, in varied styles;
    can fail on chosen cases or stop the run after N answers."""

    name = "fake"

    def __init__(self, fail_on=(), interrupt_after=None, style="letter"):
        self.fail_on = set(fail_on)
        self.interrupt_after = interrupt_after
        self.calls = 0
        self.style = style

    def settings(self):
        return {"style": self.style}

    def answer(self, case, bench):
        if self.interrupt_after is not None and self.calls >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls += 1
        if case.case_id in self.fail_on:
            raise RuntimeError("CUDA out of memory.\nTried to allocate 2 GiB")
        number = int(case.case_id.split("-")[1])
        if number % 5 == 4:
            return "I cannot tell from the video."
        letter = case.answer if number % 2 == 0 else "ABCD"[("ABCD".index(case.answer) + 1) % 4]
        return f"The answer is ({letter})." if self.style == "sentence" else letter


def expected_correct(case) -> bool:
    number = int(case.case_id.split("-")[1])
    return number % 5 != 4 and number % 2 == 0


def lines_of(run_dir: Path) -> list[dict]:
    out = []
    for path in sorted(run_dir.glob("results*.jsonl")):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return out


def quiet(_message):
    pass


# ----- random baseline ---------------------------------------------------------------
def test_random_is_deterministic_per_seed_and_case(fake_bench):
    a, b, c = RandomChoiceModel(seed=0), RandomChoiceModel(seed=0), RandomChoiceModel(seed=1)
    answers_a = [a.answer(case, fake_bench).text for case in fake_bench.cases]
    assert answers_a == [b.answer(case, fake_bench).text for case in fake_bench.cases]
    assert answers_a != [c.answer(case, fake_bench).text for case in fake_bench.cases]
    assert set(answers_a) <= {"A", "B", "C", "D"} and len(set(answers_a)) > 1
    assert a.settings() == {"seed": 0}


def test_random_scores_near_chance(tmp_path):
    bench = Benchmark.open(write_fake_bench(tmp_path / "b", n=400))
    summary = score(bench, RandomChoiceModel(seed=3), tmp_path / "res", progress=False, warn=quiet)
    assert summary.done == 400 and summary.unparsed == 0 and summary.errors == 0
    assert 0.18 < summary.accuracy < 0.32


# ----- one run -------------------------------------------------------------------
def test_every_case_once_with_right_fields(fake_bench, tmp_path):
    model = FakeModel(style="sentence")
    summary = score(fake_bench, model, tmp_path, model_path="fake/path", progress=False, warn=quiet)
    lines = lines_of(summary.run_dir)  # in scoring order (cases sharing source frames together)
    assert sorted(l["case_id"] for l in lines) == sorted(c.case_id for c in fake_bench.cases)
    by_id = {l["case_id"]: l for l in lines}
    for case in fake_bench.cases:
        line = by_id[case.case_id]
        assert line["correct"] == expected_correct(case)
        assert (line["length"], line["depth"], line["task_type"]) == (case.length, case.depth, case.task_type)
        assert line["model"] == "fake" and line["error"] is None and line["seconds"] >= 0
        assert line["prediction"] == (None if int(case.case_id[-4:]) % 5 == 4 else line["prediction"])
    assert summary.unparsed == sum(int(c.case_id[-4:]) % 5 == 4 for c in fake_bench.cases)
    info, results, problems = read_run(summary.run_dir)
    assert problems == [] and len(results) == len(fake_bench.cases)
    assert info["model"] == "fake" and info["model_path"] == "fake/path"
    assert info["settings"] == {"style": "sentence"}
    assert info["manifest_fingerprint"] == fake_bench.fingerprint
    assert info["cases_total"] == len(fake_bench.cases)
    assert info["schema_versions"]["manifest"] == 1 and info["schema_versions"]["results"] == 2
    assert info["code_version"]
    # a rerun scores nothing and the model is never asked
    again = FakeModel(style="sentence")
    summary2 = score(fake_bench, again, tmp_path, model_path="fake/path", progress=False, warn=quiet)
    assert summary2.scored == 0 and summary2.skipped == len(fake_bench.cases) and again.calls == 0
    assert summary2.correct == summary.correct
    assert len(lines_of(summary.run_dir)) == len(fake_bench.cases)


def test_case_failures_are_recorded_and_the_run_goes_on(fake_bench, tmp_path):
    failing = {fake_bench.cases[1].case_id, fake_bench.cases[2].case_id}
    summary = score(fake_bench, FakeModel(fail_on=failing), tmp_path, progress=False, warn=quiet)
    lines = {l["case_id"]: l for l in lines_of(summary.run_dir)}
    assert len(lines) == len(fake_bench.cases)
    for cid in failing:
        assert lines[cid]["correct"] is False and lines[cid]["prediction"] is None
        assert lines[cid]["error"] == "RuntimeError: CUDA out of memory. Tried to allocate 2 GiB"
    assert summary.errors == 2


def test_keyboard_interrupt_then_resume(fake_bench, tmp_path):
    summary = score(fake_bench, FakeModel(interrupt_after=5), tmp_path, progress=False, warn=quiet)
    assert summary.interrupted and summary.scored == 5
    assert "interrupted" in summary.line() and "resume" in summary.line()
    assert len(lines_of(summary.run_dir)) == 5
    model = FakeModel()
    summary2 = score(fake_bench, model, tmp_path, progress=False, warn=quiet)
    assert not summary2.interrupted and summary2.skipped == 5
    assert model.calls == len(fake_bench.cases) - 5
    ids = [l["case_id"] for l in lines_of(summary.run_dir)]
    assert sorted(ids) == sorted(c.case_id for c in fake_bench.cases)


KILL_SCRIPT = textwrap.dedent("""
    import sys
    from niah.cases import Benchmark
    from runner.score import score
    from runner_helpers import SlowGold

    score(Benchmark.open(sys.argv[1]), SlowGold(0.05), sys.argv[2], progress=False)
    """)


def test_sigkill_mid_run_then_resume(fake_bench_dir, tmp_path):
    bench = Benchmark.open(fake_bench_dir)
    out = tmp_path / "res"
    script = tmp_path / "slow.py"
    script.write_text(KILL_SCRIPT)
    cmd = [sys.executable, str(script), str(fake_bench_dir), str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=subprocess_env(), stderr=subprocess.PIPE)
    deadline = time.time() + 60
    files = []
    while time.time() < deadline:
        files = list(out.glob("*/results.jsonl"))
        if files and files[0].read_text().count("\n") >= 4:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert files, "the run never wrote a result"
    killed = files[0].read_text().count("\n")
    assert 4 <= killed < len(bench.cases)
    # as if the kill had landed inside a write: half a line at the end
    with open(files[0], "a") as handle:
        handle.write('{"case_id":"L60-0020","model":"slow","predic')
    done = subprocess.run(cmd, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "torn last line" in done.stderr
    ids = [l["case_id"] for l in lines_of(files[0].parent)]  # every line parses
    assert Counter(ids) == Counter(c.case_id for c in bench.cases)
    info, results, problems = read_run(files[0].parent)
    assert problems == [] and all(r.correct for r in results.values())


def test_torn_last_line_is_cut_and_rescored(fake_bench, tmp_path):
    summary = score(fake_bench, FakeModel(), tmp_path, limit=6, progress=False, warn=quiet)
    path = summary.results_path
    text = path.read_text()
    last = text.splitlines()[-1]
    path.write_text(text[: len(text) - len(last) - 1] + last[: len(last) // 2])  # torn 6th line
    warnings = []
    model = FakeModel()
    summary2 = score(fake_bench, model, tmp_path, limit=6, progress=False, warn=warnings.append)
    assert summary2.repaired_bytes == len(last) // 2
    assert any("torn last line" in w for w in warnings)
    assert model.calls == 1 and summary2.skipped == 5
    ids = [l["case_id"] for l in lines_of(summary.run_dir)]
    assert sorted(ids) == sorted(c.case_id for c in fake_bench.cases[:6])  # --limit: the first 6 in the manifest


def test_torn_line_in_another_shard_file_is_not_trusted(fake_bench, tmp_path):
    run = score(fake_bench, FakeModel(), tmp_path, shard=(1, 2), progress=False, warn=quiet)
    other = run.run_dir / shard_file_name((2, 2))
    case = fake_bench.cases[1]
    other.write_text(f'{{"case_id":"{case.case_id}","model":"fake","prediction":"A"')  # no newline
    summary = score(fake_bench, FakeModel(), tmp_path, progress=False, warn=quiet)  # unsharded rerun
    assert summary.scored == len(fake_bench.cases) // 2
    assert other.read_text().count("\n") == 0  # not ours: left alone
    info, results, problems = read_run(run.run_dir)
    assert len(results) == len(fake_bench.cases) and len(problems) == 1


# ----- sharding ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 30])
def test_shards_partition_the_cases(fake_bench, n):
    seen = Counter(c.case_id for i in range(1, n + 1) for c in select_cases(fake_bench, shard=(i, n)))
    assert seen == Counter(c.case_id for c in fake_bench.cases)


def test_shard_of_a_case_ignores_cases_and_limit(fake_bench):
    ids = [c.case_id for c in fake_bench.cases]
    shard2 = [c.case_id for c in select_cases(fake_bench, shard=(2, 3))]
    subset = [c.case_id for c in select_cases(fake_bench, case_ids=ids[:7], shard=(2, 3))]
    assert subset == [cid for cid in shard2 if cid in ids[:7]]
    assert [c.case_id for c in select_cases(fake_bench, shard=(2, 3), limit=2)] == shard2[:2]


def test_sharded_runs_merge_to_every_case_once(fake_bench, tmp_path):
    dirs = set()
    for i in (1, 2, 3):
        s = score(fake_bench, FakeModel(), tmp_path, shard=(i, 3), progress=False, warn=quiet)
        dirs.add(s.run_dir)
        assert s.results_path.name == f"results-shard{i}of3.jsonl"
    assert len(dirs) == 1
    run_dir = dirs.pop()
    info, results, problems = read_run(run_dir)
    assert problems == [] and sorted(results) == sorted(c.case_id for c in fake_bench.cases)
    # a rerun with another split finds everything done
    model = FakeModel()
    s = score(fake_bench, model, tmp_path, shard=(1, 2), progress=False, warn=quiet)
    assert model.calls == 0 and s.skipped == s.selected


def test_parse_shard():
    assert parse_shard("3/8") == (3, 8) and parse_shard(None) is None
    for bad in ("0/8", "9/8", "3", "a/b", "-1/2"):
        with pytest.raises(InputError):
            parse_shard(bad)


def test_unknown_case_id_and_bad_limit(fake_bench):
    with pytest.raises(InputError, match="no case 'nope'"):
        select_cases(fake_bench, case_ids=["nope"])
    with pytest.raises(InputError):
        select_cases(fake_bench, limit=0)


def test_second_writer_of_one_file_is_refused(tmp_path):
    path = tmp_path / "results.jsonl"
    with ResultsFile(path):
        with pytest.raises(InputError, match="another runner process"):
            ResultsFile(path)
    ResultsFile(path).close()  # released


# ----- run identity ----------------------------------------------------------------
def test_run_id_depends_on_settings_path_and_manifest(fake_bench, tmp_path):
    other = Benchmark.open(write_fake_bench(tmp_path / "other", question_suffix=" (v2)"))
    ids = {
        make_run_id(run_identity(RandomChoiceModel(seed=0), "random", None, {}, fake_bench)),
        make_run_id(run_identity(RandomChoiceModel(seed=1), "random", None, {}, fake_bench)),
        make_run_id(run_identity(RandomChoiceModel(seed=0), "random", "x", {}, fake_bench)),
        make_run_id(run_identity(RandomChoiceModel(seed=0), "random", None, {"frames": 8}, fake_bench)),
        make_run_id(run_identity(RandomChoiceModel(seed=0), "random", None, {}, other)),
    }
    assert len(ids) == 5 and all(i.startswith("random-") for i in ids)
    same = make_run_id(run_identity(RandomChoiceModel(seed=0), "random", None, {"seed": 0}, fake_bench))
    assert same == make_run_id(run_identity(RandomChoiceModel(seed=0), "random", None, {}, fake_bench))


def test_run_json_mismatch_is_refused(fake_bench, tmp_path):
    score(fake_bench, RandomChoiceModel(seed=0), tmp_path, run_name="mine", progress=False, warn=quiet)
    with pytest.raises(InputError, match="settings.seed: 0 here, 1 now"):
        score(fake_bench, RandomChoiceModel(seed=1), tmp_path, run_name="mine", progress=False, warn=quiet)
    other = Benchmark.open(write_fake_bench(tmp_path / "other", question_suffix=" (v2)"))
    with pytest.raises(InputError, match="manifest_fingerprint"):
        score(other, RandomChoiceModel(seed=0), tmp_path, run_name="mine", progress=False, warn=quiet)
    assert len(lines_of(tmp_path / "mine")) == len(fake_bench.cases)  # untouched


def test_run_json_written_by_other_code_only_warns(fake_bench, tmp_path):
    s = score(fake_bench, FakeModel(), tmp_path, limit=2, progress=False, warn=quiet)
    info_path = s.run_dir / "run.json"
    info = json.loads(info_path.read_text())
    info["code_version"] = "git:0000000"
    info_path.write_text(json.dumps(info))
    warnings = []
    score(fake_bench, FakeModel(), tmp_path, limit=3, progress=False, warn=warnings.append)
    assert any("git:0000000" in w for w in warnings)


def test_open_run_dir_refuses_garbage_run_json(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "run.json").write_text("{not json")
    with pytest.raises(InputError, match="unreadable"):
        open_run_dir(tmp_path, "r", {"model": "x"}, 1)


@pytest.mark.parametrize("content,kept", [
    (b"", b""),
    (b'{"case_id":"x"', b""),
    (b'{"a":1}\n{"b":2}\n', b'{"a":1}\n{"b":2}\n'),
    (b'{"a":1}\n{"b":', b'{"a":1}\n'),
    (b'{"a":1}\n' + b"y" * 200_000, b'{"a":1}\n'),  # a torn line longer than one read block
])
def test_repair_keeps_whole_lines_only(tmp_path, content, kept):
    path = tmp_path / "results.jsonl"
    path.write_bytes(content)
    with ResultsFile(path) as handle:
        assert handle.repaired == len(content) - len(kept)
    assert path.read_bytes() == kept
