"""Reading a release without decoding it: the parquet's rules one row at a time, where each
video is found (files before zip members, ``data/`` first, lmms-eval's spellings), zip members
read in place, the bundled ffmpeg's failures, and joining a Ray cluster (with a stand-in
``ray`` module: what the one-line errors say is the behaviour under test)."""
from __future__ import annotations

import hashlib
import os
import sys
import types
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from niah.errors import InputError
from niah.ffmpeg import child_of_this_process, die_with_parent, ffmpeg_exe, run_ffmpeg
from niah.framestore import source_fingerprint
from niah.videomme import read_source
from niah.zipmember import ZipMember, video_members
from videomme_fixture import row, write_parquet


def rows(n: int = 3) -> list[dict]:
    return [row(k, f"vid{k}", "short", 1, "Counting Problem") for k in range(n)]


def release(root: Path, table: list[dict], videos=("data/vid0.mp4", "data/vid1.mp4", "data/vid2.mp4")) -> Path:
    write_parquet(root, table)
    for name in videos:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"not decoded here")
    return root


def test_a_release_reads_its_questions_and_videos(tmp_path):
    source = read_source(release(tmp_path, rows()))
    assert [qa.question_id for qa in source.questions] == ["000-1", "001-1", "002-1"]
    qa = source.questions[1]
    assert (qa.video, qa.video_id, qa.duration, qa.answer, qa.options[0]) == ("vid1", "001", "short", "C", "A. one")
    assert (qa.domain, qa.sub_category, qa.task_type, qa.question) == ("Test", "Fixture", "Counting Problem",
                                                                       "Question 1 about video 1?")
    assert source.video_paths == {f"vid{k}": tmp_path / "data" / f"vid{k}.mp4" for k in range(3)}
    assert source.durations() == {"vid0": "short", "vid1": "short", "vid2": "short"}
    digest = hashlib.sha256((tmp_path / "videomme" / "test-00000-of-00001.parquet").read_bytes()).hexdigest()
    assert source.parquet_sha256 == {"videomme/test-00000-of-00001.parquet": digest}


@pytest.mark.parametrize("change,why", [
    ({"answer": "E"}, "row 2: answer 'E' is not one of the option letters"),
    ({"answer": "a"}, "row 2: answer 'a' is not one of the option letters"),
    ({"answer": " B "}, None),                         # stripped: accepted
    ({"options": ["A. one"]}, "row 2: options must be a list of at least two strings"),
    ({"options": ["A. one", "C. two"]}, "row 2: options must be prefixed with their letter as published"),
    ({"options": ["A. one", "B. two"], "answer": "C"}, "answer 'C' is not one of the option letters"),
    ({"videoID": ""}, "row 2: videoID must be a non-empty string, got ''"),
    ({"question_id": ""}, "row 2: question_id must be a non-empty string"),
    ({"question": ""}, "row 2: question must be a non-empty string"),
    ({"domain": ""}, None),                            # may be empty
    ({"question_id": "000-1"}, "row 2: duplicated question_id '000-1'"),
])
def test_each_row_rule(tmp_path, change, why):
    table = rows()
    table[1] = {**table[1], **change}
    root = release(tmp_path, table)
    if why is None:
        read_source(root)
        return
    with pytest.raises(InputError) as info:
        read_source(root)
    assert why in info.value.what and info.value.where.endswith("test-00000-of-00001.parquet")


def refusal(root: Path) -> tuple[str, str]:
    with pytest.raises(InputError) as info:
        read_source(root)
    return info.value.where, info.value.what


def test_whole_file_problems(tmp_path):
    assert refusal(tmp_path / "nowhere") == (str(tmp_path / "nowhere"), "source folder does not exist")
    (tmp_path / "empty").mkdir()
    assert refusal(tmp_path / "empty") == (str(tmp_path / "empty"),
                                           "no videomme/test-*.parquet found (is this a Video-MME release?)")
    root = release(tmp_path / "r", rows())
    assert read_source(root).root == root
    path = root / "videomme" / "test-00000-of-00001.parquet"
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["url", "domain"]), path)
    assert refusal(root) == (str(path), "missing column(s) domain, url")
    pq.write_table(table.slice(0, 0), path)
    assert refusal(root) == (str(path), "parquet has no rows")
    pq.write_table(table.append_column("Subtitle", [[""] * table.num_rows]), path)
    where, what = refusal(root)
    assert where == str(path) and what.startswith("an older revision of the Video-MME card (column(s) Subtitle); ")
    path.write_bytes(b"PAR1 nope")
    where, what = refusal(root)
    assert where == str(path) and what.startswith("not a readable parquet file (") and "\n" not in what


