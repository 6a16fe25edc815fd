"""Copy signed evidence to an S3 bucket with Object Lock (compliance mode).

Layout under ``prefix``: ``ledger/<first seq>-<last seq>.jsonl`` (consecutive chunks of the ledger,
each ending at a checkpoint), ``artifacts/ab/cdef...``, ``bundles/<id>.jsonl`` (a closed bundle's
records) and ``anchors/<seq>.json`` (the last checkpoint's seq and hash: an immutable copy that
``maintctl evidence verify --anchor`` can hold the local ledger to). Every object is written with
``ObjectLockMode=COMPLIANCE`` and a retain-until date ``retention_days`` ahead; the bucket must have
been created with Object Lock enabled. Progress is kept in ``<state>/evidence-s3.json``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runner.errors import EvidenceError, UsageError
from runner.evidence import artifacts
from runner.evidence.canonical import canonical
from runner.evidence.fsutil import atomic_write
from runner.evidence.ledger import LEDGER_FILE

PROGRESS_FILE = "evidence-s3.json"


class S3Sink:
    def __init__(self, folder: Path, *, bucket: str, prefix: str, retention_days: int, state: Path,
                 region: str | None = None, client: Any = None) -> None:  # fmt: skip
        self.folder, self.bucket, self.retention_days, self.state = folder, bucket, retention_days, state
        self._region = region
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self._client = client

    @classmethod
    def from_settings(cls, folder: Path, settings: Mapping[str, Any], *, state: Path) -> S3Sink:
        """``settings`` is ``settings.evidence.s3``: ``{bucket, retention_days, prefix?, region?}``."""
        bucket, days = settings.get("bucket"), settings.get("retention_days")
        if not isinstance(bucket, str) or not bucket:
            raise UsageError("settings.evidence.s3.bucket: a bucket name is required")
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise UsageError("settings.evidence.s3.retention_days: a whole number of days (>= 1) is required")
        region = settings.get("region")
        return cls(folder, bucket=bucket, prefix=str(settings.get("prefix", "maintctl-evidence/")),
                   retention_days=days, state=state, region=str(region) if region else None)  # fmt: skip

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            session = boto3.session.Session(region_name=self._region or os.environ.get("AWS_DEFAULT_REGION"))
            self._client = session.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
        return self._client

    def bundle_closed(self, bundle_id: str) -> None:
        try:
            self.sync()
        except EvidenceError as exc:
            raise EvidenceError(f"bundle {bundle_id} is closed and signed locally, but {exc}; "
                                "`maintctl evidence push` retries") from exc  # fmt: skip

    def sync(self) -> int:
        """Upload everything signed since the last sync; return the number of objects written."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._sync()
        except (BotoCoreError, ClientError) as exc:
            raise EvidenceError(f"copying evidence to s3://{self.bucket}/{self.prefix} failed: {exc}") from exc

    def _sync(self) -> int:
        progress_path = self.state / PROGRESS_FILE
        done = json.loads(progress_path.read_text()) if progress_path.exists() else {"seq": -1}
        lines, last_cp = self._lines()
        if last_cp <= done["seq"]:
            return 0
        chunk = lines[done["seq"] + 1 : last_cp + 1]
        recs = [json.loads(raw) for raw in chunk]
        count = 0
        for rec in recs:
            if rec["type"] in ("artifact", "ledger.repaired"):
                digest = rec["payload"].get("sha256") or rec["payload"].get("artifact")
                count += self._put_once(f"artifacts/{digest[:2]}/{digest[2:]}",
                                        artifacts.artifact_path(self.folder, digest).read_bytes())  # fmt: skip
        self._put(f"ledger/{done['seq'] + 1:012d}-{last_cp:012d}.jsonl", b"".join(chunk))
        closed = {r["bundle"] for r in recs if r["type"] == "bundle.closed"}
        for bundle in sorted(closed):
            body = b"".join(raw for raw in lines[: last_cp + 1] if json.loads(raw)["bundle"] == bundle)
            self._put(f"bundles/{bundle}.jsonl", body)
        anchor = {"seq": last_cp, "hash": recs[-1]["hash"]}
        self._put(f"anchors/{last_cp:012d}.json", canonical(anchor) + b"\n")
        atomic_write(progress_path, canonical({"seq": last_cp, "hash": recs[-1]["hash"]}))
        return count + 2 + len(closed)

    def _lines(self) -> tuple[list[bytes], int]:
        with open(self.folder / LEDGER_FILE, "rb") as fh:
            lines = [raw for raw in fh if raw.endswith(b"\n")]
        last_cp = -1
        for i in range(len(lines) - 1, -1, -1):
            if b'"type":"checkpoint"}' in lines[i]:
                last_cp = i
                break
        return lines, last_cp

    def _put_once(self, key: str, body: bytes) -> int:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
            return 0
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        self._put(key, body)
        return 1

    def _put(self, key: str, body: bytes) -> None:
        until = datetime.now(UTC) + timedelta(days=self.retention_days)
        md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + key, Body=body, ContentMD5=md5,
            ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
            Metadata={"sha256": hashlib.sha256(body).hexdigest()},
        )  # fmt: skip
