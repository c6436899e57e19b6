"""Generated dashboards are current, use the provisioned datasource, and read well."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import yaml

from dashboards import build

ROOT = Path(__file__).resolve().parents[2] / "dashboards"


def test_generated_json_is_current(tmp_path: Path) -> None:
    # Regenerating must not change the committed files: run `python -m dashboards.build`.
    assert build.main(["--check"]) == 0, "dashboards/generated is stale"
    assert build.main(["--out", str(tmp_path)]) == 0
    for f in sorted(build.GENERATED.glob("*.json")):
        assert (tmp_path / f.name).read_text("utf-8") == f.read_text("utf-8"), f.name
    assert {f.name for f in build.GENERATED.glob("*.json")} == {
        f"{uid}.json" for uid in build.DASHBOARDS
    }


def test_check_reports_a_stale_file(tmp_path: Path, capsys) -> None:
    build.main(["--out", str(tmp_path)])
    (tmp_path / "ioc-national.json").write_text("{}", encoding="utf-8")
    assert build.main(["--check", "--out", str(tmp_path)]) == 1
    assert "ioc-national.json is not current" in capsys.readouterr().out


def test_every_panel_uses_the_provisioned_datasource() -> None:
    prov = yaml.safe_load((ROOT / "provisioning" / "datasources.yaml").read_text())
    [ds] = prov["datasources"]
    assert ds["uid"] == build.DATASOURCE_UID and ds["type"] == "prometheus"
    for f in build.GENERATED.glob("*.json"):
        d = json.loads(f.read_text("utf-8"))
        ids = [p["id"] for p in d["panels"]]
        assert len(ids) == len(set(ids)), f.name
        for p in d["panels"]:
            assert p["datasource"]["uid"] == build.DATASOURCE_UID, (f.name, p["title"])
            assert p["targets"], (f.name, p["title"])
            for t in p["targets"]:
                assert t["datasource"]["uid"] == build.DATASOURCE_UID


def test_titles_are_vietnamese_with_english_descriptions() -> None:
    for f in build.GENERATED.glob("*.json"):
        text = f.read_text("utf-8")
        assert unicodedata.is_normalized("NFC", text), f"{f.name}: diacritics not NFC"
        d = json.loads(text)
        items = [d, *d["panels"]]
        for item in items:
            # Vietnamese title (has a Vietnamese letter or diacritic), English description.
            assert any(ord(c) > 127 for c in item["title"]), item["title"]
            assert item["description"].isascii(), item["description"]


def test_template_variables_use_label_values() -> None:
    province = json.loads((build.GENERATED / "ioc-province.json").read_text("utf-8"))
    commune = json.loads((build.GENERATED / "ioc-commune.json").read_text("utf-8"))
    [pv] = province["templating"]["list"]
    assert pv["query"] == "label_values(ioc_commune_info, province)"
    names = {v["name"]: v["query"] for v in commune["templating"]["list"]}
    assert names == {
        "province": "label_values(ioc_commune_info, province)",
        "commune": 'label_values(ioc_commune_info{province="$province"}, commune)',
    }


def test_provisioning_points_at_a_dashboard_folder() -> None:
    prov = yaml.safe_load((ROOT / "provisioning" / "dashboards.yaml").read_text())
    [provider] = prov["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
