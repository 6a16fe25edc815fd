"""A drift item's settings (its ``drift:`` block), read into frozen dataclasses.

The catalogue schema validates shapes; this module only gives them types and defaults, and
raises ``UsageError`` naming the item for what a schema cannot express.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from runner.errors import UsageError

PASSWORD_POLICY_KEYS = {
    "minimum_password_length": "MinimumPasswordLength",
    "require_symbols": "RequireSymbols",
    "require_numbers": "RequireNumbers",
    "require_uppercase_characters": "RequireUppercaseCharacters",
    "require_lowercase_characters": "RequireLowercaseCharacters",
    "allow_users_to_change_password": "AllowUsersToChangePassword",
    "max_password_age": "MaxPasswordAge",
    "password_reuse_prevention": "PasswordReusePrevention",
    "hard_expiry": "HardExpiry",
}
PAB_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclass(frozen=True, kw_only=True)
class BucketBaseline:
    """An S3 bucket's declared state; ``None`` leaves that attribute unchecked."""

    name: str
    versioning: bool | None = None
    encryption: str | None = None  # "AES256", "aws:kms", or "none"
    public_access_block: Mapping[str, bool] | None = None


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One ingress permission, normalised: protocol, port range, and one source."""

    protocol: str
    from_port: int
    to_port: int
    source: str

    def __str__(self) -> str:
        ports = (
            "all"
            if self.from_port == -1
            else (str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}")
        )
        return f"{self.protocol} {ports} from {self.source}"


@dataclass(frozen=True, kw_only=True)
class SecurityGroupBaseline:
    """A security group's declared ingress rules (the whole set: extra live rules are drift)."""

    ref: str  # "sg-..." id or group name
    ingress: frozenset[Rule] = frozenset()


@dataclass(frozen=True, kw_only=True)
class AwsBaseline:
    """An item's AWS baselines in one region, and whether to report unmanaged tagged resources."""

    region: str = ""
    buckets: tuple[BucketBaseline, ...] = ()
    security_groups: tuple[SecurityGroupBaseline, ...] = ()
    password_policy: Mapping[str, Any] | None = None
    instances: tuple[str, ...] = ()  # declared EC2 instances (id or Name tag): never unmanaged
    unmanaged: bool = False  # report tagged resources no drift item declares


@dataclass(frozen=True, kw_only=True)
class Waiver:
    """An accepted, expiring exception: findings it matches are reported as waived, not drift."""

    id: str
    justification: str
    expires: date
    host: str = ""  # host name (ansible findings) or "" for any host
    task: str = ""  # task name (ansible findings) or "" for any task
    resource: str = ""  # resource address such as s3://bucket (aws findings)
    check: str = ""  # aws attribute (versioning, ingress, ...) or "" for any


@dataclass(frozen=True, kw_only=True)
class DriftSettings:
    """A drift item's settings: its playbooks (checked in check+diff mode), AWS baselines, waivers."""

    playbooks: tuple[str, ...] = ()
    forks: int | None = None  # None: the estate's settings.ansible.forks, else 10
    aws: AwsBaseline | None = None
    waivers: tuple[Waiver, ...] = ()
    estate_tag: tuple[str, str] | None = None
    extravars: Mapping[str, Any] = field(default_factory=dict)
    remediate: bool = False  # apply-mode runs of the item remediate (else they only check)


def _ports(rule: Mapping[str, Any]) -> tuple[int, int]:
    if "port" in rule:
        return int(rule["port"]), int(rule["port"])
    if "from_port" in rule or "to_port" in rule:
        start = int(rule.get("from_port", rule.get("to_port", -1)))
        return start, int(rule.get("to_port", start))
    return -1, -1


def ingress_rules(rules: Sequence[Mapping[str, Any]]) -> frozenset[Rule]:
    """Expand declared rules (one or many sources each) into normalised single-source rules."""
    out: set[Rule] = set()
    for rule in rules:
        protocol = str(rule.get("protocol", "tcp")).lower()
        protocol = "all" if protocol in ("-1", "all") else protocol
        start, end = (-1, -1) if protocol == "all" else _ports(rule)
        sources = [*rule.get("cidrs", ()), *rule.get("groups", ())]
        for single in ("cidr", "group"):
            if rule.get(single):
                sources.append(rule[single])
        for source in sources:
            out.add(Rule(protocol=protocol, from_port=start, to_port=end, source=str(source)))
    return frozenset(out)


