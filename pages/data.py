"""Data: the demo cohort or the user's own files, the mapping review (what each column
becomes, the open questions, every category value, the data cut-off, the dates behind
any patient's derived times), the validation report, flagged identifier columns, and
the baseline table by arm.

The page only lays out widgets: what to ask and how an answer changes the mapping is
decided by the pure helpers of :mod:`pages.common.ui_state` and the setters of
:class:`~blinastudy.data.mapping.Mapping`. Uploads stay in memory (session-scoped caches).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from typing import Any

import pandas as pd
import streamlit as st

from blinastudy.core.errors import InputError
from blinastudy.data.cohort import (
    CohortError,
    FileTable,
    combine_files,
    drop_columns,
    identifier_reasons,
    load_file,
    read_file,
)
from blinastudy.data.mapping import (
    MRD_UNITS,
    STATUS_TARGET,
    TIME_UNITS,
    Ambiguity,
    Mapping,
    MappingReview,
    ValueChoice,
    date_derivation,
    review_mapping,
    suggest_mapping,
)
from blinastudy.data.schema import REQUIRED_COLUMNS, Problem, schema_markdown
from blinastudy.report.mdtext import md_text
from pages.common.ui import (
    audited,
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
    update_settings,
    use_demo,
)
from pages.common.ui_state import (
    LEAVE_UNMAPPED,
    SMD_CONVENTIONS,
    ambiguity_options,
    answer_ambiguity,
    baseline_display,
    column_reasons,
    derivation_view,
    edited_table,
    mapping_dicts,
    mapping_from_table,
    mapping_table,
    mapping_with_values,
    problems_table,
    restored_mapping,
    still_needed,
    target_label,
    target_options,
    value_changes,
    value_groups,
    value_options,
    value_table,
    with_default_arm,
)

FILE_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "parquet"]
SLOTS = {
    "treated": "Treated cohort (or one file with both arms)",
    "pool": "Historical control pool (optional)",
}
#: Arm of the rows of a file without an arm column, by slot.
SLOT_ARMS = {"treated": "blinatumomab", "pool": "chemotherapy"}
ARM_FROM_FILE = "from its arm column"
ARM_CHOICES = [ARM_FROM_FILE, "blinatumomab", "chemotherapy"]

ReadResult = tuple[FileTable | None, list[Problem], str, Mapping | None]
LoadResult = tuple[pd.DataFrame | None, list[Problem], str]


# --------------------------------------------------------------------------------------
# Reading, reviewing and validating (cached per session, memory only)
# --------------------------------------------------------------------------------------


@st.cache_data(scope="session", max_entries=8, show_spinner=False)
def read_upload(name: str, digest: str, _data: bytes) -> ReadResult:
    """Read a file as it is and suggest a mapping.

    The only place an upload is parsed: once per session and file content (``digest``);
    the review, the validation and the cohort all start from this table (with the file
    row of each row, which their messages name).
    """
    try:
        raw = read_file(named_bytes(_data, name))
    except CohortError as exc:
        return None, list(exc.problems), exc.headline, None
    return raw, [], "", suggest_mapping(raw)


@st.cache_data(scope="session", max_entries=32, show_spinner=False)
def review(digest: str, mapping_json: str, needs_arm: bool, _raw: FileTable) -> MappingReview | str:
    """What the mapping leaves to decide, or why it does not fit the file."""
    try:
        return review_mapping(_raw, Mapping.from_json(mapping_json), needs_arm=needs_arm)
    except CohortError as exc:
        return "; ".join([exc.headline, *(str(p) for p in exc.problems)])


@st.cache_data(scope="session", max_entries=32, show_spinner=False)
def flags(digest: str, mapping_json: str | None, _raw: FileTable) -> dict[str, str]:
    """Identifier-like columns, judged by what the mapping makes of each column."""
    mapping = None if mapping_json is None else Mapping.from_json(mapping_json)
    return identifier_reasons(_raw.frame, mapping=mapping)


@st.cache_data(scope="session", max_entries=16, show_spinner=False)
def derivation(digest: str, mapping_json: str, _raw: FileTable) -> pd.DataFrame | str:
    """Every patient's dates beside the times derived from them."""
    try:
        return date_derivation(_raw, Mapping.from_json(mapping_json))
    except (InputError, CohortError) as exc:
        return str(exc)


