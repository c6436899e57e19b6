"""Records that pydantic validates without being imported by the code that uses them.

The agent's configuration and the report model are plain frozen dataclasses: a running agent
builds, copies and encodes them without pydantic, whose import alone is about 12 MiB of
resident memory (docs/BENCHMARKS.md, "Agent footprint"). Where input comes from outside --
a configuration file, a request body on the collector -- pydantic validates the same classes,
with the same rules and messages as before: the rules are written in the annotations as
:mod:`annotated_types` constraints (``Annotated[float, Gt(0), Le(300)]``, which pydantic
reads natively) and as the small markers of this module, each of which tells pydantic's
schema what to check (``Pattern``, ``Finite``, ``After``, ``Before``) or to describe (``Doc``).

* :class:`Record` gives a dataclass the methods callers use: ``model_validate`` and
  ``model_dump`` (pydantic, imported the first time one is called), ``model_copy``,
  and the lean ``decode`` / ``to_json`` (msgspec: types checked, about 1 MiB) for data the
  agent wrote itself or a collector answered.
* :class:`Secret` holds a password or community string: never shown by ``repr``.
* ``__pydantic_config__ = STRICT`` refuses unknown options, as ``extra="forbid"`` did.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

if TYPE_CHECKING:
    from pydantic import TypeAdapter

#: ``__pydantic_config__`` of a record that refuses unknown options.
STRICT: dict[str, Any] = {"extra": "forbid"}


class _Key:
    """Sets one key of pydantic-core's schema of the annotated type (a constraint that
    pydantic-core itself checks, with its own message)."""

    __slots__ = ("key", "value")

    def __init__(self, key: str, value: Any) -> None:
        self.key = key
        self.value = value

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        schema[self.key] = self.value
        return schema


def Pattern(regex: str) -> _Key:  # noqa: N802 (a marker, written as annotated_types' Gt is)
    """A text must match ``regex`` (pydantic-core checks it; its message quotes it)."""
    return _Key("pattern", regex)


#: A float that is neither infinite nor NaN (pydantic's ``allow_inf_nan=False``).
FINITE = _Key("allow_inf_nan", False)


class Doc:
    """What an option means, for the JSON schema (the OpenAPI document, editors)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> Any:
        out = handler(core_schema)
        out["description"] = self.text
        return out


def _calling(kind: str, fn: Callable[[Any], Any], schema: Any) -> dict[str, Any]:
    """``schema`` with ``fn`` run before or after it (``kind``: ``function-before`` or
    ``function-after``), as pydantic's validators are."""
    return {"type": kind, "function": {"type": "no-info", "function": fn}, "schema": schema}


class _Validator:
    __slots__ = ("fn",)
    _kind = ""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return _calling(self._kind, self.fn, handler(source))


class After(_Validator):
    """Run ``fn`` on the validated value (pydantic's ``AfterValidator``): it returns the value
    to keep, or raises ``ValueError`` with the message the user reads."""

    __slots__ = ()
    _kind = "function-after"


class Before(_Validator):
    """Run ``fn`` on the raw input before the value is validated (pydantic's
    ``BeforeValidator``): it returns what to validate instead, e.g. ``{"url": s}`` for a
    bare string ``s``."""

    __slots__ = ()
    _kind = "function-before"


def before(fn: Callable[[Any], Any]) -> Any:
    """A class's ``__get_pydantic_core_schema__`` that passes the raw input through ``fn``
    first (pydantic's ``model_validator(mode="before")``)."""

    def hook(cls: type, source: Any, handler: Any) -> Any:
        return _calling("function-before", fn, handler(source))

    return classmethod(hook)


class Secret:
    """A secret option (passphrase, password, community string): ``repr`` and ``str`` hide
    it; :meth:`get_secret_value` gives it. Validated from a string."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)  # an empty secret is false, as pydantic's SecretStr

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        return _calling("function-after", _secret, {"type": "str"}) | {
            "serialization": {
                "type": "function-plain",
                "function": _hidden,
                "return_schema": {"type": "str"},
            },
        }

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        return {"type": "string", "format": "password", "writeOnly": True}


def _secret(value: str) -> Secret:
    return Secret(value)


def _hidden(value: Any) -> str:
    return str(value)


def adapter(tp: Any) -> TypeAdapter[Any]:
    """pydantic's validator of ``tp``, built once (imports pydantic)."""
    return _adapter(tp)


@cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(tp)


class Record:
    """Methods of a record dataclass. ``model_*`` validate and dump with pydantic (imported
    on first use; use them where input comes from outside); ``decode`` and ``to_json`` use
    msgspec (types only) for data the agent itself wrote or a collector answered."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {}

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        """``data`` validated with every rule of the class (raises pydantic's
        ``ValidationError``)."""
        value: Self = adapter(cls).validate_python(data)
        return value

    @classmethod
    def model_validate_json(cls, data: str | bytes) -> Self:
        value: Self = adapter(cls).validate_json(data)
        return value

    def model_dump(
        self, *, mode: Literal["python", "json"] = "python", exclude_none: bool = False
    ) -> dict[str, Any]:
        out: dict[str, Any] = adapter(type(self)).dump_python(
            self, mode=mode, exclude_none=exclude_none
        )
        return out

    def model_dump_json(self, *, exclude_none: bool = False, indent: int | None = None) -> str:
        raw: bytes = adapter(type(self)).dump_json(self, exclude_none=exclude_none, indent=indent)
        return raw.decode()

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Self:
        """A copy with ``update``'s fields replaced (not validated, as pydantic's)."""
        return dataclasses.replace(self, **(update or {}))  # type: ignore[type-var]

    @classmethod
    def decode(cls, data: Any) -> Self:
        """``data`` (decoded JSON) as this record, its field types checked by msgspec: raises
        :class:`DecodeError` naming the field. Constraints (lengths, bounds) are not
        checked: for what this agent stored itself, or what its collector answered."""
        import msgspec

        try:
            value: Self = msgspec.convert(data, cls)
        except msgspec.ValidationError as exc:
            raise DecodeError(str(exc)) from None
        return value

    @classmethod
    def decode_json(cls, data: str | bytes) -> Self:
        """As :meth:`decode`, from JSON text."""
        import msgspec

        try:
            value: Self = msgspec.json.decode(data, type=cls)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise DecodeError(str(exc)) from None
        return value

    def to_json(self) -> bytes:
        """This record as JSON (msgspec: enums as their values, times in RFC 3339)."""
        import msgspec

        return msgspec.json.encode(self)


class DecodeError(ValueError):
    """Data is not the record it should be; the message names the field."""


def field_names(record: type) -> list[str]:
    """The fields of a record dataclass, in order."""
    return [f.name for f in dataclasses.fields(record)]
