"""Build the operations centre's Alertmanager configuration from one settings file.

``python -m dashboards.alerting`` reads ``dashboards/alertmanager/example.yaml`` and writes
``dashboards/alertmanager/alertmanager.yml`` (committed; a test fails when regenerating
changes it). ``--check`` only reports whether it is current; ``--settings`` and ``--out``
build a province's own configuration (the Ansible role does, on the collector machine,
through ``ioc-collector alerting build``).

What the configuration does (docs/ALERTING.md):

* one receiver per province (``province-<code>``): e-mail, Telegram and the Zalo bridge,
  routed by the alerts' ``province`` label, grouped per province and alert name; alerts
  without a province (the collector itself) go to the centre's receiver ``ioc-centre``;
* inhibition: a silent collector hides everything below it, many communes of a province
  failing the same criterion hide that province's per-commune alerts, a red commune hides
  the per-host alerts of that commune;
* office hours (Monday to Friday, 07:30-17:00, Asia/Ho_Chi_Minh) as the active time
  interval of the severities that may wait (``warning``), and the days off (the public
  holidays of ``holiday_years``, the province's ``days_off``) as their mute time interval:
  critical alerts are sent at once;
* messages from ``templates/ioc.tmpl``: Vietnamese first, an English line after, the
  runbook from the alert's annotations.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

HERE = Path(__file__).resolve().parent / "alertmanager"
EXAMPLE_SETTINGS = HERE / "example.yaml"
GENERATED = HERE / "alertmanager.yml"
TEMPLATES = HERE / "templates"

CENTRE_RECEIVER = "ioc-centre"
OFFICE_HOURS = "office-hours"
DAYS_OFF = "days-off"
SEVERITIES = ("critical", "warning")
#: Alerts about one host of a commune (they carry a ``host`` label).
PER_HOST_ALERTS = (
    "IocAgentSilent",
    "IocAgentSpoolBacklogGrowing",
    "IocAgentSpoolDropping",
    "IocMeetingQualityDegraded",
    "IocUpsOnBattery",
    "IocCertificateExpiringSoon",
    "IocCertificateExpired",
)
#: Alerts about one commune (its colour), or one of its hosts.
PER_COMMUNE_ALERTS = ("IocCommuneRed", *PER_HOST_ALERTS)

_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


class SettingsError(ValueError):
    """A settings file that cannot be used; the message names the field (vi / en)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Smtp(_Model):
    smarthost: str = Field(description="host:port of the mail relay")
    sender: str = Field(alias="from")
    hello: str = "localhost"
    auth_username: str = ""
    #: A file holding the password (Alertmanager reads it; the password is never copied).
    auth_password_file: str = ""
    require_tls: bool = True


class Telegram(_Model):
    api_url: str = "https://api.telegram.org"
    bot_token: SecretStr


class ZaloBridge(_Model):
    #: The bridge's webhook (``ioc-collector zalo-bridge``); it maps receivers to users.
    url: str = "http://127.0.0.1:9095/alertmanager"


class Recipients(_Model):
    emails: list[str] = []
    telegram_chat_ids: list[int] = []
    zalo: bool = False


class OfficeHours(_Model):
    location: str = "Asia/Ho_Chi_Minh"
    weekdays: list[str] = ["monday:friday"]
    start: str = "07:30"
    end: str = "17:00"
    #: Severities sent only within office hours (others are sent at once).
    applies_to: list[str] = ["warning"]
    #: Years whose public holidays (the working calendar's: Vietnam's, lunar Tết and Hùng
    #: Kings' day included) hold those severities back too; the Ansible role gives this year
    #: and the next, so a yearly run keeps it current.
    holiday_years: list[int] = []
    #: The province's own extra days off (as the collector's calendar ``days_off``).
    days_off: list[date] = []

    def muted_days(self) -> list[date]:
        """Every day off the severities that wait are held back on, in order."""
        if not self.holiday_years:
            return sorted(set(self.days_off))
        from collector.domain.calendar import public_holidays

        days = set(self.days_off).union(*(public_holidays(y) for y in self.holiday_years))
        return sorted(days)

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        if not _CLOCK.match(v):
            raise ValueError("giờ phải có dạng HH:MM / time must be HH:MM")
        return v

    @field_validator("applies_to")
    @classmethod
    def _severities(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(SEVERITIES))
        if unknown:
            raise ValueError(f"mức không biết / unknown severity: {', '.join(unknown)}")
        return v


