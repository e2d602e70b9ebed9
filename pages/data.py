"""Data: the demo cohort or the user's own files, the mapping editor, the validation
report, flagged identifier columns, and the baseline table by arm."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from blinastudy.cohort import (
    CohortError,
    combine_cohorts,
    drop_columns,
    identifier_reasons,
    load_cohort,
    read_table,
)
from blinastudy.errors import InputError
from blinastudy.mapping import MRD_UNITS, TIME_UNITS, Mapping, suggest_mapping
from blinastudy.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS, Problem, schema_markdown
from blinastudy.ui_state import (
    KEEP_NAME,
    SMD_CONVENTIONS,
    baseline_display,
    mapping_from_table,
    mapping_table,
    problems_table,
)
from pages.common.ui import (
    callback,
    csv_download,
    flash,
    named_bytes,
    render,
    result,
    set_cohort,
    store,
    table,
    teach,
    use_demo,
)

FILE_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "parquet"]
SLOTS = {
    "treated": "Treated cohort (or one file with both arms)",
    "pool": "Historical control pool (optional)",
}
ARM_FROM_FILE = "from its arm column"
ARM_CHOICES = [ARM_FROM_FILE, "blinatumomab", "chemotherapy"]

ReadResult = tuple[pd.DataFrame | None, list[Problem], str, Mapping | None, dict[str, str]]
LoadResult = tuple[pd.DataFrame | None, list[Problem], str]


# --------------------------------------------------------------------------------------
# Reading and validating (cached per session, memory only)
# --------------------------------------------------------------------------------------


@st.cache_data(scope="session", max_entries=8, show_spinner=False)
def read_upload(name: str, digest: str, _data: bytes) -> ReadResult:
    """Read a file as it is, suggest a mapping and flag identifier-like columns."""
    try:
        raw = read_table(named_bytes(_data, name))
    except CohortError as exc:
        return None, list(exc.problems), exc.headline, None, {}
    return raw, [], "", suggest_mapping(raw), identifier_reasons(raw)


@st.cache_data(scope="session", max_entries=8, show_spinner=False)
def validate(
    names: tuple[str, ...],
    digests: tuple[str, ...],
    mappings: tuple[str, ...],
    _datas: tuple[bytes, ...],
) -> LoadResult:
    """Map and check one file, or a treated file plus a pool, as the analysis needs."""
    maps = [Mapping.from_json(m) for m in mappings]
    files = [named_bytes(d, n) for d, n in zip(_datas, names, strict=True)]
    try:
        if len(files) == 1:
            frame = load_cohort(files[0], maps[0], require_both_arms=True)
        else:
            frame = combine_cohorts(files[0], files[1], mappings=(maps[0], maps[1]))
    except CohortError as exc:
        return None, list(exc.problems), exc.headline
    return frame, [], ""


def handle_upload(slot: str, upload: Any) -> tuple[Mapping | None, dict[str, str]]:
    """Read one uploaded file and draw its mapping editor.

    ``upload`` is anything with ``.name`` and ``.getvalue()`` (a Streamlit upload or
    an in-memory file). Returns the mapping to use (``None`` when the file cannot
    be read) and the identifier-like columns with the reason each was flagged.
    """
    data = bytes(upload.getvalue())
    digest = hashlib.sha256(data).hexdigest()
    raw, problems, headline, suggested, reasons = read_upload(upload.name, digest, data)
    if raw is None or suggested is None:
        report(headline or f"{upload.name} cannot be read", problems, f"problems-{slot}")
        return None, {}
    uploads = store().uploads
    entry = uploads.get(slot)
    if entry is None or entry["digest"] != digest:
        entry = {"digest": digest, "base": suggested, "version": 0}
        uploads[slot] = entry
    base: Mapping = entry["base"]
    tag = f"{slot}.{digest[:10]}.{entry['version']}"
    st.caption(
        f"{len(raw)} rows, {raw.shape[1]} columns. "
        + "; ".join(map(str, raw.attrs.get("blinastudy.notes", [])))
    )
    edited = st.data_editor(
        mapping_table(list(map(str, raw.columns)), base),
        key=f"map.{tag}",
        hide_index=True,
        disabled=["file column"],
        column_config={
            "becomes": st.column_config.SelectboxColumn(
                "becomes", options=[KEEP_NAME, *CANONICAL_COLUMNS], required=True
            )
        },
        width="stretch",
    )
    c1, c2, c3 = st.columns(3)
    time_unit = c1.selectbox(
        "Time unit of its time columns",
        TIME_UNITS,
        index=TIME_UNITS.index(base.time_unit),
        key=f"tu.{tag}",
    )
    mrd_unit = c2.selectbox(
        "MRD unit",
        MRD_UNITS,
        index=MRD_UNITS.index(base.mrd_unit),
        key=f"mu.{tag}",
        help="percent: 0.1 means 0.1 %. fraction: 0.001 means 0.1 %.",
    )
    has_arm = "arm" in set(edited["becomes"]) or base.arm is not None
    default_arm = base.arm or (
        ARM_FROM_FILE if has_arm else ("blinatumomab" if slot == "treated" else "chemotherapy")
    )
    arm = c3.selectbox(
        "Arm of its rows",
        ARM_CHOICES,
        index=ARM_CHOICES.index(default_arm),
        key=f"arm.{tag}",
        help="For a file with one arm and no arm column.",
    )
    try:
        mapping = mapping_from_table(
            edited,
            base,
            time_unit=time_unit,
            mrd_unit=mrd_unit,
            arm=None if arm == ARM_FROM_FILE else arm,
        )
    except InputError as exc:
        st.error(f"This mapping cannot be used: {exc}")
        return None, reasons
    if base.notes:
        with st.expander("What the suggested mapping guessed (check these)"):
            st.markdown("\n".join(f"- {note}" for note in base.notes))
    if base.event_codes or base.categories:
        with st.expander("Event codes and category spellings"):
            st.json({"event_codes": base.event_codes, "categories": base.categories})
    m1, m2 = st.columns(2)
    m1.download_button(
        "Save mapping (JSON)",
        data=mapping.to_json(),
        file_name=f"mapping-{slot}.json",
        mime="application/json",
        key=f"mapsave.{slot}",
        on_click="ignore",
        icon=":material/download:",
    )
    m2.file_uploader(
        "Load mapping (JSON)",
        type=["json"],
        key=f"mapload.{slot}",
        on_change=_load_mapping,
        args=(slot,),
    )
    return mapping, reasons


@callback
def _load_mapping(slot: str) -> None:
    upload = st.session_state.get(f"mapload.{slot}")
    entry = store().uploads.get(slot)
    if upload is None or entry is None:
        return
    try:
        entry["base"] = Mapping.from_json(upload.getvalue())
    except InputError as exc:
        flash("error", f"That mapping was not loaded: {exc}")
        return
    entry["version"] += 1


def report(headline: str, problems: list[Problem], name: str) -> None:
    """The validation report: what is wrong, where, as a table (never a traceback)."""
    st.error(headline, icon=":material/rule:")
    if problems:
        frame = problems_table(problems)
        if not frame["file"].astype(bool).any():
            frame = frame.drop(columns="file")
        table(frame)
        csv_download(frame, name, "Problems (CSV)")


@callback
def _use(frame: pd.DataFrame, drop: list[str], source: str) -> None:
    try:
        cohort = drop_columns(frame, drop) if drop else frame
    except InputError as exc:
        flash("error", str(exc))
        return
    cohort = cohort.copy()
    cohort.attrs = {}
    set_cohort(cohort, source, is_demo=False)
    flash("success", f"Now analysing {source}: {len(cohort)} patients.")


def identifiers(flagged: dict[str, tuple[str, str]]) -> None:
    """Columns that look like direct identifiers, and what to do about them."""
    if not flagged:
        return
    st.warning(
        "These columns look like direct identifiers. They are not needed for the "
        "analysis; drop them before going on.",
        icon=":material/badge:",
    )
    table(pd.DataFrame(list(flagged.values()), columns=["column", "why"]))
    required = [c for c in flagged if c in REQUIRED_COLUMNS]
    if required:
        st.error(
            "patient_id looks identifying: replace it with study codes in the file."
            if "patient_id" in required
            else f"Required column(s) {', '.join(required)} look identifying."
        )


def uploads_section() -> None:
    st.subheader("Your cohort")
    teach(
        "Upload the blinatumomab patients and the historical controls, as one file with an "
        "arm column or as two files. Files stay in this browser session's memory and are "
        "never written to disk. Use study codes, not names, as patient_id."
    )
    cols = st.columns(2)
    uploads = {
        slot: col.file_uploader(label, type=FILE_TYPES, key=f"upload.{slot}")
        for (slot, label), col in zip(SLOTS.items(), cols, strict=True)
    }
    present = {slot: up for slot, up in uploads.items() if up is not None}
    if not present:
        return
    if "treated" not in present:
        st.info("Put the treated cohort (or a single file with both arms) in the first box.")
        return
    mappings: dict[str, Mapping] = {}
    flagged: dict[str, tuple[str, str]] = {}
    for slot, up in present.items():
        with st.expander(f"Columns of {up.name}", expanded=True):
            mapping, reasons = handle_upload(slot, up)
        if mapping is not None:
            mappings[slot] = mapping
        for col, why in reasons.items():
            name = mapping.columns.get(col, col) if mapping is not None else col
            flagged[name] = (f"{up.name}: {col}", why)
    identifiers(flagged)
    if len(mappings) < len(present):
        return
    names = tuple(present[s].name for s in present)
    datas = tuple(bytes(present[s].getvalue()) for s in present)
    digests = tuple(hashlib.sha256(d).hexdigest() for d in datas)
    frame, problems, headline = validate(
        names, digests, tuple(mappings[s].to_json() for s in present), datas
    )
    st.markdown("**Validation**")
    if frame is None:
        report(headline, problems, "problems")
        return
    counts = frame["arm"].value_counts()
    st.success(
        f"{len(frame)} patients pass every check: "
        + ", ".join(f"{n} {arm}" for arm, n in counts.items()),
        icon=":material/check_circle:",
    )
    droppable = [c for c in flagged if c not in REQUIRED_COLUMNS and c in frame.columns]
    drop: list[str] = []
    if droppable:
        drop = st.multiselect(
            "Drop these identifier-like columns before analysis",
            droppable,
            default=droppable,
            key="drop_identifiers",
        )
    st.button(
        "Use this cohort",
        type="primary",
        on_click=_use,
        args=(frame, drop, " + ".join(names)),
        icon=":material/play_arrow:",
        key="use_cohort",
    )


def current_section() -> None:
    s = store()
    st.subheader("Cohort in use")
    n = s.cohort["arm"].value_counts()
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.markdown(f"**{s.source}**")
    c2.metric("Blinatumomab", int(n.get("blinatumomab", 0)))
    c3.metric("Chemotherapy", int(n.get("chemotherapy", 0)))
    st.button("Use demo data", on_click=use_demo, icon=":material/science:", key="use_demo")


def baseline_section() -> None:
    res = result()
    if res is None:
        return
    st.subheader("Baseline characteristics by arm")
    teach(
        "Compare arms with the standardised mean difference (SMD), not p-values: "
        "|SMD| below 0.1 is the usual sign of good balance."
    )
    st.caption(SMD_CONVENTIONS)
    tabs = st.tabs(["Before matching", "After matching"])
    with tabs[0]:
        table(baseline_display(res.baseline_before), height="content")
        csv_download(res.baseline_before, "baseline-before")
    with tabs[1]:
        if res.baseline_after is None:
            st.info(res.match_error or "No matched sample.")
        else:
            table(baseline_display(res.baseline_after), height="content")
            csv_download(res.baseline_after, "baseline-after")
    if len(res.excluded_outcome):
        st.markdown("**Excluded from every analysis** (an outcome is missing)")
        table(res.excluded_outcome)
    if len(res.excluded_from_matching):
        st.markdown("**Excluded from matching** (a matching covariate is missing)")
        table(res.excluded_from_matching)


def main() -> None:
    st.title("Data")
    current_section()
    uploads_section()
    baseline_section()
    with st.expander("Data dictionary: the columns BlinaStudy reads"):
        st.markdown(schema_markdown())


render(main)
