"""Command line: ``python -m blinastudy report ...`` writes every export without a browser.

``python -m blinastudy report COHORT [POOL] --settings S.json --out DIR`` loads the
cohort (:func:`~blinastudy.data.cohort.load_file`; a second file is the historical
control pool, stacked with :func:`~blinastudy.data.cohort.combine_files`), runs
:func:`~blinastudy.analysis.analyze` under the saved settings, with the file row of
each patient for the lists of excluded patients, and writes to ``DIR``:

* ``results.json``: :meth:`AnalysisResult.numbers` plus the ``stamp``;
* ``settings.json``: the settings used; ``stamp.json``: the stamp alone;
  ``reproduce.py``: the script of :func:`~blinastudy.report.codegen.show_code`;
* ``figures/NAME.svg`` and ``figures/NAME.png`` for every chart;
* ``tables/NAME.csv`` for every table (formula-neutralised);
* ``report.html`` (self-contained), ``report.pdf`` when a PDF engine exists;
* ``slides.pptx``.

``--demo`` uses the bundled synthetic demo cohort instead of files.
``python -m blinastudy demo [PATH] [--seed N]`` writes the demo cohort CSV (as
``python -m blinastudy.data.demo``).

Progress goes to stderr as a text bar; bad input gives one line on stderr and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import stat
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import pandas as pd

from blinastudy import __version__
from blinastudy.core.errors import InputError

if TYPE_CHECKING:
    from blinastudy.data.table import RowNumbers

__all__ = ["Progress", "main", "one_line"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class _UsageError(Exception):
    """A command-line usage problem (reported in one line, exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see {self.prog} --help)")


def one_line(message: str) -> str:
    """A possibly multi-line error message as one line: headline, first detail, count.

    Examples
    --------
    >>> one_line("cohort.csv has 3 problems:\\n- row 2: bad\\n- row 3: bad\\n- row 4: bad")
    'cohort.csv has 3 problems: row 2: bad (and 2 more)'
    >>> one_line("plain")
    'plain'
    """
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    text = lines[0]
    if len(lines) > 1:
        text = f"{text.rstrip(':')}: {lines[1].lstrip('- ').strip()}"
    if len(lines) > 2:
        text += f" (and {len(lines) - 2} more)"
    return text


