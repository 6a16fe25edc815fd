"""One harness for the case folder: each JSON file is a window, a range and the expected occurrences."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runner.catalogue.model import Window
from runner.schedule import occurrences

CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))


def _duration(text: str) -> timedelta:
    # ISO 8601 PT#H#M, enough for the cases
    body = text.removeprefix("PT")
    hours, _, rest = body.partition("H") if "H" in body else ("0", "", body)
    minutes = rest.removesuffix("M") or "0"
    return timedelta(hours=int(hours), minutes=int(minutes))


def _window(spec: dict[str, Any]) -> Window:
    kw: dict[str, Any] = dict(spec)
    for key in ("duration", "cutoff", "max_start_delay"):
        if key in kw:
            kw[key] = _duration(kw[key])
    for key in ("start_date", "end_date"):
        if key in kw:
            kw[key] = date.fromisoformat(kw[key])
    return Window(**kw)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = json.loads(path.read_text())
    got = occurrences(_window(case["window"]), datetime.fromisoformat(case["from"]), datetime.fromisoformat(case["to"]))
    # "to" may cut the last expected one off: expected lists are exact.
    expected = [e for e in case["expected"] if datetime.fromisoformat(e["start"]) < datetime.fromisoformat(case["to"])]
    assert [o.start.isoformat() for o in got] == [e["start"] for e in expected]
    for occ, want in zip(got, expected, strict=True):
        if "end" in want:
            assert occ.end.isoformat() == want["end"]
        if "cutoff_at" in want:
            assert occ.cutoff_at.isoformat() == want["cutoff_at"]
        if "shifted" in want:
            assert occ.shifted is want["shifted"]


def test_there_are_cases() -> None:
    assert len(CASES) >= 5
