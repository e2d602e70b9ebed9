"""Text from data or users, made inert for Markdown: shown literally, never as markup.

The app shows messages, captions, labels and notes through Streamlit's Markdown, which
turns ``![x](url)`` into an image fetched from ``url``, ``[x](url)``, ``<url>`` and a
bare ``http://...`` into links, ``$...$`` into LaTeX, ``:name:`` into an emoji or icon
and ``:red[...]`` into coloured text. A file name, a column name, a cell value or an
error message that quotes one of them must appear as typed. :func:`md_text` is the one
place that makes a string safe; pages call it on every data-derived part they draw.
"""

from __future__ import annotations

import re

__all__ = ["WORD_JOINER", "md_text"]

#: An invisible character (U+2060) put where escaping cannot help: Streamlit finds bare
#: web and e-mail addresses, emoji, icons and its logo in the text after backslash
#: escapes are read, so the joiner splits ``://``, ``www.``, ``name@host`` and ``:name``.
WORD_JOINER = "\u2060"

# Where the joiner goes: inside ``http://`` and ``https://``, after ``www`` before its
# dot, before ``@``, and after a colon that a name follows (``:smile:``, ``:red[...]``,
# ``:material/x:``, ``:streamlit:``).
_BREAK = re.compile(r"(?i)(?<=https:)(?=//)|(?<=http:)(?=//)|(?<=www)(?=\.)|(?=@)|(?<=:)(?=[\w+-])")
# Escaped with a backslash (CommonMark lets any ASCII punctuation mark be escaped, and
# it then stands for itself): the marks that start markup anywhere in a line - code,
# emphasis, strikethrough, links and images, HTML and autolinks, entities, LaTeX,
# tables - and an underscore that is not inside a word (inside one it never emphasises).
_INLINE = re.compile(r"[\\`*~\[\]<>&$|]|(?<![^\W_])_|_(?![^\W_])")
# Marks that start a block only at the start of a line (after spaces): headings, lists,
# quotes, rules and setext underlines, and the ``.`` or ``)`` of a numbered list item.
_LINE_START = re.compile(r"(?m)^([ \t]*)([-+=#>])|^([ \t]*\d+)([.)])(?=[ \t]|$)")


def _escape(match: re.Match[str]) -> str:
    return "\\" + match.group(0)


def _escape_line_start(match: re.Match[str]) -> str:
    if match.group(2) is not None:
        return f"{match.group(1)}\\{match.group(2)}"
    return f"{match.group(3)}\\{match.group(4)}"


def md_text(value: object) -> str:
    r"""``value`` as Markdown that renders as exactly its text.

    The marks that can start Markdown or HTML are backslash-escaped where they could
    (``\ ` * ~ [ ] < > & $ |`` anywhere, ``_`` outside a word, ``- + = # >`` and a
    numbered item's ``.`` or ``)`` at the start of a line), and an invisible word
    joiner (:data:`WORD_JOINER`) splits ``://`` of a web address, ``www.``, the ``@`` of
    an e-mail address and a colon from a name after it. Nothing then becomes an image,
    a link, HTML, code, emphasis, a heading or list, LaTeX, an emoji, an icon or
    coloured text. Other characters are kept, so the Markdown reads like the text.

    Parameters
    ----------
    value : object
        Anything; it is shown as ``str(value)``.

    Returns
    -------
    str
        Markdown for the literal text.

    Examples
    --------
    >>> from blinastudy.report.mdtext import WORD_JOINER, md_text
    >>> md_text("MRD (%), 'mrd_eoi_pct': 0.1")
    "MRD (%), 'mrd_eoi_pct': 0.1"
    >>> md_text("![x](y) *a* _b_ $d$ <b>")
    '!\\[x\\](y) \\*a\\* \\_b\\_ \\$d\\$ \\<b\\>'
    >>> md_text(":smile:").replace(WORD_JOINER, "+")
    ':+smile:'
    >>> md_text("see http://host/").replace(WORD_JOINER, "+")
    'see http:+//host/'
    >>> md_text("1. one\n- two")
    '1\\. one\n\\- two'
    >>> md_text(12.5)
    '12.5'
    """
    text = _INLINE.sub(_escape, _BREAK.sub(WORD_JOINER, str(value)))
    return _LINE_START.sub(_escape_line_start, text)
