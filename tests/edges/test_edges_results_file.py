"""The results file at its edges: short writes, a disk that fills in the middle of a line,
other write errors, a case that failed only because a disk was full, a second writer, the
file's mode, and closing twice."""
from __future__ import annotations

import errno
import os
import stat

import pytest

from niah.errors import InputError
from runner import score as runner_score
from runner.score import ResultsFile
from edges_lib import make_case, result_of

LINE = b'{"a":1}\n'


def results_path(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_bytes(LINE * 2)
    return path


def append_failing(path, write, monkeypatch) -> OSError:
    """The error ``ResultsFile.append`` of one line raises when ``os.write`` is ``write``."""
    monkeypatch.setattr(runner_score.os, "write", write)
    with ResultsFile(path) as out:
        with pytest.raises(OSError) as info:
            out.append(result_of(make_case(1), "B"))
    monkeypatch.undo()
    return info.value


def test_short_writes_still_give_one_whole_line(tmp_path, monkeypatch):
    real_write, sizes = os.write, []

    def trickle(fd, data):  # a file system that takes 7 bytes a call
        sizes.append(len(data))
        return real_write(fd, bytes(data)[:7])

    path = results_path(tmp_path)
    result = result_of(make_case(1), "B")
    monkeypatch.setattr(runner_score.os, "write", trickle)
    with ResultsFile(path) as out:
        out.append(result)
    monkeypatch.undo()
    assert path.read_bytes() == LINE * 2 + (result.to_json() + "\n").encode()
    assert len(sizes) > 3 and sizes[1] == sizes[0] - 7


def test_a_disk_filling_mid_line_leaves_the_file_as_it_was_and_names_it(tmp_path, monkeypatch):
    real_write = os.write

    def fills(fd, data):
        if len(data) > 20:
            return real_write(fd, bytes(data)[:20])  # part of the line lands, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    path = results_path(tmp_path)
    error = append_failing(path, fills, monkeypatch)
    assert (error.errno, error.strerror, error.filename) == (errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    assert error.__cause__ is None and error.__suppress_context__
    assert path.read_bytes() == LINE * 2  # not one byte of the torn line is left


def test_other_write_errors_are_raised_as_they_are(tmp_path, monkeypatch):
    def broken(fd, data):
        raise OSError(errno.EIO, "Input/output error")

    error = append_failing(results_path(tmp_path), broken, monkeypatch)
    assert error.errno == errno.EIO and error.filename is None


@pytest.mark.parametrize("message", ["OSError: [Errno 28] No space left on device: '/cache/x.npz'",
                                     "RuntimeError: [Errno 28] while caching features",
                                     "RuntimeError: ffmpeg: No space left on device"])
def test_a_case_that_failed_on_a_full_disk_is_not_recorded(tmp_path, message):
    path = results_path(tmp_path)
    with ResultsFile(path) as out:
        with pytest.raises(OSError) as info:
            out.append(result_of(make_case(1), None, error=message, correct=False))
        out.append(result_of(make_case(2), None, error="RuntimeError: [errno 28 is not it]", correct=False))
    assert (info.value.errno, info.value.strerror, info.value.filename) == (errno.ENOSPC, os.strerror(errno.ENOSPC),
                                                                            str(path))
    lines = path.read_bytes().splitlines()
    assert len(lines) == 3 and b"L40-0002" in lines[2]


def test_a_second_writer_is_refused_by_name(tmp_path):
    path = results_path(tmp_path)
    with ResultsFile(path):
        with pytest.raises(InputError) as info:
            ResultsFile(path)
    assert (info.value.where, info.value.what) == (str(path), "another runner process is writing this file "
                                                   "(same run and shard); wait for it or use another --shard")
    with ResultsFile(path):  # the lock went with the first writer
        pass


def test_a_new_results_file_is_readable_by_all_and_closing_twice_is_harmless(tmp_path):
    old = os.umask(0o022)
    try:
        out = ResultsFile(tmp_path / "new.jsonl")
    finally:
        os.umask(old)
    out.close()
    out.close()
    out.__exit__(None, None, None)
    assert stat.S_IMODE((tmp_path / "new.jsonl").stat().st_mode) == 0o644
    os.fstat(1)  # standard output still open
    os.fstat(0)
