"""dnf: the commands a patch run sends to RHEL-family hosts, and parsing of what they print.

Only apt runs in the lab; this path is covered by unit tests of the commands and parsers.
``dnf updateinfo`` gives each advisory's type (security, bugfix, enhancement) and issue date, which
the baseline's security-only and approve-after-days rules use directly.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from datetime import UTC, datetime

from runner.kinds.patch.updates import Update

_NEVRA = re.compile(r"^(?P<name>.+)-(?P<ver>[^-]+-[^-]+)\.(?P<arch>[^.]+)$")


def scan_commands() -> tuple[str, str]:
    """Two commands: pending updates, and the advisories (type, issue date) behind them."""
    return (
        "dnf -q check-update --refresh; test $? -ne 1",
        "dnf -q updateinfo list --updates --info",
    )


def parse_check_update(text: str, installed: dict[str, str]) -> list[Update]:
    """Parse ``dnf check-update`` lines: ``name.arch  version-release  repo``."""
    updates: list[Update] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or "." not in parts[0] or line.startswith((" ", "Obsoleting")):
            continue
        name, _, arch = parts[0].rpartition(".")
        updates.append(
            Update(
                name=name,
                installed=installed.get(name),
                candidate=parts[1],
                origins=(parts[2],),
                arch=arch,
            )
        )
    return updates


def parse_updateinfo(text: str) -> dict[str, tuple[str, datetime | None]]:
    """Map ``name`` -> (advisory type, issued) from ``dnf updateinfo list --updates --info``."""
    result: dict[str, tuple[str, datetime | None]] = {}
    adv_type = ""
    issued: datetime | None = None
    in_packages = False
    for raw in text.splitlines():
        key, sep, value = raw.partition(":")
        key_s = key.strip()
        if raw.strip().startswith("===") or not raw.strip():
            in_packages = False
            continue
        if sep and key_s == "Type":
            adv_type, in_packages = value.strip().lower(), False
        elif sep and key_s == "Issued":
            issued = _parse_issued(value.strip())
        elif sep and (key_s in ("Files", "Packages") or (in_packages and not key_s)):
            in_packages = True
            m = _NEVRA.match(value.strip().removesuffix(".rpm"))
            if m:
                name = m.group("name")
                prev = result.get(name)
                if prev is None or (adv_type == "security" and prev[0] != "security"):
                    result[name] = (adv_type, issued)
    return result


def _parse_issued(value: str) -> datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def merge_advisories(updates: list[Update], info: dict[str, tuple[str, datetime | None]]) -> list[Update]:
    """Mark security updates and publication dates from updateinfo."""
    merged: list[Update] = []
    for u in updates:
        adv = info.get(u.name)
        if adv is None:
            merged.append(u)
            continue
        merged.append(
            Update(
                name=u.name,
                installed=u.installed,
                candidate=u.candidate,
                origins=u.origins,
                security=adv[0] == "security",
                arch=u.arch,
                published=adv[1],
            )
        )
    return merged


def install_command(packages: Iterable[tuple[str, str]]) -> str:
    specs = " ".join(shlex.quote(f"{name}-{version}") for name, version in packages)
    return f"dnf -q -y upgrade {specs}" if specs else "true"


def hold_command(packages: Iterable[str]) -> str:
    """dnf's versionlock plugin pins a package at its installed version."""
    names = " ".join(shlex.quote(p) for p in packages)
    return f"dnf -q -y versionlock add {names}" if names else "true"


def reboot_needed_command() -> str:
    """``needs-restarting -r`` exits 1 when a reboot is needed."""
    return "needs-restarting -r >/dev/null; echo $?"