def parse_estate_tag(value: Any) -> tuple[str, str] | None:
    """``"maintctl:estate=lab"`` or ``{key: ..., value: ...}`` -> (key, value)."""
    if not value:
        return None
    if isinstance(value, Mapping):
        return str(value["key"]), str(value["value"])
    key, sep, val = str(value).rpartition("=")
    if not sep or not key:
        raise UsageError(f"estate tag {value!r}: expected KEY=VALUE, e.g. maintctl:estate=prod")
    return key, val


def _pab(value: Any) -> Mapping[str, bool] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return dict.fromkeys(PAB_KEYS, value)
    snake = {
        "block_public_acls": "BlockPublicAcls",
        "ignore_public_acls": "IgnorePublicAcls",
        "block_public_policy": "BlockPublicPolicy",
        "restrict_public_buckets": "RestrictPublicBuckets",
    }
    return {snake.get(k, k): bool(v) for k, v in value.items()}


def _versioning(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() in ("enabled", "true", "on")


def _aws(raw: Mapping[str, Any]) -> AwsBaseline:
    buckets = tuple(
        BucketBaseline(
            name=str(b["name"]),
            versioning=_versioning(b.get("versioning")),
            encryption=None if b.get("encryption") is None else str(b["encryption"]),
            public_access_block=_pab(b.get("public_access_block")),
        )
        for b in raw.get("s3_buckets", ())
    )
    groups = tuple(
        SecurityGroupBaseline(ref=str(g.get("id") or g["name"]), ingress=ingress_rules(g.get("ingress", ())))
        for g in raw.get("security_groups", ())
    )
    policy = raw.get("iam_password_policy")
    return AwsBaseline(
        region=str(raw.get("region", "")),
        buckets=buckets,
        security_groups=groups,
        password_policy=dict(policy) if policy is not None else None,
        instances=tuple(str(i) for i in raw.get("ec2_instances", ())),
        unmanaged=bool(raw.get("unmanaged", False)),
    )


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise UsageError(f"{where}: expires {value!r} is not a date (YYYY-MM-DD)") from exc


def parse(item_id: str, raw: Mapping[str, Any], default_estate_tag: Any = None) -> DriftSettings:
    """Read a drift item's settings. ``raw`` is the item's ``drift:`` block."""
    waivers = tuple(
        Waiver(
            id=str(w.get("id") or f"{item_id}-waiver-{n + 1}"),
            justification=str(w["justification"]),
            expires=_date(w["expires"], f"item {item_id} waiver {n + 1}"),
            host=str(w.get("host", "")),
            task=str(w.get("task", "")),
            resource=str(w.get("resource", "")),
            check=str(w.get("check", "")),
        )
        for n, w in enumerate(raw.get("waivers", ()))
    )
    aws = _aws(raw["aws"]) if raw.get("aws") else None
    tag = parse_estate_tag((raw.get("aws") or {}).get("estate_tag") or default_estate_tag)
    if aws is not None and aws.unmanaged and tag is None:
        raise UsageError(f"item {item_id}: aws.unmanaged needs an estate tag (aws.estate_tag: KEY=VALUE)")
    # ``playbook``/``extravars`` are the keys every kind block accepts (the generic runner's): honour them.
    playbooks = [str(p) for p in raw.get("playbooks", ())]
    if raw.get("playbook") and str(raw["playbook"]) not in playbooks:
        playbooks.append(str(raw["playbook"]))
    return DriftSettings(
        playbooks=tuple(playbooks),
        forks=int(raw["forks"]) if raw.get("forks") else None,
        aws=aws,
        waivers=waivers,
        estate_tag=tag,
        extravars={**dict(raw.get("extravars", {})), **dict(raw.get("vars", {}))},
        remediate=bool(raw.get("remediate", False)),
    )
