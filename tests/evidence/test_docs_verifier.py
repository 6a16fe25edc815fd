"""The reference verifier printed in docs/evidence.md really verifies a ledger maintctl wrote."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from runner.evidence.keys import load_or_create, public_pem
from runner.evidence.recorder import LedgerRecorder

from .conftest import evidence_dir, fill, lines, write_lines

DOC = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"


def _script(tmp_path: Path) -> Path:
    match = re.search(r"<!-- reference-verifier -->\s*```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert match, "docs/evidence.md lost its reference verifier"
    code = match.group(1)
    assert len(code.splitlines()) <= 45
    assert "runner" not in code  # independent of maintctl's own code
    path = tmp_path / "verify_evidence.py"
    path.write_text(code, encoding="utf-8")
    return path


def _run(script: Path, folder: Path, key: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(script), str(folder), str(key)], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def test_doc_verifier_accepts_a_real_ledger_and_rejects_tampering(
    estate: Path, recorder: LedgerRecorder, tmp_path: Path
) -> None:
    fill(recorder, bundles=3, events=20, artifacts=2)
    bid = recorder.open_bundle(run_id="r", item_id="open", occurrence="o", asked={"reason": "ünïcode ✓"})
    recorder.record(bid, "host.result", {"host": "web1", "took": 0.25, "n": 10**12})
    key = tmp_path / "key.pem"
    key.write_bytes(public_pem(load_or_create(estate / ".maintctl" / "keys").public))
    script = _script(tmp_path)

    ok = _run(script, evidence_dir(estate), key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith(f"OK: {len(lines(estate))} records") and "2 unsigned" in ok.stdout

    original = lines(estate)
    tampered = list(original)
    tampered[7] = tampered[7].replace(b'"status":"ok"', b'"status":"no"')
    write_lines(estate, tampered)
    bad = _run(script, evidence_dir(estate), key)
    assert bad.returncode == 2 and "line 8: record modified" in bad.stdout

    write_lines(estate, original[:5] + original[6:])
    assert "line 6: chain broken" in _run(script, evidence_dir(estate), key).stdout

    write_lines(estate, original)
    artifact = next(p for p in (evidence_dir(estate) / "artifacts").rglob("*") if p.is_file())
    artifact.write_bytes(b"changed")
    assert "missing or modified" in _run(script, evidence_dir(estate), key).stdout

    other = tmp_path / "other.pem"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    wrong = _run(script, evidence_dir(estate), other)
    assert wrong.returncode == 2 and "InvalidSignature" in wrong.stdout
