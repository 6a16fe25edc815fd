"""The AWS adapter against a moto server: session factory, AWS_ENDPOINT_URL, tag resolution."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runner.adapters.aws import AwsSessions, resolve_tag_targets, tag_filters
from runner.errors import AdapterError


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import requests

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    yield moto_endpoint


def launch(aws: AwsSessions, count: int, tags: dict[str, str], region: str = "eu-west-1") -> list[str]:
    ec2 = aws.client("ec2", region)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    out = ec2.run_instances(
        ImageId=image, MinCount=count, MaxCount=count,
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    )
    return [i["InstanceId"] for i in out["Instances"]]


def test_aws_endpoint_url_is_honoured_natively(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)
    s3 = AwsSessions.from_settings({"region": "eu-west-1"}).client("s3")
    assert s3.meta.endpoint_url == aws_env
    s3.create_bucket(Bucket="via-env", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    explicit = AwsSessions.from_settings({"endpoint_url": aws_env}).client("s3")
    assert "via-env" in [b["Name"] for b in explicit.list_buckets()["Buckets"]]


def test_settings_endpoint_and_region(aws_env: str) -> None:
    aws = AwsSessions.from_settings({"endpoint_url": aws_env, "region": "eu-central-1"})
    c = aws.client("ec2")
    assert c.meta.region_name == "eu-central-1" and c.meta.endpoint_url == aws_env
    assert aws.client("ec2", region="us-west-2").meta.region_name == "us-west-2"


def test_profiles(aws_env: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    cfg = Path(str(tmp_path)) / "config"
    cfg.write_text("[profile ops]\nregion = ap-southeast-2\n")
    creds = Path(str(tmp_path)) / "credentials"
    creds.write_text("[ops]\naws_access_key_id = a\naws_secret_access_key = b\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    aws = AwsSessions.from_settings({"profile": "ops", "endpoint_url": aws_env})
    assert aws.session().region_name == "ap-southeast-2"
    with pytest.raises(AdapterError, match="profile"):
        AwsSessions.from_settings({"profile": "nope"}).session()


def test_resolve_tag_targets(aws_env: str) -> None:
    aws = AwsSessions.from_settings({"endpoint_url": aws_env, "region": "eu-west-1"})
    web = launch(aws, 2, {"role": "web", "env": "prod"})
    launch(aws, 1, {"role": "db", "env": "prod"})
    stopped = launch(aws, 1, {"role": "web", "env": "prod"})
    aws.client("ec2").stop_instances(InstanceIds=stopped)
    hosts = resolve_tag_targets(aws, {"role": "web", "env": "prod"})
    assert [h.name for h in hosts] == sorted(web)
    assert all(h.address.count(".") == 3 and h.tags["role"] == "web" for h in hosts)
    assert len(resolve_tag_targets(aws, {"env": "*"})) == 3
    assert resolve_tag_targets(aws, {"role": "cache"}) == []
    assert resolve_tag_targets(aws, {}) == []


def test_filters_and_bad_settings() -> None:
    assert tag_filters({"b": "1", "a": "*"}) == [
        {"Name": "instance-state-name", "Values": ["running"]},
        {"Name": "tag-key", "Values": ["a"]},
        {"Name": "tag:b", "Values": ["1"]},
    ]
    with pytest.raises(AdapterError, match="address"):
        AwsSessions.from_settings({"address": "ipv6"})
