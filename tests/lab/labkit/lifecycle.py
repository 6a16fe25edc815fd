"""lab up / down / status: the whole lab's lifecycle, idempotent and safe after a half-done up."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from . import hosts, net, outputs, pki, repo, services
from .config import GATEWAY, NETNS_PREFIX, RUN_DIR, Host, LabConfig, build_config
from .proc import LOG_DIR, LabError, kill_pids, lab_processes, log, pid_alive, quiet, read_pid, run

STATE = RUN_DIR / "state.json"
USERS = RUN_DIR / ".users"  # test sessions using the lab (kept across up/down)
LOCK = RUN_DIR / ".lab.lock"
KEEP = {"logs"}


@contextmanager
def locked() -> Iterator[None]:
    """One lab operation at a time on this machine (several sessions may share the lab)."""
    RUN_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(LOCK, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def code_version() -> str:
    """Hash of the lab's own code: a lab built by older code is rebuilt when nobody is using it."""
    digest = hashlib.sha256()
    base = Path(__file__).resolve().parent
    for path in sorted(base.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def stale() -> bool:
    try:
        return str(json.loads(STATE.read_text()).get("code")) != code_version()
    except (OSError, ValueError):
        return False


def load_config() -> LabConfig | None:
    try:
        names = json.loads(STATE.read_text())["hosts"]
    except (OSError, ValueError, KeyError):
        return None
    return build_config(names)


def problems(cfg: LabConfig) -> list[str]:
    """Problems of a running lab (empty when all is well)."""
    problems = []
    for name in services.SERVICES:
        pid = (RUN_DIR / "pids" / f"{name}.pid")
        if not pid.exists() or not pid_alive(int(pid.read_text())):
            problems.append(f"service {name} is not running")
    for h in cfg.hosts:
        if not hosts.ready_boot_id(h):
            problems.append(f"host {h.name} is not up")
    return problems


def _prepare_host(cfg: LabConfig, h: Host, client_pub: str, pg_password: str) -> str:
    pub = pki.ssh_keypair(h.dir / "ssh_host_ed25519_key", f"root@{h.name}")
    cert = None
    if "web" in h.roles:
        cert = pki.issue(h.name, [h.fqdn, h.name], [h.address])
    extra = {"pebble-root.crt": services.PEBBLE_ROOT} if services.PEBBLE_ROOT.exists() else {}
    from .rootfs import seed_host
    seed_host(cfg, h, client_pub, h.dir / "ssh_host_ed25519_key", pki.CA_CERT, cert, extra, pg_password)
    net.host_net_up(h)
    hosts.start(h)
    return pub


def up(cfg: LabConfig, *, validity: int | None = None, timeout: float = 120) -> float:
    """Brings the lab up (no-op if it already runs with the same hosts); returns seconds taken."""
    t0 = time.monotonic()
    current = load_config()
    users = live_users()
    if current is not None and stale():
        if users:
            log(f"the lab was built by older lab code; it stays as it is while sessions {users} use it")
        else:
            log("the lab was built by older lab code: rebuilding it")
            down()
            current = None
    if current is not None and current.names == cfg.names and _state() == "up":
        if not problems(current):
            log(f"lab already up: {' '.join(cfg.names)}")
            return time.monotonic() - t0
        if repair(current, timeout):
            log(f"lab repaired in {time.monotonic() - t0:.1f}s")
            return time.monotonic() - t0
    if current is not None and users:
        raise LabError(f"the lab is up with hosts {' '.join(current.names)} and in use by test sessions "
                       f"{users}; it cannot be rebuilt now (wanted: {' '.join(cfg.names)})")
    if current is not None or net.netns_list() or net.lab_links() or lab_processes():
        log("cleaning up the previous lab first")
        down()
    _fresh_run_dir()
    log(f"lab up: {' '.join(f'{h.name}={h.address}' for h in cfg.hosts)}")
    client_pub = pki.ssh_keypair(pki.CLIENT_KEY, "maintctl-lab-client")
    pki.make_ca()
    pki.issue("pebble", ["pebble.lab", "localhost"], [GATEWAY, "127.0.0.1"], days=3650)
    repo.create()
    net.bridge_up()
    services.start_dns(cfg)
    services.start_repo_http()
    services.start_moto()
    services.start_pebble(validity)
    services.wait_ready("pebble", 20)
    services.fetch_pebble_roots()
    log("pki, repository and pebble ready; seeding and booting hosts")
    pg_password = secrets.token_urlsafe(18)
    outputs.PG_PASSWORD.parent.mkdir(mode=0o700, exist_ok=True)
    outputs.PG_PASSWORD.write_text(pg_password + "\n")
    os.chmod(outputs.PG_PASSWORD, 0o600)
    STATE.write_text(json.dumps({"hosts": cfg.names, "validity": validity, "state": "starting"}))
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = dict(zip(cfg.names, pool.map(lambda h: _prepare_host(cfg, h, client_pub, pg_password),
                                             cfg.hosts), strict=True))
    outputs.write_all(cfg, keys, services.pebble_files(), validity)
    for name in ("dnsmasq", "repo-http", "moto"):
        services.wait_ready(name, 30)
    log("hosts booting; dns, repository and moto ready")
    with ThreadPoolExecutor(max_workers=max(1, len(cfg.hosts))) as pool:
        list(pool.map(lambda h: hosts.wait_ready(h, timeout), cfg.hosts))
    log("hosts ready")
    bad = [f"{h.name}: {s}" for h in cfg.hosts if (s := hosts.first_boot_status(h)) != "0"]
    if bad:
        raise LabError("first boot failed on " + ", ".join(bad) + " (see /var/log/lab-init.log in the host)")
    _check_ssh(cfg)
    STATE.write_text(json.dumps({"hosts": cfg.names, "validity": validity, "state": "up",
                                 "code": code_version()}))
    took = time.monotonic() - t0
    log(f"lab up in {took:.1f}s; details in {outputs.LAB_JSON}")
    return took


def _state() -> str:
    try:
        return str(json.loads(STATE.read_text()).get("state"))
    except (OSError, ValueError):
        return "missing"


def repair(cfg: LabConfig, timeout: float) -> bool:
    """Restarts what stopped in a lab that was fully up (a powered-off host, a dead service) without
    rebuilding it, so sessions sharing the lab keep their hosts' state. False if that was not enough."""
    validity = json.loads(STATE.read_text()).get("validity")
    starters: dict[str, Callable[[], None]] = {
        "dnsmasq": lambda: services.start_dns(cfg), "repo-http": services.start_repo_http,
        "moto": services.start_moto, "pebble": lambda: services.start_pebble(validity)}
    for name, start in starters.items():
        pid = read_pid(name)
        if not pid or not pid_alive(pid):
            log(f"repair: restarting {name}")
            start()
            services.wait_ready(name, 30)
            if name == "pebble":
                services.fetch_pebble_roots()
    for h in cfg.hosts:
        if not hosts.ready_boot_id(h):
            log(f"repair: starting host {h.name}")
            hosts.start(h)
    try:
        for h in cfg.hosts:
            hosts.wait_ready(h, timeout)
    except LabError as exc:
        log(f"repair failed: {exc}")
        return False
    return not problems(cfg)


def _check_ssh(cfg: LabConfig) -> None:
    """Every host answers real SSH with its recorded host key (as tests and Ansible will use it)."""
    def probe(h: Host) -> None:
        out = run(["ssh", "-F", str(outputs.SSH_CONFIG), h.name, "hostname"], check=False, timeout=30)
        if out.strip() != h.name:
            raise LabError(f"ssh to lab host {h.name} failed (got {out.strip()!r})")
    with ThreadPoolExecutor(max_workers=max(1, len(cfg.hosts))) as pool:
        list(pool.map(probe, cfg.hosts))


def _fresh_run_dir() -> None:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(RUN_DIR, 0o700)
    for entry in RUN_DIR.iterdir():
        if entry.name not in KEEP and not entry.name.startswith((".", "instance-")):
            _remove(entry)
    LOG_DIR.mkdir(exist_ok=True)
    for f in LOG_DIR.iterdir():
        f.unlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            run(["rm", "-rf", "--one-file-system", str(path)], check=False)
    else:
        path.unlink(missing_ok=True)


def live_users() -> list[int]:
    """PIDs of test sessions registered as using the lab, except the one this command runs for."""
    me = os.environ.get("MAINTCTL_LAB_SELF", "")
    out = []
    # run/users/ is where sessions started before this layout registered.
    entries = [f for d in (USERS, RUN_DIR / "users") if d.is_dir() for f in d.iterdir()]
    for f in entries:
        if f.name.isdigit() and pid_alive(int(f.name)):
            if f.name != me:
                out.append(int(f.name))
        else:
            f.unlink(missing_ok=True)
    return out


def down() -> None:
    """Stops and removes everything the lab made, found by PID files, names and markers."""
    cfg = load_config()
    names = {ns.removeprefix(NETNS_PREFIX) for ns in net.netns_list()}
    names |= set(cfg.names if cfg else [])
    # The address is unused when stopping.
    hosts.stop_all([Host(name=n, address="0.0.0.0") for n in sorted(names)])  # noqa: S104
    services.stop_all()
    leftovers = lab_processes()
    if leftovers:
        kill_pids(leftovers, group=False, grace=1)
    repo.stop_agent()
    net.net_down()
    _unmount_under_run_dir()
    if RUN_DIR.exists():
        for entry in RUN_DIR.iterdir():
            if entry.name not in KEEP and not entry.name.startswith((".", "instance-")):
                _remove(entry)
    log("lab down")


def _unmount_under_run_dir() -> None:
    """Mounts are made inside host namespaces only; this catches any that leaked to the machine."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        target = line.split()[4]
        if target.startswith(str(RUN_DIR)) and "/instance-" not in target.removeprefix(str(RUN_DIR)):
            quiet(["umount", "-l", target])
