"""Task families beside needle-qa: balanced per length, the same bytes on a second build,
answerable from the pixels of the frame store, chance exactly 1/4, and needle-qa unchanged."""
from __future__ import annotations

import hashlib
import json
import random
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from generator import demo_source as demo
from generator import synthetic
from generator.families import TASK_TYPES, parse_tasks
from generator.plan import NeedleCandidate, parse_lengths, plan_cases
from niah.cases import Benchmark
from niah.errors import InputError
from niah.ffmpeg import ffmpeg_exe
from niah.schema import FAMILIES, Case
from niah.videomme import read_source
from niah_testlib import one_line_error, run_cli
from runner.models.random_choice import RandomChoiceModel
from test_schedule import corpus

ALL = ",".join(FAMILIES)
FAMILY_BUILD = ["--tasks", ALL, "--lengths", "300,400", "--cases", "300", "--seed", "0", "--frame-size", "64"]
# the tape planner's manifest before task families existed (commit f6915c0), on test_schedule's corpus
TAPE_DIGEST = "e89c07ccea5320b1413ac32fa1829c2c54622ae9286c804d63fbfcfbe07be924"


@pytest.fixture(scope="module")
def family_bench(release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 cases of every family at 300 and 400 frames, from the fixture release."""
    out = tmp_path_factory.mktemp("families") / "niah"
    proc = run_cli("generator", "build", "--source", str(release), "--out", str(out), *FAMILY_BUILD)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def digest(cases: list[Case]) -> str:
    return hashlib.sha256("".join(c.to_json() + "\n" for c in cases).encode()).hexdigest()


def test_needle_qa_alone_is_the_planner_before_families_byte_for_byte():
    needles, haystacks = corpus(videos=90, long_range=(1800, 3600))
    plan = plan_cases(needles, haystacks, parse_lengths("2k..10k"), 400, seed=3, layout="tape", tasks=("needle-qa",))
    assert digest(plan.cases) == TAPE_DIGEST
    assert all('"family"' not in c.to_json() and '"needles"' not in c.to_json() for c in plan.cases)


def test_families_balanced_per_length_and_shown_by_inspect(family_bench: Path):
    bench = Benchmark.open(family_bench)
    for length in (300, 400):
        counts = Counter(c.family for c in bench.cases if c.length == length)
        assert counts == {f: 30 for f in FAMILIES}
    dataset = json.loads((family_bench / "dataset.json").read_text())
    assert dataset["counts"]["by_length_and_family"] == {"300": {f: 30 for f in FAMILIES},
                                                         "400": {f: 30 for f in FAMILIES}}
    assert dataset["config"]["tasks"] == list(FAMILIES)
    proc = run_cli("generator", "inspect", "--data", str(family_bench))
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout.split("cases by length x task family:\n")[1].split("\n\n")[0].splitlines()
    assert table[0].split() == ["family", *FAMILIES, "all"]
    assert table[2].split() == ["300", *["30"] * 5, "150"] and table[3].split() == ["400", *["30"] * 5, "150"]


def test_every_case_has_four_options_and_its_needles_in_the_manifest(family_bench: Path):
    bench = Benchmark.open(family_bench)
    for case in bench.cases:
        assert len(case.options) == 4 and case.answer in "ABCD"
        refs = bench.frame_refs(case)
        for needle in case.all_needles:  # every needle's span plays its clip from frame 0
            assert [(r.video_id, r.frame) for r in refs[needle.start_frame:needle.start_frame + needle.num_frames]] \
                == [(needle.video_id, i) for i in range(needle.num_frames)]
        starts = [n.start_frame for n in case.all_needles]
        ends = [n.start_frame + n.num_frames for n in case.all_needles]
        assert all(e < s for e, s in zip(ends, starts[1:])), "two needles touch"
        if case.family != "needle-qa":
            assert case.about and json.loads(case.to_json())["family"] == case.family
    distractors = [c for c in bench.cases if c.family == "distractors"]
    assert {len(c.all_needles) for c in distractors} == {2, 3, 4}
    assert all(len({n.video_id for n in c.all_needles}) == len(c.all_needles) for c in distractors)
    assert all(len(c.all_needles) in (3, 4) for c in bench.cases if c.family == "ordering")
    assert {len(c.all_needles) for c in bench.cases if c.family == "counting"} == {1, 2, 3, 4}


def test_second_build_is_the_same_to_the_byte(release: Path, family_bench: Path, tmp_path: Path):
    again = tmp_path / "again"
    proc = run_cli("generator", "build", "--source", str(release), "--out", str(again), *FAMILY_BUILD)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (again / "manifest.jsonl").read_bytes() == (family_bench / "manifest.jsonl").read_bytes()
    assert (again / "dataset.json").read_bytes() == (family_bench / "dataset.json").read_bytes()
    for stream in sorted((family_bench / "frames").glob("synthetic-*.h264")):
        assert (again / "frames" / stream.name).read_bytes() == stream.read_bytes(), stream.name


# ----- answerable from the pixels ------------------------------------------------------------
def templates(size: int) -> dict[str, np.ndarray]:
    """Each synthetic clip rendered again from its lavfi graph and scaled as the store scales a
    source, one frame each (the clips are still): what a reader compares the stored frames with."""
    out = {}
    for video, graph in synthetic.graphs(words=True, marker=True).items():
        raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", graph, "-frames:v", "1", "-vf",
                              f"scale={size}:{size}:flags=bicubic", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                             capture_output=True, check=True).stdout
        out[video] = np.frombuffer(raw, np.uint8).reshape(size, size, 3).astype(np.int16)
    return out


def read_clip(frames: np.ndarray, known: dict[str, np.ndarray]) -> tuple[str, float]:
    """The template every frame is nearest to (mean absolute difference), and the worst distance."""
    names = sorted(known)
    distance = np.array([[np.abs(f.astype(np.int16) - known[n]).mean() for n in names] for f in frames])
    best = {names[i] for i in distance.argmin(axis=1)}
    assert len(best) == 1, best
    return best.pop(), float(distance.min(axis=1).max())


def option_text(case: Case) -> str:
    return case.options["ABCD".index(case.answer)].split(". ", 1)[1]


def test_words_orders_and_counts_read_back_from_the_frame_store(family_bench: Path):
    bench = Benchmark.open(family_bench)
    known = templates(bench.store.settings.width)
    checked = Counter()
    for case in bench.cases:
        if case.family not in ("text", "ordering", "counting"):
            continue
        read = []
        for needle in case.all_needles:
            span = range(needle.start_frame, needle.start_frame + needle.num_frames)
            name, distance = read_clip(bench.frames_at(case, list(span)), known)
            assert distance < 6, (case.case_id, name, distance)
            read.append(name)
            # the frames either side are haystack: far from every template
            outside = [i for i in (span.start - 1, span.stop) if 0 <= i < case.length]
            far = [np.abs(f.astype(np.int16) - t).mean() for f in bench.frames_at(case, outside) for t in known.values()]
            assert min(far) > 20, case.case_id
        if case.family == "counting":
            assert set(read) == {synthetic.MARKER_ID}
            assert str(len(read)) == option_text(case)
        else:
            words = [synthetic.word_of(name) for name in read]
            assert ", ".join(words) == option_text(case), case.case_id
        checked[case.family] += 1
    assert checked == {"text": 60, "ordering": 60, "counting": 60}


# ----- chance ---------------------------------------------------------------------------------
def release_candidates(release: Path) -> tuple[list[NeedleCandidate], dict[str, int]]:
    source = read_source(release)
    frames = {"hay00000000": 150, "hay00000001": 150, "hay00000002": 150,
              **{f"ndl{k:08d}": s for k, s in enumerate((30, 35, 40, 45))}}
    needles = [NeedleCandidate(qa, frames[qa.video]) for qa in source.questions if qa.duration == "short"]
    return needles, {v: n for v, n in frames.items() if v.startswith("hay")}


def test_random_model_is_at_chance_on_every_family(release: Path):
    needles, haystacks = release_candidates(release)
    synthetic_frames = {v: synthetic.WORD_SECONDS for v in synthetic.graphs(words=True, marker=False)}
    synthetic_frames[synthetic.MARKER_ID] = synthetic.MARKER_SECONDS
    plan = plan_cases(needles, haystacks, [300, 400], 3000, seed=0, layout="tape", tasks=FAMILIES,
                      synthetic_frames=synthetic_frames)
    model = RandomChoiceModel(seed=0)
    right, total = Counter(), Counter()
    for case in plan.cases:
        assert len(case.options) == 4
        total[case.family] += 1
        right[case.family] += model.answer(case).text == case.answer
    assert total == {f: 600 for f in FAMILIES}
    for family in FAMILIES:
        ci = binomtest(right[family], total[family]).proportion_ci(0.95, method="wilson")
        assert ci.low <= 0.25 <= ci.high, (family, right[family], ci)
    gold = Counter(c.answer for c in plan.cases if c.family == "counting")
    assert gold == {"A": 150, "B": 150, "C": 150, "D": 150}  # each count equally often


# ----- options and limits ---------------------------------------------------------------------
def test_tasks_option_is_order_free_and_refuses_unknown_families():
    assert parse_tasks("text,needle-qa") == parse_tasks("needle-qa, text") == ("needle-qa", "text")
    with pytest.raises(InputError, match="--tasks: 'needle-qa,countng'"):
        parse_tasks("needle-qa,countng")
    with pytest.raises(InputError, match="repeated"):
        parse_tasks("text,text")


def test_lengths_mix_ranges_and_single_lengths():
    assert parse_lengths("2k..10k,20k,30k") == [2000, 4000, 6000, 8000, 10000, 20000, 30000]
    assert parse_lengths("1k..2k:500,5k") == [1000, 1500, 2000, 5000]
    with pytest.raises(InputError, match="repeated"):
        parse_lengths("2k..10k,10k")


@pytest.mark.parametrize("tasks", ["needle-qa", "text"])
def test_a_corpus_too_short_for_the_lengths_is_one_line(release: Path, tmp_path: Path, tasks: str):
    proc = run_cli("generator", "build", "--source", str(release), "--out", str(tmp_path / "out"), "--tasks", tasks,
                   "--lengths", "300,30k", "--cases", "4", "--frame-size", "32")
    one_line_error(proc, "--lengths", "450 frames", "30000-frame case", 
                   ignore=lambda line: not line.strip() or line.startswith("ingest"))
    assert not (tmp_path / "out" / "manifest.jsonl").exists()


def test_demo_source_grows_after_its_first_four_haystacks():
    assert demo.haystacks_for(10_000) == demo.haystacks_for(10_800) == 4
    assert demo.haystacks_for(30_000) == 12 and 12 * demo.HAYSTACK_SECONDS >= 30_000
    rows, graphs = demo._rows(random.Random(0))
    grown, grown_graphs = demo._rows(random.Random(0), 12)
    assert grown[:len(rows)] == rows and {k: grown_graphs[k] for k in graphs} == graphs
    extra = [r for r in grown[len(rows):]]
    assert len(extra) == 8 and {r["duration"] for r in extra} == {"long"}
    assert len(set(grown_graphs.values())) == len(grown_graphs)  # every haystack its own video


def test_multi_needle_case_round_trips_and_is_validated(family_bench: Path):
    bench = Benchmark.open(family_bench)
    case = next(c for c in bench.cases if c.family == "ordering")
    assert Case.from_dict(json.loads(case.to_json())) == case
    raw = json.loads(case.to_json())
    raw["needles"] = raw["needles"][:-1]
    with pytest.raises(ValueError, match="one 'needle' per needle"):
        Case.from_dict(raw)
    raw = json.loads(case.to_json())
    raw["needles"][1]["start_frame"] += 1
    with pytest.raises(ValueError, match="needle segment disagrees"):
        Case.from_dict(raw)
    raw = json.loads(case.to_json())
    raw["family"] = "riddles"
    with pytest.raises(ValueError, match="family 'riddles'"):
        Case.from_dict(raw)


def test_synthetic_task_types_name_the_family():
    assert set(TASK_TYPES) == {"text", "ordering", "counting"}
    assert len(set(synthetic.card_graph(w) for w in synthetic.VOCABULARY)) == len(synthetic.VOCABULARY)
    assert all(set(w) <= set(synthetic.GLYPHS) and len(w) == 5 for w in synthetic.VOCABULARY)


def test_figure_shows_one_case_of_each_family(family_bench: Path, tmp_path: Path):
    from PIL import Image
    out = tmp_path / "tasks.png"
    proc = run_cli("generator", "figure", "--data", str(family_bench), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout.strip().split(": ", 1)[1].split(", ")
    bench = Benchmark.open(family_bench)
    assert [bench.case(c).family for c in shown] == list(FAMILIES)
    widest = max(len(bench.case(c).all_needles) for c in shown)
    assert Image.open(out).size[0] >= widest * 3 * 96  # three frames around each needle of the widest row


def test_demo_source_parquet_lists_exactly_the_haystacks_asked_for(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(demo, "HAYSTACK_SECONDS", 5)  # short haystacks: the listing is what is tested
    monkeypatch.setattr(demo, "NEEDLE_SECONDS", (3,) * len(demo.NEEDLE_SECONDS))
    root = demo.make_demo_source(tmp_path / "demo", haystacks=5)
    first = (root / demo.PARQUET).read_bytes()
    assert list(read_source(root).durations().values()).count("long") == 5
    demo.make_demo_source(root, haystacks=4)
    assert list(read_source(root).durations().values()).count("long") == 4
    demo.make_demo_source(root, haystacks=5)  # back: the same bytes as the first time
    assert (root / demo.PARQUET).read_bytes() == first


def test_inspect_case_lists_every_needle(family_bench: Path):
    bench = Benchmark.open(family_bench)
    case = next(c for c in bench.cases if c.family == "distractors" and len(c.all_needles) > 2)
    proc = run_cli("generator", "inspect", "--data", str(family_bench), "--case", case.case_id)
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if l.startswith("needle ")]
    assert len(lines) == len(case.all_needles)
    for line, needle in zip(lines, case.all_needles):
        assert f"frames {needle.start_frame}..{needle.start_frame + needle.num_frames - 1}" in line
        assert line.endswith("(asked about)") == (needle == case.needle)
    assert f"about: {case.about}" in proc.stdout
