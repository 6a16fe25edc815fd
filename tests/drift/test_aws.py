"""AWS drift against a real moto server over HTTP: baselines and unmanaged tagged resources."""

from __future__ import annotations

from typing import Any

import boto3

from runner.kinds.drift.aws_compare import compare, declared_names, unmanaged
from runner.kinds.drift.aws_live import live_state, session
from runner.kinds.drift.settings import parse

TAG = ("maintctl:estate", "test")


def settings(aws: dict[str, Any]) -> Any:
    return parse("aws-drift", {"aws": {"estate_tag": "maintctl:estate=test", **aws}})


def status(findings: list[Any]) -> dict[tuple[str, str], str]:
    return {(f.target, f.check): f.status for f in findings}


def make_bucket(name: str, *, versioning: bool, encrypted: bool, pab: bool, tagged: bool = True) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if encrypted:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
    if pab:
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration=dict.fromkeys(
                ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
            ),
        )
    if tagged:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": TAG[0], "Value": TAG[1]}]})


BUCKET = {"versioning": "enabled", "encryption": "AES256", "public_access_block": True}


def test_buckets_in_sync_and_drifted(aws: str) -> None:
    make_bucket("good", versioning=True, encrypted=True, pab=True)
    make_bucket("bad", versioning=False, encrypted=False, pab=False)
    s = settings({"s3_buckets": [{"name": "good", **BUCKET}, {"name": "bad", **BUCKET}, {"name": "gone", **BUCKET}]})
    assert s.aws is not None
    findings = compare("aws-drift", s.aws, live_state(session(), s.aws, s.estate_tag))
    got = status(findings)
    assert got[("s3://good", "versioning")] == "in_sync"
    assert got[("s3://good", "encryption")] == "in_sync"
    assert got[("s3://good", "public_access_block")] == "in_sync"
    assert got[("s3://bad", "versioning")] == "drift"
    assert got[("s3://bad", "encryption")] == "drift"
    assert got[("s3://bad", "public_access_block")] == "drift"
    assert got[("s3://gone", "exists")] == "drift"
    bad = next(f for f in findings if f.target == "s3://bad" and f.check == "versioning")
    assert "never enabled" in bad.message


def test_suspended_versioning_is_drift(aws: str) -> None:
    make_bucket("bucket-b", versioning=True, encrypted=True, pab=True)
    boto3.client("s3").put_bucket_versioning(Bucket="bucket-b", VersioningConfiguration={"Status": "Suspended"})
    s = settings({"s3_buckets": [{"name": "bucket-b", "versioning": True}]})
    assert s.aws is not None
    findings = compare("i", s.aws, live_state(session(), s.aws, None))
    assert status(findings) == {("s3://bucket-b", "versioning"): "drift"}


def test_security_group_ingress_exact_set(aws: str) -> None:
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    perm = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=perm)
    declared = [{"protocol": "tcp", "port": 443, "cidrs": ["0.0.0.0/0"]}]
    s = settings({"security_groups": [{"id": sg, "ingress": declared}]})
    assert s.aws is not None
    assert status(compare("i", s.aws, live_state(session(), s.aws, None))) == {(f"sg:{sg}", "ingress"): "in_sync"}
    # An extra rule added by hand is drift, shown as a removed line in the diff.
    ssh = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=ssh)
    findings = compare("i", s.aws, live_state(session(), s.aws, None))
    assert [f.status for f in findings] == ["drift"]
    assert findings[0].diff == "-tcp 22 from 203.0.113.0/24\n"
    # A missing declared rule shows as an added line; lookup by name works as well.
    by_name = settings(
        {"security_groups": [{"name": "web", "ingress": [*declared, {"port": 80, "cidr": "10.0.0.0/8"}]}]}
    )
    assert by_name.aws is not None
    diff = compare("i", by_name.aws, live_state(session(), by_name.aws, None))[0].diff
    assert "+tcp 80 from 10.0.0.0/8\n" in diff and "-tcp 22 from 203.0.113.0/24\n" in diff


def test_password_policy(aws: str) -> None:
    declared = {"minimum_password_length": 14, "require_symbols": True}
    s = settings({"iam_password_policy": declared})
    assert s.aws is not None
    assert (
        status(compare("i", s.aws, live_state(session(), s.aws, None)))[("iam:password-policy", "password_policy")]
        == "drift"
    )
    boto3.client("iam").update_account_password_policy(MinimumPasswordLength=8, RequireSymbols=True)
    f = compare("i", s.aws, live_state(session(), s.aws, None))[0]
    assert f.status == "drift" and "minimum_password_length is 8, declared 14" in f.message
    boto3.client("iam").update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True)
    assert compare("i", s.aws, live_state(session(), s.aws, None))[0].status == "in_sync"


def test_unmanaged_tagged_resources(aws: str) -> None:
    make_bucket("declared", versioning=True, encrypted=True, pab=True)
    make_bucket("stray", versioning=True, encrypted=True, pab=True)
    make_bucket("other-team", versioning=True, encrypted=True, pab=True, tagged=False)
    ec2 = boto3.client("ec2")
    tags = [{"ResourceType": "security-group", "Tags": [{"Key": TAG[0], "Value": TAG[1]}]}]
    sg = ec2.create_security_group(GroupName="stray-sg", Description="x", TagSpecifications=tags)["GroupId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    itags = [
        {
            "ResourceType": "instance",
            "Tags": [{"Key": TAG[0], "Value": TAG[1]}, {"Key": "Name", "Value": "web9"}],
        }
    ]
    inst = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=itags)["Instances"][0][
        "InstanceId"
    ]
    s = settings({"s3_buckets": [{"name": "declared", **BUCKET}], "unmanaged": True})
    assert s.aws is not None and s.estate_tag == TAG
    live = live_state(session(), s.aws, s.estate_tag)
    found = unmanaged("i", TAG, live.tagged, declared_names([s.aws]))
    assert status(found) == {
        ("s3://stray", "managed"): "unmanaged",
        (f"sg:{sg}", "managed"): "unmanaged",
        (f"ec2:{inst}", "managed"): "unmanaged",
    }
    # Declaring the instance by its Name tag makes it managed.
    s2 = settings({"s3_buckets": [{"name": "declared"}], "ec2_instances": ["web9", "stray"], "unmanaged": True})
    assert s2.aws is not None
    assert {f.target for f in unmanaged("i", TAG, live.tagged, declared_names([s2.aws]))} == {f"sg:{sg}"}
