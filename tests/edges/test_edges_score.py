"""The runner's library at its edges: the pre-load check of a ``--run-name`` folder, run ids
and names, shards, ``--cases``, the summary line, and run.json disagreements."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from niah.cases import Benchmark
from niah.errors import InputError
from runner.score import (Summary, check_run_before_loading, check_run_name, code_version, iter_ids, make_run_id,
                          open_run_dir, parse_shard, run_identity, score, select_cases, shard_file_name)
from edges_lib import Scripted, make_case, write_bench


@pytest.fixture
def bench(tmp_path) -> Benchmark:
    return Benchmark.open(write_bench(tmp_path / "bench", [make_case(i) for i in range(10)]))


def quiet(_message: str) -> None:
    pass


def run_once(bench, out: Path, **options) -> None:
    model = Scripted({c.case_id: "A" for c in bench.cases}, settings={"seed": 3, "frames": 8})
    score(bench, model, out, model_name="scripted", model_path="/m", run_name="mine", options=options,
          progress=False, warn=quiet)


def test_the_pre_load_check_compares_what_the_command_line_says(bench, tmp_path):
    out = tmp_path / "out"
    run_once(bench, out, profile="paper")
    same = dict(out_root=out, run_name="mine", model_name="scripted", model_path="/m", bench=bench)
    check_run_before_loading(options={"profile": "paper", "seed": 3, "frames": None}, **same)  # agrees
    check_run_before_loading(options={}, **same)
    with pytest.raises(InputError, match="--profile: \"paper\" here, \"released\" now"):
        check_run_before_loading(options={"profile": "released"}, **same)
    with pytest.raises(InputError, match="--seed: 3 here, 4 now"):  # compared with the stored setting
        check_run_before_loading(options={"seed": 4}, **same)
    with pytest.raises(InputError, match="model_path: \"/m\" here, \"/n\" now"):
        check_run_before_loading(options={}, **{**same, "model_path": "/n"})
    with pytest.raises(InputError, match="model: \"scripted\" here, \"other\" now") as info:
        check_run_before_loading(options={}, **{**same, "model_name": "other"})
    assert info.value.where == str(out / "mine" / "run.json") and "use another --run-name or --out" in info.value.what
    check_run_before_loading(options={"seed": 4}, **{**same, "run_name": "fresh"})  # no folder yet: nothing to check
    check_run_before_loading(options={"seed": 4}, **{**same, "run_name": None})
    with pytest.raises(InputError, match="--run-name"):
        check_run_before_loading(options={}, **{**same, "run_name": "../escape"})


def test_the_pre_load_check_reads_a_damaged_run_json_as_one_error(bench, tmp_path):
    (tmp_path / "out" / "mine").mkdir(parents=True)
    (tmp_path / "out" / "mine" / "run.json").write_text("[1]")
    with pytest.raises(InputError, match="run.json is not a JSON object"):
        check_run_before_loading(tmp_path / "out", "mine", "m", None, {}, bench)


def test_more_than_three_differences_are_summarised(bench, tmp_path):
    run_dir = open_run_dir(tmp_path, "r", {"model": "a", "model_path": "p", "revision": "1", "settings": {}}, 3)
    assert json.loads((run_dir / "run.json").read_text())["cases_total"] == 3
    with pytest.raises(InputError, match=r"; \+1 more\)") as info:
        open_run_dir(tmp_path, "r", {"model": "b", "model_path": "q", "revision": "2", "settings": {"x": 1}}, 3)
    assert info.value.what.count(" here, ") == 3
    assert "model: \"a\" here, \"b\" now" in info.value.what


def test_run_ids_and_names():
    identity = {"model": "a/b c", "x": 1}
    run_id = make_run_id(identity)
    assert re.fullmatch(r"a_b_c-[0-9a-f]{10}", run_id) and make_run_id(dict(identity)) == run_id
    assert make_run_id({**identity, "x": 2}) != run_id
    assert make_run_id({"model": "..."}).startswith("model-")
    for bad in ("", ".", "..", "a/b", "a b", "é"):
        with pytest.raises(InputError, match="--run-name"):
            check_run_name(bad)
    assert check_run_name("run-1.a_b") == "run-1.a_b"


def test_identity_leaves_out_options_the_settings_already_state(bench):
    model = Scripted({}, settings={"seed": 3, "revision": "abc"})
    identity = run_identity(model, "m", None, {"seed": 3, "frames": 8, "dtype": None}, bench)
    assert identity["options"] == {"frames": 8} and identity["revision"] == "abc"
    assert identity["schema_versions"] == {"manifest": 1, "results": 2, "run": 1}
    assert identity["manifest_fingerprint"] == bench.fingerprint
    assert code_version().startswith(("git:", "video-niah==", "runner=="))


@pytest.mark.parametrize("text,shard", [("1/1", (1, 1)), (" 3 / 8 ", (3, 8)), (None, None)])
def test_parse_shard(text, shard):
    assert parse_shard(text) == shard


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "a/b", "1-2", "2"])
def test_bad_shards(text):
    with pytest.raises(InputError, match="--shard"):
        parse_shard(text)


def test_shard_files_and_selection(bench):
    assert shard_file_name(None) == shard_file_name((1, 1)) == "results.jsonl"
    assert shard_file_name((2, 3)) == "results-shard2of3.jsonl"
    parts = [select_cases(bench, shard=(i, 3)) for i in (1, 2, 3)]
    assert sorted(len(p) for p in parts) == [3, 3, 4]
    assert sorted(c.case_id for p in parts for c in p) == sorted(c.case_id for c in bench.cases)
    chosen = select_cases(bench, case_ids=["L40-0004", "L40-0001"])
    assert [c.case_id for c in chosen] == ["L40-0001", "L40-0004"]  # manifest order
    assert [c.case_id for c in select_cases(bench, limit=1)] == ["L40-0000"]
    with pytest.raises(InputError, match="--limit"):
        select_cases(bench, limit=0)
    with pytest.raises(InputError, match="no case 'nope'"):
        select_cases(bench, case_ids=["nope"])


def test_cases_option():
    assert iter_ids(None) is None
    assert iter_ids(" a, b ,,c ") == ["a", "b", "c"]
    with pytest.raises(InputError, match="--cases"):
        iter_ids(" , ")


def test_summary_line():
    summary = Summary("r", Path("/x"), Path("/x/results.jsonl"), selected=5, skipped=1, scored=3, done=4, correct=3,
                      unparsed=1, errors=0)
    assert summary.accuracy == 0.75
    assert summary.line() == ("done: run r: 4/5 cases scored (3 now, 1 before), accuracy 75.0% (3/4), unparsed 1, "
                              "errors 0 -> /x/results.jsonl")
    summary.interrupted = True
    assert summary.line().startswith("interrupted: run r") and summary.line().endswith("; rerun the same command to resume")
    assert Summary("r", Path("/x"), Path("/y")).accuracy == 0.0


def test_run_json_records_identity_total_code_time_and_extra(bench, tmp_path):
    model = Scripted({c.case_id: "A" for c in bench.cases}, settings={"where": Path("/w")})
    summary = score(bench, model, tmp_path / "out", model_name="scripted", progress=False, warn=quiet,
                    extra_info={"device": "cpu"}, limit=1)
    info = json.loads((summary.run_dir / "run.json").read_text())
    assert info["run_id"] == summary.run_id and info["cases_total"] == 10 and info["device"] == "cpu"
    assert info["settings"] == {"where": "/w"} and info["code_version"] == code_version()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", info["created"])
    assert not list(summary.run_dir.glob(".run.json.*"))  # the temporary is gone
    assert summary.results_path == summary.run_dir / "results.jsonl" and summary.selected == 1


def test_a_run_folder_that_cannot_be_made_is_one_error(bench, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(InputError, match="cannot create run folder"):
        open_run_dir(tmp_path / "file", "r", {"model": "m"}, 1)


def test_a_repaired_torn_line_is_said_on_stderr_by_default(bench, tmp_path, capsys):
    model = Scripted({c.case_id: "A" for c in bench.cases})
    first = score(bench, model, tmp_path / "out", run_name="r", progress=False, warn=quiet, limit=2)
    with open(first.results_path, "ab") as handle:
        handle.write(b'{"case_id": "L40-00')
    again = score(bench, model, tmp_path / "out", run_name="r", progress=False, limit=3)
    err = capsys.readouterr().err
    assert f"warning: {first.results_path}: dropped a torn last line (19 bytes) left by an interrupted run; " \
           "that case is scored again" in err
    assert again.repaired_bytes == 19 and (again.skipped, again.scored) == (2, 1)


def test_progress_goes_to_stderr_and_an_engine_may_answer_in_any_order(bench, tmp_path, capsys):
    from runner.score import score_case
    model = Scripted({c.case_id: c.answer for c in bench.cases})
    seen = []

    def engine(cases):
        seen.extend(c.case_id for c in cases)
        return [score_case(model, c, bench, "scripted") for c in reversed(cases)]

    summary = score(bench, model, tmp_path / "out", progress=True, warn=quiet, engine=engine, limit=4)
    assert summary.correct == summary.done == summary.scored == 4 and len(seen) == 4
    assert summary.run_id in capsys.readouterr().err  # the progress bar names the run
    lines = summary.results_path.read_text().splitlines()
    assert [json.loads(l)["case_id"] for l in lines] == list(reversed(seen))


def test_a_failed_case_frees_accelerator_memory(bench, monkeypatch):
    import sys
    import types

    from runner.score import score_case
    freed = []
    cuda = types.SimpleNamespace(is_available=lambda: True, empty_cache=lambda: freed.append(1))
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    case = bench.cases[0]
    score_case(Scripted({case.case_id: MemoryError("out of memory")}), case, bench, "m")
    assert freed == [1]
    score_case(Scripted({case.case_id: "A"}), case, bench, "m")
    assert freed == [1]  # only after a failure
    cuda.is_available = lambda: False
    score_case(Scripted({case.case_id: MemoryError("again")}), case, bench, "m")
    assert freed == [1]


# ----- each refusal is one line naming the option or file, word for word ------------------------
def refusal(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    return info.value.where, info.value.what


def test_option_refusals_word_for_word(bench):
    assert refusal(check_run_name, "a b") == ("--run-name", "'a b': use only letters, digits, '.', '_' and '-'")
    assert refusal(iter_ids, ",") == ("--cases", "no case ids given")
    assert refusal(parse_shard, "3/2") == ("--shard", "'3/2': expected I/N with 1 <= I <= N, e.g. 3/8")
    assert refusal(select_cases, bench, limit=0) == ("--limit", "0: must be at least 1")


def test_run_folder_refusals_name_the_file(bench, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    where, what = refusal(open_run_dir, tmp_path / "file", "r", {"model": "m"}, 1)
    assert where == str(tmp_path / "file" / "r") and what in ("cannot create run folder (Not a directory)",
                                                              "cannot create run folder (File exists)")
    info = tmp_path / "out" / "r" / "run.json"
    info.parent.mkdir(parents=True)
    info.write_text("{")
    where, what = refusal(open_run_dir, tmp_path / "out", "r", {"model": "m"}, 1)
    assert where == str(info) and what.startswith("unreadable run.json (Expecting property name")
    info.write_text("[]")
    assert refusal(open_run_dir, tmp_path / "out", "r", {"model": "m"}, 1) == (str(info), "run.json is not a JSON object")
    info.write_text(json.dumps({"model": "m", "settings": {"frames": 8, "deep": {"a": 1}}}))
    where, what = refusal(open_run_dir, tmp_path / "out", "r",
                          {"model": "m", "settings": {"frames": 16, "deep": {"a": 2}}}, 1)
    assert (where, what) == (str(info), 'holds results of another model, settings or manifest (settings.deep.a: 1 here, '
                                        '2 now; settings.frames: 8 here, 16 now); use another --run-name or --out')
    where, what = refusal(open_run_dir, tmp_path / "out", "r", {"model": "m", "settings": None}, 1)
    assert what.startswith('holds results of another model, settings or manifest (settings: {"frames": 8, '
                           '"deep": {"a": 1}} here, null now)')


def test_exactly_three_differences_are_all_listed(tmp_path):
    open_run_dir(tmp_path, "r", {"model": "a", "model_path": "p", "revision": "1"}, 3)
    where, what = refusal(open_run_dir, tmp_path, "r", {"model": "b", "model_path": "q", "revision": "2"}, 3)
    assert what == ('holds results of another model, settings or manifest (model: "a" here, "b" now; '
                    'model_path: "p" here, "q" now; revision: "1" here, "2" now); use another --run-name or --out')


def test_the_pre_load_check_names_options_as_the_command_line_spells_them(bench, tmp_path):
    out = tmp_path / "out"
    run_once(bench, out, max_frames=8)
    same = dict(out_root=out, run_name="mine", model_name="scripted", model_path="/m", bench=bench)
    where, what = refusal(check_run_before_loading, options={"max_frames": 16}, **same)
    assert what == ('holds results of another model, settings or manifest (--max-frames: 8 here, 16 now); '
                    'use another --run-name or --out')
    info = json.loads((out / "mine" / "run.json").read_text())
    (out / "mine" / "run.json").write_text(json.dumps({**info, "settings": ["x"], "options": "y"}))
    where, what = refusal(check_run_before_loading, options={"seed": 3}, **same)  # nothing readable stored
    assert what.startswith("holds results of another model, settings or manifest (--seed: null here, 3 now)")


def test_the_run_id_is_named_after_the_model_without_edge_punctuation():
    assert re.fullmatch(r"vilamp-[0-9a-f]{10}", make_run_id({"model": "_vilamp."}))
    assert re.fullmatch(r"a_b-[0-9a-f]{10}", make_run_id({"model": ".a/b_"}))
    assert re.fullmatch(r"Xception-X-[0-9a-f]{10}", make_run_id({"model": "Xception-X"}))


def test_a_revision_attribute_wins_over_the_settings(bench):
    class Pinned(Scripted):
        revision = "pinned"
    assert run_identity(Pinned({}, settings={"revision": "abc"}), "m", None, {}, bench)["revision"] == "pinned"
    assert run_identity(Scripted({}, settings=["not", "a", "dict"]), "m", None, {"seed": 1}, bench)["revision"] is None


def test_the_same_code_resuming_says_nothing_and_other_code_warns(bench, tmp_path):
    said = []
    open_run_dir(tmp_path, "r", {"model": "m"}, 1, warn=said.append)
    open_run_dir(tmp_path, "r", {"model": "m"}, 1, warn=said.append)
    assert said == []
    info = tmp_path / "r" / "run.json"
    info.write_text(json.dumps({**json.loads(info.read_text()), "code_version": "git:old"}))
    open_run_dir(tmp_path, "r", {"model": "m"}, 1)  # no warn callback: nothing to say it with
    open_run_dir(tmp_path, "r", {"model": "m"}, 1, warn=said.append)
    assert said == [f"warning: {info}: written by code git:old, this is {code_version()}"]


def test_a_model_without_a_name_is_named_by_its_class_and_cases_pick_a_subset(bench, tmp_path):
    class Nameless:
        def settings(self):
            return {}

        def answer(self, case, bench_):
            assert bench_ is bench
            return case.answer

    summary = score(bench, Nameless(), tmp_path / "out", case_ids=["L40-0003", "L40-0001"], progress=False, warn=quiet)
    assert summary.run_id.startswith("Nameless-") and (summary.selected, summary.correct, summary.errors) == (2, 2, 0)
    assert sorted(json.loads(l)["case_id"] for l in summary.results_path.read_text().splitlines()) == \
        ["L40-0001", "L40-0003"]


def test_the_progress_bar_counts_cases_on_stderr_by_default(bench, tmp_path, capsys):
    summary = score(bench, Scripted({c.case_id: "A" for c in bench.cases}), tmp_path / "out", warn=quiet)
    err = capsys.readouterr().err
    final = err.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith(f"{summary.run_id}: 100%") and " 10/10 " in final
    assert "case/s" in final and f"acc {summary.accuracy:.1%} ({summary.correct}/10)" in final
    assert err.count("\r") <= 3  # in a log file: drawn when it starts and when it ends, not per case
    again = score(bench, Scripted({}), tmp_path / "out", warn=quiet)  # nothing left: no bar
    assert again.skipped == 10 and capsys.readouterr().err == ""
    score(bench, Scripted({c.case_id: "A" for c in bench.cases}), tmp_path / "quiet", progress=False, warn=quiet)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("tty,interval", [(False, 30.0), (True, 0.5)])
def test_the_progress_bar_redraws_rarely_in_a_log_file(monkeypatch, capsys, tty, interval):
    from runner.score import _progress
    import sys
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    bar = _progress(1, "r", True)
    assert (bar.mininterval, bool(bar.dynamic_ncols), bar.total, bar.disable) == (interval, tty, 1, False)
    bar.close()
    assert _progress(0, "r", True).disable and _progress(3, "r", False).disable


def test_a_full_disk_while_creating_run_json_is_reported_as_a_full_disk(tmp_path, monkeypatch):
    import errno
    import os

    from niah import atomic

    def full(path, obj):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(atomic, "write_json", full)
    with pytest.raises(OSError) as info:
        open_run_dir(tmp_path, "r", {"model": "m"}, 1)
    assert info.value.errno == errno.ENOSPC and not list((tmp_path / "r").iterdir())
