"""The commune page's evidence: one sentence per host in the page's language, the raw
engineering lines inside a <details> disclosure, no line twice."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from collector.criteria.catalogue import level_table
from collector.reports.evidence import raw_lines, sentences
from tests.peers.site import Site, login


@pytest.fixture(scope="module")
def viewer(site: Site) -> httpx.Client:
    return login(site.url, "viewer")


def _failing_with_evidence(site: Site) -> tuple[str, str, list[dict]]:
    """A red commune of Cao Bằng and a failing criterion of it with measured evidence."""
    for s in site.services.readiness.settled_states("04"):
        if s.colour.value != "red":
            continue
        state = site.services.readiness.settled_state(s.code)
        for cid, v in state.criteria.items():
            ev = v.get("evidence") or []
            if v["status"] == "fail" and any(e.get("values") for e in ev):
                return s.code, cid, ev
    pytest.fail("the simulated Cao Bằng has no red commune with measured evidence")


def _cell(page: str, cid: str) -> str:
    row = re.search(rf'<tr id="crit-{cid}" class="status-[a-z_]+">(.*?)</tr>', page, re.S)
    assert row is not None, cid
    return row.group(1)


def _items(block: str) -> list[str]:
    return [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", block, re.S)]


def test_evidence_is_sentences_with_raw_values_behind_details(
    site: Site, viewer: httpx.Client
) -> None:
    code, cid, evidence = _failing_with_evidence(site)
    levels = level_table(site.services.rules.current().catalogue)
    shown: dict[str, list[str]] = {}
    for lang in ("vi", "en"):
        r = viewer.get(f"/commune/{code}?lang={lang}")
        assert r.status_code == 200
        cell = _cell(r.text, cid)
        said = re.search(r'<ul class="evidence">(.*?)</ul>', cell, re.S)
        raw = re.search(r'<details class="raw"><summary>(.*?)</summary>(.*?)</details>', cell, re.S)
        assert said is not None and raw is not None
        shown[lang] = _items(said.group(1))
        assert shown[lang] == sentences(evidence, lang, levels)
        assert len(shown[lang]) == len(set(shown[lang]))  # one sentence per host
        hosts = {e["host"] for e in evidence}
        assert 1 <= len(shown[lang]) <= len(hosts)  # the hosts with what is wrong
        # the engineering text only inside the disclosure, each line once
        lines = _items(raw.group(2))
        assert lines == raw_lines(evidence, lang) and len(lines) == len(set(lines))
        assert {e["check"] for e in evidence} <= {x.split(" ")[0] for x in lines}
        assert not any("=" in s for s in shown[lang])  # no "name = 1.6e+07" in the sentences
        assert html.unescape(raw.group(1)) == ("Số liệu gốc" if lang == "vi" else "Raw values")
    word = {"vi": "Máy ", "en": "Host "}
    assert all(s.startswith(word["vi"]) for s in shown["vi"])
    assert all(s.startswith(word["en"]) for s in shown["en"])
    assert not set(shown["vi"]) & set(shown["en"])  # neither language in the other's page
    vi_words = ("Máy ", "không ", "dưới mức", "trên mức", "còn ", "tải xuống", "độ trễ")
    en_words = ("Host ", " no ", "below", "above", " free", "download", "round trip", " ago")
    assert not any(w in s for s in shown["en"] for w in vi_words), shown["en"]
    assert not any(w in s for s in shown["vi"] for w in en_words), shown["vi"]
    viewer.get(f"/commune/{code}?lang=vi")  # the language is kept: back to the default


def test_green_coverage_reads_in_the_page_language(viewer: httpx.Client) -> None:
    vi = viewer.get("/?lang=vi").text
    en = viewer.get("/?lang=en").text
    ratio = re.compile(r'id="green-ratio">(\d+)([.,])(\d) %<')
    got_vi, got_en = ratio.search(vi), ratio.search(en)
    assert got_vi is not None and got_en is not None
    assert got_vi.group(2) == "," and got_en.group(2) == "."
    assert (got_vi.group(1), got_vi.group(3)) == (got_en.group(1), got_en.group(3))
    viewer.get("/?lang=vi")


def test_readiness_json_has_the_evidence_in_words_in_both_languages(
    site: Site, viewer: httpx.Client
) -> None:
    code, cid, evidence = _failing_with_evidence(site)
    levels = level_table(site.services.rules.current().catalogue)
    r = viewer.get(f"/api/v1/communes/{code}")
    assert r.status_code == 200
    item = r.json()["criteria"][cid]
    assert item["evidence"] == evidence  # the items as measured stay as they were
    assert item["evidence_vi"] == sentences(evidence, "vi", levels)
    assert item["evidence_en"] == sentences(evidence, "en", levels)
    assert item["evidence_vi"][0].startswith("Máy ") and item["evidence_en"][0].startswith("Host ")
