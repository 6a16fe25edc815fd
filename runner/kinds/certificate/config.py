"""The ``certificate:`` settings of an item, as typed data (pure; the JSON Schema checks shapes first).

Templates: ``{host}`` is the inventory host name, ``{address}`` its ``ansible_host`` (or the name).
Example::

    certificate:
      names: ["{host}.lab"]
      endpoint: {port: 443}                 # where the certificate is served (verified after deploy)
      files: {fullchain: /etc/ssl/lab/{host}.crt, key: /etc/ssl/lab/{host}.key}
      service: {test: "nginx -t", reload: "nginx -s reload"}
      key_type: ec-p256
      trust: [tests/lab/run/pebble-root.pem] # roots that chains must reach (paths relative to the estate)
      renew: {fraction: 0.33, emergency_days: 2, ari: true}
      acme:
        directory: https://10.213.0.1:14000/dir
        ca_bundle: tests/lab/run/ca.pem      # trust for the ACME server's own HTTPS
        email: ops@example.org
        challenge: http-01                   # or dns-01
        webroot: /var/www/html               # http-01: served on port 80 by the target
        dns_api: http://10.213.0.1:8055       # dns-01: pebble-challtestsrv-compatible management API
        # dns_provider: route53              # dns-01 in Route 53 instead (route53_zone: Z123 optional)
      scan:                                  # extra places to look (reported by `maintctl certs scan`)
        endpoints: [{address: 10.213.0.11, port: 8443, name: admin.lab}]
        files: [/etc/ssl/certs/legacy.pem]
      acm: {region: eu-west-1, arns: [...], tags: {team: web}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import UsageError
from runner.kinds.certificate.issue import KEY_TYPES
from runner.kinds.certificate.policy import RenewPolicy

FILE_KEYS = ("key", "fullchain", "cert", "chain")


@dataclass(frozen=True, kw_only=True)
class AcmeSettings:
    directory: str
    ca_bundle: str | None = None
    email: str | None = None
    challenge: str = "http-01"
    webroot: str = "/var/www/html"
    dns_api: str = ""
    dns_provider: str = "challtestsrv"  # or route53
    route53_zone: str | None = None
    timeout: float = 120.0


@dataclass(frozen=True, kw_only=True)
class AcmSettings:
    region: str | None = None
    arns: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CertSettings:
    names: tuple[str, ...] = ("{host}",)
    port: int = 443
    address: str = "{address}"
    files: Mapping[str, str] = field(default_factory=dict)
    owner: str | None = None
    group: str | None = None
    test_command: str = "nginx -t"
    reload_command: str = "nginx -s reload"
    key_type: str = "ec-p256"
    stage_dir: str = "/var/lib/maintctl/certs"
    trust: tuple[str, ...] = ()
    renew: RenewPolicy = field(default_factory=RenewPolicy)
    acme: AcmeSettings | None = None
    scan_endpoints: tuple[Mapping[str, Any], ...] = ()
    scan_files: tuple[str, ...] = ()
    acm: AcmSettings | None = None
    verify_timeout: float = 20.0

    def names_for(self, host: str, address: str) -> tuple[str, ...]:
        return tuple(expand(n, host, address) for n in self.names)

    def files_for(self, host: str, address: str) -> dict[str, str]:
        return {k: expand(v, host, address) for k, v in self.files.items()}

    def trust_paths(self, root: Path) -> list[Path]:
        return [p if p.is_absolute() else root / p for p in map(Path, self.trust)]


def expand(template: str, host: str, address: str) -> str:
    return template.replace("{host}", host).replace("{address}", address)


def _bad(where: str, message: str) -> UsageError:
    return UsageError(f"{where}: certificate settings: {message}")


def parse(raw: Mapping[str, Any], where: str = "item") -> CertSettings:
    """Typed settings from the item's ``certificate:`` mapping; errors name ``where`` and the field."""
    data = dict(raw)
    files = {str(k): str(v) for k, v in dict(data.get("files") or {}).items()}
    unknown = set(files) - set(FILE_KEYS)
    if unknown:
        raise _bad(where, f"files: unknown keys {sorted(unknown)} (known: {', '.join(FILE_KEYS)})")
    if files and "key" not in files:
        raise _bad(where, "files.key is required when files are given")
    if files and not ({"fullchain", "cert"} & set(files)):
        raise _bad(where, "files needs fullchain or cert")
    key_type = str(data.get("key_type", "ec-p256"))
    if key_type not in KEY_TYPES:
        raise _bad(where, f"key_type {key_type!r} is not one of {', '.join(KEY_TYPES)}")
    endpoint = dict(data.get("endpoint") or {})
    service = dict(data.get("service") or {})
    scan = dict(data.get("scan") or {})
    return CertSettings(
        names=tuple(str(n) for n in data.get("names") or ("{host}",)),
        port=int(endpoint.get("port", 443)),
        address=str(endpoint.get("address", "{address}")),
        files=files,
        owner=data.get("owner"),
        group=data.get("group"),
        test_command=str(service.get("test", "nginx -t")),
        reload_command=str(service.get("reload", "nginx -s reload")),
        key_type=key_type,
        stage_dir=str(data.get("stage_dir", "/var/lib/maintctl/certs")),
        trust=tuple(str(t) for t in data.get("trust") or ()),
        renew=_renew(dict(data.get("renew") or {}), where),
        acme=_acme(data.get("acme"), where),
        scan_endpoints=tuple(dict(e) for e in scan.get("endpoints") or ()),
        scan_files=tuple(str(f) for f in scan.get("files") or ()),
        acm=_acm(data.get("acm")),
        verify_timeout=float(data.get("verify_timeout", 20.0)),
    )


