"""apt: the commands a patch run sends to Debian/Ubuntu hosts, and parsing of what they print.

The scan uses apt-get's simulation (``-s``), which needs no lock, changes nothing and names the
origin of every candidate, so security updates are told apart the way unattended-upgrades does:
by the archive (suite ``*-security`` or a ``*-Security`` label) the candidate comes from.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

from runner.kinds.patch.updates import Update, is_security_origin

# Inst NAME [OLD] (NEW ORIGIN1, ORIGIN2 [ARCH])   -- OLD absent for new installs.
_INST = re.compile(
    r"^Inst (?P<name>\S+)(?: \[(?P<old>[^\]]+)\])? \((?P<new>\S+)(?P<origins>[^\[]*)\[(?P<arch>[^\]]+)\]\)"
)

SCAN_ENV = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}


def scan_command(*, refresh: bool = True) -> str:
    """The shell command that lists every pending update (simulated dist-upgrade)."""
    steps = []
    if refresh:
        steps.append("apt-get -q update >/dev/null")
    steps.append("apt-get -s -o Debug::NoLocking=1 dist-upgrade")
    return " && ".join(steps)


def parse_simulation(text: str) -> list[Update]:
    """Parse ``apt-get -s`` output into updates, in the order apt would install them."""
    updates: list[Update] = []
    for line in text.splitlines():
        m = _INST.match(line.strip())
        if not m:
            continue
        origins = tuple(o.strip() for o in m.group("origins").split(",") if o.strip())
        updates.append(
            Update(
                name=m.group("name"),
                installed=m.group("old"),
                candidate=m.group("new"),
                origins=origins,
                security=any(is_security_origin(o) for o in origins),
                arch=m.group("arch"),
            )
        )
    return updates


def install_command(packages: Iterable[tuple[str, str]]) -> str:
    """Install exactly the approved versions (``name=version``), upgrading only what is installed.

    Pinning the version keeps a run to what the scan approved even if the repository moved on
    between scan and install.
    """
    specs = " ".join(shlex.quote(f"{name}={version}") for name, version in packages)
    if not specs:
        return "true"
    return (
        "apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
        f"install --only-upgrade --no-install-recommends {specs}"
    )


def hold_command(packages: Iterable[str]) -> str:
    names = " ".join(shlex.quote(p) for p in packages)
    return f"apt-mark hold {names}" if names else "true"


def installed_versions_command(packages: Iterable[str]) -> str:
    """Print ``name<TAB>version`` for each installed package of ``packages``."""
    names = " ".join(shlex.quote(p) for p in packages)
    return f"dpkg-query -W -f='${{Package}}\\t${{Version}}\\n' {names} 2>/dev/null || true"


def parse_installed(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, _, version = line.partition("\t")
        if name and version:
            out[name.strip()] = version.strip()
    return out
