"""Read live AWS state for drift checks through boto3 (AWS_ENDPOINT_URL honoured, e.g. moto)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runner.errors import AdapterError
from runner.kinds.drift.aws_compare import BucketState, GroupState, LiveState, TaggedResource
from runner.kinds.drift.settings import PAB_KEYS, AwsBaseline, Rule


def session(settings: Mapping[str, Any] | None = None, region: str = "") -> Any:
    """A boto3 session from the engine's factory (profile, region, endpoint from ``settings.aws``)."""
    from runner.adapters.aws import AwsSessions

    return _EndpointSession(AwsSessions.from_settings(settings), region or None)


class _EndpointSession:
    """Session-like wrapper so every client goes through the factory (endpoint_url applied)."""

    def __init__(self, factory: Any, region: str | None) -> None:
        self._factory, self._region = factory, region

    def client(self, service: str) -> Any:
        return self._factory.client(service, region=self._region)


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def bucket_state(s3: Any, name: str) -> BucketState:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=name)
    except ClientError as exc:
        if _code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return BucketState(name=name, exists=False)
        raise
    versioning = str(s3.get_bucket_versioning(Bucket=name).get("Status", ""))
    try:
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        encryption = str(rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]) if rules else None
    except ClientError as exc:
        if _code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
            raise
        encryption = None
    try:
        conf = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        pab: dict[str, bool] | None = {k: bool(conf.get(k, False)) for k in PAB_KEYS}
    except ClientError as exc:
        if _code(exc) != "NoSuchPublicAccessBlockConfiguration":
            raise
        pab = None
    return BucketState(name=name, versioning=versioning, encryption=encryption, public_access_block=pab)


def rules_of(permissions: Iterable[dict[str, Any]]) -> frozenset[Rule]:
    """Normalise EC2 IpPermissions into single-source rules, as declared rules are."""
    out: set[Rule] = set()
    for perm in permissions:
        protocol = str(perm.get("IpProtocol", "-1")).lower()
        protocol = "all" if protocol in ("-1", "all") else protocol
        start = int(perm.get("FromPort", -1)) if protocol != "all" else -1
        end = int(perm.get("ToPort", start)) if protocol != "all" else -1
        sources = [r["CidrIp"] for r in perm.get("IpRanges", ())]
        sources += [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", ())]
        sources += [g["GroupId"] for g in perm.get("UserIdGroupPairs", ())]
        sources += [p["PrefixListId"] for p in perm.get("PrefixListIds", ())]
        out |= {Rule(protocol=protocol, from_port=start, to_port=end, source=str(s)) for s in sources}
    return frozenset(out)


def group_state(ec2: Any, ref: str) -> GroupState:
    flt = {"GroupIds": [ref]} if ref.startswith("sg-") else {"Filters": [{"Name": "group-name", "Values": [ref]}]}
    from botocore.exceptions import ClientError

    try:
        groups = ec2.describe_security_groups(**flt)["SecurityGroups"]
    except ClientError as exc:
        if _code(exc) in ("InvalidGroup.NotFound", "InvalidGroupId.Malformed"):
            return GroupState(ref=ref, exists=False)
        raise
    if not groups:
        return GroupState(ref=ref, exists=False)
    g = groups[0]
    return GroupState(ref=ref, id=g["GroupId"], name=g.get("GroupName", ""), ingress=rules_of(g["IpPermissions"]))


def password_policy(iam: Any) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return dict(iam.get_account_password_policy()["PasswordPolicy"])
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise


def tagged_resources(sess: Any, tag: tuple[str, str]) -> tuple[TaggedResource, ...]:
    """Buckets, security groups and live EC2 instances carrying ``tag``."""
    from botocore.exceptions import ClientError

    key, value = tag
    found: list[TaggedResource] = []
    s3 = sess.client("s3")
    for b in s3.list_buckets().get("Buckets", []):
        try:
            tags = s3.get_bucket_tagging(Bucket=b["Name"]).get("TagSet", [])
        except ClientError as exc:
            if _code(exc) == "NoSuchTagSet":
                continue
            raise
        if any(t["Key"] == key and t["Value"] == value for t in tags):
            found.append(TaggedResource(kind="s3", id=b["Name"], name=b["Name"]))
    ec2 = sess.client("ec2")
    flt = [{"Name": f"tag:{key}", "Values": [value]}]
    for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]:
        found.append(TaggedResource(kind="sg", id=g["GroupId"], name=g.get("GroupName", "")))
    live = flt + [{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    for page in ec2.get_paginator("describe_instances").paginate(Filters=live):
        for res in page["Reservations"]:
            for inst in res["Instances"]:
                name = next((t["Value"] for t in inst.get("Tags", []) if t["Key"] == "Name"), "")
                found.append(TaggedResource(kind="ec2", id=inst["InstanceId"], name=name))
    return tuple(found)


def live_state(sess: Any, baseline: AwsBaseline, tag: tuple[str, str] | None) -> LiveState:
    """Everything ``compare`` and ``unmanaged`` need, read in one pass."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        s3, ec2 = sess.client("s3"), sess.client("ec2")
        buckets = {b.name: bucket_state(s3, b.name) for b in baseline.buckets}
        groups = {g.ref: group_state(ec2, g.ref) for g in baseline.security_groups}
        policy = password_policy(sess.client("iam")) if baseline.password_policy is not None else None
        tagged = tagged_resources(sess, tag) if baseline.unmanaged and tag else ()
    except (ClientError, BotoCoreError) as exc:
        raise AdapterError(f"AWS: could not read live state: {exc}") from exc
    return LiveState(buckets=buckets, groups=groups, password_policy=policy, tagged=tagged)
