"""The agent's copy of the catalogue's levels: built in, kept from the collector, never
trusted blindly."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from agent.levels import LEVELS_FILE, built_in_levels, load_levels, save_levels
from checks.levels import Bounds, table_to_json
from collector.criteria.catalogue import load_catalogue
from collector.criteria.rules import Rules
from tests import paths


def test_built_in_levels_are_the_built_in_catalogues() -> None:
    """agent/default_levels.json is written from the catalogue; when a level changes there,
    regenerate it: ioc-collector catalogue levels --output agent/default_levels.json"""
    rules = Rules.of(load_catalogue())
    written = json.loads((paths.ROOT / "agent" / "default_levels.json").read_text("utf-8"))
    assert written == rules.levels_body()
    assert written["levels"] == table_to_json(rules.compiled.levels)
    # the remediation of every criterion a check feeds, in both languages
    assert [r["id"] for r in written["remediation"]["host.disk"]] == ["EQ-01"]
    assert written["remediation"]["sig.token"][0]["steps"]["vi"][0].startswith("Kiểm tra")
    assert built_in_levels().remediation["host.disk"][0].title["en"] == (
        "Officials' computers healthy"
    )
    assert built_in_levels().version == rules.fingerprint


def test_the_collectors_copy_is_kept_and_preferred(tmp_path: Path) -> None:
    body = {"version": "v2", "levels": {"host.disk": {"disk_free_ratio": {"warn_below": 0.5}}}}
    kept = save_levels(tmp_path / "state", body)
    assert kept.source == "collector" and kept.version == "v2"
    again = load_levels(tmp_path / "state")
    assert again.table == {"host.disk": {"disk_free_ratio": Bounds(warn_below=0.5)}}
    assert load_levels(tmp_path / "elsewhere").source == "built-in"
    assert load_levels(None).source == "built-in"


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        '{"levels": {}}',  # no version
        '{"version": "v", "levels": {"host.disk": {"disk_free_ratio": {"warn_below": "x"}}}}',
        '{"version": "v", "levels": {"host.disk": {"disk_free_ratio": {"too_high": 1}}}}',
        '{"version": "v", "levels": ["host.disk"]}',
    ],
)
def test_a_damaged_copy_falls_back_to_the_built_in_levels(
    tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / LEVELS_FILE).write_text(text)
    with caplog.at_level(logging.WARNING):
        known = load_levels(tmp_path)
    assert known.source == "built-in" and known.table == built_in_levels().table
    assert "unusable" in caplog.text


def test_a_bad_answer_is_not_kept(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        save_levels(tmp_path, {"version": "v", "levels": {"host.disk": "warn"}})
    assert not (tmp_path / LEVELS_FILE).exists()
