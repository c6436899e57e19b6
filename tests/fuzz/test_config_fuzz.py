"""Hypothesis against the agent's configuration loading (agent/config.py).

Whatever the file holds (any text, any YAML document, or the real options with values of the
wrong type, out of range or misspelt), ``load_config``/``parse_config`` either return a
valid configuration or raise the project's :class:`ConfigError` whose message names the file
and the option that is wrong: never another exception, which the CLI would show as a
traceback.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.config import (
    AgentConfig,
    ChecksConfig,
    ConfigError,
    load_config,
    options_of,
    parse_config,
)

EXAMPLES = 300
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "",
            "https://ioc.hanoi.gov.vn:8443",
            "http://[::1",
            "https://",
            "ftp://x",
            "/",
            "127.0.0.1",
            "::1",
            "[a-",
            "(?P<x",
            "0" * 500,
            "AB:CD",
            "xx" * 32,
            "-1",
            "1e999",
            "nan",
            "\x00",
        ]
    )
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)


def _model_in(annotation: Any) -> tuple[type | None, bool]:
    """The record an option holds (directly, optionally, or as list items) and whether the
    option is a list."""
    if isinstance(annotation, type) and (
        dataclasses.is_dataclass(annotation) or annotation is ChecksConfig
    ):
        return annotation, False
    is_list = get_origin(annotation) is list
    for arg in get_args(annotation):
        model, inner_list = _model_in(arg)
        if model is not None:
            return model, is_list or inner_list
    return None, False


def options(model: type, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts of the record's real option names (any subset, plus a misspelt one now and
    then), each with a plausible nested value or an arbitrary one."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for key, annotation in options_of(model).items():
        sub, is_list = _model_in(annotation)
        if sub is not None and depth < 3:
            nested = options(sub, depth + 1)
            fields[key] = (st.lists(nested, max_size=2) if is_list else nested) | values
        else:
            fields[key] = values
    typo = st.dictionaries(st.sampled_from([k + "s" for k in fields] or ["x"]), values, max_size=1)
    return st.fixed_dictionaries({}, optional=fields).flatmap(
        lambda d: typo.map(lambda t: {**d, **t})
    )


def _assert_names_an_option(message: str, data: dict[str, Any], source: str) -> None:
    assert message.startswith(f"{source}:"), message
    # Every validation error starts at a top-level option the file has.
    assert any(str(k) in message for k in data) or "top level" in message, message


_n = itertools.count()


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_AGENT_STATE_DIR", str(tmp_path / "state"))


def test_real_options_with_any_values_give_a_config_or_a_clear_error() -> None:
    outcomes = {"valid": 0, "refused": 0}

    @FUZZ
    @given(data=options(AgentConfig))
    @example(data={"collector": {"cert_sha256": "zz"}})
    @example(data={"interval_s": float("nan")})
    @example(data={"checks": {"host.disk": {"paths": None}}})
    def run(data: dict[str, Any]) -> None:
        try:
            config = parse_config(data, "agent.yaml")
        except ConfigError as exc:
            outcomes["refused"] += 1
            _assert_names_an_option(str(exc), data, "agent.yaml")
        else:
            outcomes["valid"] += 1
            assert isinstance(config, AgentConfig)
            config.enabled_checks()  # the checks build from what was accepted

    run()
    print("\nagent config dicts:", outcomes)
    assert outcomes["valid"] > 0 and outcomes["refused"] > 0, outcomes


def test_any_file_content_gives_a_config_or_a_clear_error(tmp_path: Path) -> None:
    @FUZZ
    @given(
        text=st.text(max_size=200)
        | values.map(lambda v: yaml.safe_dump(v, allow_unicode=True))
        | options(AgentConfig).map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
        raw=st.booleans(),
    )
    @example(text="collector: {url: [", raw=False)
    @example(text="\udcff", raw=False)
    @example(text="", raw=True)
    def run(text: str, raw: bool) -> None:
        path = tmp_path / f"agent-{next(_n)}.yaml"
        if raw:  # bytes that are not UTF-8
            path.write_bytes(b"interval_s: \xff\xfe\x00" + text.encode("utf-8", "replace"))
        else:
            path.write_bytes(text.encode("utf-8", "surrogateescape"))
        try:
            load_config(path)
        except ConfigError as exc:
            assert str(exc).startswith(f"{path}:"), str(exc)
        finally:
            os.unlink(path)

    run()
