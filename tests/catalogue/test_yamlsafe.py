"""The safe YAML reader: core types only, located errors, bombs and tags refused."""

from __future__ import annotations

import math

import pytest

from runner.catalogue.yamlsafe import MAX_ALIAS_EXPANSION, MAX_BYTES, YamlError, load_bytes, parse


def _error(raw: bytes) -> YamlError:
    with pytest.raises(YamlError) as info:
        load_bytes(raw)
    return info.value


def test_yaml_1_2_core_types_only() -> None:
    doc = parse(
        "on: on\nno: no\nt: 02:00\nd: 2026-01-01\nints: [12, 012, 0o17, 0x1f, -3, +4]\n"
        "floats: [1.5, .inf, -.inf, 1e3]\nnulls: [~, null, NULL]\nbools: [true, False, TRUE, yes]\nq: '1'\n"
    )
    assert doc.data["on"] == "on" and doc.data["no"] == "no"
    assert doc.data["t"] == "02:00"  # YAML 1.1 would read 120 (sexagesimal)
    assert doc.data["d"] == "2026-01-01"  # dates stay text: the schema checks their format
    assert doc.data["ints"] == [12, 12, 15, 31, -3, 4]
    assert doc.data["floats"][0] == 1.5 and math.isinf(doc.data["floats"][1]) and doc.data["floats"][3] == 1000.0
    assert doc.data["nulls"] == [None, None, None]
    assert doc.data["bools"] == [True, False, True, "yes"]
    assert doc.data["q"] == "1"


def test_explicit_core_tags_are_honoured() -> None:
    assert parse("a: !!str 3\nb: !!int '7'\nc: !!float '2'\n").data == {"a": "3", "b": 7, "c": 2.0}


@pytest.mark.parametrize(
    ("raw", "line", "column", "text"),
    [
        (b"a: !!python/object/apply:os.system ['id']\n", 1, 4, "tag !!python/object/apply:os.system is not allowed"),
        (b"a: !!python/name:os.system\n", 1, 4, "!!python/name:os.system is not allowed"),
        (b"a: !!timestamp 2001-12-14\n", 1, 4, "!!timestamp is not allowed"),
        (b"a: !!binary aGVsbG8=\n", 1, 4, "!!binary is not allowed"),
        (b"a: !!set {x}\n", 1, 4, "!!set is not allowed"),
        (b"a: !Ref x\n", 1, 4, "!Ref is not allowed"),
        (b"a: !!int abc\n", 1, 4, "'abc' is not a valid !!int"),
    ],
)
def test_tags_are_refused(raw: bytes, line: int, column: int, text: str) -> None:
    error = _error(raw)
    assert (error.line, error.column) == (line, column)
    assert text in error.message


def test_duplicate_keys_are_located_at_the_second() -> None:
    error = _error(b"a: 1\nb:\n  c: 1\n  c: 2\n")
    assert (error.line, error.column) == (4, 3)
    assert error.message == "duplicate key 'c' (first defined at line 3)"


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    error = _error(("\n".join(lines) + "\n").encode())
    assert "alias bomb" in error.message
    assert error.line > 1


def test_moderate_aliases_and_merge_keys_work() -> None:
    doc = parse("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nboth:\n  <<: [{a: 1}, {a: 2, b: 2}]\nref: *b\n")
    assert doc.data["use"] == {"x": 1, "y": 3}
    assert doc.data["both"] == {"a": 1, "b": 2}  # earlier mappings in a merge list win
    assert doc.data["ref"] == {"x": 1, "y": 2}


def test_alias_expansion_budget_counts_expanded_nodes() -> None:
    # 300 aliases of a 400-node list is 120,000 nodes: over the budget although the file is small.
    big = "[" + ", ".join(str(i) for i in range(399)) + "]"
    text = f"a: &a {big}\nb: [{', '.join(['*a'] * 300)}]\n"
    assert 300 * 400 > MAX_ALIAS_EXPANSION
    with pytest.raises(YamlError, match="alias bomb"):
        parse(text)


def test_recursive_and_undefined_aliases() -> None:
    assert "recursive" in _error(b"a: &a [1, *a]\n").message
    assert "refers to no anchor" in _error(b"a: *nowhere\n").message


@pytest.mark.parametrize(
    ("raw", "text", "where"),
    [
        (b"", "file is empty", (1, 1)),
        (b"# only a comment\n\n", "file is empty", (1, 1)),
        (b"a: 1\nb: \x00\x01\x02", "binary data", (2, 4)),
        (b"a: caf\xe9\n", "not UTF-8 text", (1, 7)),
        (b"a: 1\n---\nb: 2\n", "more than one YAML document", (2, 1)),
        (b"a: [1, 2\nb: 3\n", "not valid YAML", (2, 2)),
        (b"a: \x07\n", "control character #x07", (1, 4)),
        (b"? [1, 2]\n: x\n", "a mapping key must be a plain value", (1, 3)),
    ],
)
def test_bad_files_are_located(raw: bytes, text: str, where: tuple[int, int]) -> None:
    error = _error(raw)
    assert text in error.message
    assert (error.line, error.column) == where


def test_size_limit() -> None:
    error = _error(b"a: " + b"x" * MAX_BYTES)
    assert "the limit is 1,048,576 bytes" in error.message


def test_utf8_bom_is_accepted() -> None:
    assert load_bytes("\ufeffa: é\n".encode()).data == {"a": "é"}


@pytest.mark.parametrize("depth", [65, 990, 100_000])
def test_deep_nesting_is_a_yaml_error_not_a_crash(depth: int) -> None:
    with pytest.raises(YamlError):
        parse("[" * depth + "]" * depth)
    with pytest.raises(YamlError, match="nested deeper than 64 levels"):
        parse("a: " + "{a: " * 70 + "1" + "}" * 70)


def test_nesting_up_to_the_limit_is_fine() -> None:
    assert parse("[" * 64 + "]" * 64).data is not None


def test_locate_values_and_keys_at_any_depth() -> None:
    text = "windows:\n  weekly:\n    cron: 0 2 * * *\n    extra:\n      - a\n      - {b: 1}\nitems:\n  - id: x\n"
    doc = parse(text)
    assert doc.locate(("windows", "weekly")) == (3, 5)
    assert doc.locate(("windows", "weekly"), key=True) == (2, 3)
    assert doc.locate(("windows", "weekly", "cron")) == (3, 11)
    assert doc.locate(("windows", "weekly", "cron"), key=True) == (3, 5)
    assert doc.locate(("windows", "weekly", "extra", 1, "b")) == (6, 13)
    assert doc.locate(("items", 0)) == (8, 5)
    # A path that is not written resolves to the nearest written ancestor.
    assert doc.locate(("windows", "weekly", "missing")) == (3, 5)
    assert doc.locate(("items", 7)) == (8, 3)
