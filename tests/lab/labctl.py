#!/usr/bin/python3
"""maintctl lab control: up, down, status, exec, ssh, publish, start-host, stop-host, reboot.

Run through tests/lab/lab.sh (or `make lab-up` / `make lab-down`) as root.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labkit import hosts, lifecycle, outputs, repo  # noqa: E402
from labkit.config import LabConfig, LabConfigError, config_from_env  # noqa: E402
from labkit.proc import LabError  # noqa: E402


def _running() -> LabConfig:
    cfg = lifecycle.load_config()
    if cfg is None:
        raise LabError("the lab is not up: run `make lab-up` (or tests/lab/lab.sh up)")
    return cfg


def cmd_up(args: argparse.Namespace) -> int:
    cfg = config_from_env(args.hosts)
    validity = args.cert_validity or (int(os.environ["LAB_PEBBLE_VALIDITY"])
                                      if os.environ.get("LAB_PEBBLE_VALIDITY") else None)
    with lifecycle.locked():
        try:
            took = lifecycle.up(cfg, validity=validity)
        except BaseException:
            if os.environ.get("LAB_KEEP_FAILED") != "1":
                print("lab up failed; cleaning up what was made (LAB_KEEP_FAILED=1 keeps it)",
                      file=sys.stderr)
                lifecycle.down()
            raise
    print(f"lab up ({len(cfg.hosts)} hosts) in {took:.1f}s: {outputs.LAB_JSON}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    with lifecycle.locked():
        users = lifecycle.live_users()
        if users and not args.force:
            raise LabError(f"the lab is in use by test sessions {users}; wait for them or use --force")
        lifecycle.down()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    cfg = lifecycle.load_config()
    if cfg is None:
        print("lab: down")
        return 3
    probs = lifecycle.problems(cfg)
    for h in cfg.hosts:
        boot = hosts.ready_boot_id(h)
        print(f"{h.name:10} {h.address:15} {'up boot ' + boot if boot else 'DOWN'}")
    for p in probs:
        print(f"problem: {p}")
    if lifecycle.stale():
        print("stale: built by older lab code (`lab.sh up` rebuilds it when no test session uses it)")
        return 1
    return 1 if probs else 0


def cmd_exec(args: argparse.Namespace) -> int:
    host = _running().host(args.host)
    return subprocess.run(hosts.exec_argv(host, args.command or ["bash", "-l"])).returncode


def cmd_ssh(args: argparse.Namespace) -> int:
    _running().host(args.host)
    argv = ["ssh", "-F", str(outputs.SSH_CONFIG), args.host, *args.command]
    os.execvp("ssh", argv)  # noqa: S606 - becomes the user's ssh session
    return 1


def cmd_publish(args: argparse.Namespace) -> int:
    deb = repo.publish(args.name, args.version, reboot=args.reboot, fail=args.fail, security=args.security,
                       published=args.published)
    print(f"published {deb.name} in {'bookworm-security' if args.security else 'bookworm'}")
    return 0


def cmd_host(args: argparse.Namespace) -> int:
    cfg = _running()
    host = cfg.host(args.host)
    with lifecycle.locked():
        if args.action == "stop-host":
            hosts.stop(host)
        else:
            if args.action == "restart-host":
                hosts.stop(host)
            hosts.start(host)
            hosts.wait_ready(host, 120)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lab.sh", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the lab (idempotent)")
    up.add_argument("--hosts", type=int, help="number of hosts (default 3, or LAB_HOSTS='web1 web2 ...')")
    up.add_argument("--cert-validity", type=int, help="pebble certificate lifetime in seconds")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop the lab and remove everything it made")
    down.add_argument("--force", action="store_true", help="even if test sessions still use it")
    down.set_defaults(func=cmd_down)
    sub.add_parser("status", help="show hosts and problems").set_defaults(func=cmd_status)
    ex = sub.add_parser("exec", help="run a command inside a host (no SSH)")
    ex.add_argument("host")
    ex.add_argument("command", nargs=argparse.REMAINDER)
    ex.set_defaults(func=cmd_exec)
    ssh = sub.add_parser("ssh", help="ssh to a host with the lab's key and known_hosts")
    ssh.add_argument("host")
    ssh.add_argument("command", nargs=argparse.REMAINDER)
    ssh.set_defaults(func=cmd_ssh)
    pub = sub.add_parser("publish", help="publish a package version to the lab repository")
    pub.add_argument("name")
    pub.add_argument("version")
    pub.add_argument("--reboot", action="store_true", help="postinst flags /var/run/reboot-required")
    pub.add_argument("--fail", action="store_true", help="postinst exits 1")
    pub.add_argument("--security", action="store_true", help="publish in the bookworm-security suite")
    pub.add_argument("--published", help="publication time recorded in the package, e.g. 2026-01-31T12:00:00Z")
    pub.set_defaults(func=cmd_publish)
    for action in ("start-host", "stop-host", "restart-host"):
        hp = sub.add_parser(action, help=f"{action.replace('-', ' ')} (keeps its disk)")
        hp.add_argument("host")
        hp.set_defaults(func=cmd_host, action=action)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if os.geteuid() != 0:
        print("lab: must run as root (namespaces, mounts, bridge)", file=sys.stderr)
        return 1
    try:
        return int(args.func(args))
    except (LabError, LabConfigError) as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
