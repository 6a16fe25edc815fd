"""Seeds a lab host's overlay upper layer: what makes a copy of the machine's root into its own host.

Directories marked opaque hide the machine's contents (its keys, home, checkout, apt sources) from hosts.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

from .config import DOMAIN, GATEWAY, HOSTFILES, PORTS, SUBNET, Host, LabConfig
from .repo import KEYRING

OPAQUE = ("root", "home", "work", "mnt", "srv", "var/www", "etc/ssh", "etc/apt/sources.list.d",
          "etc/apt/preferences.d", "var/lib/apt/lists", "var/cache/apt", "etc/nginx/sites-enabled",
          "etc/postgresql", "var/lib/postgresql", "var/lib/lab", "etc/lab")


class Upper:
    """Writes into one host's upper layer, creating parents with the machine's own owners and modes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mkdir(self, rel: str, *, mode: int | None = None, owner: tuple[int, int] | None = None,
              opaque: bool = False) -> Path:
        cur, lower = self.path, Path("/")
        for part in Path(rel).parts:
            cur, lower = cur / part, lower / part
            if not cur.exists():
                st = os.stat(lower) if lower.is_dir() and not lower.is_symlink() else None
                cur.mkdir()
                os.chmod(cur, st.st_mode & 0o7777 if st else 0o755)
                if st:
                    os.chown(cur, st.st_uid, st.st_gid)
        if mode is not None:
            os.chmod(cur, mode)
        if owner is not None:
            os.chown(cur, *owner)
        if opaque:
            os.setxattr(cur, "trusted.overlay.opaque", b"y")
        return cur

    def write(self, rel: str, content: str | bytes, *, mode: int = 0o644,
              owner: tuple[int, int] = (0, 0)) -> Path:
        target = self.mkdir(str(Path(rel).parent)) / Path(rel).name
        if target.is_symlink() or target.exists():
            target.unlink()
        data = content.encode() if isinstance(content, str) else content
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(target, mode)
        os.chown(target, *owner)
        return target

    def copy(self, src: Path, rel: str, mode: int = 0o755) -> Path:
        return self.write(rel, src.read_bytes(), mode=mode)


def _ids(user: str) -> tuple[int, int]:
    import pwd
    pw = pwd.getpwnam(user)
    return pw.pw_uid, pw.pw_gid


def hosts_file(cfg: LabConfig, me: Host) -> str:
    lines = ["127.0.0.1\tlocalhost", f"127.0.1.1\t{me.fqdn} {me.name}",
             f"{GATEWAY}\tgw.{DOMAIN} repo.{DOMAIN} moto.{DOMAIN} pebble.{DOMAIN}"]
    lines += [f"{h.address}\t{h.fqdn} {h.name}" for h in cfg.hosts]
    lines += ["::1\tlocalhost ip6-localhost ip6-loopback"]
    return "\n".join(lines) + "\n"


def seed_base(up: Upper, cfg: LabConfig, host: Host, client_pub: str, host_key: Path) -> None:
    """Identity, SSH, apt, lab init and safe power commands: everything every host has."""
    for rel in OPAQUE:
        up.mkdir(rel, opaque=True)
    up.mkdir("root", mode=0o700)
    up.write("etc/hostname", host.name + "\n")
    up.write("etc/hosts", hosts_file(cfg, host))
    up.write("etc/resolv.conf", f"nameserver {GATEWAY}\nsearch {DOMAIN}\n")
    up.write("etc/machine-id", uuid.uuid4().hex + "\n", mode=0o444)
    up.write("etc/lab/host.json", json.dumps({"name": host.name, "address": host.address,
                                              "roles": list(host.roles), "services": list(host.services)}))
    # SSH: its own host key, key-only root login; the machine's /etc/ssh is hidden (opaque).
    for item in ("ssh_config", "moduli"):
        if Path("/etc/ssh", item).exists():
            up.copy(Path("/etc/ssh", item), f"etc/ssh/{item}", mode=0o644)
    up.mkdir("etc/ssh/sshd_config.d")
    up.mkdir("etc/ssh/ssh_config.d")
    sshd = (HOSTFILES / "sshd_config").read_text().replace("@ADDRESS@", host.address)
    up.write("etc/ssh/sshd_config", sshd)
    up.write("etc/ssh/ssh_host_ed25519_key", host_key.read_bytes(), mode=0o600)
    up.write("etc/ssh/ssh_host_ed25519_key.pub", Path(f"{host_key}.pub").read_bytes())
    up.write("etc/default/ssh", 'SSHD_OPTS="-E /var/log/lab-sshd.log"\n')
    up.write("root/.ssh/authorized_keys", client_pub + "\n", mode=0o600)
    up.mkdir("root/.ssh", mode=0o700)
    for f in (".bashrc", ".profile"):
        if Path("/etc/skel", f).exists():
            up.copy(Path("/etc/skel", f), f"root/{f}", mode=0o644)
    # apt: only the lab repository, never the machine's sources or the network.
    up.write("etc/apt/sources.list.d/lab.sources",
             f"Types: deb\nURIs: http://{GATEWAY}:{PORTS['repo']}/\nSuites: bookworm bookworm-security\n"
             "Components: main\nSigned-By: /etc/apt/keyrings/maintctl-lab.gpg\n")
    up.write("etc/apt/apt.conf.d/99lab", 'Acquire::Languages "none";\nAcquire::PDiffs "false";\n'
             'APT::Install-Recommends "false";\nAcquire::http::Proxy "DIRECT";\n'
             'Acquire::http::Timeout "10";\nAcquire::Retries "0";\n')
    up.write("etc/apt/keyrings/maintctl-lab.gpg", KEYRING.read_bytes())
    # dpkg without fsync: hosts are disposable, and 20 of them installing at once must stay quick.
    up.write("etc/dpkg/dpkg.cfg.d/lab-unsafe-io", "force-unsafe-io\n")
    up.mkdir("var/lib/apt/lists/partial", mode=0o700, owner=_ids("_apt"))
    up.mkdir("var/cache/apt/archives/partial", mode=0o700, owner=_ids("_apt"))
    # PID 1, first boot, and the safe power commands that act on this host only.
    up.copy(HOSTFILES / "lab-init.py", "usr/local/sbin/lab-init")
    for name in ("lab-reboot", "lab-poweroff"):
        up.copy(HOSTFILES / name, f"usr/local/sbin/{name}")
    for name in ("shutdown", "reboot"):
        up.copy(HOSTFILES / name, f"usr/sbin/{name}")
    for name in ("halt", "poweroff"):
        up.copy(HOSTFILES / "poweroff", f"usr/sbin/{name}")
    for name in ("init", "telinit"):
        up.copy(HOSTFILES / "init", f"usr/sbin/{name}")
    up.copy(HOSTFILES / "systemctl", "usr/bin/systemctl")
    up.copy(HOSTFILES / "firstboot", "usr/local/sbin/lab-firstboot")
    up.mkdir("var/lib/lab", mode=0o755)