@st.cache_data(scope="session", max_entries=8, show_spinner=False)
def validate(
    names: tuple[str, ...],
    digests: tuple[str, ...],
    mappings: tuple[str, ...],
    _raws: tuple[FileTable, ...],
) -> LoadResult:
    """Map and check one file, or a treated file plus a pool, as the analysis needs,
    from the tables :func:`read_upload` read (``names`` and ``digests`` say which)."""
    maps = [Mapping.from_json(m) for m in mappings]
    try:
        if len(_raws) == 1:
            table = load_file(_raws[0], maps[0], require_both_arms=True)
        else:
            table = combine_files(_raws[0], _raws[1], mappings=(maps[0], maps[1]))
    except CohortError as exc:
        return None, list(exc.problems), exc.headline
    return table.frame, [], ""


# --------------------------------------------------------------------------------------
# The mapping of one file: session state and the callbacks that change it
# --------------------------------------------------------------------------------------


def _option_text(labels: dict[str, str], key: str) -> str:
    """An option's label, shown literally."""
    return md_text(labels[key])


def upload_entry(
    slot: str, index: int, digest: str, raw: FileTable, suggested: Mapping
) -> dict[str, Any]:
    """The session's state of the file in ``slot``: its mapping and a version that
    renews the widgets whenever the mapping is changed from outside them.

    A new file starts from the suggestion (with the slot's arm when it has no arm
    column); a mapping saved in the settings for this file (``index``) replaces it
    when it fits the file, so that loaded settings plus the same files reproduce the
    cohort.
    """
    uploads = store().uploads
    entry = uploads.get(slot)
    if entry is None or entry["digest"] != digest:
        start = with_default_arm(suggested, list(map(str, raw.frame.columns)), SLOT_ARMS[slot])
        entry = {
            "digest": digest,
            "suggested": suggested,
            "mapping": start,
            "version": 0,
            "synced": None,
            "restored": False,
        }
        uploads[slot] = entry
    saved = store().settings.mappings
    key = json.dumps(saved[index], sort_keys=True) if index < len(saved) else None
    if key != entry["synced"]:
        entry["synced"] = key
        restored = restored_mapping(saved, index, raw.frame)
        if restored is not None and mapping_dicts([restored]) != mapping_dicts([entry["mapping"]]):
            entry["mapping"] = restored
            entry["version"] += 1
            entry["restored"] = True
    return entry


def _commit(slot: str, mapping: Mapping) -> None:
    entry = store().uploads.get(slot)
    if entry is not None:
        entry["mapping"] = mapping
        entry["version"] += 1


def _rebuild(
    mapping: Mapping, table_: pd.DataFrame, time_unit: str, mrd_unit: str, arm: str
) -> Mapping:
    return mapping_from_table(
        table_,
        mapping,
        time_unit=time_unit,
        mrd_unit=mrd_unit,
        arm=None if arm == ARM_FROM_FILE else arm,
    )


@callback
def _edit_columns(slot: str, key: str, shown: pd.DataFrame, mapping: Mapping) -> None:
    state = st.session_state.get(key) or {}
    try:
        new = mapping_from_table(
            edited_table(shown, state.get("edited_rows", {})),
            mapping,
            time_unit=mapping.time_unit,
            mrd_unit=mapping.mrd_unit,
            arm=mapping.arm,
        )
    except InputError:
        return  # the table keeps the edit and the page says what is wrong with it
    _commit(slot, new)


@callback
def _set_units(
    slot: str, keys: tuple[str, str, str], shown: pd.DataFrame, mapping: Mapping
) -> None:
    time_unit, mrd_unit, arm = (st.session_state[k] for k in keys)
    try:
        new = _rebuild(mapping, shown, time_unit, mrd_unit, arm)
    except InputError as exc:
        flash("error", f"That change was not applied: {md_text(exc)}")
        return
    _commit(slot, new)


@callback
def _confirm_offer(slot: str, key: str, column: str, mapping: Mapping) -> None:
    choice = st.session_state.get(key)
    try:
        new = mapping.with_column(column, None if choice in (None, LEAVE_UNMAPPED) else choice)
    except InputError as exc:
        flash("error", f"{md_text(repr(column))} was not mapped: {md_text(exc)}")
        return
    _commit(slot, new)


