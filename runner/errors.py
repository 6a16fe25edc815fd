"""One exception hierarchy for maintctl.

Every error a user can cause is a ``MaintctlError``; its ``str()`` is the message the CLI prints, and
``exit_code`` is what the process returns. Anything that is not a ``MaintctlError`` is an internal
error: the CLI says so and names the log file that holds the traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class MaintctlError(Exception):
    """Root of every error maintctl reports to a user."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One located problem in an input file: ``file:line:column: path: message``."""

    file: str
    line: int = 0
    column: int = 0
    path: str = ""
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class CatalogueError(MaintctlError):
    """The catalogue (or another estate input file) is invalid. Carries every problem found."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class UsageError(MaintctlError):
    """A command was called with arguments that cannot work (unknown item, bad date, ...)."""

    exit_code = 2


class StateError(MaintctlError):
    """The state store cannot be opened, or holds something it should not."""


class LeaseHeld(MaintctlError):
    """Another runner holds the lease for this occurrence."""

    exit_code = 3


class EvidenceError(MaintctlError):
    """The evidence ledger cannot be written or read."""


class VerificationFailed(MaintctlError):
    """Evidence verification found a broken record, signature or artifact."""

    exit_code = 2


class ChangeError(MaintctlError):
    """A change-record backend refused or failed an operation."""


class AdapterError(MaintctlError):
    """An external tool or service (Ansible, SSH, AWS, restic, ACME, ...) failed."""


class RunFailed(MaintctlError):
    """A run finished, but not successfully (halted rollout, failed checks, ...)."""