def test_where_each_video_is_found(tmp_path):
    root = release(tmp_path, rows(), videos=("data/vid0.mkv", "data/vid0.MP4", "other/vid1.mp4", "data/vid1.mkv",
                                              "other/vid2.mp4", "data/notes.txt"))
    with zipfile.ZipFile(root / "videos_chunked_01.zip", "w") as archive:
        archive.writestr("data/vid2.mp4", b"zipped")       # a file already extracted wins over a member
        archive.writestr("data/vid3.mp4", b"zipped three")
        archive.writestr("a_other/vid4.mkv", b"four")  # sorts before data/, still loses to it
        archive.writestr("data/vid4.mkv", b"four, in data")
        archive.writestr("data/", b"")
    paths = read_source(root).video_paths
    assert paths["vid0"] == root / "data" / "vid0.MP4"     # .MP4 before .mkv
    assert paths["vid1"] == root / "data" / "vid1.mkv"     # data/ before any other folder
    assert paths["vid2"] == root / "other" / "vid2.mp4"    # a file before a zip member
    assert isinstance(paths["vid3"], ZipMember) and paths["vid3"].name == "data/vid3.mp4"
    assert paths["vid4"].name == "data/vid4.mkv"
    assert "notes" not in paths and list(paths) == sorted(paths)
    (root / "videos_chunked_02.zip").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(InputError, match="not a readable zip archive") as info:
        read_source(root)
    assert info.value.where.endswith("videos_chunked_02.zip")


# ----- zip members read in place -------------------------------------------------------------
def test_stored_and_deflated_members_give_the_extracted_files_bytes(tmp_path):
    big = os.urandom((2 << 20) + 100)
    small = b"tiny video"
    archive = tmp_path / "videos.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("data/big.mp4", big, compress_type=zipfile.ZIP_STORED)
        handle.writestr("data/small.mp4", small, compress_type=zipfile.ZIP_DEFLATED)
        handle.writestr("readme.txt", b"x")
    members = {m.name: m for m in video_members(archive, (".mp4",))}
    assert sorted(members) == ["data/big.mp4", "data/small.mp4"]
    stored, deflated = members["data/big.mp4"], members["data/small.mp4"]
    assert stored.stored and not deflated.stored and stored.stem == "big" and stored.size == len(big)
    assert str(stored) == f"{archive}:data/big.mp4"
    for member, data in ((stored, big), (deflated, small)):
        (tmp_path / member.stem).write_bytes(data)
        assert source_fingerprint(member) == source_fingerprint(tmp_path / member.stem)
        with member.extracted(tmp_path / "spool") as path:
            assert path.read_bytes() == data
        assert not path.exists()
    start = stored.data_offset()
    assert archive.read_bytes()[start:start + len(big)] == big
    assert stored.ffmpeg_input() == f"subfile,,start,{start},end,{start + len(big)},,:{archive}"
    with pytest.raises(ValueError, match="deflated members have no byte range"):
        deflated.ffmpeg_input()
    broken = ZipMember(archive, "data/big.mp4", stored.header_offset + 1, stored.size, True)
    with pytest.raises(OSError, match="bad local file header"):
        broken.data_offset()


# ----- the bundled ffmpeg ---------------------------------------------------------------------
def test_run_ffmpeg_raises_its_last_error_line_and_returns_on_success(tmp_path):
    assert Path(ffmpeg_exe()).exists()
    with pytest.raises(RuntimeError) as info:
        run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), str(tmp_path / "out.mp4")])
    assert str(info.value) == "Error opening input files: No such file or directory"  # the last line only
    out = tmp_path / "one.png"
    proc = run_ffmpeg(["-f", "lavfi", "-i", "color=c=red:s=8x8:d=1", "-frames:v", "1", str(out)])
    assert proc.returncode == 0 and out.stat().st_size > 0
    piped = run_ffmpeg(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "2x2", "-i", "-", "-frames:v", "1",
                        str(tmp_path / "two.png")], input=bytes(12))
    assert piped.returncode == 0 and (tmp_path / "two.png").exists()
    die_with_parent()  # harmless in this process