@callback
def _answer(slot: str, key: str, ambiguity: Ambiguity, mapping: Mapping) -> None:
    answer = st.session_state.get(key)
    if answer is None:
        return
    try:
        new = answer_ambiguity(mapping, ambiguity, answer)
    except InputError as exc:
        flash("error", f"That answer was not applied: {md_text(exc)}")
        return
    _commit(slot, new)


@callback
def _confirm_values(
    slot: str, target: str, changes: list[tuple[str, str | None]], mapping: Mapping
) -> None:
    try:
        new = mapping_with_values(mapping, target, changes)
    except InputError as exc:
        flash("error", f"Those values were not applied: {md_text(exc)}")
        return
    _commit(slot, new)


@callback
def _set_cutoff(slot: str, key: str, mapping: Mapping) -> None:
    _commit(slot, mapping.with_cutoff(st.session_state.get(key)))


@callback
def _load_mapping(slot: str) -> None:
    upload = st.session_state.get(f"mapload.{slot}")
    entry = store().uploads.get(slot)
    if upload is None or entry is None:
        return
    try:
        loaded = Mapping.from_json(upload.getvalue())
    except InputError as exc:
        flash("error", f"That mapping was not loaded: {md_text(exc)}")
        return
    entry["restored"] = False
    _commit(slot, loaded)


# --------------------------------------------------------------------------------------
# Drawing the review of one file
# --------------------------------------------------------------------------------------


def rows_height(n: int, most: int = 25) -> int:
    """Pixel height that shows ``n`` rows of a table (at most ``most``, then it scrolls)."""
    return (min(n, most) + 1) * 35 + 3


def columns_editor(
    slot: str, tag: str, raw: FileTable, entry: dict[str, Any], needs_arm: bool
) -> Mapping | None:
    """The column table, units and arm; returns the mapping they show (``None`` with a
    message when the choices cannot be combined)."""
    committed: Mapping = entry["mapping"]
    columns = list(map(str, raw.frame.columns))
    first = review(entry["digest"], committed.to_json(), needs_arm, raw)
    if isinstance(first, MappingReview):
        reasons = column_reasons(columns, committed, entry["suggested"], first)
    else:
        reasons = {}
        st.warning(
            f"The mapping does not fit this file ({md_text(first)}). The table below leaves out what "
            "names columns the file does not have; check it.",
            icon=":material/warning:",
        )
    st.markdown("**What each column becomes**")
    st.caption(
        "Choose a role in the 'becomes' column: a column of the data dictionary, a date "
        "(times are then derived from the dates), the patient status, or keep the column "
        "under its own name."
    )
    shown = mapping_table(columns, committed, reasons)
    key = f"map.{tag}"
    edited = st.data_editor(
        shown,
        key=key,
        hide_index=True,
        disabled=["file column", "why"],
        on_change=_edit_columns,
        args=(slot, key, shown, committed),
        height=rows_height(len(shown)),
        column_config={
            "becomes": st.column_config.SelectboxColumn(
                "becomes",
                options=target_options(),
                required=True,
                format_func=lambda value: target_label(str(value)),
            ),
            "why": st.column_config.TextColumn("why", width="large"),
        },
        width="stretch",
    )
    c1, c2, c3 = st.columns(3)
    keys = (f"tu.{tag}", f"mu.{tag}", f"arm.{tag}")
    args = (slot, keys, shown, committed)
    time_unit = c1.selectbox(
        "Time unit of its time columns",
        TIME_UNITS,
        index=TIME_UNITS.index(committed.time_unit),
        key=keys[0],
        on_change=_set_units,
        args=args,
    )
    mrd_unit = c2.selectbox(
        "MRD unit",
        MRD_UNITS,
        index=MRD_UNITS.index(committed.mrd_unit),
        key=keys[1],
        on_change=_set_units,
        args=args,
        help="percent: 0.1 means 0.1 %. fraction: 0.001 means 0.1 %.",
    )
    arm = c3.selectbox(
        "Arm of its rows",
        ARM_CHOICES,
        index=ARM_CHOICES.index(committed.arm or ARM_FROM_FILE),
        key=keys[2],
        on_change=_set_units,
        args=args,
        help="For a file with one arm and no arm column.",
    )
    try:
        return _rebuild(committed, edited, time_unit, mrd_unit, arm)
    except InputError as exc:
        st.error(f"This mapping cannot be used: {md_text(exc)}")
        return None


