"""Figures in the reader's locale for the pages and reports: the formatting itself lives in
:mod:`checks.fmt`, shared with the agent and the message catalogue (:mod:`checks.messages`)."""

from checks.fmt import (
    LOCALES,
    TIME_ZONE,
    bitrate,
    day,
    days,
    duration,
    number,
    percent,
    ratio,
    size,
    when,
)

__all__ = [
    "LOCALES",
    "TIME_ZONE",
    "bitrate",
    "day",
    "days",
    "duration",
    "number",
    "percent",
    "ratio",
    "size",
    "when",
]
