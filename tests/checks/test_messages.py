"""The message catalogue (checks/messages.yaml): complete in both languages, every id the
code names exists, figures in the reader's locale, and the wire format that carries a
message id stays readable by both ends (an older agent's report without ids included)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from checks.messages import FORMATS, catalogue, fields, figure, msg, render, render_stored
from checks.messages import stored as stored_msg
from checks.model import AgentReport, CheckResult, MessageRef
from tests import paths

#: Letters only Vietnamese writes (a Vietnamese template without one is suspect).
VIETNAMESE = set("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
#: Ids whose Vietnamese is rightly written without a Vietnamese letter ("micro", "loa").
NEUTRAL = {
    "term.camera",
    "term.microphone",
    "term.speaker",
    "term.staples",
    "value.battery_charge",
}


def test_every_message_has_both_languages_with_the_same_parameters() -> None:
    for id, entry in catalogue().items():
        vi, en = fields(entry["vi"]), fields(entry["en"])
        assert set(vi) == set(en), id
        for name, spec in (vi | en).items():
            assert spec in FORMATS or spec == "", f"{id}: {{{name}:{spec}}}"


def test_the_catalogue_reads_the_same_with_libyaml_as_with_pure_python() -> None:
    """catalogue() reads with libyaml's loader (less memory left behind in the agent); every
    message must be exactly what PyYAML's pure-Python safe loader reads."""
    import yaml

    assert hasattr(yaml, "CSafeLoader")  # the wheel the agent ships has libyaml
    text = (Path(__file__).resolve().parents[2] / "checks" / "messages.yaml").read_text("utf-8")
    pure = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506
    assert len(pure) == len(catalogue()) > 300
    assert catalogue() == {
        str(k): {"vi": str(v["vi"]), "en": str(v["en"])} for k, v in pure.items()
    }


def test_the_shipped_catalogue_is_read_event_by_event() -> None:
    """The agent's first cycle reads the catalogue from libyaml's events, without the
    document's nodes (0.8 MiB less left resident: docs/BENCHMARKS.md, section 3); a change
    to messages.yaml that needs the full loader would quietly bring them back."""
    from checks.messages import _streamed

    text = (Path(__file__).resolve().parents[2] / "checks" / "messages.yaml").read_text("utf-8")
    assert _streamed(text) == catalogue()


def _as_loaded(text: str) -> dict[str, dict[str, str]]:
    """What PyYAML's safe loader (libyaml's, as before the catalogue was read by events)
    reads from ``text``, as the catalogue keeps it."""
    import yaml

    data = yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506
    return {str(k): {"vi": str(v["vi"]), "en": str(v["en"])} for k, v in data.items()}


@pytest.mark.parametrize(
    "text",
    [
        'a.b:\n  vi: "xin chào {name}"\n  en: "hello {name}"\n',
        "term.đặc khu:\n  vi: \"đặc khu\"\n  en: 'special zone'\n",
        "a.b:\n  vi: >\n    hai\n    dòng\n  en: |\n    two\n    lines\n",
        'a.b:\n  vi: "x"\n  en: "y"\n  note: [not, read]\n',
        'a.b:\n  vi: "x"\n  en: "y"\na.b:\n  vi: "z"\n  en: "w"\n',
        "a.b:\n  vi: chưa có\n  en: none yet\n",
        "a.b:\n  vi: có\n  en: yes\n",  # YAML reads a bool: the loader's "True"
        "a.b:\n  vi: 1.5\n  en: 2025-07-01\n",
        "yes:\n  vi: a\n  en: b\n",
        'a.b: &x\n  vi: "x"\n  en: "y"\nc.d: *x\n',
        'a.b:\n  vi: !!str 12\n  en: "y"\n',
        '--- !!map\na.b:\n  vi: "x"\n  en: "y"\n',
    ],
)
def test_the_catalogue_reads_any_yaml_as_the_safe_loader_does(text: str) -> None:
    from checks.messages import read_catalogue

    assert read_catalogue(text) == _as_loaded(text)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('a.b:\n  vi: "x"\n', KeyError),  # a language missing
        ('a.b:\n  vi: "x\n  en: "y"\n', "yaml.YAMLError"),
        ("- a.b\n", AttributeError),  # a list, not a mapping of ids
        ('a.b:\n  vi: "x"\n  en: "y"\n---\nc.d: {}\n', "yaml.YAMLError"),  # two documents
    ],
)
def test_a_broken_catalogue_fails_as_with_the_safe_loader(text: str, error: object) -> None:
    import yaml

    from checks.messages import read_catalogue

    kind = yaml.YAMLError if error == "yaml.YAMLError" else error
    assert isinstance(kind, type)
    with pytest.raises(kind) as streamed:
        read_catalogue(text)
    with pytest.raises(kind) as loaded:
        _as_loaded(text)
    assert str(streamed.value) == str(loaded.value)