# ----- joining a Ray cluster --------------------------------------------------------------
class FakeRayError(Exception):
    pass


def fake_ray(monkeypatch, failure: BaseException | None = None, initialized: bool = False,
             chatter: str | bytes = ""):
    calls: list[dict] = []

    def init(**kwargs):
        calls.append(kwargs)
        os.write(2, chatter if isinstance(chatter, bytes) else chatter.encode())
        if failure is not None:
            raise failure

    module = types.SimpleNamespace(is_initialized=lambda: initialized, init=init,
                                   exceptions=types.SimpleNamespace(RayError=FakeRayError))
    monkeypatch.setitem(sys.modules, "ray", module)
    return calls


def test_init_ray_starts_or_joins_and_reports(monkeypatch, capfd):
    from niah.ray_cluster import init_ray
    calls = fake_ray(monkeypatch)
    ray, started = init_ray(None)
    assert started and calls[0]["address"] == "local" and calls[0]["include_dashboard"] is False
    assert calls[0]["num_cpus"] == (os.cpu_count() or 1) and calls[0]["log_to_driver"] is False
    calls = fake_ray(monkeypatch, chatter="ray says hello\n")
    _, started = init_ray("ray://head:10001")
    assert started and calls[0] == {"logging_level": 30, "log_to_driver": False, "address": "ray://head:10001"}
    assert "ray says hello" in capfd.readouterr().err  # Ray's own warnings still shown
    fake_ray(monkeypatch, initialized=True)
    assert init_ray("auto")[1] is False


@pytest.mark.parametrize("failure,chatter,where,what", [
    (ConnectionError("could not connect"), "", "--address head:6379", "cannot start or reach a Ray cluster "
                                                                       "(could not connect)"),
    (RuntimeError("boom"), "E0000 InvalidAuthToken: nope\n", "--address head:6379", "token authentication"),
    (FakeRayError("UNAUTHENTICATED"), "", "--address head:6379", "token authentication"),
    (ValueError("bad\n  address"), "", "--address head:6379", "(bad address)"),
])
def test_init_ray_failures_are_one_line(monkeypatch, capfd, failure, chatter, where, what):
    from niah.ray_cluster import RayClusterError, init_ray
    fake_ray(monkeypatch, failure=failure, chatter=chatter)
    with pytest.raises(RayClusterError) as info:
        init_ray("head:6379")
    assert info.value.where == where and what in info.value.what
    assert "InvalidAuthToken" not in capfd.readouterr().err  # the wall of Ray's lines is kept aside


def test_starting_ray_locally_fails_as_one_line_naming_the_flag(monkeypatch):
    from niah.ray_cluster import RayClusterError, init_ray
    fake_ray(monkeypatch, failure=RuntimeError("no resources"))
    with pytest.raises(RayClusterError) as info:
        init_ray(None, flag="--engine ray")
    assert (info.value.where, info.value.what) == ("--engine ray", "cannot start or reach a Ray cluster (no resources)")
    fake_ray(monkeypatch, failure=KeyError("unexpected"))
    with pytest.raises(KeyError):  # not one of Ray's failures: a bug, not bad input
        init_ray(None)


def test_ray_missing_is_one_line(monkeypatch):
    from niah.ray_cluster import import_ray, init_ray
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(InputError) as info:
        import_ray()
    assert (info.value.where, info.value.what) == (
        "--engine ray", "ray is not installed; `pip install ray` (or use --engine local)")
    assert info.value.exit_code == 2
    with pytest.raises(InputError) as info:
        init_ray(None)
    assert info.value.where == "--engine ray"
    with pytest.raises(InputError) as info:
        init_ray("auto", flag="--ray")
    assert info.value.where == "--ray"


