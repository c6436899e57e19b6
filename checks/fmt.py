"""Numbers, percentages, rates, durations and times as officials read them, in the chosen
language: Vietnamese (``vi_VN``, the default) or English, with Babel (CLDR).

Shared by the agent (``ioc-agent check``) and the collector (pages, reports, the criteria
engine's reasons) through the message catalogue (:mod:`checks.messages`). One place for
every figure a page or a report shows in words: 164,8 Mbit/s; 61,9 %;
2 giờ 17 phút; 05/12/2026 16:03 in ``Asia/Ho_Chi_Minh``. Machine-readable columns of the
exports (CSV, XLSX numbers) stay numbers and do not come here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from babel import Locale
    from babel.numbers import NumberPattern

# Babel is imported where it is used: the figures an agent writes in its results' English
# text (numbers, ratios, durations, sizes) are written by _grouped without it, so a
# running agent does not load it (about 1 MiB) unless a message has a date or a percentage.

#: The Babel locale of each language the pages and reports speak.
LOCALES = {"vi": "vi_VN", "en": "en"}
#: The time zone officials read times in (Vietnam has no daylight saving).
TIME_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

# Duration words. CLDR's Vietnamese hour is the spoken "tiếng"; administrative writing
# says "giờ", so the words are the project's, the numbers Babel's.
_DURATION_WORDS = {
    "vi": {"d": "ngày", "h": "giờ", "min": "phút", "s": "giây", "ms": "ms"},
    "en": {"d": "d", "h": "h", "min": "min", "s": "s", "ms": "ms"},
}
_RATES = ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s"), (1.0, "bit/s"))


def _locale(lang: str) -> str:
    return LOCALES.get(lang, LOCALES["vi"])


#: The number symbols of each language (CLDR's ``latn`` symbols of :data:`LOCALES`, as
#: Babel has them; tests/checks/test_checks_fmt_locale.py checks they still are).
NUMBER_SYMBOLS = {
    "vi": {"decimal": ",", "group": ".", "infinity": "∞", "nan": "NaN"},
    "en": {"decimal": ".", "group": ",", "infinity": "∞", "nan": "NaN"},
}


@cache
def _numbers_only() -> Any:
    from babel import Locale

    class _NumbersOnly(Locale):
        """A Babel locale that answers the number symbols from :data:`NUMBER_SYMBOLS`
        instead of loading the locale's CLDR data: everything formatted here (numbers,
        percentages, ``dd/MM/yyyy HH:mm``) needs only them, and the data of a locale with
        its root costs about 3.6 MiB of resident memory, for each report of an agent that
        runs all day (docs/agent.md, "What is imported when"). Anything else asked of it
        loads the data as an ordinary :class:`Locale` does."""

        def __init__(self, language: str, territory: str | None, symbols: dict[str, str]) -> None:
            super().__init__(language, territory)
            self._symbols = symbols

        @property
        def number_symbols(self) -> Any:
            return {"latn": self._symbols}

    return _NumbersOnly


@cache
def _babel_locale(lang: str) -> Locale:
    code = "en" if lang == "en" else "vi"
    language, _, territory = _locale(code).partition("_")
    locale: Locale = _numbers_only()(language, territory or None, NUMBER_SYMBOLS[code])
    return locale


@cache
def _pattern(pattern: str) -> NumberPattern:
    from babel.numbers import parse_pattern

    return parse_pattern(pattern)


#: Where a figure is written without Babel's pattern machinery (:func:`_grouped`): at
#: most two decimals, and below a size whose digits Decimal's default context holds.
_QUANTA = {0: Decimal(1), 1: Decimal("0.1"), 2: Decimal("0.01")}
_PLAIN_BELOW = 1e15


def _grouped(value: float, lang: str, decimals: int, scale: int = 0) -> str:
    """What Babel's ``#,##0.#`` pattern (as many ``#`` as ``decimals``; ``scale`` 2 for a
    percentage) writes for a finite ``value`` below :data:`_PLAIN_BELOW`, by the same steps
    (the value's shortest decimal text, rounded half to even, grouped by three, trailing
    zeros dropped, a sign kept even for a value rounded to 0) in a few microseconds instead
    of a few tens: the criteria engine writes hundreds of thousands of figures when every
    commune's details are read. tests/checks/test_checks_fmt_locale.py compares the two."""
    exact = Decimal(str(value)).scaleb(scale)
    whole, _, frac = f"{abs(exact).quantize(_QUANTA[decimals]):,f}".partition(".")
    frac = frac.rstrip("0")
    symbols = NUMBER_SYMBOLS["en" if lang == "en" else "vi"]
    text = whole.replace(",", symbols["group"]) + (symbols["decimal"] + frac if frac else "")
    return "-" + text if exact.is_signed() else text


