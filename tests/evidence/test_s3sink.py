"""Closed bundles are copied to S3 with Object Lock (compliance mode), against a moto server."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runner.errors import UsageError
from runner.evidence.recorder import open_recorder
from runner.evidence.s3sink import S3Sink

from .conftest import evidence_dir, lines

BUCKET = "evidence-locked"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture()
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    import boto3

    for name, value in (("AWS_ENDPOINT_URL", moto_endpoint), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing-secret"), ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    existing = [b["Name"] for b in client.list_buckets()["Buckets"]]
    if BUCKET not in existing:
        client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    return client


def test_closed_bundles_are_uploaded_with_compliance_retention(estate: Path, s3: Any) -> None:
    settings = {"checkpoint_every": 50, "s3": {"bucket": BUCKET, "retention_days": 30, "prefix": "estate-a"}}
    rec = open_recorder(estate, settings)
    bid = rec.open_bundle(run_id="r1", item_id="patch-web", occurrence="o", asked={"plan": {"hosts": ["web1"]}})
    rec.record(bid, "host.result", {"host": "web1", "status": "changed"})
    digest = rec.artifact(bid, "apt.log", b"upgraded 3 packages\n")
    rec.close_bundle(bid, outcome="succeeded", summary={"change_id": "CHG0000001"})

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="estate-a/")["Contents"])
    n = len(lines(estate))
    assert keys == sorted(
        [
            f"estate-a/artifacts/{digest[:2]}/{digest[2:]}",
            f"estate-a/bundles/{bid}.jsonl",
            f"estate-a/ledger/{0:012d}-{n - 1:012d}.jsonl",
            f"estate-a/anchors/{n - 1:012d}.json",
        ]
    )
    now = datetime.now(UTC)
    for key in keys:
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        until = head["ObjectLockRetainUntilDate"]
        assert now + timedelta(days=29) < until < now + timedelta(days=31)
    body = s3.get_object(Bucket=BUCKET, Key=f"estate-a/ledger/{0:012d}-{n - 1:012d}.jsonl")["Body"].read()
    assert body == (evidence_dir(estate) / "ledger.jsonl").read_bytes()
    art = s3.get_object(Bucket=BUCKET, Key=f"estate-a/artifacts/{digest[:2]}/{digest[2:]}")["Body"].read()
    assert art == b"upgraded 3 packages\n"
    anchor = json.loads(s3.get_object(Bucket=BUCKET, Key=f"estate-a/anchors/{n - 1:012d}.json")["Body"].read())
    assert anchor == {"seq": n - 1, "hash": json.loads(lines(estate)[-1])["hash"]}

    # Compliance mode: the locked version cannot be deleted before its retain-until date.
    version = s3.head_object(Bucket=BUCKET, Key=keys[0])["VersionId"]
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        s3.delete_object(Bucket=BUCKET, Key=keys[0], VersionId=version)

    # A second bundle uploads only the new chunk, continuing where the first stopped.
    b2 = rec.open_bundle(run_id="r2", item_id="patch-db", occurrence="o", asked={})
    rec.close_bundle(b2, outcome="failed", summary={})
    chunks = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="estate-a/ledger/")["Contents"])
    assert chunks == [f"estate-a/ledger/{0:012d}-{n - 1:012d}.jsonl",
                      f"estate-a/ledger/{n:012d}-{len(lines(estate)) - 1:012d}.jsonl"]  # fmt: skip
    whole = b"".join(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in chunks)
    assert whole == (evidence_dir(estate) / "ledger.jsonl").read_bytes()
    assert S3Sink.from_settings(evidence_dir(estate), settings["s3"], state=estate / ".maintctl").sync() == 0


def test_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="bucket"):
        S3Sink.from_settings(tmp_path, {"retention_days": 3}, state=tmp_path)
    with pytest.raises(UsageError, match="retention_days"):
        S3Sink.from_settings(tmp_path, {"bucket": "b", "retention_days": "ten"}, state=tmp_path)