class AuthenticationError(RuntimeError):
    pass


def test_joining_restores_stderr_and_reads_any_bytes(monkeypatch, capfd):
    from niah.ray_cluster import RayClusterError, init_ray
    fake_ray(monkeypatch, failure=AuthenticationError("refused"), chatter=b"\xff\xfe\n")
    with pytest.raises(RayClusterError, match="token authentication"):  # known by the error's type name
        init_ray("head:1")
    os.write(2, b"after\n")
    assert "after" in capfd.readouterr().err
    fake_ray(monkeypatch, chatter=b"\xff\xfe bytes\n")  # not UTF-8: shown, not a crash
    assert init_ray("head:1")[1] is True
    assert "bytes" in capfd.readouterr().err
    fake_ray(monkeypatch, failure=RuntimeError("e" * 400))
    with pytest.raises(RayClusterError) as info:
        init_ray(None)
    assert info.value.what == "cannot start or reach a Ray cluster (" + "e" * 300 + ")"
    capfd.readouterr()
    fake_ray(monkeypatch)
    init_ray(None)
    assert capfd.readouterr().err == ""  # starting locally adds nothing of its own to stderr


def test_members_with_an_extra_field_of_exactly_2_mib_and_longer_than_two_copy_blocks(tmp_path):
    exact = os.urandom(2 << 20)
    long = os.urandom(9 << 20)
    archive = tmp_path / "v.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as handle:
        info = zipfile.ZipInfo("data/extra.mp4")
        info.extra = b"\x34\x12\x02\x00ab"  # one extra record: id 0x1234, 2 bytes
        handle.writestr(info, b"payload")
        handle.writestr("data/exact.mp4", exact)
        handle.writestr("data/long.mp4", long)
        handle.writestr("data/after.mp4", b"next member")
    members = {m.stem: m for m in video_members(archive, (".mp4",))}
    start = members["extra"].data_offset()
    assert archive.read_bytes()[start:start + 7] == b"payload"
    (tmp_path / "exact.mp4").write_bytes(exact)
    assert source_fingerprint(members["exact"]) == source_fingerprint(tmp_path / "exact.mp4")
    with members["long"].extracted(tmp_path / "spool") as path:
        assert path.stat().st_size == len(long) and path.read_bytes() == long


