from collections import Counter

import pytest

from collector.domain.units import UnknownUnitError, fold, load_units


def test_post_reform_structure_34_provinces_3321_communes() -> None:
    units = load_units()
    assert len(units.provinces) == 34
    assert len(units.communes) == 3321
    kinds = Counter(c.kind for c in units.communes.values())
    assert kinds == {"xã": 2621, "phường": 687, "đặc khu": 13}
    assert sum(len(v) for v in units.by_province.values()) == 3321


def test_official_codes_and_vietnamese_names() -> None:
    units = load_units()
    assert units.province("01").name == "Thành phố Hà Nội"
    assert units.province("04").name == "Cao Bằng"
    hk = units.commune("00070")
    assert (hk.name, hk.kind, hk.province_code) == ("Phường Hoàn Kiếm", "phường", "01")
    assert len(units.by_province["04"]) == 56


@pytest.mark.parametrize("code", ["99999", "70", "0007", "abcde", ""])
def test_unknown_commune_code_is_refused_with_a_clear_message(code: str) -> None:
    with pytest.raises(UnknownUnitError, match="unknown commune code"):
        load_units().commune(code)


def test_fold_strips_diacritics_for_search() -> None:
    assert fold("Phường Hoàn Kiếm") == "phuong hoan kiem"
    assert fold("Đặc khu Côn Đảo") == "dac khu con dao"
