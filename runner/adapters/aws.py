"""boto3 sessions from one factory, and AWS-tag targets resolved to hosts through EC2.

Settings (``settings.aws`` in the catalogue): ``profile``, ``region``, ``endpoint_url``, ``address``
(``private`` or ``public``: which IP Ansible and SSH use for a resolved instance). The usual AWS
environment variables apply as boto3 defines them, AWS_ENDPOINT_URL included (botocore >= 1.31
reads it for every client; an explicit ``endpoint_url`` setting wins over it).

How kinds use it::

    aws = AwsSessions.from_settings(catalogue.settings.aws)
    s3 = aws.client("s3")                       # region/profile/endpoint applied
    ec2 = aws.client("ec2", region="eu-west-1")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.errors import AdapterError


@dataclass(frozen=True, kw_only=True)
class AwsSessions:
    """One place that makes boto3 sessions and clients the same way everywhere."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    address: str = "private"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> AwsSessions:
        conf = dict(settings or {})
        address = str(conf.get("address", "private"))
        if address not in ("private", "public"):
            raise AdapterError(f"settings.aws.address: {address!r} must be private or public")
        return cls(
            profile=conf.get("profile") or None, region=conf.get("region") or None,
            endpoint_url=conf.get("endpoint_url") or None, address=address,
        )

    def session(self, region: str | None = None) -> Any:
        """A ``boto3.Session`` for our profile and ``region`` (default: ours, then boto3's own)."""
        import boto3
        import botocore.exceptions

        try:
            return boto3.Session(profile_name=self.profile, region_name=region or self.region)
        except botocore.exceptions.ProfileNotFound as exc:
            raise AdapterError(f"settings.aws.profile: {exc}") from exc

    def client(self, service: str, region: str | None = None) -> Any:
        """A client for ``service``; ``endpoint_url`` is passed only when set in the settings."""
        import botocore.exceptions

        kwargs: dict[str, Any] = {}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        try:
            return self.session(region).client(service, **kwargs)
        except botocore.exceptions.NoRegionError as exc:
            raise AdapterError(
                f"AWS {service}: no region (set settings.aws.region or AWS_DEFAULT_REGION)"
            ) from exc


@dataclass(frozen=True, kw_only=True)
class AwsHost:
    """An EC2 instance resolved from tags; ``name`` is its instance id (stable and unique)."""

    name: str
    address: str
    instance_id: str
    tags: Mapping[str, str] = field(default_factory=dict)


def tag_filters(tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """EC2 filters selecting running instances carrying every tag (``*`` as value: any value)."""
    filters: list[dict[str, Any]] = [{"Name": "instance-state-name", "Values": ["running"]}]
    for key, value in sorted(tags.items()):
        if value in ("*", ""):
            filters.append({"Name": "tag-key", "Values": [key]})
        else:
            filters.append({"Name": f"tag:{key}", "Values": [value]})
    return filters


def resolve_tag_targets(aws: AwsSessions, tags: Mapping[str, str], region: str | None = None) -> list[AwsHost]:
    """Running EC2 instances matching all ``tags``, sorted by instance id."""
    import botocore.exceptions

    if not tags:
        return []
    ec2 = aws.client("ec2", region)
    hosts: list[AwsHost] = []
    try:
        for page in ec2.get_paginator("describe_instances").paginate(Filters=tag_filters(tags)):
            for reservation in page.get("Reservations", []):
                for inst in reservation.get("Instances", []):
                    hosts.append(_host(inst, aws.address))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise AdapterError(f"AWS EC2: cannot resolve targets by tags {dict(tags)}: {exc}") from exc
    return sorted(hosts, key=lambda h: h.name)


def _host(inst: Mapping[str, Any], address: str) -> AwsHost:
    tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
    ip = inst.get("PublicIpAddress") if address == "public" else inst.get("PrivateIpAddress")
    iid = str(inst["InstanceId"])
    if not ip:
        raise AdapterError(f"AWS EC2 instance {iid} has no {address} IP address")
    return AwsHost(name=iid, address=str(ip), instance_id=iid, tags=tags)
