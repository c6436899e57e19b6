"""The message catalogue: every check message and criterion reason as an id with named
parameters, rendered in Vietnamese (the default) or English where it is shown.

The templates are in ``checks/messages.yaml`` (shared by the agent and the collector; how to
add a message: docs/MESSAGES.md). A template names its parameters in braces; a parameter's
format, after a colon, says how a figure is written in the reader's locale with Babel
(:mod:`checks.fmt`)::

    host.disk.free:
      vi: "còn {free:ratio} dung lượng"
      en: "{free:ratio} free"

Formats: ``number`` (164,8), ``int`` (1.234), ``ratio`` (31 %), ``percent`` (61,9 %),
``bitrate`` (164,8 Mbit/s), ``size`` (12,5 GB), ``duration`` (2 giờ 17 phút; seconds in),
``ms`` (150 ms; seconds in), ``days`` (31 ngày), ``when`` (05/12/2026 16:03, an ISO 8601
time in), ``term`` (a word as the catalogue's ``term.<word>`` says it) and ``terms`` (a
comma-separated list of such words); ``value``, ``check`` and ``status`` say a value
name, a check id or a status as ``value.<name>``, ``title.<check id>`` and
``status.<status>`` do. A parameter without a format is a text, or a
number written by ``number``.

A check makes a message with :func:`msg` and passes it where it passed a text; the result
carries it as :class:`~checks.model.MessageRef`, and its ``message`` is the English text
for readers that do not know the id. A reader renders it with :func:`render` or
:func:`text_of`; an unknown id or a template its parameters do not fill falls back to the
stored text, so an older or newer agent's result is always shown.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Protocol

import orjson
import yaml

from checks import fmt
from checks.model import MAX_MESSAGE_CHARS, MAX_PARAM_CHARS, MessageRef

LANGS = ("vi", "en")


def _when(value: Any, lang: str) -> str:
    try:
        return fmt.when(datetime.fromisoformat(str(value)), lang)
    except ValueError:
        return str(value)


#: How a parameter is written, by the format named in its template.
FORMATS: dict[str, Callable[[Any, str], str]] = {
    "number": lambda v, lang: fmt.number(float(v), lang),
    "int": lambda v, lang: fmt.number(float(v), lang, 0),
    "ratio": lambda v, lang: fmt.ratio(float(v), lang),
    "percent": lambda v, lang: fmt.percent(float(v), lang),
    "bitrate": lambda v, lang: fmt.bitrate(float(v), lang),
    "size": lambda v, lang: fmt.size(float(v), lang),
    "duration": lambda v, lang: fmt.duration(float(v), lang),
    "ms": lambda v, lang: f"{fmt.number(float(v) * 1000, lang, 0)} ms",
    "days": lambda v, lang: fmt.days(float(v), lang),
    "when": _when,
    "term": lambda v, lang: _term(str(v), lang),
    "terms": lambda v, lang: ", ".join(_term(x.strip(), lang) for x in str(v).split(",") if x),
    "value": lambda v, lang: _term(str(v), lang, "value"),
    "check": lambda v, lang: _term(str(v), lang, "title"),
    "status": lambda v, lang: _term(str(v), lang, "status"),
}


def _term(word: str, lang: str, kind: str = "term") -> str:
    """A word a parameter names, as the catalogue's ``<kind>.<word>`` says it (else as is)."""
    entry = catalogue().get(f"{kind}.{word}")
    return word if entry is None else entry["en" if lang == "en" else "vi"]


#: The format of a figure of each unit of measure (checks/model.py's units).
UNIT_FORMATS = {
    "ratio": "ratio",
    "bits_per_second": "bitrate",
    "seconds": "duration",
    "bytes": "size",
    "days": "days",
    "count": "int",
}
#: A figure whose unit is not known (older stored results) is guessed from its name.
_SUFFIX_FORMATS = (
    ("_ratio", "ratio"),
    ("loss", "ratio"),
    ("_bandwidth", "bitrate"),
    ("_days_left", "days"),
    ("_age", "days"),
    ("_time", "duration"),
    ("_runtime", "duration"),
    ("_offset_abs", "duration"),
    ("rtt", "duration"),
    ("jitter", "duration"),
    ("_count", "int"),
)


