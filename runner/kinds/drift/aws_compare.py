"""Compare declared AWS baselines with live state. Pure: both sides are data.

Targets are resource addresses: ``s3://BUCKET``, ``sg:ID``, ``iam:password-policy``, ``ec2:ID``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.kinds.drift.findings import Finding, Status
from runner.kinds.drift.settings import PASSWORD_POLICY_KEYS, AwsBaseline, BucketBaseline, Rule


@dataclass(frozen=True, kw_only=True)
class BucketState:
    name: str
    exists: bool = True
    versioning: str = ""  # "Enabled", "Suspended", or "" when never configured
    encryption: str | None = None  # default SSE algorithm, None when not configured
    public_access_block: Mapping[str, bool] | None = None


@dataclass(frozen=True, kw_only=True)
class GroupState:
    ref: str
    id: str = ""
    name: str = ""
    exists: bool = True
    ingress: frozenset[Rule] = frozenset()


@dataclass(frozen=True, kw_only=True)
class TaggedResource:
    """A live resource carrying the estate's tag: kind is s3, sg or ec2."""

    kind: str
    id: str
    name: str = ""

    @property
    def address(self) -> str:
        return f"s3://{self.id}" if self.kind == "s3" else f"{self.kind}:{self.id}"


@dataclass(frozen=True, kw_only=True)
class LiveState:
    buckets: Mapping[str, BucketState] = field(default_factory=dict)
    groups: Mapping[str, GroupState] = field(default_factory=dict)
    password_policy: Mapping[str, Any] | None = None  # IAM's CamelCase keys; None when none is set
    tagged: tuple[TaggedResource, ...] = ()


def _finding(item: str, target: str, check: str, status: Status, message: str = "", diff: str = "") -> Finding:
    return Finding(item=item, source="aws", target=target, check=check, status=status, message=message, diff=diff)


def _bucket(item: str, want: BucketBaseline, have: BucketState | None) -> list[Finding]:
    target = f"s3://{want.name}"
    if have is None or not have.exists:
        return [_finding(item, target, "exists", "drift", "declared bucket does not exist")]
    out: list[Finding] = []
    if want.versioning is not None:
        live_on = have.versioning == "Enabled"
        ok = live_on == want.versioning
        desired = "Enabled" if want.versioning else "Suspended or never enabled"
        msg = "" if ok else f"versioning is {have.versioning or 'never enabled'}, declared {desired}"
        out.append(_finding(item, target, "versioning", "in_sync" if ok else "drift", msg))
    if want.encryption is not None:
        desired_enc = None if want.encryption.lower() == "none" else want.encryption
        ok = (have.encryption or None) == desired_enc
        msg = "" if ok else f"default encryption is {have.encryption or 'none'}, declared {want.encryption}"
        out.append(_finding(item, target, "encryption", "in_sync" if ok else "drift", msg))
    if want.public_access_block is not None:
        live = dict(have.public_access_block or {})
        wrong = sorted(k for k, v in want.public_access_block.items() if bool(live.get(k, False)) != v)
        msg = (
            ""
            if not wrong
            else "public access block differs: "
            + ", ".join(f"{k} is {bool(live.get(k, False))}, declared {want.public_access_block[k]}" for k in wrong)
        )
        out.append(_finding(item, target, "public_access_block", "drift" if wrong else "in_sync", msg))
    return out


def _rules_diff(want: frozenset[Rule], have: frozenset[Rule]) -> str:
    lines = [f"-{r}" for r in sorted(have - want, key=str)] + [f"+{r}" for r in sorted(want - have, key=str)]
    return "".join(line + "\n" for line in lines)


def _group(item: str, want_ref: str, want: frozenset[Rule], have: GroupState | None) -> Finding:
    if have is None or not have.exists:
        return _finding(item, f"sg:{want_ref}", "exists", "drift", "declared security group does not exist")
    target = f"sg:{have.id or want_ref}"
    if want == have.ingress:
        return _finding(item, target, "ingress", "in_sync")
    extra, missing = len(have.ingress - want), len(want - have.ingress)
    msg = f"ingress differs: {extra} rule(s) not declared, {missing} declared rule(s) missing"
    return _finding(item, target, "ingress", "drift", msg, _rules_diff(want, have.ingress))


def _password_policy(item: str, want: Mapping[str, Any], have: Mapping[str, Any] | None) -> Finding:
    target = "iam:password-policy"
    if have is None:
        return _finding(item, target, "password_policy", "drift", "no account password policy is set")
    wrong = [
        (key, have.get(PASSWORD_POLICY_KEYS.get(key, key)), value)
        for key, value in sorted(want.items())
        if have.get(PASSWORD_POLICY_KEYS.get(key, key)) != value
    ]
    if not wrong:
        return _finding(item, target, "password_policy", "in_sync")
    message = "; ".join(f"{k} is {live!r}, declared {value!r}" for k, live, value in wrong)
    diff = "".join(f"-{k}: {live!r}\n+{k}: {value!r}\n" for k, live, value in wrong)
    return _finding(item, target, "password_policy", "drift", message, diff)


def compare(item: str, baseline: AwsBaseline, live: LiveState) -> list[Finding]:
    """Findings for every declared bucket attribute, security group and the password policy."""
    out: list[Finding] = []
    for bucket in baseline.buckets:
        out += _bucket(item, bucket, live.buckets.get(bucket.name))
    for group in baseline.security_groups:
        out.append(_group(item, group.ref, group.ingress, live.groups.get(group.ref)))
    if baseline.password_policy is not None:
        out.append(_password_policy(item, baseline.password_policy, live.password_policy))
    return out


def declared_names(baselines: Iterable[AwsBaseline]) -> set[str]:
    """Every bucket name, security group id/name and instance id/name declared by any drift item."""
    names: set[str] = set()
    for b in baselines:
        names |= {x.name for x in b.buckets} | {g.ref for g in b.security_groups} | set(b.instances)
    return names


def unmanaged(item: str, tag: tuple[str, str], tagged: Iterable[TaggedResource], declared: set[str]) -> list[Finding]:
    """Tagged live resources that no drift item declares."""
    out = []
    for res in tagged:
        if res.id in declared or (res.name and res.name in declared):
            continue
        label = f" ({res.name})" if res.name and res.name != res.id else ""
        out.append(
            _finding(
                item,
                res.address,
                "managed",
                "unmanaged",
                f"carries tag {tag[0]}={tag[1]}{label} but no drift item declares it",
            )
        )
    return out
