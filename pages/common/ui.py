"""What every page shares: the session's cohort and settings, the cached analysis,
widgets bound to settings fields, chart downloads, teaching notes, the sidebar and
the error guard.

Every page calls :func:`render`, which draws the common frame (sidebar, display
mode, demo label, messages) and then the page inside the error guard. The frame is
drawn by the page rather than by ``app.py`` so that a page looks the same however
Streamlit reaches it (through the router, or directly on a cold start's deep link).

The cohort and the :class:`~blinastudy.analysis.settings.Settings` live in one
:class:`Store` object in ``st.session_state``. Widgets are bound to a settings
field: they start from the settings and write back through an ``on_change``
callback, so the settings object is always the whole state of the analysis.
Results come from :func:`blinastudy.analysis.analyze`, cached per session by the
cohort's content hash and the settings JSON, in memory only; beneath that, a
per-session :class:`~blinastudy.analysis.stepcache.StepCache` keeps each analysis step, so
that a control change recomputes only the steps that read it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import re
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
import streamlit as st
from streamlit import net_util
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.caching import clear_session_data_cache
from streamlit.runtime.scriptrunner import get_script_run_ctx

from blinastudy.analysis.settings import Settings
from blinastudy.analysis.stepcache import StepCache
from blinastudy.core.budget import BudgetExceeded, StepBudget
from blinastudy.core.errors import InputError
from blinastudy.data.cohort import content_hash
from blinastudy.data.demo import DEMO_LABEL, demo_cohort
from blinastudy.report.export import neutralise_formulas, to_csv_bytes
from blinastudy.report.mdtext import md_text
from pages.common.audit import audit, configure_audit_log, settings_hash
from pages.common.budget import analysis_budget, page_budget, show_budget_exceeded
from pages.common.serving import keep_uploads_in_memory, start_memory_return
from pages.common.ui_state import adapt_settings, analysis_key, get_field, sweep_settings

if TYPE_CHECKING:
    # loaded on first use, not at start-up: the first page draws while they load
    from blinastudy.analysis import AnalysisResult
    from blinastudy.report.figures import Figure

LOG = logging.getLogger("blinastudy.app")
configure_audit_log()
#: One line per script run (page and run kind, CPU and elapsed milliseconds; no data).
TIMING = logging.getLogger("blinastudy.timing")
#: The environment variable that turns the timing lines on ("1").
TIMING_ENV = "BLINASTUDY_TIMING"
#: Session-state key of the title of the page the session is on (for fragment runs).
PAGE_KEY = "blinastudy.page"


def configure_timing_log(environ: Mapping[str, str] = os.environ) -> logging.Logger:
    """The timing logger: off (warnings only) unless ``BLINASTUDY_TIMING=1``.

    When on, it logs at INFO to standard error, one line as it is per script run, with
    a handler of its own (the app's other logs keep their level). Calling it again
    changes nothing but the level.

    Examples
    --------
    >>> configure_timing_log({}).isEnabledFor(logging.INFO)
    False
    >>> configure_timing_log({"BLINASTUDY_TIMING": "1"}).isEnabledFor(logging.INFO)
    True
    >>> _ = configure_timing_log({})
    """
    if environ.get(TIMING_ENV, "") != "1":
        TIMING.setLevel(logging.WARNING)
        return TIMING
    if not TIMING.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
        TIMING.addHandler(handler)
        TIMING.propagate = False
    TIMING.setLevel(logging.INFO)
    return TIMING


configure_timing_log()


@contextlib.contextmanager
def timed(page: str, run: str) -> Iterator[None]:
    """Log the CPU time of this thread (the session's script thread) and the elapsed
    time of the block, in milliseconds, as ``page=<title> run=<kind> cpu_ms=<n>
    wall_ms=<n>`` on :data:`TIMING` (when it is on)."""
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        if TIMING.isEnabledFor(logging.INFO):
            TIMING.info(
                "page=%s run=%s cpu_ms=%.0f wall_ms=%.0f",
                page.replace(" ", "_"),
                run,
                1000 * (time.thread_time() - cpu),
                1000 * (time.perf_counter() - wall),
            )


def never_look_up_external_ip() -> None:
    """Stop Streamlit from asking checkip.amazonaws.com for this machine's address.

    Streamlit checks a cross-origin WebSocket's Origin against localhost, this
    machine's addresses and ``server.corsAllowedOrigins``; for the external address it
    makes a blocking HTTP request (up to 2 s, repeated for every foreign Origin while it
    fails), which stalls the server and calls a host the app must not call. The
    address is pinned to ``127.0.0.1``, which the check allows anyway, so the allowed
    origins are unchanged and the request is never made once a page has run. (Before
    the first page run the proxy refuses foreign Origins: docs/deploy/nginx.conf.)
    """
    if net_util._external_ip is None:
        net_util._external_ip = "127.0.0.1"


never_look_up_external_ip()
STORE_KEY = "blinastudy.store"
#: Session-state key of the last (cohort hash, settings hash) written to the audit log.
AUDITED_KEY = "blinastudy.audited"
#: Session-state key set when the session's data was forgotten (go to the start page).
FORGOTTEN_KEY = "blinastudy.forgotten"
START_PAGE = "pages/data.py"
WIDGET_PREFIX = "w."
F = TypeVar("F", bound=Callable[..., Any])


def callback(func: F) -> F:
    """Make a widget callback safe: an unexpected exception becomes a message with an
    error id (callbacks run before the page, outside :func:`guard`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            error_id = uuid.uuid4().hex[:12]
            LOG.error("callback error %s (%s)", error_id, type(exc).__name__)
            flash(
                "error",
                f"That change could not be applied. If it keeps happening, report error id "
                f"`{error_id}`.",
            )
            return None

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------------------
# Session state
# --------------------------------------------------------------------------------------


@dataclass
class Store:
    """The session's cohort and settings (one per browser session, memory only)."""

    cohort: pd.DataFrame
    cohort_hash: str
    source: str
    is_demo: bool
    settings: Settings = field(default_factory=Settings)
    flash: list[tuple[str, str]] = field(default_factory=list)
    uploads: dict[str, Any] = field(default_factory=dict)


@st.cache_data(show_spinner=False)
def _demo_cohort() -> pd.DataFrame:
    # Synthetic data (no patient): safe to share between sessions.
    return demo_cohort()


def store() -> Store:
    """The session's store, created on the demo cohort at the first call."""
    if STORE_KEY not in st.session_state:
        cohort = _demo_cohort()
        st.session_state[STORE_KEY] = Store(
            cohort=cohort,
            cohort_hash=content_hash(cohort),
            source=DEMO_LABEL,
            is_demo=True,
            settings=adapt_settings(Settings(), cohort),
        )
    value: Store = st.session_state[STORE_KEY]
    return value


def reset_widgets() -> None:
    """Forget every bound widget's value so that widgets re-read the settings."""
    for key in list(st.session_state.keys()):
        if str(key).startswith(WIDGET_PREFIX):
            del st.session_state[key]


def set_cohort(cohort: pd.DataFrame, source: str, *, is_demo: bool) -> None:
    """Make ``cohort`` the session's cohort and fit the settings to its columns (an
    audit event: its hash and size, never its name or values)."""
    s = store()
    s.cohort = cohort
    s.cohort_hash = content_hash(cohort)
    s.source = source
    s.is_demo = is_demo
    s.settings = adapt_settings(s.settings, cohort)
    reset_widgets()
    audit_event(
        "demo" if is_demo else "upload",
        cohort_hash=s.cohort_hash,
        rows=len(cohort),
        columns=cohort.shape[1],
    )


# --------------------------------------------------------------------------------------
# Audit log and forgetting
# --------------------------------------------------------------------------------------


def current_user() -> str:
    """Who is using the app, as the reverse proxy says: ``st.user``'s ``user`` (the
    header mapped to it by ``server.trustedUserHeaders``) or ``email`` (a sign-in),
    else ``anonymous``."""
    try:
        for key in ("user", "email"):
            value = st.user.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:200]
    except Exception as exc:  # no session (bare mode) or no user information
        LOG.debug("no user (%s)", type(exc).__name__)
    return "anonymous"


def audit_event(action: str, user: str | None = None, **fields: Any) -> None:
    """Write an audit event (:func:`pages.common.audit.audit`) for ``user`` (default: the
    current user); a failure is logged by type and never stops the page."""
    try:
        audit(action, current_user() if user is None else user, **fields)
    except Exception as exc:
        LOG.error("audit error (%s, %s)", action, type(exc).__name__)


def audited(make: Callable[[], str | bytes], kind: str) -> Callable[[], str | bytes]:
    """A download's data, made on click and written to the audit log as ``kind``.

    The user is read now: the click is served outside the script run, without it.
    """
    user = current_user()

    def run() -> str | bytes:
        audit_event("download", user, kind=kind)
        return make()

    return run


def audit_analysis() -> None:
    """An audit event for each new (cohort, analysis settings) pair of the session."""
    s = store()
    pair = (s.cohort_hash, settings_hash(analysis_key(s.settings)))
    if st.session_state.get(AUDITED_KEY) != pair:
        st.session_state[AUDITED_KEY] = pair
        audit_event("analysis", cohort_hash=pair[0], settings_hash=pair[1], demo=s.is_demo)


@callback
def forget() -> None:
    """Forget the session's data now: every session-state entry (cohort, settings,
    results, uploads, widget values), the session's caches and its uploaded files; the
    next run starts on the start page with the demo cohort."""
    ctx = get_script_run_ctx()
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if ctx is not None:
        clear_session_data_cache(ctx.session_id)
        ctx.uploaded_file_mgr.remove_session_files(ctx.session_id)
    audit_event("forget")
    st.session_state[FORGOTTEN_KEY] = True


@callback
def use_demo() -> None:
    """Switch the session back to the synthetic demo cohort."""
    set_cohort(_demo_cohort(), DEMO_LABEL, is_demo=True)
    flash("success", f"Using the {DEMO_LABEL.lower()}.")


def flash(kind: str, message: str) -> None:
    """Queue a message for the next render (callbacks cannot draw).

    ``message`` is Markdown: pass every file name, column name, value or error text in
    it through :func:`~blinastudy.report.mdtext.md_text`.
    """
    store().flash.append((kind, message))


def show_flash() -> None:
    """Draw and clear the queued messages."""
    s = store()
    for kind, message in s.flash:
        {"error": st.error, "warning": st.warning, "success": st.success}.get(kind, st.info)(
            message
        )
    s.flash.clear()


def update_settings(**changes: Any) -> bool:
    """Apply ``Settings.update(**changes)``; an invalid value is reported, not raised."""
    s = store()
    try:
        s.settings = s.settings.update(**changes)
    except (InputError, TypeError) as exc:
        flash("error", f"That setting was not applied: {md_text(exc)}")
        return False
    return True


def replace_settings(settings: Settings) -> None:
    """Replace the whole settings object (e.g. loaded from JSON) and refresh widgets."""
    store().settings = settings
    reset_widgets()


def widget_key(field_name: str) -> str:
    """Session-state key of the widget bound to a settings field."""
    return f"{WIDGET_PREFIX}{field_name}"


@callback
def set_field(field_name: str, value: Any) -> None:
    """Change one settings field from code and let its widget follow."""
    if update_settings(**{field_name: value}):
        st.session_state.pop(widget_key(field_name), None)


@callback
def _on_change(field_name: str, key: str, convert: Callable[[Any], Any] | None) -> None:
    value = st.session_state[key]
    if convert is not None:
        value = convert(value)
    if not update_settings(**{field_name: value}):
        st.session_state.pop(key, None)


def bound(
    widget: Callable[..., Any],
    label: str,
    field_name: str,
    *,
    to_widget: Callable[[Any], Any] | None = None,
    from_widget: Callable[[Any], Any] | None = None,
    key: str | None = None,
    **kwargs: Any,
) -> Any:
    """Draw ``widget`` bound to the settings field ``field_name`` (``a__b`` for nested).

    The widget starts from the settings; a change is written back by a callback
    before the rerun, so everything drawn after it sees the new settings.
    """
    key = key or widget_key(field_name)
    # The settings are the one state: the widget is given them on every run. (Streamlit
    # treats a widget drawn by another page as new and would show its default - e.g. a
    # sidebar toggle shown off while on, whose first click then does nothing.)
    value = get_field(store().settings, field_name)
    st.session_state[key] = to_widget(value) if to_widget else value
    return widget(
        label,
        key=key,
        on_change=_on_change,
        args=(field_name, key, from_widget),
        **kwargs,
    )


# --------------------------------------------------------------------------------------
# Analysis (cached per session, in memory)
# --------------------------------------------------------------------------------------


STEPS_KEY = "blinastudy.steps"
#: Bounds of a session's step cache: entries, and estimated bytes.
STEP_CACHE_ENTRIES = 256
STEP_CACHE_BYTES = 150_000_000


def _step_cache() -> StepCache:
    """The session's step cache (in session state: freed with the session)."""
    cache = st.session_state.get(STEPS_KEY)
    if not isinstance(cache, StepCache):
        cache = StepCache(max_entries=STEP_CACHE_ENTRIES, max_bytes=STEP_CACHE_BYTES)
        st.session_state[STEPS_KEY] = cache
    return cache


@st.cache_data(scope="session", max_entries=24, show_spinner=False)
def _analysis(
    cohort_key: str,
    settings_json: str,
    parts: tuple[str, ...] | None,
    _cohort: pd.DataFrame,
    _steps: StepCache,
    _budget: StepBudget | None = None,
) -> AnalysisResult:
    # Whole results by settings and parts (instant back-and-forth); below them, the
    # session's step cache recomputes only the steps whose inputs changed.
    settings = Settings.from_json(settings_json)
    from blinastudy.analysis import analyze

    return analyze(
        _cohort,
        settings,
        sweep=False,
        replicates=settings.bootstrap.live_replicates,
        cache=_steps,
        cohort_key=cohort_key,
        parts=parts,
        progress=_budget,
    )


@st.cache_data(scope="session", max_entries=8, show_spinner=False)
def _sweep(
    cohort_key: str,
    settings_json: str,
    _cohort: pd.DataFrame,
    _steps: StepCache,
    _budget: StepBudget | None = None,
) -> pd.DataFrame:
    settings = Settings.from_json(settings_json)
    from blinastudy.analysis import sweep_result

    return sweep_result(_cohort, settings, cache=_steps, cohort_key=cohort_key, progress=_budget)


def result(parts: Sequence[str] | None = None) -> AnalysisResult | None:
    """The analysis of the session's cohort under its settings, or ``None`` after
    showing why it cannot be computed.

    ``parts`` (from :data:`blinastudy.analysis.PARTS`) limits it to what the page
    shows: the rest is computed when a page showing it opens.
    """
    s = store()
    wanted = None if parts is None else tuple(sorted(set(parts)))
    try:
        replicates = s.settings.bootstrap.live_replicates
        resampled = wanted is None or bool({"survival", "immortal", "competing"} & set(wanted))
        busy = f" (pair bootstrap, {replicates} replicates)" if resampled and replicates else ""
        with st.spinner(f"Updating the analysis{busy}..."):
            return _analysis(
                s.cohort_hash,
                analysis_key(s.settings),
                wanted,
                s.cohort,
                _step_cache(),
                analysis_budget(s.cohort),
            )
    except InputError as exc:
        error = exc
    except BudgetExceeded as exc:
        show_budget_exceeded(exc)
        return None
    flt = s.settings.subgroup_filter
    if flt is not None:
        # A subgroup chosen earlier can stop existing (another MRD threshold, another
        # matched set): drop the filter if that is what stops the analysis.
        unfiltered = s.settings.update(subgroup_filter=None)
        try:
            res = _analysis(
                s.cohort_hash,
                analysis_key(unfiltered),
                wanted,
                s.cohort,
                _step_cache(),
                analysis_budget(s.cohort),
            )
        except InputError:
            res = None
        except BudgetExceeded as exc:
            show_budget_exceeded(exc)
            return None
        if res is not None:
            s.settings = unfiltered
            st.warning(
                f"The subgroup filter {md_text(flt[0])} = {md_text(flt[1])} no longer matches "
                "any patient "
                "with these settings, so it was removed.",
                icon=":material/filter_alt_off:",
            )
            return res
    st.error(f"The analysis cannot run with these data and settings: {md_text(error)}")
    return None


def sweep() -> pd.DataFrame | None:
    """The caliper sweep (independent of the current caliper, so cached across moves)."""
    s = store()
    try:
        with st.spinner("Matching at every caliper width..."):
            return _sweep(
                s.cohort_hash,
                sweep_settings(s.settings).to_json(),
                s.cohort,
                _step_cache(),
                analysis_budget(s.cohort),
            )
    except InputError as exc:
        st.warning(f"The caliper sweep cannot run: {md_text(exc)}")
        return None
    except BudgetExceeded as exc:
        show_budget_exceeded(exc)
        return None


# --------------------------------------------------------------------------------------
# Display helpers
# --------------------------------------------------------------------------------------


def presentation() -> bool:
    """Whether presentation mode is on."""
    return store().settings.display.presentation


def teaching() -> bool:
    """Whether teaching mode is on."""
    return store().settings.display.teaching


def teach(text: str) -> None:
    """A short explanation for residents, shown only in teaching mode."""
    if teaching():
        st.info(text, icon=":material/school:")


def teach_topic(key: str, res: AnalysisResult | None = None) -> None:
    """The shared explanation of a topic (:mod:`blinastudy.report.teaching`) with the current
    numbers, shown only in teaching mode."""
    if not teaching():
        return
    from blinastudy.report.teaching import TEXTS, TITLES, explain

    try:
        text = explain(key, store().settings, res)
    except Exception as exc:  # the fixed text still helps when the numbers cannot be read
        LOG.error("teaching text %s (%s)", key, type(exc).__name__)
        text = TEXTS[key]
    # The fixed text is Markdown; the numbers after it name columns of the data.
    fixed = TEXTS[key]
    numbers = text[len(fixed) :] if text.startswith(fixed) else ""
    st.info(f"**{TITLES[key]}**\n\n{fixed}{md_text(numbers)}", icon=":material/school:")


def csv_bytes(table: pd.DataFrame) -> bytes:
    """A table as CSV bytes with spreadsheet formulas neutralised."""
    return to_csv_bytes(table)


def csv_download(table: pd.DataFrame, name: str, label: str = "Table (CSV)") -> None:
    """A download button for ``table`` as formula-safe CSV (made on click, audited)."""
    st.download_button(
        label,
        data=audited(lambda: csv_bytes(table), f"csv:{name}"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"dl.{name}.csv",
        on_click="ignore",
        icon=":material/download:",
    )


def _deferred(make: Callable[[], str | bytes], kind: str) -> Callable[[], str | bytes]:
    """A download generated on click (audited), that fails with a short note instead of
    a trace."""
    user = current_user()

    def run() -> str | bytes:
        audit_event("download", user, kind=kind)
        try:
            return make()
        except Exception as exc:
            error_id = uuid.uuid4().hex[:12]
            LOG.error("download error %s (%s, %s)", error_id, kind, type(exc).__name__)
            return f"The {kind.upper()} could not be drawn (error id {error_id})."

    return run


def chart(
    figure: Any,
    table: pd.DataFrame,
    name: str,
    *,
    key: str | None = None,
    **kwargs: Any,
) -> Any:
    """Draw an Altair chart with SVG, PNG and CSV (its table) downloads under it.

    SVG and PNG are rendered only when the button is clicked.
    """
    from blinastudy.report import charts

    kwargs.setdefault("width", "content")
    kwargs.setdefault("theme", None)  # as designed, and as the SVG/PNG downloads look
    event = st.altair_chart(figure, key=key, **kwargs)
    cols = st.columns(3)
    drawings: tuple[tuple[str, str, Callable[[Any], str | bytes]], ...] = (
        ("svg", "image/svg+xml", charts.to_svg),
        ("png", "image/png", charts.to_png),
    )
    for col, (kind, mime, draw) in zip(cols, drawings, strict=False):
        with col:
            st.download_button(
                kind.upper(),
                data=_deferred(functools.partial(draw, figure), kind),
                file_name=f"{name}.{kind}",
                mime=mime,
                key=f"dl.{name}.{kind}",
                on_click="ignore",
                icon=":material/download:",
            )
    with cols[2]:
        csv_download(table, name)
    return event


def show_figure(res: AnalysisResult, name: str, *, fit: float | None = None, **kwargs: Any) -> Any:
    """Draw a figure of the analysis (:func:`blinastudy.report.figures.figure`: title and
    subtitle with population, endpoint, method and level, the synthetic-data mark) with
    downloads named after it; ``kwargs`` go to the figure (e.g. ``competing=True``) or,
    for ``width`` and ``key``, to the chart.

    In presentation mode the figure keeps the size it is drawn at for a 16:9 screen
    (not its container's width), and its title and subtitle are broken into lines of
    at most ``fit`` pixels (default :data:`FIT_WIDE`), so that a long line of context
    does not make the figure wider than its place on the screen.

    Its text alternatives: the title and subtitle as the chart's accessible
    description, and the numbers drawn as a table in a closed expander under it."""
    from blinastudy.report.figures import figure

    chart_kwargs = {k: kwargs.pop(k) for k in ("width", "key", "on_select") if k in kwargs}
    if presentation():
        chart_kwargs.pop("width", None)
    fig = figure(res, name, presentation=presentation(), **kwargs)
    if fig is None:
        return None
    drawn = _presented(fig, FIT_WIDE if fit is None else fit) if presentation() else fig.chart
    described = drawn.properties(description=". ".join([fig.title, *fig.context]))
    event = chart(described, fig.table, fig.file_stem, **chart_kwargs)
    with st.expander(f"{fig.title}: the numbers as a table", icon=":material/table:"):
        table(fig.table)
    return event


#: Pixels across for a figure's title lines in presentation mode: the main area of a
#: 1280-pixel screen with the sidebar open, and its figure column beside the numbers.
FIT_WIDE = 900.0
FIT_SIDE = 580.0


def _presented(fig: Figure, width: float) -> Any:
    """``fig``'s chart at its own size (the app would otherwise squeeze a single chart,
    axes and all, into the size of its plot) with its title and subtitle broken into
    lines no wider than about ``width`` pixels: the same words in the same order, broken
    after a semicolon where one is near, never between a comparison sign and its
    number."""
    import altair as alt

    config = fig.chart.config.title

    def size(value: Any, default: float) -> float:
        return float(value) if isinstance(value, int | float) else default

    title = _broken(fig.title, int(width / (size(config.fontSize, 20.0) * 0.55)))
    chars = int(width / (size(config.subtitleFontSize, 14.0) * 0.5))
    subtitle = [part for line in fig.context for part in _broken(line, chars)]
    return fig.chart.properties(
        title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start"),
        autosize=alt.AutoSizeParams(type="pad", contains="padding"),
    )


def _broken(text: str, chars: int) -> list[str]:
    """``text`` in lines of at most ``chars`` characters (longer only for one word),
    broken after a semicolon when that takes no more lines."""
    chars = max(chars, 20)
    glued = re.sub(r"([<>=≤≥]) ", "\\1" + _GLUE, text)  # "p < 0.001" stays on one line
    plain = textwrap.wrap(glued, chars, break_long_words=False, break_on_hyphens=False)
    lines: list[str] = []
    for part in re.split(r"(?<=;) ", glued):
        if lines and len(lines[-1]) + 1 + len(part) <= chars:
            lines[-1] += " " + part
        else:
            lines.extend(textwrap.wrap(part, chars, break_long_words=False, break_on_hyphens=False))
    best = lines if len(lines) <= len(plain) else plain
    return [line.replace(_GLUE, " ") for line in best] or [text]


_GLUE = "\x00"  # a space that does not break a line


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """What a read-only table shows: text that could start a spreadsheet formula gets a
    leading apostrophe, as in the CSV downloads (a cell copied from the page, or a table
    exported by other means, is then inert too); numbers, and numbers written as text,
    are unchanged."""
    return neutralise_formulas(frame, keep_numbers=True)


def table(frame: pd.DataFrame, **kwargs: Any) -> None:
    """A read-only table without the index (a plain, larger table in presentation mode
    when it is short enough to read from the back of a room), its text formula-safe
    (:func:`display_frame`)."""
    frame = display_frame(frame)
    if presentation() and len(frame) <= 30:
        st.table(frame, hide_index=True, border="horizontal")
        return
    st.dataframe(frame, hide_index=True, **kwargs)


def presentation_css() -> None:
    """Larger text for a lecture hall (charts get larger type and thicker lines
    themselves), and less room above the page so that its main figure and key numbers
    fit on one 16:9 screen: nothing is cut (a metric's label or value wraps instead of
    ending in an ellipsis), tables are set as large as the text (their headings
    wrapped, so that a table fits the width of the page)."""
    if presentation():
        st.html(
            """<style>
            .stMainBlockContainer { padding: 4.25rem 1.5rem 6rem 1.5rem; }
            .stMainBlockContainer p, .stMainBlockContainer li,
            .stMainBlockContainer label p { font-size: 1.3rem; }
            .stMainBlockContainer [data-testid="stCaptionContainer"] p { font-size: 1.1rem; }
            .stMainBlockContainer [data-testid="stMetricValue"],
            .stMainBlockContainer [data-testid="stMetricValue"] p,
            .stMainBlockContainer [data-testid="stMetricValue"] div { font-size: 2.6rem; }
            .stMainBlockContainer [data-testid="stMetricLabel"] p { font-size: 1.2rem; }
            .stMainBlockContainer [data-testid="stMetricLabel"] .stMarkdownEllipsis,
            .stMainBlockContainer [data-testid="stMetricLabel"] p {
                white-space: normal; overflow: visible; text-overflow: clip;
            }
            .stMainBlockContainer [data-testid="stMetricLabel"] { height: auto; }
            .stMainBlockContainer [data-testid="stMetricValue"],
            .stMainBlockContainer [data-testid="stMetricValue"] * {
                white-space: normal; overflow-wrap: break-word; text-overflow: clip;
            }
            .stMainBlockContainer [data-testid="stTable"] th,
            .stMainBlockContainer [data-testid="stTable"] td { padding: 0.5rem 0.25rem; }
            .stMainBlockContainer [data-testid="stTable"] td { font-size: 1.2rem; }
            .stMainBlockContainer [data-testid="stTable"] th {
                font-size: 1.05rem; white-space: normal;
            }
            .stMainBlockContainer h1 { font-size: 2.2rem; padding: 0; }
            .stMainBlockContainer h2, .stMainBlockContainer h3 { font-size: 1.9rem; }
            </style>"""
        )


def demo_badge() -> None:
    """The synthetic-data label, on every page while the demo cohort is in use."""
    if store().is_demo:
        st.badge(DEMO_LABEL + ": no real patients", icon=":material/science:", color="orange")


# --------------------------------------------------------------------------------------
# Errors: a short message and an id, never a traceback or a patient value
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Show an unexpected exception as a friendly message with an error id.

    Only the id and the exception type are logged: messages can hold data values.
    """
    try:
        yield
    except Exception as exc:
        error_id = uuid.uuid4().hex[:12]
        LOG.error("page error %s (%s)", error_id, type(exc).__name__)
        st.error(
            "Something went wrong while drawing this part of the page. "
            "Try another setting or reload the page. "
            f"If it keeps happening, report error id `{error_id}`.",
            icon=":material/error:",
        )


def guarded(func: F) -> F:
    """Run ``func`` inside :func:`guard`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with guard():
            return func(*args, **kwargs)
        return None

    return wrapper  # type: ignore[return-value]


def fragment(func: F) -> F:
    """A guarded ``st.fragment``: a control inside it reruns only this part of the page
    (such a rerun is timed like a page run, :func:`timed`)."""
    inner = guarded(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = get_script_run_ctx()
        if ctx is None or not ctx.fragment_ids_this_run:  # part of a whole page run
            return inner(*args, **kwargs)
        with timed(str(st.session_state.get(PAGE_KEY, "")), f"fragment:{func.__name__}"):
            return inner(*args, **kwargs)

    return st.fragment(wrapper)  # type: ignore[return-value]


def named_bytes(data: bytes, name: str) -> io.BytesIO:
    """An in-memory file object with a name (what the loaders expect of an upload)."""
    handle = io.BytesIO(data)
    handle.name = name
    return handle


# --------------------------------------------------------------------------------------
# The frame around every page
# --------------------------------------------------------------------------------------


@callback
def _load_settings() -> None:
    upload = st.session_state.get("settings_upload")
    if upload is None:
        return
    try:
        loaded = Settings.from_json(upload.getvalue())
    except InputError as exc:
        flash("error", f"Those settings were not loaded: {md_text(exc)}")
        return
    replace_settings(loaded)
    flash("success", f"Settings loaded from {md_text(upload.name)}.")


def sidebar() -> None:
    """Display modes, the settings file, and which cohort is in use."""
    s = store()
    with st.sidebar:
        if s.is_demo:
            st.warning(
                f"**{DEMO_LABEL}.** Generated from published summary figures; "
                "no row describes a real patient.",
                icon=":material/science:",
            )
        else:
            st.caption(f"Cohort: **{md_text(s.source)}** ({len(s.cohort)} patients, memory only)")
        bound(
            st.toggle,
            "Presentation mode",
            "display__presentation",
            help="Larger text, thicker lines.",
        )
        bound(
            st.toggle,
            "Teaching mode",
            "display__teaching",
            help="Short explanations beside the controls.",
        )
        teach(
            "Teaching mode adds short explanations; every number stays visible. "
            "Turn it off for a cleaner screen."
        )
        st.divider()
        st.markdown("**Settings**")
        st.download_button(
            "Save settings (JSON)",
            data=audited(lambda: s.settings.to_json(), "settings"),
            file_name="blinastudy-settings.json",
            mime="application/json",
            on_click="ignore",
            icon=":material/download:",
            key="settings_download",
        )
        st.file_uploader(
            "Load settings (JSON)",
            type=["json"],
            key="settings_upload",
            on_change=_load_settings,
            help="A file saved with the button above restores the whole analysis state.",
        )
        st.divider()
        st.button(
            "Forget my data now",
            on_click=forget,
            icon=":material/delete_forever:",
            key="forget_data",
            help="Drop the uploaded files, the cohort, the settings and every result of "
            "this session from the server's memory now, and start again on the demo data.",
        )


def heading(title: str) -> None:
    """The page title with the synthetic-data label: one under the other, or side by
    side in presentation mode (a line less above the figure)."""
    if presentation():
        left, right = st.columns([3, 2], vertical_alignment="center")
        left.title(title)
        with right:
            demo_badge()
        return
    demo_badge()
    st.title(title)


def arrange(controls: Callable[[], Any], label: str) -> tuple[Any, Any]:
    """Draw a page's ``controls`` and return where its stage (the main figure with its
    key numbers) and the rest of the page go.

    Normally the controls come first and the stage and the rest follow in one
    container. In presentation mode the stage opens the page, the controls follow in a
    closed expander named ``label``, then the rest: the screen starts with the figure.
    """
    if presentation():
        stage = st.container()
        with st.expander(label, icon=":material/tune:"):
            controls()
        return stage, st.container()
    controls()
    box = st.container()
    return box, box


def figure_and_numbers(where: DeltaGenerator) -> tuple[DeltaGenerator, DeltaGenerator]:
    """Places in ``where`` for a figure and its key numbers: side by side in
    presentation mode (the figure about 600 pixels across on a 1280-pixel screen with
    the sidebar open, :data:`FIT_SIDE`), the numbers under the figure otherwise."""
    if presentation():
        left, right = where.columns([2, 1], gap="small")
        return left, right
    return where, where


def beside(key: DeltaGenerator | None) -> DeltaGenerator:
    """The place of a figure's key numbers in presentation mode (from
    :func:`figure_and_numbers`); asking for it without one is a programming error."""
    if key is None:
        raise RuntimeError("presentation mode needs a place for the key numbers")
    return key


def serve_safely() -> None:
    """The server-wide protections: uploads held in memory (never spooled to ``/tmp``)
    and the memory of closed sessions returned. Every page sets them (:func:`render`),
    before it can show an uploader, not ``app.py``: a page opened by its own address on
    a server that has not yet run ``app.py`` runs without it. Both calls are idempotent."""
    keep_uploads_in_memory(int(st.get_option("server.maxUploadSize")))
    start_memory_return()


def render(main: Callable[[], None], title: str) -> None:
    """Draw the common frame and the page's ``title``, then the page body ``main``,
    each inside the error guard; the whole run is timed (:func:`timed`) and its file
    reading budgeted (:func:`~pages.common.budget.page_budget`)."""
    serve_safely()
    # An emoji favicon is drawn in the browser; a :material: one is fetched from
    # fonts.gstatic.com, and the app must not call any host but its own.
    with timed(title, "page"), page_budget():
        st.set_page_config(layout="wide", page_icon="📈")
        st.session_state[PAGE_KEY] = title
        if st.session_state.pop(FORGOTTEN_KEY, False):
            flash("success", "Your data was forgotten: this session now uses the demo data.")
            st.switch_page(START_PAGE)
        with guard():
            sidebar()
        presentation_css()
        with guard():
            heading(title)
            show_flash()
            main()
        with guard():
            audit_analysis()
