"""Export: the report, the slides, every figure and table and the reproduction script
for the current settings, the same files the command line writes."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import streamlit as st

from blinastudy.analysis import analyze
from blinastudy.core.errors import InputError
from blinastudy.report.bundle import Bundle, build_bundle, bundle_steps
from blinastudy.report.mdtext import md_text
from pages.common.audit import settings_hash
from pages.common.ui import audit_event, audited, render, show_flash, store
from pages.common.ui_state import analysis_key

#: Session key of the prepared exports (per session, in memory only).
BUNDLE_KEY = "export_bundle"

DOWNLOADS = (
    ("report.html", "Report (HTML)", "text/html", ":material/description:"),
    (
        "slides.pptx",
        "Slides (PowerPoint, 16:9)",
        "application/vnd.ms-powerpoint",
        ":material/slideshow:",
    ),
    ("results.json", "Numbers (results.json)", "application/json", ":material/data_object:"),
    ("reproduce.py", "Reproduction script (Python)", "text/x-python", ":material/code:"),
)


PDF = ("report.pdf", "Report (PDF)", "application/pdf", ":material/picture_as_pdf:")


def _key() -> str:
    s = store()
    return f"{s.cohort_hash}:{analysis_key(s.settings)}"


def prepare() -> None:
    """Run the full analysis (every bootstrap replicate, the caliper sweep) and build the
    exports, with a progress bar."""
    s = store()
    bar = st.progress(0.0, text="Analysing (full bootstrap and caliper sweep)...")
    try:
        res = analyze(s.cohort, s.settings)
    except InputError as exc:
        bar.empty()
        st.error(f"The analysis cannot run: {md_text(exc)}")
        return
    total = bundle_steps(res)
    done = 0

    def step(name: str) -> None:
        nonlocal done
        done += 1
        bar.progress(min(done / total, 1.0), text=f"Made {name}")

    bundle = build_bundle(
        res,
        when=datetime.now(UTC),
        cohort_path=None if s.is_demo else s.source,
        pdf=True,
        chromium=None,  # in memory only: WeasyPrint when installed, no temporary files
        progress=step,
    )
    bar.empty()
    st.session_state[BUNDLE_KEY] = (_key(), bundle)
    audit_event(
        "export",
        cohort_hash=s.cohort_hash,
        settings_hash=settings_hash(analysis_key(s.settings)),
        files=len(bundle.files),
    )


def downloads(bundle: Bundle) -> None:
    st.success(
        f"Ready: {len(bundle.files)} files for cohort SHA-256 "
        f"{bundle.stamp['cohort_hash'][:12]}…, BlinaStudy {bundle.stamp['version']}, "
        f"stamped {bundle.stamp['date']}."
        + (f" {bundle.stamp['label']}." if bundle.stamp.get("synthetic") else ""),
        icon=":material/check_circle:",
    )
    shown = [d for d in (*DOWNLOADS, PDF) if d[0] in bundle.files]
    cols = st.columns(3)
    for i, (name, label, mime, icon) in enumerate(shown):
        cols[i % 3].download_button(
            label,
            data=audited(functools.partial(bundle.files.__getitem__, name), f"export:{name}"),
            file_name=name,
            mime=mime,
            key=f"export.{name}",
            on_click="ignore",
            icon=icon,
        )
    st.download_button(
        "Everything (ZIP: report, slides, figures as SVG and PNG, tables as CSV, settings, "
        "stamp, script)",
        data=audited(bundle.zip_bytes, "export:zip"),
        file_name="blinastudy-results.zip",
        mime="application/zip",
        key="export.zip",
        on_click="ignore",
        icon=":material/folder_zip:",
        type="primary",
    )
    for note in bundle.notes:
        st.caption(
            note
            + (
                ": open the HTML report and print it to PDF from the browser, or run the "
                "command line, which can use Chromium."
                if "PDF" in note
                else ""
            )
        )


def main() -> None:
    show_flash()
    st.markdown(
        "The report, the slides, every figure and table, the numbers and the reproduction "
        "script for the **current settings**: the same files as "
        "`python -m blinastudy report` writes (with `--no-pdf` unless a PDF engine is "
        "available in memory). The analysis runs once more with every bootstrap replicate "
        "and the caliper sweep. Nothing is stored on the server: the files are made in "
        "memory for this session."
    )
    prepared = st.session_state.get(BUNDLE_KEY)
    current = prepared is not None and prepared[0] == _key()
    if prepared is not None and not current:
        st.info("The settings or the cohort changed since the exports were made.")
    if st.button(
        "Make the exports" if not current else "Make them again",
        key="export.make",
        icon=":material/file_export:",
        type="secondary" if current else "primary",
    ):
        prepare()
        prepared = st.session_state.get(BUNDLE_KEY)
        current = prepared is not None and prepared[0] == _key()
    if current and prepared is not None:
        downloads(prepared[1])


render(main, "Export")