def test_vietnamese_templates_are_written_in_vietnamese() -> None:
    """A Vietnamese template that is only English words has not been translated."""
    for id, entry in catalogue().items():
        if id.startswith("title.") or id in NEUTRAL:
            continue
        literal = re.sub(r"\{[^}]*\}", "", entry["vi"]).lower()
        if re.search(r"[a-z]{3}", literal):
            assert VIETNAMESE & set(literal), f"{id}: {entry['vi']!r}"


def _ids_named_in_code() -> set[str]:
    """Every literal message id passed to ``msg(...)`` in the project's code."""
    ids: set[str] = set()
    for package in ("checks", "agent", "collector"):
        for path in Path(paths.ROOT, package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "msg"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    ids.add(str(node.args[0].value))
    return ids


def test_every_id_the_code_names_is_in_the_catalogue() -> None:
    named = _ids_named_in_code()
    assert len(named) > 60
    assert named <= set(catalogue()), named - set(catalogue())


@pytest.mark.parametrize(
    ("id", "params", "vi", "en"),
    [
        ("host.disk.free", {"free": 0.31}, "còn 31 % dung lượng", "31 % free"),
        (
            "net.throughput.both",
            {"down": 1.64812e8, "up": 2.2e7},
            "tải xuống 164,8 Mbit/s, tải lên 22 Mbit/s",
            "download 164.8 Mbit/s, upload 22 Mbit/s",
        ),
        ("host.uptime.up", {"uptime": 8220}, "máy đã chạy 2 giờ 17 phút", "up 2 h 17 min"),
        (
            "vc.devices.missing",
            {"missing": "no_camera,no_microphone"},
            "không có camera, không có micro",
            "no camera, no microphone",
        ),
        (
            "sec.updates.last",
            {"age": 12.4, "when": "2026-11-23T01:30:00+00:00", "source": "apt"},
            "cập nhật lần cuối 12 ngày trước (23/11/2026 08:30, từ apt)",
            "last update 12 days ago (23/11/2026 08:30, from apt)",
        ),
        (
            "check.timeout",
            {"seconds": 2.5},
            "không có kết quả sau 2,5 giây",
            "no answer within 2.5 s",
        ),
        (
            "eq.device.refused",
            {"kind": "queue"},
            "máy cấp số thứ tự: từ chối kết nối",
            "queue machine: connection refused",
        ),
        # What was English-only before: the SNMP client's reasons, the SSH command sets'
        # findings, SANE's and WIA's failures, NUT's flags and voltage (peers' words inside).
        (
            "eq.snmp.timeout_community",
            {"seconds": 4.0, "tries": 2, "each": 2.0},
            "không có trả lời trong 4 giây (2 lần thử, mỗi lần 2 giây): sai community hoặc "
            "thiết bị đang tắt",
            "no answer within 4 s (2 tries of 2 s) — wrong community or device off",
        ),
        (
            "eq.snmp.refused.wrong_auth_key",
            {},
            "sai khóa xác thực SNMPv3: thiết bị có trả lời nhưng từ chối yêu cầu",
            "wrong SNMPv3 authentication key — the device answered but refused the request",
        ),
        (
            "ssh.cmd.too_long",
            {"command": "df -P", "limit": 1048576},
            "kết quả của lệnh 'df -P' dài quá 1.048.576 byte",
            "output of 'df -P' over 1,048,576 bytes",
        ),
        (
            "eq.scanner.no_list",
            {"command": "scanimage", "seconds": 27.5},
            "scanimage -L không trả về danh sách máy quét trong 27,5 giây",
            "scanimage -L gave no list within 27.5 s",
        ),
        (
            "eq.nut.ups_voltage",
            {"states": "on line", "flags": "OL CHRG", "voltage": 228.5},
            "on line (cờ trạng thái NUT: OL CHRG), điện áp vào 228,5 V",
            "on line [ups.status OL CHRG], input 228.5 V",
        ),
    ],
)
def test_figures_and_words_in_the_readers_locale(
    id: str, params: dict[str, object], vi: str, en: str
) -> None:
    ref = msg(id, **params)
    assert render(ref, "vi") == vi
    assert render(ref, "en") == en
    assert render_stored(stored_msg(ref), "vi") == vi  # as the collector keeps it


def test_an_unknown_id_or_unfilled_template_falls_back_to_the_text_sent() -> None:
    assert render(MessageRef(id="future.message", params={}), "vi", "as sent") == "as sent"
    assert render(MessageRef(id="host.disk.free", params={}), "vi", "as sent") == "as sent"
    bad = MessageRef(id="host.disk.free", params={"free": "a lot"})
    assert render(bad, "vi", "as sent") == "as sent"
    assert render(None, "en", "old agent") == "old agent"
    assert render_stored(["host.disk.free"], "vi", "broken") == "broken"
    with pytest.raises(KeyError, match="not in checks/messages.yaml"):
        msg("no.such.message")


def test_figures_take_their_unit_or_a_guess_from_the_value_name() -> None:
    assert figure(0.05, "ratio", "disk_free_ratio", "vi") == "5 %"
    assert figure(0.05, "", "disk_free_ratio", "vi") == "5 %"  # stored before units were kept
    assert figure(1.5e8, "", "download_bandwidth", "en") == "150 Mbit/s"
    assert figure(9.67329e-05, "days", "updates_age", "vi") == "8,4 giây"
    assert figure(3, "count", "camera_count", "vi") == "3"


def _report(results: list[dict[str, object]]) -> dict[str, object]:
    return {
        "agent_id": "a-1",
        "seq": 1,
        "commune_code": "00070",
        "host": "pc-1",
        "observed_at": "2026-12-05T08:00:00+07:00",
        "results": results,
    }


def test_wire_format_old_reports_without_ids_and_new_ones_with_them() -> None:
    old = {"check": "host.disk", "category": "host", "status": "ok", "message": "31% free"}
    report = AgentReport.model_validate(_report([old]))
    assert report.results[0].msg is None and report.results[0].message == "31% free"
    new = CheckResult(check="host.disk", category="host", status="ok", **_said("host.disk.free"))
    again = AgentReport.model_validate_json(
        AgentReport.model_validate(_report([new.model_dump(mode="json")])).model_dump_json()
    )
    assert again.results[0].msg == new.msg and again.results[0].message == "31 % free"


def _said(id: str) -> dict[str, object]:
    from checks.messages import said

    return said(msg(id, free=0.31))


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "Not An Id", "params": {}},
        {"id": "host.disk.free", "params": {f"p{i}": 1 for i in range(17)}},
        {"id": "host.disk.free", "params": {"free": "x" * 513}},
        {"id": "host.disk.free", "params": {"Bad-Name": 1}},
        {"id": "host.disk.free", "params": {"free": [1]}},
    ],
)
def test_wire_format_refuses_a_malformed_message(bad: dict[str, object]) -> None:
    result = {"check": "host.disk", "category": "host", "status": "ok", "msg": bad}
    with pytest.raises(ValidationError):
        AgentReport.model_validate(_report([result]))


