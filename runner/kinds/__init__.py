"""The four kinds of maintenance. Each registers its runner class here, imported lazily by name."""

from __future__ import annotations

REGISTRY: dict[str, str] = {
    # kind name -> "module:Class" implementing runner.engine.kind.KindRunner
    "drift": "runner.kinds.drift.runner:DriftKind",
    "certificate": "runner.kinds.certificate.runner:CertificateRunner",
    "backup": "runner.kinds.backup.runner:BackupRunner",
    "playbook": "runner.kinds.playbook:PlaybookRunner",
    "patch": "runner.kinds.patch.runner:PatchRunner",
}