@lru_cache(maxsize=8192)
def figure(value: float, unit: str, name: str, lang: str) -> str:
    """A measured value written with its unit in ``lang``: 164,8 Mbit/s, 31 %, 2 giờ 17 phút."""
    kind = UNIT_FORMATS.get(unit) or next(
        (k for suffix, k in _SUFFIX_FORMATS if name.endswith(suffix)), "number"
    )
    return FORMATS[kind](value, lang)


#: libyaml's loader when PyYAML has it: the same data, with far fewer objects made and
#: dropped on the way (less memory left resident in the agent after its first cycle).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TEXT_TAG = "tag:yaml.org,2002:str"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every message id -> {"vi": template, "en": template}, read once."""
    text = resources.files("checks").joinpath("messages.yaml").read_text(encoding="utf-8")
    return read_catalogue(text)


def read_catalogue(text: str) -> dict[str, dict[str, str]]:
    """The catalogue in ``text``: id -> {"vi": template, "en": template}.

    Read event by event (:func:`_streamed`) when the file has the catalogue's plain shape,
    else by YAML's safe loader; both give the same messages. The loader first builds a node
    for every scalar of the file: about 1.2 MiB of small objects that, once dropped, stay
    resident between the messages kept (0.8 MiB more in the agent after its first cycle)."""
    streamed = _streamed(text)
    if streamed is not None:
        return streamed
    data = yaml.load(text, Loader=_LOADER)  # noqa: S506
    return {str(k): {lang: str(v[lang]) for lang in LANGS} for k, v in data.items()}


class _Events:
    """libyaml's events of a text, and which scalars its safe loader would read as texts."""

    def __init__(self, text: str) -> None:
        self.loader = _LOADER(text)

    def next(self) -> Any:
        event = self.loader.get_event()
        if event is None:
            raise StopIteration
        return event

    def text(self, event: Any) -> str | None:
        """The scalar's text when the loader reads it as one (not a bool, number, date or
        null, no tag, no anchor), else None."""
        if not isinstance(event, yaml.ScalarEvent) or event.anchor or event.tag:
            return None
        tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        return event.value if tag == _TEXT_TAG else None

    def mapping(self) -> bool:
        """True when the next event opens a mapping without anchor or tag."""
        event = self.next()
        return isinstance(event, yaml.MappingStartEvent) and not (event.anchor or event.tag)


def _streamed(text: str) -> dict[str, dict[str, str]] | None:
    """``text`` read from libyaml's events, without building the document's nodes; None
    when it holds anything but ids, each a mapping of texts with both languages (anchors,
    tags, lists, a template YAML reads as a number, an error: the loader reads it then,
    and says what is wrong the way it always did)."""
    events = _Events(text)
    out: dict[str, dict[str, str]] = {}
    try:
        for kind in (yaml.StreamStartEvent, yaml.DocumentStartEvent):
            if not isinstance(events.next(), kind):
                return None
        if not events.mapping():
            return None
        while (id := events.text(key := events.next())) is not None:
            entry = _streamed_entry(events)
            if entry is None:
                return None
            out[id] = entry
        if not isinstance(key, yaml.MappingEndEvent):
            return None
        for end in (yaml.DocumentEndEvent, yaml.StreamEndEvent):  # one document only
            if not isinstance(events.next(), end):
                return None
        return out
    except (yaml.YAMLError, StopIteration):
        return None
    finally:
        events.loader.dispose()


def _streamed_entry(events: _Events) -> dict[str, str] | None:
    """One id's {language: template} (None: not that shape)."""
    if not events.mapping():
        return None
    texts: dict[str, str] = {}
    while isinstance(key := events.next(), yaml.ScalarEvent):
        value = events.next()
        if not isinstance(value, yaml.ScalarEvent) or value.anchor or value.tag:
            return None
        name, template = events.text(key), events.text(value)
        if name is None or (name in LANGS and template is None):
            return None
        if name in LANGS:  # other keys are not read, as from the loader's dict
            texts[name] = str(template)
    if not isinstance(key, yaml.MappingEndEvent) or len(texts) != len(LANGS):
        return None
    return {lang: texts[lang] for lang in LANGS}