def offers_section(slot: str, tag: str, mapping: Mapping, rev: MappingReview) -> None:
    """Columns whose role is not clear: left unmapped until the user picks one."""
    if not rev.offers:
        return
    st.markdown("**Columns to confirm** (left unmapped until you choose)")
    for i, offer in enumerate(rev.offers):
        key = f"offer.{tag}.{i}"
        st.selectbox(
            f"What is {md_text(repr(offer.column))}?",
            [LEAVE_UNMAPPED, *offer.candidates],
            format_func=target_label,
            key=key,
            on_change=_confirm_offer,
            args=(slot, key, offer.column, mapping),
        )
        st.caption(md_text(offer.reason))


def questions_section(slot: str, tag: str, mapping: Mapping, rev: MappingReview) -> None:
    """The questions the data cannot answer: date order, MRD unit, detection limit."""
    if not rev.ambiguities:
        return
    st.markdown("**Questions about this file**")
    for i, a in enumerate(rev.ambiguities):
        key = f"ask.{tag}.{i}"
        args = (slot, key, a, mapping)
        if a.kind == "mrd_limit":
            st.number_input(
                md_text(a.message),
                min_value=0.000001,
                max_value=100.0,
                value=None,
                step=0.001,
                format="%g",
                placeholder="detection limit, in percent",
                key=key,
                on_change=_answer,
                args=args,
                help="Flow cytometry MRD is usually reported down to 10^-4 (0.01 %), "
                "PCR down to 10^-5 (0.001 %).",
            )
        else:
            labels = ambiguity_options(a)
            st.radio(
                md_text(a.message),
                list(labels),
                index=None,
                format_func=functools.partial(_option_text, labels),
                key=key,
                on_change=_answer,
                args=args,
            )
        if a.suggestion is not None:
            st.caption(
                f"Suggested: {md_text(a.suggestion)}, because {md_text(a.reason)}. "
                "Not applied until you choose it."
            )


def values_editor(slot: str, tag: str, i: int, group: list[ValueChoice], mapping: Mapping) -> None:
    """One column's distinct values against the canonical codes, with a confirm button
    for the choices not yet in the mapping."""
    first = group[0]
    what = "patient status" if first.target == STATUS_TARGET else first.target
    st.markdown(f"{md_text(repr(first.column))} → {md_text(what)}")
    edited = st.data_editor(
        value_table(group),
        key=f"values.{tag}.{i}",
        height=rows_height(len(group)),
        hide_index=True,
        disabled=["value", "rows", "why"],
        column_config={
            "reads as": st.column_config.SelectboxColumn("reads as", options=value_options(first)),
            "why": st.column_config.TextColumn("why", width="large"),
        },
        width="stretch",
    )
    changes = value_changes(edited, group)
    if changes:
        n = len(changes)
        st.button(
            f"Confirm {n} value{'s' if n != 1 else ''} of {md_text(repr(first.column))}",
            key=f"valok.{tag}.{i}",
            on_click=_confirm_values,
            args=(slot, first.target, changes, mapping),
            icon=":material/check:",
        )


def values_section(slot: str, tag: str, mapping: Mapping, rev: MappingReview) -> None:
    """Every category, 0/1 and status column: columns with values to confirm first."""
    groups = value_groups(rev.values)
    if not groups:
        return
    st.markdown("**Values of the category and status columns**")
    if any(c.target == STATUS_TARGET for c in rev.values):
        st.caption(
            "Status codes: event-free (alive, no event), alive (events come from the dates), "
            "relapse / induction-failure / second-malignancy (that event happened; its date is "
            "needed), dead (the date of death is needed)."
        )
    pending = [(i, g) for i, g in enumerate(groups) if any(c.source == "unrecognised" for c in g)]
    settled = [(i, g) for i, g in enumerate(groups) if (i, g) not in pending]
    for i, group in pending:
        values_editor(slot, tag, i, group, mapping)
    if settled:
        with st.expander(f"Columns whose values are all recognised ({len(settled)})"):
            for i, group in settled:
                values_editor(slot, tag, i, group, mapping)