def test_kept_messages_nest_and_are_written_when_read() -> None:
    """The criteria engine keeps its Vietnamese reasons as messages inside the text (figures
    and the check's own message included) and writes them when a reason is read."""
    from checks.messages import kept, kept_figure, written

    inner = kept("host.disk.free", {"free": 0.05})
    outer = kept(
        "reason.pending",
        {"found": inner + "; " + inner, "need": "5 phút", "so_far": "0 giây", "status": "fail"},
    )
    text = written(outer, "vi")
    assert text == (
        "còn 5 % dung lượng; còn 5 % dung lượng; đang chờ: chỉ tính khi kéo dài 5 phút (mới 0 giây)"
    )
    assert written(kept_figure(1.64812e8, "bits_per_second", "download_bandwidth"), "vi") == (
        "164,8 Mbit/s"
    )
    assert written("plain text", "vi") == "plain text"
    assert written(kept("future.id", {}, "as sent"), "vi") == "as sent"


def test_a_list_of_states_is_said_in_the_readers_language() -> None:
    """A UPS's states are a list of kept messages inside one parameter: each is said in
    the reader's language, the English message stays as it was."""
    from checks.equipment.ups import UpsSection, evaluate_ups
    from checks.messages import text_of

    section = UpsSection(output_source=5, battery_status=3, minutes_remaining=125, charge_percent=9)
    result = evaluate_ups(section, "ups-1")
    assert result.message == "on battery, battery low, charge 9 %, 2 h 5 min left"
    assert text_of(result, "vi") == (
        "đang chạy bằng pin, pin yếu, pin còn 9 %, còn chạy được 2 giờ 5 phút"
    )