def _text(value: Any, lang: str) -> str:
    """A parameter without a format: a text (which may hold kept messages, a list of
    states), or a number."""
    if isinstance(value, str):
        return written(value, lang)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return fmt.number(float(value), lang, 2)
    return written(str(value), lang)


def _unknown_format(value: Any, lang: str) -> str:
    raise KeyError("a format the template language does not have")


#: How one parameter is written: a format of :data:`FORMATS`, or :func:`_text`.
Writer = Callable[[Any, str], str]
#: A template parsed once: its literal texts, each followed by a parameter and its writer.
Parsed = tuple[tuple[str, str | None, Writer], ...]


@cache
def _parsed(id: str, lang: str) -> Parsed | None:
    entry = catalogue().get(id)
    if entry is None:
        return None
    return tuple(
        (literal, name, FORMATS.get(spec, _unknown_format) if spec else _text)
        for literal, name, spec, _ in string.Formatter().parse(entry[lang])
    )


def fields(template: str) -> dict[str, str]:
    """The parameters a template names, each with its format ("" for none)."""
    return {
        name: spec or ""
        for _, name, spec, _ in string.Formatter().parse(template)
        if name is not None
    }


def msg(id: str, **params: Any) -> MessageRef:
    """A message of the catalogue with its parameters (texts cut to what a report holds).
    An id the catalogue does not have is a programming error, caught by the tests."""
    if id not in catalogue():
        raise KeyError(f"message id {id!r} is not in checks/messages.yaml")
    clean = {
        k: (v[:MAX_PARAM_CHARS] if isinstance(v, str) else float(v))
        for k, v in params.items()
        if v is not None
    }
    return MessageRef(id=id, params=clean)


def render(ref: MessageRef | None, lang: str, fallback: str = "") -> str:
    """The message in ``lang`` ("vi" unless "en"); ``fallback`` when there is no message,
    its id is unknown or its parameters do not fill its template."""
    if ref is None:
        return fallback
    return render_id(ref.id, ref.params, lang, fallback)


def render_id(
    id: str, params: Mapping[str, Any], lang: str, fallback: str = "", *, remember: bool = True
) -> str:
    """:func:`render` from an id and parameters as stored; ``remember=False`` for a text
    that will hardly be asked for again (a reason that names its host): not looked up
    among the remembered texts, nor kept there to push out those that come back."""
    code = "en" if lang == "en" else "vi"
    if not remember:
        return _render(id, code, params, fallback)
    try:
        return _rendered(id, code, tuple(params.items()), fallback)
    except TypeError:  # a parameter that cannot be a key (a stored list): not remembered
        return _render(id, code, params, fallback)


@lru_cache(maxsize=8192)
def _rendered(id: str, code: str, params: tuple[tuple[str, Any], ...], fallback: str) -> str:
    """:func:`_render`, remembered: a host that reports every minute mostly says again what
    it said (the criteria engine renders every reason in both languages at each report)."""
    return _render(id, code, dict(params), fallback)


def forget_texts(keep: int) -> bool:
    """Empty the remembered texts and figures (:func:`_rendered`, :func:`figure`) when either
    holds more than ``keep``; True when it did. Their 8,192 places suit the collector, which
    renders every commune's reasons; an agent that runs for days would fill them with
    figures that never come back (several MiB), so ``ioc-agent run`` keeps a few hundred."""
    full = max(_rendered.cache_info().currsize, figure.cache_info().currsize) > keep
    if full:
        _rendered.cache_clear()
        figure.cache_clear()
    return full


def _render(id: str, code: str, params: Mapping[str, Any], fallback: str) -> str:
    parsed = _parsed(id, code)
    if parsed is None:
        return fallback
    out: list[str] = []
    try:
        for literal, name, write_field in parsed:
            out.append(literal)
            if name is not None:
                out.append(write_field(params[name], code))
    except (KeyError, IndexError, ValueError, TypeError):
        return fallback
    return "".join(out)[:MAX_MESSAGE_CHARS]


