"""The one base class every check derives from, and the conventions it carries.

A check is fetch -> parse -> evaluate (docs/ARCHITECTURE.md, "The check API"):

* :meth:`Check.fetch` is the only step that touches the world (sockets, files, psutil, the
  platform backend); it is async, and runs blocking calls in a thread;
* :meth:`Check.parse` turns what ``fetch`` returned into a section (pure; the identity by
  default);
* :meth:`Check.evaluate` turns the section and the check's configuration into results
  (pure: tested with recorded data).

:meth:`Check.run` chains them once for every check. When there is nothing to measure
(nothing configured, no collector) or the platform cannot tell, ``fetch`` raises
:class:`CannotMeasure` (a :class:`~checks.backend.BackendError` counts as one) and ``run``
answers ``unknown`` with the reason. A check that genuinely needs another shape (a cache
around the measurement) may override ``run``. The runner (``checks.runner``) enforces the
deadline and turns any other exception into an ``unknown`` result.

The platform backend is injected (``Check(config, backend=...)``, tests pass a fake one) and
otherwise taken from :func:`checks.backend.get_backend` the first time it is needed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

from annotated_types import Gt, Le

from checks.backend import Backend, BackendError, get_backend
from checks.messages import msg, said
from checks.model import Category, CheckResult, MessageRef, Status, Value
from checks.schema import STRICT, Doc, Record, before
from checks.tls import TLSVerify

log = logging.getLogger(__name__)

#: Options that set a check's thresholds before the catalogue became their one owner
#: (docs/ARCHITECTURE.md, "Who owns a threshold"). A configuration file that still has
#: one keeps working: the option is ignored, with a warning that says where levels live.
RETIRED_THRESHOLDS = frozenset(
    {
        "warn_usage_ratio",
        "warn_available_ratio",
        "fail_available_ratio",
        "warn_free_ratio",
        "fail_free_ratio",
        "warn_memory_ratio",
        "warn_offset_s",
        "fail_offset_s",
        "max_response_time_s",
        "warn_cert_days",
        "warn_rtt_s",
        "fail_rtt_s",
        "warn_jitter_s",
        "fail_jitter_s",
        "warn_loss",
        "fail_loss",
        "warn_below_bps",
        "fail_below_bps",
        "warn_days",
        "fail_days",
        "min_speed_bps",
        "warn_supply_ratio",
    }
)


def _drop_retired(data: Any) -> Any:
    """A check's options without the retired thresholds, each named in a warning."""
    if not isinstance(data, dict):
        return data
    gone = sorted(RETIRED_THRESHOLDS & data.keys())
    if not gone:
        return data
    log.warning(
        "ignored: %s (thresholds are set in the collector's criteria catalogue, "
        "'levels' or a criterion's rule; agents receive them from the collector)",
        ", ".join(gone),
    )
    return {k: v for k, v in data.items() if k not in RETIRED_THRESHOLDS}


@dataclass(frozen=True, kw_only=True)
class CheckConfig(Record):
    """Options common to every check; each check extends it with its own (a frozen
    dataclass, ``kw_only``; rules in the annotations, :mod:`checks.schema`). A check has no
    threshold options: it reports values, the collector's catalogue judges them."""

    __pydantic_config__ = STRICT
    __get_pydantic_core_schema__ = before(_drop_retired)

    enabled: bool = True
    timeout_s: Annotated[float, Gt(0), Le(300), Doc("deadline of the whole check")] = 5.0


@dataclass(frozen=True)
class CheckContext:
    """What a check may know about where it runs (filled in by the agent)."""

    host: str
    collector_url: str | None = None
    #: Secrets the runner scrubs from any message (tokens, community strings, keys).
    secrets: tuple[str, ...] = field(default=())
    verify_tls: TLSVerify = True
    #: The agent's bearer token, for collector endpoints that need it (throughput probe).
    token: str | None = None


#: A message as a check gives it: a catalogue message (:func:`checks.messages.msg`), or a
#: text (shown as it is, in every language).
Message = str | MessageRef


