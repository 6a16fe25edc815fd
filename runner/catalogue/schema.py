"""JSON Schema (draft 2020-12) validation of catalogue files, with short located messages.

The schemas live next to this module in ``schemas/``; each validator is compiled once per process.
jsonschema's own messages print whole instances; the messages here name the field and what was
expected, and the ``x-expect`` annotation in a schema supplies the wording for patterns and
combinations.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import Problem

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

    from runner.catalogue.yamlsafe import DataPath, YamlDoc

SCHEMA_DIR = Path(__file__).parent / "schemas"
BASE_URI = "https://maintctl.dev/schemas/"
# File role -> schema file.
ROLES = {"maintenance": "maintenance.json", "patching": "patching.json", "backup": "backup.json"}

_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing (null)",
}
_IDENT = re.compile(r"^[A-Za-z0-9_-]+$")


def format_path(path: Iterable[str | int]) -> str:
    """``("items", 2, "window")`` -> ``items[2].window``."""
    out = ""
    for step in path:
        if isinstance(step, int) and not isinstance(step, bool):
            out += f"[{step}]"
        elif isinstance(step, str) and _IDENT.match(step):
            out += f".{step}" if out else step
        elif isinstance(step, str):
            out += f"[{json.dumps(step)}]"
        else:  # a key YAML read as null, a boolean or a number
            out += f"[{yaml_word(step)}]"
    return out


def yaml_word(value: Any) -> str:
    """How a scalar is spelled in YAML (``null``, ``true``, ``1.5``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@cache
def _registry() -> Any:
    from referencing import Registry, Resource

    resources = [(uri, Resource.from_contents(contents)) for uri, contents in _schema_documents()]
    return Registry().with_resources(resources)


@cache
def validator(role: str) -> Validator:
    """The compiled validator for a file role (maintenance, patching, backup)."""
    from jsonschema import Draft202012Validator, FormatChecker

    schema = _registry().contents(BASE_URI + ROLES[role])
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


@cache
def _fast_validator(role: str) -> Any:
    """jsonschema-rs's compiled validator for ``role``, or None when it is not installed.

    It answers "valid?" about fifty times faster than the pure-Python validator, which is then
    asked only about invalid files, for the wording of each problem.
    """
    try:
        import jsonschema_rs
    except ImportError:
        return None
    resources = [(uri, contents) for uri, contents in _schema_documents()]
    registry = jsonschema_rs.Registry(resources)
    schema = dict(resources)[BASE_URI + ROLES[role]]
    return jsonschema_rs.validator_for(schema, registry=registry, validate_formats=True)


@cache
def _schema_documents() -> tuple[tuple[str, Any], ...]:
    out = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        out.append((contents["$id"], contents))
    return tuple(out)


def schema_problems(role: str, doc: YamlDoc, file: str) -> list[Problem]:
    """Every schema violation in ``doc`` as a located problem, in file order."""
    # jsonschema-rs takes string keys only; a file with others goes the slow way, which reports them.
    fast = _fast_validator(role) if doc.string_keys else None
    if fast is not None and fast.is_valid(doc.data):
        return []
    found: list[tuple[tuple[int, int], Problem]] = []
    for path, message, at_key in _explain_all(validator(role).iter_errors(doc.data)):
        line, col = doc.locate(path, key=at_key)
        found.append(((line, col), Problem(file=file, line=line, column=col, path=format_path(path), message=message)))
    if not found and fast is not None:
        # The two validators disagree (a format one of them does not know): say what the fast one saw.
        for error in fast.iter_errors(doc.data):
            path = tuple(error.instance_path)
            line, col = doc.locate(path)
            message = str(error.message)
            message = message if len(message) < 160 else message[:157] + "..."
            problem = Problem(file=file, line=line, column=col, path=format_path(path), message=message)
            found.append(((line, col), problem))
    found.sort(key=lambda pair: pair[0])
    return [p for _, p in found]


def _explain_all(errors: Iterable[ValidationError]) -> Iterator[tuple[DataPath, str, bool]]:
    for error in errors:
        yield from _explain(error)


def _explain(error: ValidationError) -> Iterator[tuple[DataPath, str, bool]]:
    """Yield (path, message, point at the key) for one jsonschema error."""
    path: DataPath = tuple(error.absolute_path)
    kind = error.validator
    schema: Any = error.schema
    value = error.instance
    expect = schema.get("x-expect") if isinstance(schema, dict) else None
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(schema.get("properties", {}))
        for key in sorted((k for k in value if k not in schema.get("properties", {})), key=yaml_word):
            yield (*path, key), _unknown_key(key, allowed), True
        return
    if "propertyNames" in error.relative_schema_path:
        # jsonschema reports a bad key at its mapping; point at the key itself.
        if isinstance(value, str):
            yield (*path, value), f"name {value!r} is not {expect or 'a valid name'}", True
        else:
            kind_of = "null" if value is None else "a boolean" if isinstance(value, bool) else "a number"
            yield (*path, value), f"name {yaml_word(value)} is read as {kind_of}, not text; quote it", True
        return
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        yield path, f"missing required key '{missing}'", False
        return
    if kind == "dependentRequired":
        needed = ", ".join(f"'{k}'" for k in _missing_dependencies(value, error.validator_value))
        yield path, f"{needed} is needed here too ({error.message.split(' is a dependency of ')[-1]} is set)", False
        return
    yield path, _simple_message(kind, error, value, expect), False


def _missing_dependencies(value: Any, rules: Any) -> list[str]:
    if not isinstance(value, dict) or not isinstance(rules, dict):
        return []
    return sorted({d for k, deps in rules.items() if k in value for d in deps if d not in value})


def _unknown_key(key: Any, allowed: list[str]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key '{key}' ({hint}allowed: {', '.join(allowed)})"


def _simple_message(kind: str, error: ValidationError, value: Any, expect: str | None) -> str:
    rule = error.validator_value
    got = describe(value)
    if kind == "type":
        types = [rule] if isinstance(rule, str) else list(rule)
        return f"expected {' or '.join(_TYPES.get(t, t) for t in types)}, got {got}"
    if kind == "enum":
        return f"expected one of {', '.join(str(v) for v in rule)}; got {got}"
    if kind == "const":
        return f"expected {rule!r}, got {got}"
    if kind in ("pattern", "format", "anyOf", "oneOf"):
        if kind == "oneOf" and isinstance(value, dict) and "valid under each of" in error.message:
            return f"expected {expect or 'exactly one form'}, but several are given"
        if isinstance(value, dict) and expect:
            return f"expected {expect}"
        return f"expected {expect or _fallback(kind, rule)}, got {got}"
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {"minimum": "at least", "exclusiveMinimum": "more than", "maximum": "at most",
                 "exclusiveMaximum": "less than"}
        return f"expected a number {words[kind]} {rule}, got {got}"
    if kind in ("minItems", "minLength"):
        return "must not be empty" if rule == 1 else f"needs at least {rule} entries"
    if kind == "minProperties":
        return f"expected {expect}" if expect else "must not be empty"
    if kind == "maxLength":
        return f"longer than {rule} characters"
    if kind == "uniqueItems":
        return "has duplicate entries"
    if kind == "false":
        return "is not allowed here"
    text = str(error.message)
    return text if len(text) < 160 else text[:157] + "..."


def _fallback(kind: str, rule: Any) -> str:
    if kind == "pattern":
        return f"text matching {rule}"
    if kind == "format":
        return f"a valid {rule}"
    return "one of the allowed forms"


def describe(value: Any) -> str:
    """A short description of a value for messages (never a dump of a whole mapping)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