def cutoff_section(slot: str, tag: str, mapping: Mapping) -> None:
    """The data cut-off: events after it are censored there (optional)."""
    if not mapping.dates:
        return
    key = f"cutoff.{tag}"
    st.date_input(
        "Data cut-off (optional)",
        value=mapping.cutoff,
        min_value=dt.date(1950, 1, 1),
        max_value=dt.date(2100, 12, 31),
        format="YYYY-MM-DD",
        key=key,
        on_change=_set_cutoff,
        args=(slot, key, mapping),
        help="Follow-up is counted up to this date: a later event or death is censored at "
        "the cut-off. Leave it empty to use every date as given.",
    )


def trace_section(slot: str, raw: FileTable, digest: str, mapping: Mapping) -> None:
    """Any patient's dates beside the times derived from them."""
    if not mapping.dates:
        return
    with st.expander("Dates behind the derived times (any patient)"):
        frame = derivation(digest, mapping.to_json(), raw)
        if isinstance(frame, str):
            st.info(md_text(frame))
            return
        labels = [
            f"{pid if pid is not None else '(no patient_id)'} (row {row})"
            for pid, row in zip(frame["patient_id"], frame["row"], strict=True)
        ]
        pos = st.selectbox(
            "Patient", range(len(frame)), format_func=labels.__getitem__, key=f"trace.{slot}"
        )
        table(derivation_view(frame.iloc[int(pos or 0)]), height="content")


def needed_section(rev: MappingReview) -> None:
    needed = still_needed(rev)
    if needed:
        st.warning(
            "**Still needed before this file can be loaded**\n"
            + "\n".join(f"- {md_text(line)}" for line in needed),
            icon=":material/pending_actions:",
        )
    else:
        st.success(
            "Every column, question and value of this file is settled.",
            icon=":material/task_alt:",
        )


def parsed(upload: Any) -> tuple[str, ReadResult]:
    """The content hash of an upload and what :func:`read_upload` made of it.

    ``upload`` is anything with ``.name`` and ``.getvalue()`` (a Streamlit upload or
    an in-memory file).
    """
    data = bytes(upload.getvalue())
    digest = hashlib.sha256(data).hexdigest()
    return digest, read_upload(upload.name, digest, data)