def test_a_printers_states_and_supplies_are_said_in_the_readers_language() -> None:
    from checks.equipment.printer import PrinterSection, Supply, evaluate_printer
    from checks.messages import text_of

    toner = Supply("1", "Black Toner", 3, 3, 100, 12)
    drum = Supply("2", "Drum", 3, 9, 100, -3)
    section = PrinterSection((toner, drum), printer_status=3, device_status=3, errors=("jammed",))
    result = evaluate_printer(section, "may-in-1")
    assert result.message == "warning, idle, jammed; black toner 12 %, Drum: some remaining"
    assert text_of(result, "vi") == (
        "đang cảnh báo, đang rảnh, kẹt giấy; mực in (toner) đen còn 12 %, Drum: còn một ít"
    )


#: A parameter of each format, as a check or the criteria engine passes it.
_SAMPLE = {
    "number": 164.8123,
    "int": 1234,
    "ratio": 0.3125,
    "percent": 0.619,
    "bitrate": 1.64812e8,
    "size": 1.25e10,
    "duration": 8220.0,
    "ms": 0.042,
    "days": 12,
    "when": "2026-11-23T01:30:00+00:00",
    "term": "queue_machine",
    "terms": "no_camera,no_speaker",
    "value": "disk_free_ratio",
    "check": "host.disk",
    "status": "fail",
}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_message_written_now_is_the_text_kept_and_written_later(lang: str) -> None:
    """checks.messages.write (what the criteria engine calls) gives, for every message of
    the catalogue, byte for byte the text written() gives for the same message kept: with
    a figure of each format, a plain text, a number, a text holding kept messages, and a
    fallback holding one."""
    from checks.messages import catalogue, fields, kept, kept_figure, write, written

    inner = (
        kept("host.disk.free", {"free": 0.05}) + "; " + kept_figure(2.5e6, "bits_per_second", "x")
    )
    texts = ("pc-2 (C:)", 3.25, inner)
    fallback = "as sent " + kept("host.disk.free", {"free": 0.5})
    for n, (id, entry) in enumerate(sorted(catalogue().items())):
        params = {
            name: _SAMPLE[spec] if spec else texts[(n + i) % len(texts)]
            for i, (name, spec) in enumerate(sorted(fields(entry[lang]).items()))
        }
        now = write(id, params, lang, fallback)
        assert now == written(kept(id, params, fallback), lang), id
        assert "\x1e" not in now, id
    assert write("future.id", {}, lang, fallback) == written(kept("future.id", {}, fallback), lang)
    assert write("host.disk.free", {}, lang, "as sent") == "as sent"  # a parameter missing


def test_a_text_not_remembered_is_the_same_and_leaves_the_remembered_ones_alone() -> None:
    """The criteria engine's reasons name their host and are not remembered
    (render_id(..., remember=False)): the same text, and nothing added to the cache."""
    from checks.messages import _rendered, render_id

    params = {"name": "disk_free_ratio", "figure": "5 %", "bound": "", "where": "pc-9 (C:)"}
    for lang in ("vi", "en"):
        before = _rendered.cache_info().currsize
        alone = render_id("reason.value", params, lang, "x", remember=False)
        assert _rendered.cache_info().currsize == before
        assert alone == render_id("reason.value", params, lang, "x")
        assert alone in (
            "máy pc-9 (C:): dung lượng đĩa còn trống 5 %",
            "disk_free_ratio = 5 % on pc-9 (C:)",
        )
    assert render_id("future.id", {}, "vi", "as sent", remember=False) == "as sent"