def text_of(result: Any, lang: str) -> str:
    """A check result's message in ``lang``: from its id when it has one, else as sent."""
    return render(getattr(result, "msg", None), lang, result.message)


class MessageLike(Protocol):
    """A message by id with its parameters: a :class:`MessageRef`, or the collector's
    decoded form of one."""

    @property
    def id(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...


def stored(ref: MessageLike | None) -> list[Any] | None:
    """A message as the collector stores it: [id, params]."""
    return None if ref is None else [ref.id, dict(ref.params)]


def render_stored(value: Any, lang: str, fallback: str = "") -> str:
    """:func:`render` of a message as stored ([id, params], or None)."""
    if not value:
        return fallback
    try:
        id, params = value
    except (TypeError, ValueError):
        return fallback
    return render_id(str(id), params if isinstance(params, dict) else {}, lang, fallback)


def said(message: str | MessageRef) -> dict[str, Any]:
    """A result's ``message`` and ``msg`` fields for ``message`` (a text, or a catalogue
    message whose English text is the ``message``): ``CheckResult(**said(m), ...)``."""
    if isinstance(message, MessageRef):
        return {"message": render(message, "en")[:MAX_MESSAGE_CHARS], "msg": message}
    return {"message": message[:MAX_MESSAGE_CHARS], "msg": None}


# --- messages kept in a text, written when read -----------------------------------------
# The criteria engine makes every reason at each report, in English and Vietnamese, but a
# Vietnamese reason is read far less often than it is made. It keeps the message itself in
# the text (a few bytes of JSON between two control characters, which JSON escapes inside
# itself, so kept messages nest) and :func:`written` writes it out when it is read.

_KEPT, _KEPT_END = "\x1e", "\x1f"
_KEPT_RE = re.compile("\x1e([^\x1e\x1f]*)\x1f")
#: The id of a kept figure (value, unit, value name), written by :func:`figure`.
FIGURE_ID = "=figure"


def kept(id: str, params: Mapping[str, Any], fallback: str = "") -> str:
    """The message ``id`` with ``params`` (figures, texts, or kept messages) as a text that
    :func:`written` writes out in the reader's language."""
    return _KEPT + orjson.dumps([id, params, fallback]).decode() + _KEPT_END


def kept_figure(value: float, unit: str, name: str) -> str:
    """A figure kept for :func:`written` (164,8 Mbit/s once written in Vietnamese)."""
    return kept(FIGURE_ID, {"v": value, "u": unit, "n": name})


def written(text: str, lang: str) -> str:
    """``text`` with every kept message written out in ``lang`` (a text without one is
    returned as it is)."""
    if _KEPT not in text:
        return text
    return _KEPT_RE.sub(lambda m: _write(m.group(1), lang), text)


def joined(parts: Sequence[str], sep: str = "; ") -> str:
    """Texts that may hold kept messages (a list of findings) joined into one text
    parameter. When the whole is longer than a parameter holds, the last parts are written
    out in English, one by one, until it fits: a kept message is never cut in its middle."""
    out = list(parts)
    for i in range(len(out) - 1, -1, -1):
        if len(sep.join(out)) <= MAX_PARAM_CHARS:
            break
        out[i] = written(out[i], "en")
    return sep.join(out)


def write(id: str, params: Mapping[str, Any], lang: str, fallback: str = "") -> str:
    """The message ``id`` written out now in ``lang``: the text :func:`written` writes for
    ``kept(id, params, fallback)``, without keeping it first (texts in ``params`` and the
    fallback may hold kept messages: they are written out too)."""
    out = {k: written(v, lang) if isinstance(v, str) else v for k, v in params.items()}
    return render_id(id, out, lang, written(fallback, lang))


def _write(encoded: str, lang: str) -> str:
    try:
        id, params, fallback = orjson.loads(encoded)
        if id == FIGURE_ID:
            return figure(float(params["v"]), str(params["u"]), str(params["n"]), lang)
        return write(str(id), params, lang, str(fallback))
    except (ValueError, TypeError, KeyError):
        return ""
