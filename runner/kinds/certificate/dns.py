"""DNS-01 answered in Amazon Route 53 (boto3 through the estate's session factory).

The TXT record ``_acme-challenge.<name>`` is upserted in the hosted zone that is the longest suffix of
the name (or the zone given), the change is awaited until Route 53 reports it INSYNC, and the record
is deleted again afterwards. Several tokens for one name (a certificate for ``x`` and ``*.x``) share
one record set with several values, as DNS-01 requires.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runner.adapters.acme_client import ChallengeTask
from runner.errors import AdapterError

if TYPE_CHECKING:
    from runner.kinds.certificate.config import AcmeSettings


class Route53Solver:
    challenge_type = "dns-01"

    def __init__(self, route53: Any, *, zone_id: str | None = None, ttl: int = 60, wait: bool = True) -> None:
        self.r53 = route53
        self.zone_id = zone_id
        self.ttl = ttl
        self.wait = wait

    def _zone_for(self, name: str) -> str:
        if self.zone_id:
            return self.zone_id
        try:
            zones = [z for page in self.r53.get_paginator("list_hosted_zones").paginate()
                     for z in page["HostedZones"] if not z.get("Config", {}).get("PrivateZone")]
        except Exception as exc:  # noqa: BLE001 - botocore errors of every kind
            raise AdapterError(f"Route 53: cannot list hosted zones: {exc}") from exc
        fqdn = name.rstrip(".") + "."
        best = max((z for z in zones if fqdn == z["Name"] or fqdn.endswith("." + z["Name"])),
                   key=lambda z: len(z["Name"]), default=None)
        if best is None:
            raise AdapterError(f"Route 53: no public hosted zone for {name}")
        return str(best["Id"]).rsplit("/", 1)[-1]

    def _change(self, action: str, tasks: Sequence[ChallengeTask]) -> None:
        grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
        for t in tasks:
            record = t.record_name.rstrip(".") + "."
            grouped[(self._zone_for(record), record)].append(t.content)
        for (zone, record), values in grouped.items():
            batch = {"Comment": "maintctl ACME dns-01", "Changes": [{"Action": action, "ResourceRecordSet": {
                "Name": record, "Type": "TXT", "TTL": self.ttl,
                "ResourceRecords": [{"Value": f'"{v}"'} for v in values]}}]}
            try:
                change = self.r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch=batch)
                if self.wait and action == "UPSERT":
                    self.r53.get_waiter("resource_record_sets_changed").wait(
                        Id=change["ChangeInfo"]["Id"], WaiterConfig={"Delay": 5, "MaxAttempts": 60})
            except Exception as exc:  # noqa: BLE001
                raise AdapterError(f"Route 53 {action} {record} in zone {zone}: {exc}") from exc

    def present(self, tasks: Sequence[ChallengeTask]) -> None:
        self._change("UPSERT", tasks)

    def cleanup(self, tasks: Sequence[ChallengeTask]) -> None:
        try:
            self._change("DELETE", tasks)
        except AdapterError:
            pass  # a leftover TXT record is harmless; the validation result already stands


def dns_solver(acme: AcmeSettings, aws_settings: Mapping[str, Any]) -> Any:
    """The DNS-01 solver the item's ``acme`` settings ask for."""
    if acme.dns_provider == "route53":
        from runner.adapters.aws import AwsSessions

        return Route53Solver(AwsSessions.from_settings(aws_settings).client("route53"), zone_id=acme.route53_zone)
    from runner.kinds.certificate.issue import ChallTestSrvSolver

    return ChallTestSrvSolver(acme.dns_api)