def _renew(raw: dict[str, Any], where: str) -> RenewPolicy:
    try:
        return RenewPolicy(
            fraction=float(raw["fraction"]) if "fraction" in raw else None,
            days=float(raw["days"]) if "days" in raw else None,
            emergency_days=float(raw.get("emergency_days", 2.0)),
            use_ari=bool(raw.get("ari", True)),
        )
    except (TypeError, ValueError) as exc:
        raise _bad(where, str(exc)) from exc


def _acme(raw: Any, where: str) -> AcmeSettings | None:
    if not raw:
        return None
    data = dict(raw)
    if not data.get("directory"):
        raise _bad(where, "acme.directory is required")
    challenge = str(data.get("challenge", "http-01"))
    if challenge not in ("http-01", "dns-01"):
        raise _bad(where, f"acme.challenge must be http-01 or dns-01, not {challenge!r}")
    provider = str(data.get("dns_provider", "challtestsrv"))
    if provider not in ("challtestsrv", "route53"):
        raise _bad(where, f"acme.dns_provider must be challtestsrv or route53, not {provider!r}")
    if challenge == "dns-01" and provider == "challtestsrv" and not data.get("dns_api"):
        raise _bad(where, "acme.dns_api is required for dns-01 with dns_provider challtestsrv")
    return AcmeSettings(
        directory=str(data["directory"]),
        ca_bundle=str(data["ca_bundle"]) if data.get("ca_bundle") else None,
        email=str(data["email"]) if data.get("email") else None,
        challenge=challenge,
        webroot=str(data.get("webroot", "/var/www/html")),
        dns_api=str(data.get("dns_api", "")),
        dns_provider=provider,
        route53_zone=str(data["route53_zone"]) if data.get("route53_zone") else None,
        timeout=float(data.get("timeout", 120.0)),
    )


def _acm(raw: Any) -> AcmSettings | None:
    if not raw:
        return None
    data = dict(raw)
    return AcmSettings(
        region=str(data["region"]) if data.get("region") else None,
        arns=tuple(str(a) for a in data.get("arns") or ()),
        tags={str(k): str(v) for k, v in dict(data.get("tags") or {}).items()},
    )


def host_address(hostvars: Mapping[str, Mapping[str, Any]], host: str) -> str:
    return str(hostvars.get(host, {}).get("ansible_host", host))


def resolve_path(root: Path, value: str | None) -> str | None:
    if not value:
        return None
    p = Path(value)
    return str(p if p.is_absolute() else root / p)

