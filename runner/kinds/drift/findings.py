"""Drift findings: one per host x task or per AWS resource x check, and what they add up to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

Status = Literal["in_sync", "drift", "unknown", "error", "waived", "unmanaged", "not_applicable"]
Source = Literal["ansible", "aws"]

# Statuses that make a report "not clean". Unknown counts: a check that could not run proves nothing.
DIRTY: frozenset[str] = frozenset({"drift", "unmanaged", "unknown"})
CLEAN: frozenset[str] = frozenset({"in_sync", "waived", "not_applicable"})

EXIT_CLEAN = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One checked thing.

    ``target`` is a host name (ansible) or a resource address such as ``s3://bucket`` (aws);
    ``check`` is the task name (ansible) or the compared attribute (aws). ``location`` is
    ``file:line`` of the task or catalogue entry that declares the desired state, when known.
    """

    item: str
    source: Source
    target: str
    check: str
    status: Status
    message: str = ""
    diff: str = ""
    location: str = ""
    action: str = ""
    note: str = ""
    waiver: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.item, self.source, self.target, self.check)

    def with_status(self, status: Status, *, note: str = "", waiver: str = "") -> Finding:
        return replace(self, status=status, note=note or self.note, waiver=waiver or self.waiver)


@dataclass(frozen=True, kw_only=True)
class ItemReport:
    """All findings of one drift item, plus errors that stopped part of the check."""

    item: str
    findings: tuple[Finding, ...] = ()
    errors: tuple[str, ...] = field(default_factory=tuple)
    location: str = ""  # file:line of the item in the catalogue
    notes: tuple[str, ...] = ()  # e.g. waivers that cover nothing


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Stable order for every report: item, source, target, check."""
    return sorted(findings, key=lambda f: (f.key, f.status, f.message))


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Number of findings per status, every status present (zeros included), in a fixed order."""
    out: dict[str, int] = dict.fromkeys(
        ("in_sync", "drift", "unknown", "error", "waived", "unmanaged", "not_applicable"), 0
    )
    for f in findings:
        out[f.status] += 1
    return out


def exit_code(reports: Sequence[ItemReport]) -> int:
    """CI exit code: 1 on any error, else 2 on any drift, unmanaged or unknown finding, else 0."""
    findings = [f for r in reports for f in r.findings]
    if any(r.errors for r in reports) or any(f.status == "error" for f in findings):
        return EXIT_ERROR
    if any(f.status in DIRTY for f in findings):
        return EXIT_DRIFT
    return EXIT_CLEAN