def handle_upload(
    slot: str, index: int, name: str, digest: str, read: ReadResult, needs_arm: bool
) -> tuple[Mapping | None, MappingReview | None, dict[str, str]]:
    """Draw the mapping review of one uploaded file, ``name``, read as ``read``.

    ``index`` is its place in :attr:`Settings.mappings`. Returns the mapping to use
    and its review (``None`` when the file cannot be read or the mapping does not
    fit), and the identifier-like columns with the reason each was flagged.
    """
    raw, problems, headline, suggested = read
    if raw is None or suggested is None:
        report(headline or f"{name} cannot be read", problems, f"problems-{slot}")
        return None, None, {}
    entry = upload_entry(slot, index, digest, raw, suggested)
    tag = f"{slot}.{digest[:10]}.{entry['version']}"
    st.caption(
        f"{len(raw)} rows, {raw.frame.shape[1]} columns. " + "; ".join(map(md_text, raw.notes))
    )
    if entry["restored"]:
        st.caption("The mapping saved in the loaded settings was applied to this file.")
    mapping = columns_editor(slot, tag, raw, entry, needs_arm)
    rev = None if mapping is None else review(digest, mapping.to_json(), needs_arm, raw)
    if isinstance(rev, str):
        st.error(f"This mapping does not fit the file: {rev}")
        rev = None
    if mapping is None or rev is None:
        return None, None, flags(digest, None, raw)
    offers_section(slot, tag, mapping, rev)
    questions_section(slot, tag, mapping, rev)
    values_section(slot, tag, mapping, rev)
    cutoff_section(slot, tag, mapping)
    needed_section(rev)
    trace_section(slot, raw, digest, mapping)
    suggested_notes: Mapping = entry["suggested"]
    if suggested_notes.notes:
        with st.expander("What the suggested mapping guessed (check these)"):
            st.markdown("\n".join(f"- {md_text(note)}" for note in suggested_notes.notes))
    m1, m2 = st.columns(2)
    m1.download_button(
        "Save mapping (JSON)",
        data=audited(mapping.to_json, f"mapping:{slot}"),
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
    return mapping, rev, flags(digest, mapping.to_json(), raw)


def report(headline: str, problems: list[Problem], name: str) -> None:
    """The validation report: what is wrong, where, as a table (never a traceback)."""
    st.error(md_text(headline), icon=":material/rule:")
    if problems:
        frame = problems_table(problems)
        if not frame["file"].astype(bool).any():
            frame = frame.drop(columns="file")
        table(frame)
        csv_download(frame, name, "Problems (CSV)")


@callback
def _use(
    frame: pd.DataFrame, drop: list[str], source: str, mappings: tuple[dict[str, Any], ...]
) -> None:
    try:
        cohort = drop_columns(frame, drop) if drop else frame
    except InputError as exc:
        flash("error", md_text(exc))
        return
    set_cohort(cohort.copy(), source, is_demo=False)
    update_settings(mappings=mappings)  # saved with the settings: files + settings reproduce it
    flash("success", f"Now analysing {md_text(source)}: {len(cohort)} patients.")


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


def blocked(reason: str) -> None:
    """The load button, disabled, with the reason."""
    st.button(
        "Use this cohort",
        type="primary",
        disabled=True,
        icon=":material/play_arrow:",
        key="use_cohort_blocked",
        help=reason,
    )
    st.caption(reason)


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
    needs_arm = len(present) == 1
    mappings: dict[str, Mapping] = {}
    ready = True
    flagged: dict[str, tuple[str, str]] = {}
    digests: dict[str, str] = {}
    raws: dict[str, FileTable] = {}
    for index, (slot, up) in enumerate(present.items()):
        digests[slot], read = parsed(up)
        if read[0] is not None:
            raws[slot] = read[0]
        with st.container(border=True):
            st.markdown(f"#### Columns of {md_text(up.name)}")
            mapping, rev, reasons = handle_upload(
                slot, index, up.name, digests[slot], read, needs_arm
            )
        if mapping is not None:
            mappings[slot] = mapping
        ready = ready and rev is not None and rev.ready
        for col, why in reasons.items():
            name = mapping.columns.get(col, col) if mapping is not None else col
            flagged[name] = (f"{up.name}: {col}", why)
    identifiers(flagged)
    if len(mappings) < len(present):
        return
    names = tuple(present[s].name for s in present)
    frame, problems, headline = validate(
        names,
        tuple(digests[s] for s in present),
        tuple(mappings[s].to_json() for s in present),
        tuple(raws[s] for s in present),
    )
    st.markdown("**Validation**")
    if frame is None:
        report(headline, problems, "problems")
        blocked("Fix the problems listed above (in the file or in the mapping) first.")
        return
    counts = frame["arm"].value_counts()
    st.success(
        f"{len(frame)} patients pass every check: "
        + ", ".join(f"{n} {md_text(arm)}" for arm, n in counts.items()),
        icon=":material/check_circle:",
    )
    if not ready:
        blocked("Settle what is still needed above first.")
        return
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
        args=(frame, drop, " + ".join(names), mapping_dicts([mappings[s] for s in present])),
        icon=":material/play_arrow:",
        key="use_cohort",
    )


def current_section() -> None:
    s = store()
    st.subheader("Cohort in use")
    n = s.cohort["arm"].value_counts()
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.markdown(f"**{md_text(s.source)}**")
    c2.metric("Blinatumomab", int(n.get("blinatumomab", 0)))
    c3.metric("Chemotherapy", int(n.get("chemotherapy", 0)))
    st.button("Use demo data", on_click=use_demo, icon=":material/science:", key="use_demo")


def baseline_section() -> None:
    res = result(parts=["baseline"])
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
            st.info(md_text(res.match_error or "No matched sample."))
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
    current_section()
    uploads_section()
    baseline_section()
    with st.expander("Data dictionary: the columns BlinaStudy reads"):
        st.markdown(schema_markdown())


render(main, "Data")
