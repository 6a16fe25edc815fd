"""Lab PKI with the openssl CLI: a lab CA, TLS certificates for hosts and pebble, SSH keys."""
from __future__ import annotations

import os
from pathlib import Path

from .config import RUN_DIR
from .proc import run

PKI_DIR = RUN_DIR / "pki"
CA_CERT = PKI_DIR / "ca.crt"
CA_KEY = PKI_DIR / "ca.key"
SSH_DIR = RUN_DIR
CLIENT_KEY = RUN_DIR / "id_ed25519"


def make_ca() -> None:
    """A P-256 CA valid 10 years; its certificate is what tests trust for lab TLS (nginx, pebble's API)."""
    PKI_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    if CA_CERT.exists():
        return
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(CA_KEY), "-out", str(CA_CERT), "-days", "3650", "-subj", "/O=maintctl lab/CN=maintctl lab CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    os.chmod(CA_KEY, 0o600)


def issue(name: str, dns: list[str], ips: list[str], days: int = 90) -> tuple[Path, Path]:
    """A server certificate for `name` signed by the lab CA; returns (certificate, key) paths."""
    cert, key = PKI_DIR / f"{name}.crt", PKI_DIR / f"{name}.key"
    san = ",".join([f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips])
    csr = run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-keyout", str(key), "-subj", f"/O=maintctl lab/CN={dns[0]}",
               "-addext", f"subjectAltName={san}", "-addext", "extendedKeyUsage=serverAuth",
               "-addext", "basicConstraints=critical,CA:FALSE"])
    run(["openssl", "x509", "-req", "-CA", str(CA_CERT), "-CAkey", str(CA_KEY), "-CAcreateserial",
         "-days", str(days), "-copy_extensions", "copy", "-out", str(cert)], input=csr)
    os.chmod(key, 0o600)
    return cert, key


def ssh_keypair(path: Path, comment: str) -> str:
    """An ed25519 key pair at `path` (private, 0600) and `path`.pub; returns the public key line."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    os.chmod(path, 0o600)
    return Path(f"{path}.pub").read_text().strip()