class Timing(_Model):
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"
    resolve_timeout: str = "5m"

    @field_validator("*")
    @classmethod
    def _duration(cls, v: str) -> str:
        if not _DURATION.match(v):
            raise ValueError("thời lượng như 30s, 5m, 4h / a duration such as 30s, 5m, 4h")
        return v


class AlertingSettings(_Model):
    templates: str = "templates/*.tmpl"
    send_resolved: bool = True
    smtp: Smtp | None = None
    telegram: Telegram | None = None
    zalo_bridge: ZaloBridge | None = None
    office_hours: OfficeHours = OfficeHours()
    timing: Timing = Timing()
    centre: Recipients = Recipients()
    provinces: dict[str, Recipients] = {}

    @field_validator("provinces")
    @classmethod
    def _codes(cls, v: dict[str, Recipients]) -> dict[str, Recipients]:
        bad = sorted(code for code in v if not re.fullmatch(r"[0-9]{2}", code))
        if bad:
            raise ValueError(f"mã tỉnh có 2 chữ số / province codes have 2 digits: {bad}")
        return v


def load_settings(path: Path) -> AlertingSettings:
    """The settings of ``path``; a :class:`SettingsError` naming the field otherwise."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SettingsError(f"không đọc được {path} / cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: YAML không hợp lệ / invalid YAML: {exc}") from None
    try:
        return AlertingSettings.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise SettingsError(
            f"{path}: cấu hình cảnh báo không hợp lệ / invalid alerting settings:\n"
            + "\n".join(lines)
        ) from None


def receiver_name(province: str) -> str:
    return f"province-{province}"


def _email(settings: AlertingSettings, to: list[str]) -> list[dict[str, Any]]:
    smtp = settings.smtp
    if smtp is None or not to:
        return []
    conf: dict[str, Any] = {
        "to": ", ".join(to),
        "from": smtp.sender,
        "smarthost": smtp.smarthost,
        "hello": smtp.hello,
        "require_tls": smtp.require_tls,
        "send_resolved": settings.send_resolved,
        "headers": {"Subject": '{{ template "ioc.subject" . }}'},
        "text": '{{ template "ioc.text" . }}',
        "html": "",
    }
    if smtp.auth_username:
        conf["auth_username"] = smtp.auth_username
        conf["auth_password_file"] = smtp.auth_password_file
    return [conf]


def _telegram(settings: AlertingSettings, chats: list[int]) -> list[dict[str, Any]]:
    tg = settings.telegram
    if tg is None:
        return []
    return [
        {
            "api_url": tg.api_url,
            "bot_token": tg.bot_token.get_secret_value(),
            "chat_id": chat,
            "parse_mode": "",
            "send_resolved": settings.send_resolved,
            "message": '{{ template "ioc.text" . }}',
        }
        for chat in chats
    ]


def receiver(settings: AlertingSettings, name: str, who: Recipients) -> dict[str, Any]:
    conf: dict[str, Any] = {"name": name}
    if email := _email(settings, who.emails):
        conf["email_configs"] = email
    if telegram := _telegram(settings, who.telegram_chat_ids):
        conf["telegram_configs"] = telegram
    if who.zalo and settings.zalo_bridge is not None:
        conf["webhook_configs"] = [
            {"url": settings.zalo_bridge.url, "send_resolved": settings.send_resolved}
        ]
    return conf


def _severity_routes(settings: AlertingSettings) -> list[dict[str, Any]]:
    """Severities that wait for office hours get a child route active only then; the
    others fall through to the parent and are sent at once."""
    waiting = [s for s in SEVERITIES if s in settings.office_hours.applies_to]
    if not waiting:
        return []
    route: dict[str, Any] = {
        "matchers": [f'severity=~"{"|".join(waiting)}"'],
        "active_time_intervals": [OFFICE_HOURS],
    }
    if settings.office_hours.muted_days():
        route["mute_time_intervals"] = [DAYS_OFF]
    return [route]


def routes(settings: AlertingSettings) -> dict[str, Any]:
    timing = settings.timing
    children = [
        {
            "matchers": [f'province="{code}"'],
            "receiver": receiver_name(code),
            "routes": _severity_routes(settings),
        }
        for code in sorted(settings.provinces)
    ]
    # Alerts of a province nobody is named for, and of the collector, go to the centre.
    children.append({"matchers": ['severity=~".+"'], "routes": _severity_routes(settings)})
    for child in children:
        if not child["routes"]:
            del child["routes"]
    return {
        "receiver": CENTRE_RECEIVER,
        "group_by": ["province", "alertname"],
        "group_wait": timing.group_wait,
        "group_interval": timing.group_interval,
        "repeat_interval": timing.repeat_interval,
        "routes": children,
    }


def inhibit_rules() -> list[dict[str, Any]]:
    per_commune = "|".join(PER_COMMUNE_ALERTS)
    per_host = "|".join(PER_HOST_ALERTS)
    return [
        # No data: everything about provinces, communes and hosts is stale or missing.
        {
            "source_matchers": ['alertname="IocCollectorDown"'],
            "target_matchers": ['province=~".+"'],
        },
        # A shared cause (provincial network, a national service): one alert, not hundreds.
        {
            "source_matchers": ['alertname="IocCriterionFailingWidely"'],
            "target_matchers": [f'alertname=~"{per_commune}"'],
            "equal": ["province"],
        },
        # The commune is red already: its hosts' alerts are the details of that.
        {
            "source_matchers": ['alertname="IocCommuneRed"'],
            "target_matchers": [f'alertname=~"{per_host}"'],
            "equal": ["province", "commune"],
        },
    ]


def time_intervals(settings: AlertingSettings) -> list[dict[str, Any]]:
    hours = settings.office_hours
    intervals = [
        {
            "name": OFFICE_HOURS,
            "time_intervals": [
                {
                    "weekdays": list(hours.weekdays),
                    "times": [{"start_time": hours.start, "end_time": hours.end}],
                    "location": hours.location,
                }
            ],
        }
    ]
    days = hours.muted_days()
    if days:
        # one whole day each, in the office's time zone
        intervals.append(
            {
                "name": DAYS_OFF,
                "time_intervals": [
                    {
                        "days_of_month": [str(d.day)],
                        "months": [str(d.month)],
                        "years": [str(d.year)],
                        "location": hours.location,
                    }
                    for d in days
                ],
            }
        )
    return intervals


def build_config(settings: AlertingSettings) -> dict[str, Any]:
    receivers = [receiver(settings, CENTRE_RECEIVER, settings.centre)] + [
        receiver(settings, receiver_name(code), who)
        for code, who in sorted(settings.provinces.items())
    ]
    return {
        "global": {"resolve_timeout": settings.timing.resolve_timeout},
        "templates": [settings.templates],
        "route": routes(settings),
        "inhibit_rules": inhibit_rules(),
        "time_intervals": time_intervals(settings),
        "receivers": receivers,
    }


HEADER = (
    "# Generated by `python -m dashboards.alerting` from {source}: edit that file and\n"
    "# regenerate, do not edit this one. Holds secrets when the settings do (mode 0640).\n"
)


def render(settings: AlertingSettings, source: str) -> str:
    body = yaml.safe_dump(build_config(settings), sort_keys=False, allow_unicode=True, width=100)
    return HEADER.format(source=source) + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.alerting", description=__doc__)
    parser.add_argument("--settings", type=Path, default=EXAMPLE_SETTINGS)
    parser.add_argument("--out", type=Path, default=GENERATED, help="alertmanager.yml to write")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the generated file is not current"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.settings)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    source = (
        "dashboards/alertmanager/example.yaml"
        if args.settings == EXAMPLE_SETTINGS
        else args.settings.name
    )
    text = render(settings, source)
    current = args.out.exists() and args.out.read_text("utf-8") == text
    if args.check:
        if not current:
            print(f"{args.out} is not current: run python -m dashboards.alerting")
        return 0 if current else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    args.out.chmod(0o640)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
