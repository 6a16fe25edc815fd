"""The lab's apt repository: packages built with dpkg-deb, indexed with dpkg-scanpackages, signed with gpg.

Two suites, like Debian: `bookworm` (Origin maintctl-lab, Label maintctl-lab) and `bookworm-security`
(Label maintctl-lab-security), component `main`. Served over HTTP on the lab network.
"""
from __future__ import annotations

import fcntl
import gzip
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .config import RUN_DIR
from .proc import LabError, run

REPO_DIR = RUN_DIR / "repo"
GNUPG_DIR = RUN_DIR / "gnupg"
KEYRING = RUN_DIR / "repo-keyring.gpg"
SUITES = {"bookworm": "maintctl-lab", "bookworm-security": "maintctl-lab-security"}
INITIAL = ("lab-tool", "lab-kernel", "lab-security", "lab-broken")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
GPG_UID = "maintctl lab repository <repo@maintctl-lab.invalid>"


def _gpg(*args: str, input: str | None = None) -> str:
    return run(["gpg", "--batch", "--quiet", "--homedir", str(GNUPG_DIR), "--pinentry-mode", "loopback",
                "--passphrase", "", *args], input=input)


def make_key() -> None:
    """The repository's signing key (ed25519, no passphrase); hosts trust its public half via signed-by."""
    if KEYRING.exists():
        return
    GNUPG_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    _gpg("--quick-gen-key", GPG_UID, "ed25519", "sign", "never")
    run(["gpg", "--batch", "--homedir", str(GNUPG_DIR), "--output", str(KEYRING), "--export", GPG_UID])


def stop_agent() -> None:
    if GNUPG_DIR.exists():
        run(["gpgconf", "--homedir", str(GNUPG_DIR), "--kill", "all"], check=False)


def _script(body: str) -> str:
    return "#!/bin/sh\nset -e\n" + body + "\nexit 0\n"


