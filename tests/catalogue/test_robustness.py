"""Whatever is in a catalogue file, validate answers with problems, never with an exception."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.catalogue.loader import check_estate

BASE = Path(__file__).resolve().parents[1] / "data" / "bad" / "_base"
ITEMS = (BASE / "maintenance" / "items.yml").read_bytes()

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12), st.floats(allow_nan=False))
_KEYS = [
    "id", "kind", "targets", "groups", "hosts", "window", "expected_duration", "patch", "baseline",
    "rollout", "batch_size", "pre_checks", "change", "type", "windows", "cron", "rrule", "timezone",
    "duration", "cutoff", "items", "freezes", "ranges", "start", "end", "x",
]
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=5)),
    max_leaves=25,
)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "estate"
    shutil.copytree(BASE, root)
    return root


def _check(root: Path, content: bytes) -> None:
    (root / "maintenance" / "items.yml").write_bytes(content)
    result = check_estate(root)  # must not raise
    for problem in result.problems:
        assert problem.file and problem.message


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_bytes_never_crash(estate: Path, data: st.DataObject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAINTCTL_NO_CACHE", "1")
    content = bytearray(ITEMS)
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(content) - 1))
        content[pos : pos + 1] = data.draw(st.binary(min_size=0, max_size=3))
    _check(estate, bytes(content))


_keys = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.sampled_from(_KEYS))
_any_keys = st.recursive(
    _scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_any_keys)
def test_keys_of_any_type_never_crash(estate: Path, value: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    monkeypatch.setenv("MAINTCTL_NO_CACHE", "1")
    # YAML keys may be null, booleans or numbers: the loader must cope with all of them.
    text = yaml.safe_dump({"windows": value, "items": [value], "freezes": {1: value}})
    _check(estate, text.encode())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_values)
def test_arbitrary_documents_never_crash(estate: Path, value: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAINTCTL_NO_CACHE", "1")
    # JSON is YAML: any JSON document is a valid YAML file with arbitrary structure.
    _check(estate, json.dumps({"items": [value], "windows": value}).encode())
