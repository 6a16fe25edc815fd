"""boto3 sessions from one factory, AWS-tag targets resolved to hosts through EC2, and the helpers
every kind uses around boto3 calls (error translation, waiting, tags).

Settings (``settings.aws`` in the catalogue): ``profile``, ``region``, ``endpoint_url``, ``address``
(``private`` or ``public``: which IP Ansible and SSH use for a resolved instance). The usual AWS
environment variables apply as boto3 defines them, AWS_ENDPOINT_URL included (botocore >= 1.31
reads it for every client; an explicit ``endpoint_url`` setting wins over it).

How kinds use it::

    aws = AwsSessions.from_settings(catalogue.settings.aws)
    s3 = aws.client("s3")                       # region/profile/endpoint applied
    ec2 = aws.client("ec2", region="eu-west-1")
    vols = aws_call(ec2.describe_volumes, "describe_volumes", VolumeIds=[vid])   # AdapterError on failure
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
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


# Helpers every kind uses around boto3 calls (EBS, RDS, ...): one error translation, one wait loop.

POLL = 0.5
FAILED_STATES = ("error", "failed", "incompatible-restore")


def tag_list(d: Mapping[str, str]) -> list[dict[str, str]]:
    """``{k: v}`` as the ``[{"Key": k, "Value": v}]`` list AWS APIs take (sorted, so calls are repeatable)."""
    return [{"Key": k, "Value": v} for k, v in sorted(d.items())]


def tag_dict(tags: Any) -> dict[str, str]:
    """An AWS ``Tags`` list (or None) as a dict."""
    return {t["Key"]: t["Value"] for t in tags or ()}


def aws_call(call: Callable[..., Any], what: str, **kwargs: Any) -> Any:
    """``call(**kwargs)``; botocore's errors become ``AdapterError`` naming ``what``."""
    import botocore.exceptions

    try:
        return call(**kwargs)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise AdapterError(f"AWS {what}: {exc}") from exc


def wait_for(what: str, probe: Callable[[], str], want: str, timeout: float) -> None:
    """Poll ``probe()`` until it returns ``want``; ``AdapterError`` on a failed state or after ``timeout`` s.

    The probe runs at least once, so a caller sharing one deadline across several resources still
    sees the ones that are already done when little or no time is left.
    """
    deadline = time.monotonic() + timeout
    while True:
        state = probe()
        if state == want:
            return
        if state in FAILED_STATES or time.monotonic() >= deadline:
            break
        time.sleep(POLL)
    raise AdapterError(f"{what} is {state or 'unknown'}, not {want} (waited up to {timeout:g}s)")
