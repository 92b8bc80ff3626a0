"""The Upload tab: validate a results file against the schema and the manifest, refuse a
copy of a run already listed (by its answers), save it into the uploads folder."""
from __future__ import annotations

import streamlit as st

from leaderboard import copies
from leaderboard import upload as up
from leaderboard.page import Page
from niah import answers, run_reading

TITLE = "Upload"


def copy_problem(page: Page, check: up.UploadCheck) -> str | None:
    """Why the upload is refused as a copy: its answers equal an existing run's on every
    common case (whitespace, case order and names do not matter; extracted letters do)."""
    tables = page.tables
    if tables is None or tables.results.empty or not page.manifest.available:
        return None
    frame = up.results_frame(check)
    options = frame["case_id"].map(page.manifest.cases.set_index("case_id")["options"])
    letters = run_reading.letters_under(frame, options, answers.DEFAULT_RULE)
    frame["code"] = copies.answer_codes(letters, frame["error"].notna())
    match = copies.copy_of(frame, tables.results[["run_id", "case_id", "code"]])
    if match is not None and match.exact:
        return (f"the file gives the same answers as run {match.original} on all {match.common} cases both "
                "answered (compared by the extracted option letters), so it is that run again")
    return None


def render(page: Page) -> None:
    st.markdown(f"Upload a results JSONL file (JSON Lines: one `Result` object per line; extension "
                f"{', '.join(up.EXTENSIONS)}; at most {up.MAX_UPLOAD_MB} MB as the upload box counts them, "
                f"{up.MAX_UPLOAD_BYTES:,} bytes). It is validated "
                "against the schema and the opened benchmark's manifest and saved as a new run in the uploads "
                "folder, listed in its own section, marked as uploaded. An example line:")
    st.code(up.example_line(page.manifest.cases if page.manifest.available else None), language="json")
    if msg := st.session_state.pop("upload_saved", None):
        st.success("Saved the upload as a new run:")
        st.text(msg)
    gen = st.session_state.setdefault("upload_gen", 0)
    file = st.file_uploader("Results file", key=f"upload_{gen}", max_upload_size=up.MAX_UPLOAD_MB)
    if file is None:
        return
    shown_name = up.sanitize_run_name(file.name, 128)
    if problem := up.check_extension(file.name):
        st.error("Upload refused; nothing was saved.")
        st.text(f"{shown_name}: {problem}")
        return
    check = up.validate_upload(file.getvalue(), page.manifest.cases if page.manifest.available else None)
    if check.ok and (problem := copy_problem(page, check)):
        # a valid file that repeats a run: say so, not "not a valid results file"
        st.error("Upload refused: a copy of a run already listed; nothing was saved.")
        st.code(f"{shown_name}\n{problem}", language=None)
        return
    if not check.ok:
        count = len(check.problems) + check.truncated
        st.error(f"Upload refused: not a valid results file ({count} problem(s), {len(check.kinds)} kind(s)); "
                 "nothing was saved. The file and its problems, one line per kind:")
        st.code(f"{shown_name}\n{check.summary()}", language=None)
        return
    st.success(f"{len(check.results)} valid results. The file and the model name, as given:")
    st.text(f"{shown_name}\n{check.model}")
    name = st.text_input("Run name", value=up.default_run_name(file.name, check.model), key="upload_name")
    c1, c2, c3 = st.columns(3)
    settings = {"frames": c1.text_input("frames (optional)", key="up_frames"),
                "keyframes_k": c2.text_input("K (optional)", key="up_k"),
                "tau": c3.text_input("τ (optional)", key="up_tau")}
    st.caption("Will be saved as:")
    st.text(up.sanitize_run_name(name))
    if st.button("Save run", key="upload_save"):
        settings = {k: _number(v) for k, v in settings.items()}
        try:
            run_dir = up.save_upload(check, page.uploads_root, name, filename=file.name,
                                     manifest_fingerprint=page.manifest.fingerprint,
                                     cases_total=len(page.manifest.cases), settings=settings,
                                     max_uploads=page.max_uploads, max_total_bytes=page.max_upload_bytes)
        except up.UploadsFull as exc:
            st.error(f"Upload refused: {exc}.")
            return
        st.session_state["upload_saved"] = f"{run_dir.name} ({len(check.results)} results)"
        st.session_state["upload_gen"] = gen + 1
        st.rerun()


def _number(text: str):
    text = (text or "").strip()
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text or None
