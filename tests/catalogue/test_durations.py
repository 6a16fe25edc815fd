"""Durations and shares: one parser, and the schema pattern agrees with it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from runner.catalogue.durations import (
    DURATION_PATTERN,
    format_duration,
    parse_duration,
    parse_share,
    resolve_share,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("3h", timedelta(hours=3)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1w2d", timedelta(days=9)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("0m", timedelta(0)),
        ("PT3H", timedelta(hours=3)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("P2D", timedelta(days=2)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("P1W", timedelta(weeks=1)),
    ],
)
def test_valid_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert re.search(DURATION_PATTERN, text), "the schema pattern must accept what the parser accepts"


@pytest.mark.parametrize(
    "text", ["", "3", "3 h", "h", "1.5h", "30m1h", "3x", "P", "PT", "P1Y", "P1M", "P1DT", "-3h", "PT3h", "3H", "1h 30m"]
)
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like"):
        parse_duration(text)
    assert not re.search(DURATION_PATTERN, text), "the schema pattern must refuse what the parser refuses"


def test_format_duration_round_trips() -> None:
    for text in ("45s", "30m", "3h", "1h30m", "2d", "1d2h3m4s"):
        assert format_duration(parse_duration(text)) == text
    assert format_duration(timedelta(0)) == "0s"


@pytest.mark.parametrize(
    ("value", "total", "expected"),
    [(2, 10, 2), ("2", 10, 2), ("25%", 10, 3), ("10%", 5, 1), ("100%", 7, 7), ("0%", 9, 0), (50, 3, 3)],
)
def test_shares(value: int | str, total: int, expected: int) -> None:
    assert resolve_share(value, total) == expected


@pytest.mark.parametrize("value", ["150%", "abc", "-1", "1.5", True, -2])
def test_bad_shares(value: int | str) -> None:
    with pytest.raises(ValueError):
        parse_share(value)
