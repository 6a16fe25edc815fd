"""Deploy and roll back certificates with playbooks/cert-deploy.yml through the Ansible adapter.

Only public material (certificate, chain) travels in extra variables; the key was made on the host
and is moved into place there (``remote_src``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from runner.errors import AdapterError
from runner.kinds.certificate.config import CertSettings
from runner.kinds.certificate.issue import NewCertificate

PLAYBOOK = "cert-deploy.yml"


@dataclass(frozen=True, kw_only=True)
class AnsibleTarget:
    """Where and how to run playbooks: the estate's inventory and SSH trust."""

    playbook_dir: Path
    inventory: Sequence[Path]
    known_hosts: Path | None = None
    private_key: Path | None = None
    forks: int = 10


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


def run_cert_playbook(
    target: AnsibleTarget,
    payloads: Mapping[str, Mapping[str, Any]],
    action: Literal["deploy", "rollback"],
    data_dir: Path,
) -> Any:
    """Run cert-deploy.yml for the hosts in ``payloads``; returns the adapter's PlaybookResult."""
    from runner.adapters.ansible import PlaybookSpec, run_playbook

    playbook = target.playbook_dir / PLAYBOOK
    if not playbook.is_file():
        raise AdapterError(f"{playbook}: certificate deploy playbook not found in the estate")
    spec = PlaybookSpec(
        playbook=playbook,
        inventory=list(target.inventory),
        hosts=list(payloads),
        extravars={"maintctl_certs": {h: dict(p) for h, p in payloads.items()}, "maintctl_cert_action": action},
        known_hosts=target.known_hosts,
        private_key=target.private_key,
        forks=target.forks,
    )
    return run_playbook(spec, data_dir=data_dir)
