"""Export one bundle as a folder that verifies on its own: the ledger up to the checkpoint that
signed the bundle's close, every artifact those records reference, and ``bundle.json`` (the
bundle's own records, for reading)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from runner.errors import UsageError
from runner.evidence import artifacts
from runner.evidence.fsutil import atomic_write, private_dir
from runner.evidence.ledger import LEDGER_FILE
from runner.evidence.query import bundle_records


def export_bundle(folder: Path, bundle: str, out: Path) -> Path:
    records = bundle_records(folder, bundle)
    bundle_id = records[0][1]["bundle"]
    closed = [n for n, r in records if r.get("type") == "bundle.closed"]
    if not closed:
        raise UsageError(f"evidence bundle {bundle_id} is still open; nothing signed to export yet")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out}: --out must be a new or empty folder")
    private_dir(out)
    kept: list[bytes] = []
    refs: set[str] = set()
    with open(folder / LEDGER_FILE, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            kept.append(raw)
            rec = json.loads(raw)
            payload = rec.get("payload") if isinstance(rec.get("payload"), dict) else {}
            digest = payload.get("sha256") or payload.get("artifact")
            if rec.get("type") in ("artifact", "ledger.repaired") and isinstance(digest, str):
                refs.add(digest)
            if number > closed[0] and rec.get("type") == "checkpoint":
                break
    atomic_write(out / LEDGER_FILE, b"".join(kept))
    for digest in sorted(refs):
        src = artifacts.artifact_path(folder, digest)
        if src.is_file():
            dst = artifacts.artifact_path(out, digest)
            private_dir(dst.parent.parent)
            private_dir(dst.parent)
            shutil.copyfile(src, dst)
            dst.chmod(0o600)
    body = json.dumps([dict(r, line=n) for n, r in records], indent=2, sort_keys=True, ensure_ascii=False)
    atomic_write(out / "bundle.json", body.encode("utf-8") + b"\n")
    return out
