"""The metric catalogue (``collector/metric_catalogue.yaml``) and the metric names a PromQL
expression refers to.

Dashboards and rules may only use catalogued metrics; the tests use
:func:`referenced_names` to enforce it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

METRIC_TYPES = ("gauge", "counter", "histogram")
#: Series a histogram family exposes besides its base name.
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    type: str
    unit: str
    help: str
    labels: tuple[str, ...]
    derived_from: tuple[str, str] | None = None
    planned: bool = False

    @property
    def family(self) -> str:
        """Family name in the text exposition (a counter's without ``_total``)."""
        if self.type == "counter":
            return self.name.removesuffix("_total")
        return self.name

    @property
    def series_names(self) -> tuple[str, ...]:
        """Names PromQL may use for this metric."""
        if self.type == "histogram":
            return tuple(self.name + s for s in HISTOGRAM_SUFFIXES)
        return (self.name,)


class CatalogueError(ValueError):
    """The catalogue file is malformed."""


def _spec(raw: dict[str, Any]) -> MetricSpec:
    try:
        name, mtype = str(raw["name"]), str(raw["type"])
        derived = raw.get("derived_from")
        spec = MetricSpec(
            name=name,
            type=mtype,
            unit=str(raw.get("unit", "")),
            help=str(raw["help"]),
            labels=tuple(raw.get("labels") or ()),
            derived_from=(str(derived["value"]), str(derived["unit"])) if derived else None,
            planned=bool(raw.get("planned", False)),
        )
    except (KeyError, TypeError) as exc:
        raise CatalogueError(f"metric catalogue entry {raw!r}: missing or bad {exc}") from None
    if mtype not in METRIC_TYPES:
        raise CatalogueError(f"{name}: type {mtype!r} is not one of {', '.join(METRIC_TYPES)}")
    if mtype == "counter" and not name.endswith("_total"):
        raise CatalogueError(f"{name}: a counter's name must end in _total")
    return spec


def load_metric_catalogue(text: str | None = None) -> dict[str, MetricSpec]:
    """Catalogued metrics by name (the packaged file unless ``text`` is given)."""
    if text is None:
        text = (resources.files("collector") / "metric_catalogue.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    specs: dict[str, MetricSpec] = {}
    for raw in data["metrics"]:
        spec = _spec(raw)
        if spec.name in specs:
            raise CatalogueError(f"{spec.name}: listed twice in the metric catalogue")
        specs[spec.name] = spec
    return specs


def series_names(catalogue: dict[str, MetricSpec]) -> dict[str, MetricSpec]:
    """Every name PromQL may use, mapped to its catalogue entry."""
    return {s: spec for spec in catalogue.values() for s in spec.series_names}


# Crude but sound for our expressions: drop string literals (label values, regexes) and
# template variables, then every remaining identifier that looks like one of ours is a
# metric name (label names never start with ``ioc_``) and every identifier with a colon is a
# recording rule (PromQL reserves colons for them; label names cannot contain one).
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
# An identifier does not start right after a digit or dot: 5m, 1e3, [30m:1m] are not names.
_IDENT = re.compile(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*")
METRIC_RE = re.compile(r"ioc_[a-z0-9_]+")


def referenced_names(expr: str) -> set[str]:
    """Metric names (``ioc_*``) and recording rule names (``level:metric:ops``) in ``expr``."""
    text = _VARIABLE.sub(" ", _STRING.sub(" ", expr))
    names = set()
    for token in _IDENT.findall(text):
        if ":" in token or METRIC_RE.fullmatch(token):
            names.add(token)
    return names
