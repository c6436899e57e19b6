"""No English message text in what a Vietnamese reader gets, and no Vietnamese in what an
English reader gets: every page type, every report (PDF read back with pdftotext, XLSX read
with openpyxl, CSV) and ``ioc-agent check``, over a commune whose host reports a result for
every check message of the catalogue (checks/messages.yaml), so that every message, every
criterion reason it feeds and every evidence line it makes is rendered in both languages."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import openpyxl
import pytest
from click.testing import CliRunner

from agent.cli import main as agent_main
from checks.messages import catalogue, fields, msg, said
from checks.model import AgentReport, Category, CheckResult, ReportBatch, Status, Value
from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.service import Services
from tests.conftest import Clock, app_config, require_binary
from tests.peers.site import PASSWORDS, database_for, login

# The language of every text: the database is only the store behind it, the same on either
# engine (any_engine: the PostgreSQL pass leaves it out).
pytestmark = pytest.mark.any_engine

HK = "00070"  # Phường Hoàn Kiếm, Hà Nội
HOST = "pc-7"
LANGS = ("vi", "en")
#: A sample of each format a template may name (checks/messages.py FORMATS).
SAMPLES: dict[str, Any] = {
    "number": 4.25,
    "int": 3,
    "ratio": 0.31,
    "percent": 0.619,
    "bitrate": 1.64812e8,
    "size": 3.2e9,
    "duration": 8220,
    "ms": 0.042,
    "days": 12,
    "when": "2026-11-23T01:30:00+00:00",
    "term": "queue",
    "terms": "no_camera,no_speaker",
    "value": "disk_free_ratio",
    "check": "host.disk",
    "status": "fail",
}
#: A plain text parameter (a name, an address, an operating system's words): no word of
#: either language, so that whatever is found is the template's.
PLAIN = "pc-7"


def check_message_ids() -> list[str]:
    """Every message a check may send (not the engine's reasons, titles and words)."""
    kinds = ("reason.", "title.", "term.", "value.", "status.")
    return sorted(i for i in catalogue() if not i.startswith(kinds))


def sample(id: str) -> Any:
    params = {
        name: SAMPLES[spec] if spec else PLAIN
        for name, spec in fields(catalogue()[id]["en"]).items()
    }
    return msg(id, **params)


def results() -> list[CheckResult]:
    """One failing result per check message, each a device of its own (EQ-04 reads every
    eq.device result by its status, so each message feeds its reason and its evidence),
    and the disk past its level (a reason with a figure)."""
    out = [
        CheckResult(
            check="eq.device",
            category=Category.EQUIPMENT,
            target=f"thiet-bi-{n:03d}",
            status=Status.FAIL,
            **said(sample(id)),
        )
        for n, id in enumerate(check_message_ids())
    ]
    disk = msg("host.disk.free", free=0.05)
    out.append(
        CheckResult(
            check="host.disk",
            category=Category.HOST,
            target="C:",
            status=Status.OK,
            values={"disk_free_ratio": Value(value=0.05, unit="ratio")},
            **said(disk),
        )
    )
    return out


@cache
def fragments(lang: str) -> frozenset[str]:
    """The words of ``lang``'s templates that only ``lang`` writes: each run of text between
    parameters, of two words or more or one long word, that no template of the other
    language holds (``HTTP``, ``MOS`` and names are in both)."""
    other = "en" if lang == "vi" else "vi"
    theirs = " ".join(e[other] for e in catalogue().values())
    found = set()
    for entry in catalogue().values():
        for run in re.split(r"\{[^}]*\}", entry[lang]):
            text = run.strip(" ,.;:()«»'-/").strip()
            words = re.findall(r"[^\W\d_]+", text)
            if (len(words) >= 2 or len(text) >= 8) and text not in theirs:
                found.add(text)
    return frozenset(found)


def foreign(text: str, lang: str) -> list[str]:
    """The other language's template words found in ``text``."""
    other = "en" if lang == "vi" else "vi"
    return sorted(f for f in fragments(other) if f in text)


def own(text: str, lang: str) -> list[str]:
    """``lang``'s own template words found in ``text`` (that the search finds anything)."""
    return sorted(f for f in fragments(lang) if f in text)


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[str, Services]]:
    from collector.criteria.catalogue import load_catalogue
    from collector.domain.units import load_units
    from collector.service import services_for
    from collector.storage.connect import create_schema, make_engine

    engine = make_engine(database_for(request, tmp_path_factory.mktemp("languages")))
    create_schema(engine)
    services = services_for(engine, load_catalogue(), load_units(), clock=Clock())
    for role, password in PASSWORDS.items():
        services.accounts.add_user(role, password, role)
    with BackgroundServer(create_app(services, app_config())) as url:
        [(_, code)] = services.identities.create_enrollment_codes([HK])
        agent = httpx.post(f"{url}/api/v1/enroll", json={"code": code, "host": HOST}).json()
        report = AgentReport(
            agent_id=agent["agent_id"],
            seq=1,
            commune_code=HK,
            host=HOST,
            observed_at=services.clock(),
            results=results(),
        )
        r = httpx.post(
            f"{url}/api/v1/reports",
            content=ReportBatch(reports=[report]).model_dump_json(exclude_none=True),
            headers={"Authorization": f"Bearer {agent['token']}"},
        )
        assert r.status_code == 200, r.text
        services.history.snapshot(min_interval_s=0)
        yield url, services