class Progress:
    """A text progress bar on a stream (stderr): ``[#####-----] 5/10 label``.

    On a terminal the bar redraws in place; otherwise each step is one line.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(2, stream=out, width=4)
    >>> p.step("loading"); p.step("done"); p.close()
    >>> out.getvalue().splitlines()
    ['[##--] 1/2 loading', '[####] 2/2 done']
    """

    def __init__(
        self, total: int, *, stream: TextIO | None = None, width: int = 30, enabled: bool = True
    ) -> None:
        self.total = max(int(total), 1)
        self.done = 0
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self.enabled = enabled
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty()) if callable(isatty) else False
        self._last = 0

    def add(self, n: int) -> None:
        """Announce ``n`` more (or, negative, fewer) steps than first planned."""
        self.total = max(self.total + int(n), self.done, 1)

    def step(self, label: str) -> None:
        """Count one step done and show ``label``."""
        self.done = min(self.done + 1, self.total)
        if not self.enabled:
            return
        filled = round(self.width * self.done / self.total)
        line = f"[{'#' * filled}{'-' * (self.width - filled)}] {self.done}/{self.total} {label}"
        if self.tty:
            pad = " " * max(self._last - len(line), 0)
            self.stream.write(f"\r{line}{pad}")
            self._last = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line on a terminal."""
        if self.enabled and self.tty and self._last:
            self.stream.write("\n")
            self.stream.flush()
            self._last = 0


def _parser() -> _Parser:
    parser = _Parser(
        prog="python -m blinastudy",
        description="BlinaStudy: propensity-matched survival analysis of blinatumomab in "
        "first-line therapy for paediatric B-ALL, without a browser.",
    )
    parser.add_argument("--version", action="version", version=f"BlinaStudy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    rep = sub.add_parser(
        "report",
        help="analyse a cohort and write results.json, figures, tables, report and slides",
        description="Analyse a cohort under saved settings and write every export to --out.",
    )
    rep.add_argument("cohort", nargs="?", help="cohort file (treated patients, or everyone)")
    rep.add_argument("pool", nargs="?", help="optional second file: historical control pool")
    rep.add_argument(
        "--settings",
        help="saved settings: settings.json, stamp.json or a previous results.json "
        "(default: the default settings)",
    )
    rep.add_argument("--out", required=True, help="output folder (created if needed)")
    rep.add_argument("--mapping", help="column mapping JSON for the first file")
    rep.add_argument("--mapping2", help="column mapping JSON for the second file")
    rep.add_argument("--demo", action="store_true", help="use the bundled synthetic demo cohort")
    rep.add_argument("--no-pdf", action="store_true", help="do not try to write report.pdf")
    rep.add_argument(
        "--date",
        help="export date for the stamp, ISO 8601 (default: now, UTC); fixes the output",
    )
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_parser(
        "demo",
        help="write the synthetic demo cohort CSV (as python -m blinastudy.data.demo)",
        add_help=False,
    )
    return parser


def _read_text(path: str, what: str) -> str:
    """A small UTF-8 text file (settings, mapping): regular files only, size capped."""
    from blinastudy.analysis.settings import MAX_SETTINGS_BYTES

    p = Path(path)
    try:
        info = p.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{what} {path} is not a regular file")
        with p.open("rb") as handle:
            data = handle.read(MAX_SETTINGS_BYTES + 1)
        if len(data) > MAX_SETTINGS_BYTES:
            raise InputError(f"{what} {path} is larger than {MAX_SETTINGS_BYTES:,} bytes")
        return data.decode("utf-8-sig")
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{what} {path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{what} {path} is a folder, not a file") from None
    except UnicodeDecodeError:
        raise InputError(f"{what} {path} is not UTF-8 text") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{what} {path} could not be read ({exc})") from None


def _load_settings(path: str | None) -> Any:
    from blinastudy.analysis.settings import Settings
    from blinastudy.report.stamp import settings_from_saved

    if path is None:
        return Settings()
    try:
        return settings_from_saved(_read_text(path, "settings file"))
    except InputError as exc:
        raise InputError(f"settings file {path}: {exc}") from None


def _load_mapping(path: str | None, settings: Any, index: int) -> Any:
    from blinastudy.data.mapping import Mapping

    if path is not None:
        try:
            return Mapping.from_json(_read_text(path, "mapping file"))
        except InputError as exc:
            raise InputError(f"mapping file {path}: {exc}") from None
    if index < len(settings.mappings):
        try:
            return Mapping.from_dict(settings.mappings[index])
        except InputError as exc:
            raise InputError(f"settings.mappings[{index}]: {exc}") from None
    return None


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--date must be an ISO 8601 date or time, got {text!r}") from None


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="\n")
    else:
        path.write_bytes(data)


def _analyse(
    cohort: pd.DataFrame,
    file_rows: RowNumbers | None,
    settings: Any,
    progress: Progress,
) -> Any:
    """:func:`analyze`, with the caliper sweep done one caliper at a time for the bar."""
    from blinastudy.analysis import analyze, caliper_sweep, matching_pool, prepare_cohort

    result = analyze(cohort, settings, sweep=False, file_rows=file_rows)
    progress.step(f"analysis (pair bootstrap, {settings.bootstrap.replicates} replicates)")
    complete = matching_pool(prepare_cohort(cohort, settings), settings)
    if not len(complete) or not settings.sweep_calipers:
        progress.add(-len(settings.sweep_calipers))
        return result
    rows: list[dict[Any, Any]] = []
    for cal in settings.sweep_calipers:
        one = caliper_sweep(complete, settings.update(sweep_calipers=(cal,)))
        rows.extend(one.to_dict("records"))
        progress.step(f"caliper sweep {cal:g} SD")
    result.sweep = pd.DataFrame(rows)
    return result


def _report(args: argparse.Namespace, err: TextIO, out: TextIO) -> int:
    if args.demo and (args.cohort or args.pool):
        raise _UsageError("give either cohort files or --demo, not both")
    if not args.demo and not args.cohort:
        raise _UsageError("give a cohort file (and optionally a pool file), or --demo")
    if args.demo and (args.mapping or args.mapping2):
        raise _UsageError("--mapping and --mapping2 apply to cohort files, not to --demo")
    if args.mapping2 and not args.pool:
        raise _UsageError("--mapping2 applies to the second (pool) file; none was given")
    when = _when(args.date)
    settings = _load_settings(args.settings)
    mapping1 = None if args.demo else _load_mapping(args.mapping, settings, 0)
    mapping2 = None if args.demo or not args.pool else _load_mapping(args.mapping2, settings, 1)
    folder = Path(args.out)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out {folder} exists and is not a folder")
    file_rows = None  # the demo cohort is no user's file
    if args.demo:
        from blinastudy.data.demo import make_demo_cohort

        cohort = make_demo_cohort()
    elif args.pool:
        from blinastudy.data.cohort import combine_files

        table = combine_files(args.cohort, args.pool, mappings=(mapping1, mapping2))
        cohort, file_rows = table.frame, table.rows
    else:
        from blinastudy.data.cohort import load_file

        table = load_file(args.cohort, mapping1)
        cohort, file_rows = table.frame, table.rows
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {folder} cannot be created ({exc.strerror or exc})") from None

    # loading, analysis, each sweep caliper, SVG + PNG of up to 7 figures, tables, HTML, PDF, PPTX
    planned_figures = 7
    progress = Progress(
        2 + len(settings.sweep_calipers) + 2 * planned_figures + 4,
        stream=err,
        enabled=not args.quiet,
    )
    try:
        return _export(
            args, cohort, file_rows, settings, when, folder, planned_figures, progress, err, out
        )
    finally:
        progress.close()


def _export(
    args: argparse.Namespace,
    cohort: pd.DataFrame,
    file_rows: RowNumbers | None,
    settings: Any,
    when: datetime | None,
    folder: Path,
    planned_figures: int,
    progress: Progress,
    err: TextIO,
    out: TextIO,
) -> int:
    from blinastudy.report.bundle import build_bundle, bundle_steps

    progress.step("cohort loaded")
    result = _analyse(cohort, file_rows, settings, progress)
    progress.add(bundle_steps(result) - 2 * planned_figures - 4)
    bundle = build_bundle(
        result,
        when=when,
        demo=True if args.demo else None,
        cohort_path=None if args.demo else str(args.cohort),
        pool_path=None if args.demo or not args.pool else str(args.pool),
        mapping_paths=(args.mapping, args.mapping2),
        pdf=not args.no_pdf,
        progress=progress.step,
    )
    st = bundle.stamp
    written: list[Path] = []
    for name, data in bundle.files.items():
        path = folder / name
        _write(path, data)
        written.append(path)
    progress.close()
    pdf_note = next((n for n in bundle.notes if "no PDF engine" in n), "")

    for warning in result.warnings:
        err.write(f"warning: {warning}\n")
    if pdf_note:
        err.write(f"{pdf_note}\n")
    out.write(f"cohort SHA-256 {result.cohort_hash}\n")
    if st["synthetic"]:
        out.write(f"{st['label']}\n")
    out.write(f"wrote {len(written)} files to {folder}\n")
    for path in written:
        out.write(f"  {path.relative_to(folder).as_posix()}\n")
    out.flush()
    return EXIT_OK


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input, 1 failure).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after the program name (default ``sys.argv[1:]``).
    stdout, stderr : text streams, optional
        Where the summary and the progress and errors go (default the process's).

    Examples
    --------
    >>> import io
    >>> err = io.StringIO()
    >>> main(["report", "--out", "x"], stderr=err)
    2
    >>> err.getvalue()
    'blinastudy: error: give a cohort file (and optionally a pool file), or --demo\\n'
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    try:
        if args_list and args_list[0] == "demo":
            from blinastudy.data.demo import main as demo_main

            return demo_main(args_list[1:])
        parser = _parser()
        args = parser.parse_args(args_list)
        if args.command is None:
            raise _UsageError("choose a command: report or demo (see python -m blinastudy --help)")
        return _report(args, err, out)
    except (_UsageError, InputError) as exc:
        err.write(f"blinastudy: error: {one_line(str(exc))}\n")
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # --help, --version, or the demo command's own parser
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        err.write("blinastudy: interrupted\n")
        return 130
    except Exception as exc:  # a failure, not bad input: still one line, no traceback
        err.write(f"blinastudy: failed: {type(exc).__name__}: {one_line(str(exc))}\n")
        return EXIT_FAILED


def console() -> None:
    """Entry point of the ``blinastudy`` command: :func:`main`, its status as exit code."""
    sys.exit(main())
