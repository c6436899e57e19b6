"""Hypothesis against the criteria catalogue loader (collector/criteria/catalogue.py).

Any text, and the built-in catalogue with values replaced, removed or added, either loads
or is refused with :class:`CatalogueError`, never another exception; a refused catalogue
names the file, the LINE and the FIELD of every problem (``line 41, criteria[1]
(NET-02).severity: ...``), so a province can fix its file from the message alone. The same
holds for a province's override file merged onto the built-in catalogue.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

import collector.criteria
from collector.criteria.catalogue import (
    Catalogue,
    CatalogueError,
    load_catalogue,
    merge,
    parse_catalogue,
    parse_overrides,
)

EXAMPLES = 100
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None)

BUILTIN_TEXT = collector.criteria.__path__[0] + "/decree118.yaml"
with open(BUILTIN_TEXT, encoding="utf-8") as _f:
    BUILTIN: dict[str, Any] = yaml.safe_load(_f)
BASE = load_catalogue()

#: A detail line: "  line N, criteria[i] (ID).field: message" (or "(top)" for the whole file).
DETAIL = re.compile(r"^  line (\d+), (\S.*?): \S")

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "critical",
            "urgent",
            "automated",
            "attested",
            "host.disk",
            "Host Disk",
            "xã",
            "NET-01",
            "LOC-01",
            "",
            "warn_below",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def mutate(data: Any, edits: list[tuple[str, int, str, Any]]) -> Any:
    for op, index, key, value in edits:
        paths = _paths(data)[1:]
        if not paths:
            break
        path = paths[index % len(paths)]
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if op == "replace":
            parent[path[-1]] = value
        elif op == "delete":
            del parent[path[-1]]
        elif op == "add" and isinstance(parent[path[-1]], dict):
            parent[path[-1]][key] = value
        elif op == "duplicate" and isinstance(parent[path[-1]], list) and parent[path[-1]]:
            parent[path[-1]].append(copy.deepcopy(parent[path[-1]][0]))
    return data


edits = st.lists(
    st.tuples(
        st.sampled_from(["replace", "delete", "add", "duplicate"]),
        st.integers(min_value=0, max_value=10_000),
        st.text(max_size=10) | st.sampled_from(["severity", "rules", "value", "extra"]),
        values,
    ),
    min_size=1,
    max_size=3,
)


def assert_names_line_and_field(message: str, source: str, text: str) -> None:
    assert message.startswith(f"{source}: "), message
    n_lines = max(1, len(text.splitlines()))
    head, *details = message.split("\n")
    if details:  # a catalogue that is YAML but not a valid catalogue
        assert head.endswith("invalid catalogue:") or head.endswith("override:"), message
        for detail in details:
            m = DETAIL.match(detail)
            assert m, f"no line and field in {detail!r}"
            assert 1 <= int(m.group(1)) <= n_lines, (detail, n_lines)
    else:  # not YAML, not a mapping, not a list where one is needed: the line is in front
        assert re.search(r"line \d+", head) or "nested too deeply" in head, message


@FUZZ
@given(edits=edits)
@example(edits=[("replace", 1, "", "urgent")])
def test_broken_catalogue_is_refused_with_line_and_field(edits: list[Any]) -> None:
    data = mutate(copy.deepcopy(BUILTIN), edits)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    try:
        cat = parse_catalogue(text, "province.yaml")
    except CatalogueError as exc:
        assert_names_line_and_field(str(exc), "province.yaml", text)
    else:
        assert isinstance(cat, Catalogue) and cat.criteria


@FUZZ
@given(text=st.text(max_size=300) | values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)))
@example(text="criteria: [")
@example(text="[" * 5000)
@example(text="a: &x [*x]")
@example(text="? [a, b]\n: 1\n")
@example(text="profile: !!python/object:os.system x\n")
@example(text='"\\r": 1\n')  # a key that is a line break: the field is quoted
def test_any_text_loads_or_is_refused_never_crashes(text: str) -> None:
    try:
        parse_catalogue(text, "c.yaml")
    except CatalogueError as exc:
        assert_names_line_and_field(str(exc), "c.yaml", text)


@FUZZ
@given(
    override=st.fixed_dictionaries(
        {},
        optional={
            "criteria": st.lists(
                st.fixed_dictionaries(
                    {"id": st.sampled_from(["NET-01", "NET-02", "ATT-01", "LOC-01"]) | values},
                    optional={
                        "severity": values,
                        "kind": values,
                        "rules": values,
                        "title": values,
                        "basis": values,
                        "validity_days": values,
                    },
                ),
                max_size=3,
            )
            | values,
            "stale_after_s": values,
            "profile": values,
        },
    )
)
@example(override={"criteria": [{"id": "NET-02", "severity": "urgent"}]})
@example(override={"criteria": [{"id": ["x"]}]})
def test_override_file_merges_or_is_refused_with_line_and_field(override: dict[str, Any]) -> None:
    text = yaml.safe_dump(override, allow_unicode=True, sort_keys=False)
    try:
        data, root = parse_overrides(text, "tinh.yaml")
        merge(BASE, data, "tinh.yaml", root)
    except CatalogueError as exc:
        message = str(exc)
        assert message.startswith("tinh.yaml: "), message
        for detail in message.split("\n")[1:]:
            # A field the override did not set comes from the base: no line in this file.
            assert re.match(r"^  (line \d+, )?\S.*?: \S", detail), detail
            assert "line " in detail or "criteria[" in detail, detail


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Any) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"profile: t\xe0\xff\n")
    try:
        load_catalogue(path)
    except CatalogueError as exc:
        assert str(exc).startswith(f"{path}: not UTF-8"), str(exc)
    else:
        raise AssertionError("a file that is not UTF-8 was loaded")