def build_deb(name: str, version: str, *, reboot: bool = False, fail: bool = False, dest: Path,
              published: str | None = None) -> Path:
    """Builds an `all` package that installs /usr/share/lab/NAME/VERSION and the command /usr/bin/NAME.

    reboot: its postinst flags a reboot like a kernel does (/var/run/reboot-required and .pkgs).
    fail: its postinst exits 1, so installing it fails (dpkg leaves it half-configured).
    published: ISO 8601 UTC time recorded as the `Lab-Published` field (default now); apt-cache show
    prints it, so "approve N days after publication" has a date to work with.
    """
    when = published or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if not _ISO.match(when):
        raise LabError(f"published must look like 2026-01-31T12:00:00Z, got {when!r}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pkg"
        (root / "DEBIAN").mkdir(parents=True)
        share = root / "usr/share/lab" / name
        share.mkdir(parents=True)
        (share / "VERSION").write_text(version + "\n")
        (root / "usr/bin").mkdir(parents=True)
        tool = root / "usr/bin" / name
        tool.write_text(f"#!/bin/sh\necho '{name} {version}'\n")
        tool.chmod(0o755)
        control = (f"Package: {name}\nVersion: {version}\nArchitecture: all\nSection: misc\n"
                   f"Priority: optional\nMaintainer: maintctl lab <lab@maintctl-lab.invalid>\n"
                   f"Lab-Published: {when}\n"
                   f"Description: maintctl lab package {name}\n built by the lab to exercise patching.\n")
        (root / "DEBIAN/control").write_text(control)
        post = ""
        if reboot:
            post += (f"touch /var/run/reboot-required\n"
                     f"grep -qx '{name}' /var/run/reboot-required.pkgs 2>/dev/null || "
                     f"echo '{name}' >> /var/run/reboot-required.pkgs\n")
        if fail:
            post += f"echo '{name} {version}: postinst fails on purpose (lab)' >&2\nexit 1\n"
        if post:
            (root / "DEBIAN/postinst").write_text(_script(post))
            (root / "DEBIAN/postinst").chmod(0o755)
        dest.mkdir(parents=True, exist_ok=True)
        out = dest / f"{name}_{version}_all.deb"
        run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", str(root), str(out)])
    return out


def _hashes(path: Path) -> tuple[str, str, int]:
    data = path.read_bytes()
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest(), len(data)  # noqa: S324


def index(suite: str) -> None:
    """Regenerates Packages(.gz) and a signed Release/InRelease for one suite."""
    base = REPO_DIR / "dists" / suite
    bdir = base / "main/binary-amd64"
    bdir.mkdir(parents=True, exist_ok=True)
    previous = (base / "InRelease").stat().st_mtime if (base / "InRelease").exists() else 0.0
    (REPO_DIR / "pool" / suite).mkdir(parents=True, exist_ok=True)
    packages = run(["dpkg-scanpackages", "--multiversion", f"pool/{suite}", "/dev/null"], cwd=REPO_DIR)
    (bdir / "Packages").write_text(packages)
    with gzip.open(bdir / "Packages.gz", "wt") as fh:
        fh.write(packages)
    files = [bdir / "Packages", bdir / "Packages.gz"]
    md5 = sha = ""
    for f in files:
        m, s, size = _hashes(f)
        rel = f.relative_to(base)
        md5 += f" {m} {size} {rel}\n"
        sha += f" {s} {size} {rel}\n"
    date = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime())
    release = (f"Origin: maintctl-lab\nLabel: {SUITES[suite]}\nSuite: {suite}\nCodename: {suite}\n"
               f"Date: {date}\nArchitectures: amd64\nComponents: main\n"
               f"Description: maintctl lab {suite}\nMD5Sum:\n{md5}SHA256:\n{sha}")
    (base / "Release").write_text(release)
    for signed in ("InRelease", "Release.gpg"):
        (base / signed).unlink(missing_ok=True)
    _gpg("--clearsign", "--output", str(base / "InRelease"), str(base / "Release"))
    _gpg("--armor", "--detach-sign", "--output", str(base / "Release.gpg"), str(base / "Release"))
    # HTTP Last-Modified has whole seconds: two publishes in one second would look unchanged to apt's
    # If-Modified-Since and a host would keep the older index. Every new index is a second newer.
    stamp = float(max(int(time.time()), int(previous) + 1))
    for f in (*files, base / "Release", base / "InRelease", base / "Release.gpg"):
        os.utime(f, (stamp, stamp))


@contextmanager
def _locked() -> Iterator[None]:
    REPO_DIR.mkdir(parents=True, exist_ok=True)
    with open(RUN_DIR / ".repo.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def publish(name: str, version: str, *, reboot: bool = False, fail: bool = False,
            security: bool = False, published: str | None = None) -> Path:
    """Adds NAME VERSION to the lab repository (security suite if `security`) and re-signs the index.

    Hosts see it after their next `apt-get update`. Returns the .deb's path.
    """
    if not (REPO_DIR / "dists").exists():
        raise LabError("the lab repository does not exist: run `make lab-up` first")
    suite = "bookworm-security" if security else "bookworm"
    with _locked():
        deb = build_deb(name, version, reboot=reboot, fail=fail, dest=REPO_DIR / "pool" / suite,
                        published=published)
        index(suite)
    return deb


def create() -> None:
    """Builds the repository with version 1.0 of each lab package (lab-kernel flags a reboot)."""
    make_key()
    if REPO_DIR.exists():
        shutil.rmtree(REPO_DIR)
    with _locked():
        for name in INITIAL:
            build_deb(name, "1.0", reboot=name == "lab-kernel", dest=REPO_DIR / "pool/bookworm")
        for suite in SUITES:
            index(suite)
    shutil.copy(KEYRING, REPO_DIR / "maintctl-lab.gpg")
    os.chmod(REPO_DIR / "maintctl-lab.gpg", 0o644)
