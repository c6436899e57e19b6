"""checks.fmt formats with Babel's own patterns but answers the number symbols itself, so an
agent does not load a locale's CLDR data (about 3.6 MiB) to write its results' English text,
and writes most figures and every date without Babel (not imported by a running agent):
the figures and dates must be exactly what Babel writes with the real locale."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_percent, parse_pattern
from hypothesis import given, settings
from hypothesis import strategies as st

from checks import fmt

LANGS = ("vi", "en")


def _outcome(write: Callable[[], str]) -> tuple[str, str]:
    """What writing gave: the text, or the error (Babel cannot quantize 1e300 either)."""
    try:
        return "text", write()
    except ArithmeticError as exc:
        return "error", type(exc).__name__


def _real(lang: str) -> Locale:
    return Locale.parse(fmt.LOCALES[lang])


def test_number_symbols_are_cldrs() -> None:
    for lang in LANGS:
        real = _real(lang).number_symbols["latn"]
        assert {k: real[k] for k in fmt.NUMBER_SYMBOLS[lang]} == fmt.NUMBER_SYMBOLS[lang]


def test_formatting_loads_no_locale_data() -> None:
    for lang in LANGS:
        fmt.number(1234.5, lang)
        fmt.percent(0.619, lang)
        fmt.ratio(0.012, lang)
        fmt.duration(8220, lang)
        fmt.when(datetime(2026, 12, 5, 9, 3, tzinfo=UTC), lang)
        fmt.day(date(2026, 11, 1), lang)
        assert fmt._babel_locale(lang)._Locale__data is None  # type: ignore[attr-defined]
    assert fmt.number(1234567.25, "vi") == "1.234.567,2"
    assert fmt.when(datetime(2026, 12, 5, 9, 3, tzinfo=UTC), "en") == "05/12/2026 16:03"


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6),
    st.integers(min_value=-(10**15), max_value=10**15).map(float),
    st.sampled_from([0.0, -0.0, 0.05, -0.04, 0.25, 1.25, 2.5, 0.125, 999.95, 1e-7]),
)


@settings(max_examples=400, deadline=None)
@given(value=numbers, decimals=st.integers(min_value=0, max_value=3), lang=st.sampled_from(LANGS))
def test_numbers_as_babel_writes_them(value: float, decimals: int, lang: str) -> None:
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    ours = _outcome(lambda: fmt.number(value, lang, decimals))
    assert ours == _outcome(lambda: parse_pattern(pattern).apply(value, _real(lang)))


@settings(max_examples=300, deadline=None)
@given(value=numbers, lang=st.sampled_from(LANGS))
def test_percentages_as_babel_writes_them(value: float, lang: str) -> None:
    real = _real(lang)
    assert _outcome(lambda: fmt.percent(value, lang)) == _outcome(
        lambda: format_percent(value, format="#,##0.0 %", locale=real)
    )
    assert _outcome(lambda: fmt.ratio(value, lang)) == _outcome(
        lambda: parse_pattern("#,##0.# %").apply(value, real)
    )


@settings(max_examples=200, deadline=None)
@given(
    when=st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)),
    offset=st.integers(min_value=-14 * 60, max_value=14 * 60),
    lang=st.sampled_from(LANGS),
)
def test_dates_as_babel_writes_them(when: datetime, offset: int, lang: str) -> None:
    aware = when.replace(tzinfo=UTC) - timedelta(minutes=offset)
    real = _real(lang)
    expected = format_datetime(aware, "dd/MM/yyyy HH:mm", tzinfo=fmt.TIME_ZONE, locale=real)
    assert fmt.when(aware, lang) == expected
    naive = format_datetime(when, "dd/MM/yyyy HH:mm", tzinfo=fmt.TIME_ZONE, locale=real)
    assert fmt.when(when, lang) == naive
    assert fmt.day(when.date(), lang) == format_date(when.date(), "dd/MM/yyyy", locale=real)


#: Where writing a figure without Babel's pattern machinery could go wrong: ties rounded
#: half to even on the decimal text (0.35 is 0.34999… as a float), a sign kept on a value
#: rounded to 0, group boundaries, and both sides of where Babel takes over again.
EDGES = [
    0.35,
    0.45,
    2.675,
    1.005,
    -0.05,
    -0.5,
    0.5,
    1.5,
    2.5,
    -2.5,
    0.0049,
    0.015,
    0.025,
    0.995,
    999.5,
    9999.95,
    1234567.891,
    0.001,
    0.0005,
    0.00125,
    1e-20,
    -1e-20,
    123456789012345.6,
    999999999999999.9,
    1e15,
    -1e15,
    1e15 - 1,
    1e16,
    5e-324,
]


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.sampled_from(EDGES),
        st.integers(min_value=-(10**16), max_value=10**16),
        st.decimals(min_value=-1000, max_value=1000, places=3).map(float),
    ),
    decimals=st.integers(min_value=0, max_value=2),
    lang=st.sampled_from(LANGS),
)
def test_figures_written_without_babels_patterns_are_babels(
    value: float, decimals: int, lang: str
) -> None:
    """fmt.number and fmt.ratio write the criteria engine's figures themselves (checks.fmt
    _grouped); they must be Babel's, byte for byte, ints (a duration's hours) included."""
    real = _real(lang)
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    assert _outcome(lambda: fmt.number(value, lang, decimals)) == _outcome(
        lambda: parse_pattern(pattern).apply(value, real)
    )
    assert _outcome(lambda: fmt.ratio(value, lang)) == _outcome(
        lambda: parse_pattern("#,##0.# %").apply(value, real)
    )