@pytest.fixture(scope="module")
def viewer(site: tuple[str, Services]) -> httpx.Client:
    return login(site[0], "viewer")


def _visible(html: str) -> str:
    """A page's text as read: tags, scripts and styles out, entities as characters."""
    import html as html_lib

    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))


PAGES = ["/", "/province/01", f"/commune/{HK}", "/history", "/search?q=Ho%C3%A0n%20Ki%E1%BA%BFm"]


def test_the_commune_is_judged_on_every_message(viewer: httpx.Client) -> None:
    """The fixture does what it says: the commune's devices fail with every check message,
    and the page shows them in Vietnamese, figures in its locale."""
    text = _visible(viewer.get(f"/commune/{HK}?lang=vi").text)
    assert len(check_message_ids()) > 100
    for id in ("host.disk.free", "net.throughput.both", "vc.devices.missing"):
        from checks.messages import render

        assert render(sample(id), "vi") in text, id
    assert "còn 31 % dung lượng" in text and "tải xuống 164,8 Mbit/s" in text
    assert "dung lượng đĩa còn trống 5 %, dưới mức 10 %" in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", PAGES)
def test_pages_speak_one_language(viewer: httpx.Client, path: str, lang: str) -> None:
    sep = "&" if "?" in path else "?"
    r = viewer.get(f"{path}{sep}lang={lang}")
    assert r.status_code == 200, r.text[:300]
    text = _visible(r.text)
    assert foreign(text, lang) == []
    if path.startswith("/commune"):  # the messages are on it, in the reader's words
        assert len(own(text, lang)) > 60


def _report(viewer: httpx.Client, scope: str, code: str, fmt: str, lang: str) -> bytes:
    query = f"scope={scope}&format={fmt}&lang={lang}" + (f"&code={code}" if code else "")
    r = viewer.get(f"/reports?{query}")
    assert r.status_code == 200, r.text[:300]
    return r.content


def _xlsx_text(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return "\n".join(
        str(cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    )


def _pdf_text(data: bytes, tmp_path: Any) -> str:
    pdftotext = require_binary("pdftotext")
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        [pdftotext, "-layout", str(path), "-"], capture_output=True, timeout=60, check=True
    )
    # pdftotext breaks long lines where the PDF does: read it as one run of words.
    return re.sub(r"\s+", " ", done.stdout.decode("utf-8"))


SCOPES = [("commune", HK), ("province", "01")]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("scope", "code"), SCOPES)
def test_reports_speak_one_language(
    viewer: httpx.Client, scope: str, code: str, lang: str, tmp_path: Any
) -> None:
    texts = {
        "pdf": _pdf_text(_report(viewer, scope, code, "pdf", lang), tmp_path),
        "xlsx": _xlsx_text(_report(viewer, scope, code, "xlsx", lang)),
        "csv": "\n".join(
            ",".join(row)
            for row in csv.reader(
                io.StringIO(_report(viewer, scope, code, "csv", lang).decode("utf-8-sig"))
            )
        ),
    }
    for kind, text in texts.items():
        assert text.strip(), kind
        assert foreign(text, lang) == [], kind
        if scope == "commune" and kind != "csv":  # the messages, in the reader's words
            # (the CSV holds statuses only)
            assert len(own(text, lang)) > 50, kind
    if scope == "commune":  # the reasons are there, in the reader's language
        words = "dưới mức" if lang == "vi" else "disk_free_ratio = 0.05 < 0.1"
        assert words in texts["xlsx"], texts["xlsx"][:500]


@pytest.mark.parametrize("lang", LANGS)
def test_agent_check_speaks_one_language_in_80_columns(tmp_path: Any, lang: str) -> None:
    """``ioc-agent check`` on this machine: a closed port refuses, a name that does not
    resolve, nothing configured for the clock; at 80 columns every line fits and no word of
    a reason is cut in two."""
    state = tmp_path / "state"
    state.mkdir()
    # No levels: what the table says is each check's own message, as the JSON has it.
    (state / "levels.json").write_text('{"version": "none", "levels": {}}')
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(
        f"state_dir: {state}\n"
        "checks:\n"
        "  net.portal: {enabled: false}\n"
        "  net.tcp: {targets: ['127.0.0.1:9']}\n"
    )
    result = CliRunner().invoke(
        agent_main,
        ["check", "--config", str(cfg), "--lang", lang],
        env={"COLUMNS": "80"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert max(len(line) for line in out.splitlines()) <= 80
    assert foreign(out, lang) == []
    body = CliRunner().invoke(agent_main, ["check", "--config", str(cfg), "--json"]).output
    from json import loads

    said_en = {r["message"] for r in loads(body)["results"] if r["message"]}
    if lang == "en":  # every word of every message is on the screen whole
        table = re.sub(r"[│┃|]", " ", out)
        for message in said_en:
            for word in re.findall(r"(?<!\w)[A-Za-z]{4,}(?!\w)", message):
                assert re.search(rf"\b{word}\b", table), (word, out)
    else:
        assert "từ chối kết nối" in out  # the closed port, in Vietnamese
