"""Durations and shares as written in the catalogue: the one parser every part of maintctl uses.

A duration is either compact units in descending order (``45s``, ``30m``, ``3h``, ``1h30m``, ``2d``,
``1w2d``) or an ISO 8601 duration without years or months (``PT3H``, ``P2D``, ``PT1H30M``, ``P1W``).
Years and months are refused: their length depends on the calendar.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

_COMPACT = r"(?:(?P<w>[0-9]+)w)?(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?"
_ISO = (
    r"P(?:(?P<W>[0-9]+)W)?(?:(?P<D>[0-9]+)D)?"
    r"(?:T(?=[0-9])(?:(?P<H>[0-9]+)H)?(?:(?P<M>[0-9]+)M)?(?:(?P<S>[0-9]+(?:\.[0-9]+)?)S)?)?"
)
_DURATION = re.compile(rf"^(?:{_COMPACT}|{_ISO})$")
# The same language without named groups, for the JSON Schemas (they must not disagree with the parser).
DURATION_PATTERN = (
    r"^(?=[0-9P])(?:([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?"
    r"|P(?=[0-9T])([0-9]+W)?([0-9]+D)?(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]+)?S)?)?)$"
)
DURATION_HELP = "a duration like 45s, 30m, 3h, 1h30m, 2d or ISO 8601 PT3H"

PERCENT_PATTERN = r"^(100|[1-9]?[0-9])%$"
_PERCENT = re.compile(PERCENT_PATTERN)


@lru_cache(maxsize=4096)
def parse_duration(text: str) -> timedelta:
    """Parse a catalogue duration; raise ``ValueError`` with a user-facing message if it is not one."""
    value = text.strip() if isinstance(text, str) else ""
    match = _DURATION.match(value) if value else None
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"{text!r} is not {DURATION_HELP}")
    g = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return timedelta(
        weeks=g["w"] + g["W"],
        days=g["d"] + g["D"],
        hours=g["h"] + g["H"],
        minutes=g["m"] + g["M"],
        seconds=g["s"] + g["S"],
    )


def format_duration(value: timedelta) -> str:
    """The compact form of a duration (``1h30m``), for messages and plans."""
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    sign = "-" if total < 0 else ""
    total = abs(total)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def parse_share(value: int | str) -> tuple[int, bool]:
    """Parse a count (``3`` or ``"3"``) or a share (``"25%"``): returns (number, is_percent)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a count or a percentage like 25%")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{value} is negative")
        return value, False
    text = str(value).strip()
    if _PERCENT.match(text):
        return int(text[:-1]), True
    if text.isdigit():
        return int(text), False
    raise ValueError(f"{value!r} is not a count or a percentage like 25%")


def resolve_share(value: int | str, total: int) -> int:
    """How many of ``total`` a count or share means (a share rounds up, so 10% of 5 is 1)."""
    number, percent = parse_share(value)
    if not percent:
        return min(number, total)
    return min(total, -(-number * total // 100))
