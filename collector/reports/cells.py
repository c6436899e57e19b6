"""What every value goes through before it is written into an export (XLSX, CSV, PDF).

Texts in a report come from people and machines we do not control: a check's message may
hold a terminal's colour codes or a bell, an evidence file's name any character, an
operator's evidence text anything at all. Three rules keep every export readable and safe:

* **Control characters are removed.** ANSI escape sequences (``ESC [ 31 m``) go whole; the
  other C0 and C1 control characters, DEL, lone surrogates and the two XML non-characters
  U+FFFE and U+FFFF go one by one (XLSX is XML, which cannot hold them). A line break stays
  (``\\r\\n`` and ``\\r`` become ``\\n``); a tab becomes a space.
* **No text becomes a formula.** A text whose first non-blank character is ``=``, ``+``,
  ``-`` or ``@`` (or their full-width forms), or which began with a tab or a carriage
  return, is *defused*: in XLSX it is written as a string cell marked "quote prefix", so
  Excel shows it exactly as entered and never evaluates it, even when the cell is edited;
  in CSV, which has no cell types, it gets a leading apostrophe ``'`` (the OWASP rule for
  CSV injection), which spreadsheet programs hide and read as "this is text". Numbers,
  dates and times are never texts here, so they stay numbers.
* **A cell holds what Excel can show:** at most 32,767 characters; a longer text is cut
  and ends with ``…`` (the whole text stays in the JSON report and on the commune's page).
"""

from __future__ import annotations

import re

#: ANSI escape sequences: CSI (``ESC [ ... letter``), OSC (``ESC ] ... BEL`` or ``ESC \\``),
#: and the two-character ones (``ESC`` followed by one character).
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_START = frozenset("=+-@＝＋－＠")
#: The longest text an Excel cell holds.
MAX_CELL_CHARS = 32_767


def clean(text: str) -> str:
    """``text`` without control characters (see the module's rules); line breaks kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("", _ANSI.sub("", text))


def is_formula_like(text: str) -> bool:
    """Would a spreadsheet program read this text as a formula (before or after cleaning)?"""
    if text[:1] in ("\t", "\r"):
        return True
    stripped = text.lstrip()
    return stripped[:1] in FORMULA_START


def clip(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """``text`` cut to ``limit`` characters, ending with ``…`` when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def csv_value(value: object) -> object:
    """A value as a CSV field: texts cleaned and defused with a leading apostrophe; numbers
    as they are (the csv module writes them as numbers)."""
    if not isinstance(value, str):
        return value
    text = clean(value)
    return "'" + text if is_formula_like(value) or is_formula_like(text) else text
