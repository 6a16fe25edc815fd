"""What playbooks/cert-deploy.yml is given to deploy or roll back certificates (it is run through
the engine's tools, see batch.py).

Only public material (certificate, chain) travels in extra variables; the key was made on the host
and is moved into place there (``remote_src``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.kinds.certificate.config import CertSettings
from runner.kinds.certificate.issue import NewCertificate

PLAYBOOK = "cert-deploy.yml"


def host_payload(new: NewCertificate, settings: CertSettings, files: Mapping[str, str]) -> dict[str, Any]:
    """The per-host variables cert-deploy.yml reads (public material only)."""
    payload: dict[str, Any] = {
        "staged_key": new.staged_key,
        "files": dict(files),
        "fullchain_pem": new.issued.fullchain_pem.decode(),
        "cert_pem": new.issued.cert_pem.decode(),
        "chain_pem": new.issued.chain_pem.decode(),
        "test_command": settings.test_command,
        "reload_command": settings.reload_command,
    }
    if settings.owner:
        payload["owner"] = settings.owner
    if settings.group:
        payload["group"] = settings.group
    return payload


def rollback_payload(settings: CertSettings, files: Mapping[str, str]) -> dict[str, Any]:
    return {"staged_key": "", "files": dict(files), "test_command": settings.test_command,
            "reload_command": settings.reload_command}
