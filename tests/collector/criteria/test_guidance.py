"""Each criterion's guidance (explanation for officials, remediation for commune IT staff):
kept in the catalogue's companion file, required for every criterion in both languages,
replaced text by text by a province's override file."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest
import yaml

from collector.criteria.catalogue import (
    CatalogueError,
    guidance_path,
    load_catalogue,
    merge,
    parse_overrides,
)

VIETNAMESE = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")


def _builtin(tmp_path: Path) -> Path:
    """The built-in catalogue and its guidance copied into ``tmp_path``."""
    package = resources.files("collector.criteria")
    for name in ("decree118.yaml", "decree118.guidance.yaml"):
        with resources.as_file(package.joinpath(name)) as src:
            shutil.copy(src, tmp_path / name)
    return tmp_path / "decree118.yaml"


def test_every_criterion_has_guidance_in_both_languages() -> None:
    cat = load_catalogue()
    assert [c.id for c in cat.criteria] == list(cat.guidance)
    for cid, g in cat.guidance.items():
        assert len(g.explanation.vi) > 80 and len(g.explanation.en) > 80, cid
        assert len(g.remediation.vi) == len(g.remediation.en) >= 3, cid
        vi = g.explanation.vi + " ".join(g.remediation.vi)
        assert VIETNAMESE & set(vi.lower()), cid  # written with diacritics
        assert not VIETNAMESE & set((g.explanation.en + " ".join(g.remediation.en)).lower())


def test_a_catalogue_file_loads_its_companion(tmp_path: Path) -> None:
    path = _builtin(tmp_path)
    assert guidance_path(path) == tmp_path / "decree118.guidance.yaml"
    assert load_catalogue(path).guidance["NET-01"].remediation.vi[0].startswith("Kiểm tra")


def test_missing_guidance_is_refused_with_the_criterion(tmp_path: Path) -> None:
    path = _builtin(tmp_path)
    companion = guidance_path(path)
    data = yaml.safe_load(companion.read_text("utf-8"))
    del data["SIG-01"]
    companion.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(CatalogueError, match="SIG-01: every criterion needs both"):
        load_catalogue(path)


def test_a_missing_language_is_refused(tmp_path: Path) -> None:
    path = _builtin(tmp_path)
    companion = guidance_path(path)
    data = yaml.safe_load(companion.read_text("utf-8"))
    del data["NET-02"]["remediation"]["en"]
    companion.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(CatalogueError, match="NET-02"):
        load_catalogue(path)


def test_an_override_replaces_texts_and_a_new_criterion_brings_its_own() -> None:
    base = load_catalogue()
    text = """
guidance:
  NET-01:
    remediation:
      vi: ["Gọi Viettel Cao Bằng, số 0206 000 000."]
"""
    merged = merge(base, *parse_overrides(text)[:1])
    g = merged.guidance["NET-01"]
    assert g.remediation.vi == ["Gọi Viettel Cao Bằng, số 0206 000 000."]
    assert g.remediation.en == base.guidance["NET-01"].remediation.en  # kept
    assert g.explanation == base.guidance["NET-01"].explanation
    new = """
criteria:
  - id: LOC-01
    title: {vi: Tiêu chí của tỉnh, en: Province criterion}
    basis: Quyết định của tỉnh
    kind: attested
    severity: minor
    validity_days: 30
"""
    data, root = parse_overrides(new, "tinh.yaml")
    with pytest.raises(CatalogueError, match=r"criteria\[0\]: LOC-01 needs its guidance"):
        merge(base, data, "tinh.yaml", root)
    with_guidance = (
        new
        + """
guidance:
  LOC-01:
    explanation: {vi: Giải thích., en: Explanation.}
    remediation: {vi: [Làm việc này.], en: [Do this.]}
"""
    )
    assert "LOC-01" in merge(base, parse_overrides(with_guidance)[0]).guidance
    with pytest.raises(CatalogueError, match="guidance: expected criterion ids"):
        merge(base, parse_overrides("guidance: [1, 2]")[0])
