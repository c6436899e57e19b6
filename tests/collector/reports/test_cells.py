"""The rules every exported text goes through: control characters removed, formulas defused,
cells no longer than Excel holds; numbers untouched."""

from __future__ import annotations

import pytest

from collector.reports.cells import MAX_CELL_CHARS, clean, clip, csv_value, is_formula_like


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[31mđỏ\x1b[0m", "đỏ"),
        ("chuông\x07 reo", "chuông reo"),
        ("\x1b]0;tiêu đề\x07văn bản", "văn bản"),
        ("a\r\nb\rc\td", "a\nb\nc d"),
        ("nul\x00 vt\x0b ff\x0c del\x7f c1\x85 nc\ufffe\uffff", "nul vt ff del c1 nc"),
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("证明文件 📄 Quyết định", "证明文件 📄 Quyết định"),
    ],
)
def test_clean_removes_control_characters_only(raw: str, expected: str) -> None:
    assert clean(raw) == expected


@pytest.mark.parametrize(
    "text", ["=1+2", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "  =1", "＝1+2"]
)
def test_formula_like_texts(text: str) -> None:
    assert is_formula_like(text)
    assert csv_value(text) == "'" + clean(text)


@pytest.mark.parametrize("text", ["Biên bản số 12", "1+2", "a=b", "", "12/BB-UBND"])
def test_plain_texts_stay_as_they_are(text: str) -> None:
    assert not is_formula_like(text)
    assert csv_value(text) == text


def test_numbers_stay_numbers() -> None:
    assert csv_value(-1.5) == -1.5 and csv_value(42) == 42 and csv_value(None) is None


def test_clip_marks_a_cut_text() -> None:
    assert clip("x" * MAX_CELL_CHARS) == "x" * MAX_CELL_CHARS
    cut = clip("x" * (MAX_CELL_CHARS + 10))
    assert len(cut) == MAX_CELL_CHARS and cut.endswith("…")
