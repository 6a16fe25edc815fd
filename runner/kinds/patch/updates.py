"""What a host could install, as data: one ``Update`` per package with a newer candidate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, kw_only=True)
class Update:
    """A newer version of a package that the host's package manager offers."""

    name: str
    installed: str | None  # None: not installed (a new dependency pulled in)
    candidate: str
    origins: tuple[str, ...] = ()  # "Origin:Version/Suite" as the package manager reports it
    security: bool = False
    arch: str = ""
    published: datetime | None = None  # when the repository published it, where known (dnf updateinfo)

    @property
    def is_new_install(self) -> bool:
        return self.installed is None


def is_security_origin(origin: str) -> bool:
    """Whether an apt origin spec (``Debian-Security:12/oldstable-security``) is a security archive."""
    lowered = origin.lower()
    suite = lowered.rsplit("/", 1)[-1]
    label = lowered.split(":", 1)[0]
    return suite.endswith("-security") or "security" in label