def message_fields(message: Message) -> tuple[str, MessageRef | None]:
    """A result's ``message`` (the English text) and ``msg`` for ``message``."""
    fields = said(message)
    return fields["message"], fields["msg"]


class CannotMeasure(Exception):
    """Raised by :meth:`Check.fetch` when there is nothing to measure or no way to: the
    check reports ``unknown`` with ``reason`` (a text or a catalogue message), for
    ``target`` (default: every target)."""

    def __init__(self, reason: Message, target: str | None = None) -> None:
        text, _ = message_fields(reason)
        super().__init__(text)
        self.reason = reason
        self.target = target


class Check:
    """Base of all checks. Subclasses set ``id``, ``category``, ``Config`` and implement
    :meth:`fetch` and :meth:`evaluate` (and :meth:`parse` when the raw data needs it)."""

    id: ClassVar[str]
    category: ClassVar[Category]
    Config: ClassVar[type[CheckConfig]] = CheckConfig

    def __init__(self, config: CheckConfig | None = None, backend: Backend | None = None) -> None:
        self.config = config if config is not None else self.Config()
        self._backend = backend

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.run is Check.run and (cls.fetch is Check.fetch or cls.evaluate is Check.evaluate):
            raise TypeError(
                f"{cls.__qualname__} must implement fetch() and evaluate() "
                "(or, for another shape, run())"
            )

    @property
    def backend(self) -> Backend:
        """The platform backend given to the constructor, else this platform's."""
        if self._backend is None:
            self._backend = get_backend()
        return self._backend

    @property
    def timeout_s(self) -> float:
        return self.config.timeout_s

    def targets(self) -> list[str]:
        """Targets this check measures; an ``unknown`` answer names each of them."""
        return [""]

    # ------------------------------------------------------------------ the three steps

    async def fetch(self, ctx: CheckContext) -> Any:
        """Read the world (the only I/O); raise :class:`CannotMeasure` when it cannot."""
        raise NotImplementedError

    def parse(self, raw: Any) -> Any:
        """What ``fetch`` returned, as the section ``evaluate`` judges (pure)."""
        return raw

    def evaluate(self, section: Any) -> list[CheckResult]:
        """Results for the section under ``self.config`` (pure)."""
        raise NotImplementedError

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        """fetch -> parse -> evaluate. May raise: the runner catches it."""
        try:
            raw = await self.fetch(ctx)
        except CannotMeasure as exc:
            if exc.target is not None:
                return [self.unknown(exc.reason, target=exc.target)]
            return self.unknown_all(exc.reason)
        except BackendError as exc:  # NotSupportedError included: the platform cannot tell
            return self.unknown_all(msg("check.not_supported", detail=str(exc)))
        return self.evaluate(self.parse(raw))

    # ------------------------------------------------------------------ making results

    @classmethod
    def result(
        cls,
        status: Status,
        message: Message = "",
        *,
        target: str = "",
        values: dict[str, Value] | None = None,
        duration_s: float = 0.0,
        category: Category | None = None,
    ) -> CheckResult:
        """A result of this check (its id and category unless ``category`` is given)."""
        text, ref = message_fields(message)
        return CheckResult(
            check=cls.id,
            category=category or cls.category,
            target=target,
            status=status,
            values=values or {},
            message=text,
            msg=ref,
            duration_s=duration_s,
        )

    @classmethod
    def unknown(cls, reason: Message, *, target: str = "", duration_s: float = 0.0) -> CheckResult:
        """ "Could not measure" ``target``, and why."""
        text, ref = message_fields(reason)
        return CheckResult.unknown(
            cls.id, cls.category, text, target=target, duration_s=duration_s, msg=ref
        )

    def unknown_all(self, reason: Message, duration_s: float = 0.0) -> list[CheckResult]:
        """ "Could not measure", once for each of :meth:`targets`."""
        return [
            self.unknown(reason, target=t, duration_s=duration_s) for t in self.targets() or [""]
        ]