def seed_app(up: Upper, host: Host) -> None:
    """Config and data files playbooks manage and backups copy."""
    up.write("etc/app/app.conf", f"# managed by maintctl playbooks\n[app]\nname = {host.name}\n"
             f"listen = {host.address}:8000\nlog_level = info\nworkers = 4\n")
    up.mkdir("srv/app", mode=0o755)
    up.write("srv/app/README", f"Application data of {host.name} (lab).\n")
    up.write("srv/app/config.json", json.dumps({"host": host.name, "feature_flags": ["a", "b"]}, indent=2))
    for i in range(1, 4):
        line = f"{host.name} record {i}\n"
        up.write(f"srv/app/data/part-{i}.dat", line * (200 * i))


def seed_web(up: Upper, host: Host, cert: Path, key: Path, ca: Path) -> None:
    """nginx with TLS on 443 from files on the host; port 80 serves ACME HTTP-01 tokens."""
    up.write("etc/ssl/lab/server.crt", cert.read_text() + ca.read_text())
    up.write("etc/ssl/lab/server.key", key.read_bytes(), mode=0o600)
    site = (HOSTFILES / "nginx-site").read_text().replace("@NAME@", host.name).replace("@FQDN@", host.fqdn)
    up.write("etc/nginx/sites-enabled/lab", site)
    up.write("var/www/html/index.html", f"<h1>{host.name}</h1>\n")
    up.mkdir("var/www/acme/.well-known/acme-challenge", mode=0o755)


def seed_db(up: Upper, password: str) -> None:
    """PostgreSQL's first-boot part: a cluster of the host's own, appdb seeded with rows."""
    pg = _ids("postgres")
    up.mkdir("etc/postgresql", owner=pg)
    up.mkdir("var/lib/postgresql", owner=pg)
    seed = (HOSTFILES / "seed.sql").read_text().replace("@PASSWORD@", password)
    up.write("etc/lab/seed.sql", seed, mode=0o640, owner=(0, pg[1]))
    up.copy(HOSTFILES / "firstboot-db", "etc/lab/firstboot.d/50-postgresql")
    up.write("etc/lab/pg_hba.lab", f"host all all {SUBNET}.0/24 scram-sha-256\n")


def seed_host(cfg: LabConfig, host: Host, client_pub: str, host_key: Path, ca: Path,
              web_cert: tuple[Path, Path] | None, extra_ca: dict[str, Path], pg_password: str) -> None:
    """Fresh upper + work dirs for `host` (anything old removed first)."""
    for d in ("upper", "work"):
        if (host.dir / d).exists():
            shutil.rmtree(host.dir / d)
        (host.dir / d).mkdir(parents=True)
    (host.dir / "merged").mkdir(exist_ok=True)
    up = Upper(host.dir / "upper")
    seed_base(up, cfg, host, client_pub, host_key)
    up.write("etc/ssl/lab/ca.crt", ca.read_bytes())
    for name, path in extra_ca.items():
        up.write(f"etc/ssl/lab/{name}", path.read_bytes())
    seed_app(up, host)
    if web_cert:
        seed_web(up, host, web_cert[0], web_cert[1], ca)
    if "db" in host.roles:
        seed_db(up, pg_password)