def number(value: float, lang: str, decimals: int = 1) -> str:
    """A number with at most ``decimals`` decimals, grouped: 164,8 / 1.234 (vi); 164.8 (en).
    Written as Babel writes it: by :func:`_grouped` for the figures the criteria engine
    writes, by Babel itself (the pattern parsed once) for the rest (huge, infinite, NaN)."""
    if decimals in _QUANTA and -_PLAIN_BELOW < value < _PLAIN_BELOW:
        return _grouped(value, lang, decimals)
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return _pattern(pattern).apply(value, _babel_locale(lang))


def percent(ratio: float, lang: str) -> str:
    """A ratio (0 to 1) as a percentage with one decimal: 61,9 % (vi), 61.9 % (en)."""
    from babel.numbers import format_percent

    return format_percent(ratio, format="#,##0.0 %", locale=_babel_locale(lang))


def ratio(value: float, lang: str) -> str:
    """A ratio in a sentence: a percentage with a decimal only when it has one (31 %, 1,2 %)."""
    if -_PLAIN_BELOW < value < _PLAIN_BELOW:
        return _grouped(value, lang, 1, scale=2) + " %"
    return _pattern("#,##0.# %").apply(value, _babel_locale(lang))


def bitrate(bits_per_second: float, lang: str) -> str:
    """A rate in the largest unit that keeps it at 1 or more: 164,8 Mbit/s."""
    scale, unit = next(((s, u) for s, u in _RATES if abs(bits_per_second) >= s), _RATES[-1])
    return f"{number(bits_per_second / scale, lang)} {unit}"


def size(n_bytes: float, lang: str) -> str:
    """A size in bytes in the largest decimal unit that keeps it at 1 or more: 12,5 GB."""
    units = ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B"))
    scale, unit = next(((s, u) for s, u in units if abs(n_bytes) >= s), units[-1])
    return f"{number(n_bytes / scale, lang)} {unit}"


def duration(seconds: float, lang: str) -> str:
    """A duration in its two largest units: 2 giờ 17 phút (vi), 2 h 17 min (en); under a
    minute in seconds, under a second in milliseconds (150 ms)."""
    words = _DURATION_WORDS["en" if lang == "en" else "vi"]
    s = abs(seconds)
    if s < 1:
        return f"{number(s * 1000, lang, 0)} {words['ms']}"
    if s < 60:
        return f"{number(s, lang)} {words['s']}"
    total = round(s / 60)  # whole minutes
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    shown = [(n, u) for n, u in parts if n][:2]
    return " ".join(f"{number(n, lang, 0)} {words[u]}" for n, u in shown)


def days(value: float, lang: str) -> str:
    """A count of days (certificates, updates): 31 ngày / 31 days; under a day as a duration."""
    if 0 < abs(value) < 1:
        return duration(value * 86400, lang)
    unit = "ngày" if lang != "en" else ("day" if round(value) == 1 else "days")
    return f"{number(value, lang, 0)} {unit}"


def when(dt: datetime | None, lang: str) -> str:
    """A time as officials read it, in Asia/Ho_Chi_Minh: 05/12/2026 16:03 (Babel's
    ``dd/MM/yyyy HH:mm``, digits only, so the same in both languages; a naive time is taken
    as UTC, as Babel takes it; tests/checks/test_checks_fmt_locale.py compares)."""
    if dt is None:
        return ""
    t = (dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)).astimezone(TIME_ZONE)
    return f"{t.day:02d}/{t.month:02d}/{t.year:04d} {t.hour:02d}:{t.minute:02d}"


def day(value: date, lang: str) -> str:
    """A calendar day as officials write it: 01/11/2026 (both languages)."""
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