def test_a_child_started_with_die_with_parent_dies_with_its_parent(tmp_path):
    """A killed build leaves no ffmpeg still writing: children get SIGKILL when their parent dies
    (a silent ``sleep`` here, so that no broken pipe ends it first), even when the parent is
    killed before the child has asked for the signal (this test kills it as soon as the child
    exists: on a loaded machine that is often before)."""
    import signal
    import subprocess
    import time
    script = ("import subprocess, time; from niah.ffmpeg import child_of_this_process; "
              "subprocess.Popen(['sleep', '60'], preexec_fn=child_of_this_process()); time.sleep(60)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env)
    children = Path(f"/proc/{parent.pid}/task/{parent.pid}/children")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not children.read_text().split():
        time.sleep(0.05)
    child = int(children.read_text().split()[0])
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()

    def alive(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] not in "ZX"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and alive(child):
        time.sleep(0.05)
    if alive(child):
        os.kill(child, signal.SIGKILL)
        pytest.fail("ffmpeg outlived the process that started it")


def test_run_ffmpeg_failures_without_a_line_or_with_bytes_that_are_not_utf8(tmp_path):
    with pytest.raises(RuntimeError, match=r"^ffmpeg exited with \d+$"):
        run_ffmpeg(["-loglevel", "quiet", "-i", str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4")])
    odd = os.fsdecode(bytes(tmp_path / "missing") + b"-\xff.mp4")
    with pytest.raises(RuntimeError):
        run_ffmpeg(["-loglevel", "info", "-i", odd, str(tmp_path / "o.mp4")])


# What a child reads as its own parent-death signal (PR_GET_PDEATHSIG), printed on its last line.
_PRINT_DEATH_SIGNAL = ("import ctypes, sys; sig = ctypes.c_int(-1); "
                       "ctypes.CDLL('libc.so.6').prctl(2, ctypes.byref(sig)); print(sys.argv[1:]); print(sig.value)")


def test_die_with_parent_asks_the_kernel_to_kill_the_child_with_its_parent():
    """Run in the forked child (as ffmpeg's ``preexec_fn``), it sets SIGKILL (9) as the signal the
    child gets when its parent dies; it survives the exec."""
    import subprocess
    child = subprocess.run([sys.executable, "-c", _PRINT_DEATH_SIGNAL], preexec_fn=die_with_parent,
                           capture_output=True, text=True, check=True)
    assert child.stdout.splitlines()[-1] == "9"
    plain = subprocess.run([sys.executable, "-c", _PRINT_DEATH_SIGNAL], capture_output=True, text=True, check=True)
    assert plain.stdout.splitlines()[-1] == "0"


def test_a_child_whose_starter_died_before_it_asked_ends_itself():
    """The window between the fork and PR_SET_PDEATHSIG: a child whose parent is not the process
    that started it (the starter died and it was adopted) kills itself instead of running on;
    with its real parent it runs."""
    import functools
    import os
    import subprocess
    adopted = subprocess.run([sys.executable, "-c", "print('ran')"], capture_output=True, text=True,
                             preexec_fn=functools.partial(die_with_parent, os.getpid() + 1_000_000))
    assert adopted.returncode == -9 and adopted.stdout == ""
    own = subprocess.run([sys.executable, "-c", "print('ran')"], capture_output=True, text=True,
                         preexec_fn=child_of_this_process())
    assert own.returncode == 0 and own.stdout == "ran\n"


def test_child_of_this_process_names_this_process_as_the_starter():
    """In process (the fork above is out of the mutation run's sight): the preexec_fn carries
    this process's pid, the one the child must still have as parent after asking for the signal."""
    import os
    preexec = child_of_this_process()
    assert preexec.func is die_with_parent and preexec.args == (os.getpid(),)


def test_die_with_parent_sets_the_parent_death_signal_in_process(monkeypatch):
    """The same in this process, against a stand-in libc (the child above runs it after a
    fork, where the mutation run's record of which tests reach a function does not look)."""
    import ctypes
    import signal
    calls = []

    class FakeLibc:
        def __init__(self, name, use_errno=False):
            if name not in ("libc.so.6", None):  # as dlopen: libc, or the program itself
                raise OSError(f"{name}: cannot open shared object file")

        def prctl(self, *args):
            calls.append(args)
            return 0

    monkeypatch.setattr(ctypes, "CDLL", FakeLibc)
    die_with_parent()
    assert calls == [(1, signal.SIGKILL)]  # PR_SET_PDEATHSIG
    killed = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append((pid, sig)))
    die_with_parent(os.getppid())  # still the starter's child: nothing more
    assert killed == []
    die_with_parent(os.getppid() + 1)  # adopted: the starter is gone, so it ends itself
    assert killed == [(os.getpid(), signal.SIGKILL)] and len(calls) == 3

    def missing(name, use_errno=False):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", missing)
    die_with_parent(os.getppid() + 1)  # not Linux: nothing to set, no error, and no self-kill either
    assert len(killed) == 1


def test_run_ffmpeg_passes_nostdin_only_without_input_and_children_die_with_it(tmp_path, monkeypatch):
    """ffmpeg is told ``-nostdin`` unless bytes are piped to it, and every ffmpeg it starts gets
    SIGKILL as its parent-death signal (a stand-in ffmpeg prints its arguments and that signal)."""
    import niah.ffmpeg
    fake = tmp_path / "ffmpeg"
    fake.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "{_PRINT_DEATH_SIGNAL}" "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(niah.ffmpeg, "ffmpeg_exe", lambda: str(fake))
    quiet = ["-hide_banner", "-loglevel", "error", "-y"]
    alone = run_ffmpeg(["-i", "in.mp4", "out.mp4"]).stdout.decode().splitlines()
    assert alone == [str([*quiet, "-nostdin", "-i", "in.mp4", "out.mp4"]), "9"]
    piped = run_ffmpeg(["-i", "-", "out.mp4"], input=b"frames").stdout.decode().splitlines()
    assert piped == [str([*quiet, "-i", "-", "out.mp4"]), "9"]
