"""The lab's shape: host names, addresses, roles, and every path the lab writes."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path


def _instance() -> int:
    """LAB_INSTANCE=N (1-9) runs a second, fully separate lab (own bridge, subnet 10.213.N.0/24,
    run dir, names); the lab's own tests use it to prove `down` removes everything. 0 is the default lab."""
    raw = os.environ.get("LAB_INSTANCE", "0") or "0"
    if not raw.isdigit() or not 0 <= int(raw) <= 9:
        raise SystemExit(f"lab: LAB_INSTANCE must be a digit 0-9, got {raw!r}")
    return int(raw)


INSTANCE = _instance()
TAG = str(INSTANCE) if INSTANCE else ""
LAB_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = LAB_DIR.parent.parent
RUN_DIR = LAB_DIR / "run" / f"instance-{INSTANCE}" if INSTANCE else LAB_DIR / "run"
HOSTFILES = Path(__file__).resolve().parent / "hostfiles"

BRIDGE = f"mlab{INSTANCE}"
NETNS_PREFIX = f"mlab{TAG}-"
VETH_PREFIX = f"mlv{TAG}-"
SUBNET = f"10.213.{INSTANCE}"
GATEWAY = f"{SUBNET}.1"
PREFIXLEN = 24
DOMAIN = "lab"
DEFAULT_HOSTS = ("web1", "web2", "db1")
FIXED_ADDRESSES = {"web1": 11, "web2": 12, "db1": 21}
FIRST_EXTRA = 31
MAX_HOSTS = 200

PORTS = {"repo": 8080, "moto": 5000, "pebble": 14000, "pebble_mgmt": 15000, "dns": 53}
NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,8}$")


class LabConfigError(Exception):
    """Bad lab parameters (host names or count); the message is for the user."""


@dataclass(frozen=True)
class Host:
    name: str
    address: str

    @property
    def netns(self) -> str:
        return NETNS_PREFIX + self.name

    @property
    def veth(self) -> str:
        return VETH_PREFIX + self.name

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{DOMAIN}"

    @property
    def roles(self) -> tuple[str, ...]:
        if self.name.startswith("web"):
            return ("web",)
        if self.name.startswith("db"):
            return ("db",)
        return ("app",)

    @property
    def services(self) -> tuple[str, ...]:
        extra = {"web": ("nginx",), "db": ("postgresql",)}
        out: list[str] = ["ssh"]
        for role in self.roles:
            out.extend(extra.get(role, ()))
        return tuple(out)

    @property
    def dir(self) -> Path:
        return RUN_DIR / "hosts" / self.name


@dataclass(frozen=True)
class LabConfig:
    hosts: tuple[Host, ...]
    extra: dict[str, str] = field(default_factory=dict)

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise LabConfigError(f"no lab host named {name!r} (hosts: {', '.join(self.names)})")

    @property
    def names(self) -> list[str]:
        return [h.name for h in self.hosts]


def host_names(count: int | None = None, names: str | None = None) -> list[str]:
    """Host names from an explicit list (LAB_HOSTS) or a count (defaults first, then host4, host5...)."""
    if names:
        out = names.replace(",", " ").split()
    else:
        n = len(DEFAULT_HOSTS) if count is None else count
        if n < 1 or n > MAX_HOSTS:
            raise LabConfigError(f"host count must be 1..{MAX_HOSTS}, got {n}")
        out = list(DEFAULT_HOSTS[:n]) + [f"host{i}" for i in range(len(DEFAULT_HOSTS) + 1, n + 1)]
    for name in out:
        if not NAME_RE.match(name):
            raise LabConfigError(f"bad lab host name {name!r}: use 1-9 lowercase letters/digits")
    if len(set(out)) != len(out):
        raise LabConfigError(f"duplicate lab host names in {out}")
    return out


def build_config(names: list[str]) -> LabConfig:
    """Assigns addresses: web1/web2/db1 fixed, every other host from .31 upwards."""
    hosts: list[Host] = []
    used = {FIXED_ADDRESSES[n] for n in names if n in FIXED_ADDRESSES}
    nxt = FIRST_EXTRA
    for name in names:
        if name in FIXED_ADDRESSES:
            octet = FIXED_ADDRESSES[name]
        else:
            while nxt in used:
                nxt += 1
            octet = nxt
            used.add(octet)
        if octet > 254:
            raise LabConfigError("too many lab hosts for the /24 lab network")
        hosts.append(Host(name=name, address=f"{SUBNET}.{octet}"))
    return LabConfig(hosts=tuple(hosts))


def config_from_env(count: int | None = None) -> LabConfig:
    return build_config(host_names(count, os.environ.get("LAB_HOSTS") if count is None else None))
