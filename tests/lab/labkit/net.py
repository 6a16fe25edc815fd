"""Lab network: one bridge on the machine, one network namespace + veth pair per host."""
from __future__ import annotations

import json
import os

from .config import BRIDGE, GATEWAY, NETNS_PREFIX, PREFIXLEN, VETH_PREFIX, Host
from .proc import quiet, run


def bridge_up() -> None:
    """Creates the bridge with the machine's lab address; no forwarding or NAT: hosts reach only the lab."""
    if not quiet(["ip", "link", "show", BRIDGE]):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    addrs = run(["ip", "-o", "-4", "addr", "show", "dev", BRIDGE])
    if f" {GATEWAY}/" not in addrs:
        run(["ip", "addr", "add", f"{GATEWAY}/{PREFIXLEN}", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def host_net_up(host: Host) -> None:
    """Namespace + veth for one host: eth0 inside with the host's address, default route to the bridge."""
    if host.netns not in netns_list():
        run(["ip", "netns", "add", host.netns])
    if not quiet(["ip", "link", "show", host.veth]):
        run(["ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns])
    run(["ip", "link", "set", host.veth, "master", BRIDGE, "up"])
    ns = ["ip", "-n", host.netns]
    run(ns + ["link", "set", "lo", "up"])
    if f" {host.address}/" not in run(ns + ["-o", "-4", "addr", "show", "dev", "eth0"]):
        run(ns + ["addr", "add", f"{host.address}/{PREFIXLEN}", "dev", "eth0"])
    run(ns + ["link", "set", "eth0", "up"])
    run(ns + ["route", "replace", "default", "via", GATEWAY])


def netns_list() -> list[str]:
    out = run(["ip", "-j", "netns", "list"], check=False).strip()
    names = [e["name"] for e in json.loads(out)] if out else []
    return [n for n in names if n.startswith(NETNS_PREFIX)]


def netns_pids(netns: str) -> list[int]:
    return [int(p) for p in run(["ip", "netns", "pids", netns], check=False).split()]


def lab_links() -> list[str]:
    out = run(["ip", "-j", "link", "show"], check=False).strip()
    names = [e["ifname"] for e in json.loads(out)] if out else []
    return [n for n in names if n.startswith(VETH_PREFIX) or n == BRIDGE]


def net_down() -> None:
    """Deletes every lab namespace, veth and the bridge (found by name, so a half-made lab goes too)."""
    for ns in netns_list():
        quiet(["ip", "netns", "delete", ns])
        path = f"/run/netns/{ns}"
        if os.path.exists(path):
            quiet(["umount", "-l", path])
            try:
                os.unlink(path)
            except OSError:
                pass
    for link in lab_links():
        if link != BRIDGE:
            quiet(["ip", "link", "delete", link])
    if quiet(["ip", "link", "show", BRIDGE]):
        quiet(["ip", "link", "delete", BRIDGE])
