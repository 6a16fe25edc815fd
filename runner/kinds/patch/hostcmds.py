"""Per-host command sets for the patch playbooks, from the baseline's package manager (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from runner.kinds.patch import apt, dnf

APT_REBOOT_CHECK = "test -f /var/run/reboot-required && echo yes || echo no"
DNF_REBOOT_CHECK = "needs-restarting -r >/dev/null 2>&1 && echo no || echo yes"


def scan_commands(manager: Literal["apt", "dnf"]) -> dict[str, str]:
    if manager == "dnf":
        check, info = dnf.scan_commands()
        # Both outputs in one capture, split by a marker line the parser looks for.
        return {"scan": f"{check}; echo '### updateinfo'; {info}", "reboot_check": DNF_REBOOT_CHECK}
    return {"scan": apt.scan_command(), "reboot_check": APT_REBOOT_CHECK}


def apply_commands(
    manager: Literal["apt", "dnf"],
    *,
    install: Sequence[tuple[str, str]],
    hold: Iterable[str],
    query: Iterable[str],
) -> dict[str, str]:
    names = sorted(set(query))
    if manager == "dnf":
        query_cmd = (
            "rpm -q --qf '%{NAME}\\t%{EPOCH}:%{VERSION}-%{RELEASE}\\n' " + " ".join(names) + " 2>/dev/null | "
            "sed 's/\\t(none):/\\t/' || true"
        ) if names else "true"
        return {
            "install": dnf.install_command(install),
            "hold": dnf.hold_command(hold),
            "query": query_cmd,
            "reboot_check": DNF_REBOOT_CHECK,
        }
    return {
        "install": apt.install_command(install),
        "hold": apt.hold_command(hold),
        "query": apt.installed_versions_command(names) if names else "true",
        "reboot_check": APT_REBOOT_CHECK,
    }
