"""Administrative units after the 1 July 2025 reform: 34 provinces, 3,321 communes.

Loaded once from the ``vietnam-provinces`` package (official codes and Vietnamese names).
Codes are the official zero-padded strings: provinces two digits ("01"), communes
(xã, phường, đặc khu) five digits ("00070").
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

from vietnam_provinces import Province as _Province
from vietnam_provinces import Ward as _Ward


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    codename: str


@dataclass(frozen=True, slots=True)
class Commune:
    code: str
    name: str
    kind: str  # "xã" | "phường" | "đặc khu"
    province_code: str
    codename: str


class UnknownUnitError(KeyError):
    """A code that is not an official administrative unit."""

    def __str__(self) -> str:  # KeyError quotes its argument; show the message as written
        return str(self.args[0])


@dataclass(frozen=True)
class Units:
    provinces: dict[str, Province]
    communes: dict[str, Commune]
    by_province: dict[str, tuple[str, ...]]

    def commune(self, code: str) -> Commune:
        try:
            return self.communes[code]
        except KeyError:
            raise UnknownUnitError(
                f"unknown commune code {code!r}: not one of the 3,321 official codes "
                "(five digits, e.g. '00070' for Phường Hoàn Kiếm)"
            ) from None

    def province(self, code: str) -> Province:
        try:
            return self.provinces[code]
        except KeyError:
            raise UnknownUnitError(
                f"unknown province code {code!r}: not one of the 34 official codes "
                "(two digits, e.g. '01' for Thành phố Hà Nội)"
            ) from None


@cache
def load_units() -> Units:
    provinces: dict[str, Province] = {}
    communes: dict[str, Commune] = {}
    by_province: dict[str, list[str]] = {}
    for p in _Province.iter_all():
        pcode = f"{int(p.code):02d}"
        provinces[pcode] = Province(code=pcode, name=p.name, codename=p.codename)
        by_province[pcode] = []
    for w in _Ward.iter_all():
        pcode = f"{int(w.province_code):02d}"
        ccode = f"{int(w.code):05d}"
        communes[ccode] = Commune(
            code=ccode,
            name=w.name,
            kind=w.division_type.value,
            province_code=pcode,
            codename=w.codename,
        )
        by_province[pcode].append(ccode)
    return Units(
        provinces=provinces,
        communes=communes,
        by_province={k: tuple(v) for k, v in by_province.items()},
    )


def fold(text: str) -> str:
    """Lower-case and strip Vietnamese diacritics, for search ("Hoàn Kiếm" -> "hoan kiem")."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()
