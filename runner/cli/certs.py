"""``maintctl certs scan``: what certificates the estate uses, and how healthy they are.

Exit codes: 0 every certificate is fine; 2 a finding (expired, expiring within --warn-days, invalid
chain, wrong name, unreadable); 1 the scan itself could not run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("certs", help="certificate inventory and health")
    cmds = p.add_subparsers(dest="certs_command", metavar="ACTION", required=True)
    s = cmds.add_parser("scan", help="scan the certificates of certificate items (endpoints, files, ACM)")
    s.add_argument("items", nargs="*", metavar="ITEM", help="certificate items to scan (default: all)")
    s.add_argument("--endpoint", action="append", default=[], metavar="HOST:PORT[/SNI]",
                   help="scan this endpoint instead of the catalogue's (repeatable)")
    s.add_argument("--trust", action="append", default=[], metavar="PEM",
                   help="trust roots for --endpoint chain checks (repeatable)")
    s.add_argument("--no-files", action="store_true", help="do not read certificate files on hosts")
    s.add_argument("--warn-days", type=float, default=14.0, metavar="DAYS",
                   help="report certificates expiring within DAYS as findings (default 14)")
    s.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="per-endpoint timeout")
    s.add_argument("--concurrency", type=int, default=256, metavar="N", help="endpoints checked at once")
    s.add_argument("--json", action="store_true", help="one JSON document on stdout")
    s.set_defaults(func=_scan)


def parse_endpoint(text: str) -> tuple[str, int, str]:
    """``host:port[/sni]`` (IPv6 in brackets) -> (address, port, name)."""
    from runner.errors import UsageError

    spec, _, sni = text.partition("/")
    host, sep, port = spec.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--endpoint {text!r}: expected HOST:PORT or HOST:PORT/SNI")
    host = host.strip("[]")
    return host, int(port), sni or host


def _scan(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    if args.endpoint:
        results = _scan_adhoc(args, now)
    else:
        from pathlib import Path

        from runner.catalogue.loader import load_catalogue
        from runner.estate import find_root
        from runner.kinds.certificate.inventory import scan_catalogue

        catalogue = load_catalogue(find_root(Path(args.estate) if args.estate else None))
        results = scan_catalogue(catalogue, args.items, now, timeout=args.timeout,
                                 concurrency=args.concurrency, read_files=not args.no_files)
    rows = [(r, _findings(r, now, args.warn_days)) for r in results]
    if args.json:
        doc = {"scanned_at": now.isoformat(), "warn_days": args.warn_days,
               "certificates": [{**r.as_dict(now), "findings": f} for r, f in rows]}
        print(json.dumps(doc, indent=2))
    else:
        _table(rows, now)
    return 2 if any(f for _, f in rows) else 0


def _scan_adhoc(args: argparse.Namespace, now: Any) -> list[Any]:
    from pathlib import Path

    from runner.errors import UsageError
    from runner.kinds.certificate import x509info
    from runner.kinds.certificate.scan import Endpoint, scan_endpoints

    if args.items:
        raise UsageError("give either ITEM names or --endpoint, not both")
    try:
        roots = x509info.load_trust_roots([Path(p).read_bytes() for p in args.trust])
    except (OSError, x509info.CertParseError) as exc:
        raise UsageError(f"--trust: {exc}") from exc
    eps = [Endpoint(address=h, port=p, name=n) for h, p, n in map(parse_endpoint, args.endpoint)]
    return scan_endpoints(eps, roots, timeout=args.timeout, concurrency=args.concurrency, now=now)


def _findings(r: Any, now: Any, warn_days: float) -> list[str]:
    if r.cert is None:
        return [r.error or "no certificate"]
    out = []
    days = r.cert.days_left(now)
    if days <= 0:
        out.append("expired")
    elif days < warn_days:
        out.append(f"expires in {days:.1f} days")
    if r.chain_valid is False:
        out.append(f"chain invalid: {r.chain_error}")
    if r.name_match is False:
        out.append(f"name {r.name} not covered")
    return out


def _table(rows: list[tuple[Any, list[str]]], now: Any) -> None:
    head = ("TARGET", "NAME", "SUBJECT", "ISSUER", "SERIAL", "NOT AFTER", "DAYS", "CHAIN", "NAME OK", "FINDINGS")
    lines = [head]
    for r, findings in rows:
        c = r.cert
        lines.append((
            r.target[:48], r.name[:32], (c.subject if c else "")[:32], (c.issuer if c else "")[:28],
            (c.serial if c else "")[:40], c.not_after.strftime("%Y-%m-%d %H:%M") if c else "",
            f"{c.days_left(now):.1f}" if c else "", _tri(r.chain_valid), _tri(r.name_match),
            "; ".join(findings) or "ok",
        ))
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(head) - 1)]
    for row in lines:
        print("  ".join(str(v).ljust(w) for v, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])
    bad = sum(1 for _, f in rows if f)
    print(f"\n{len(rows)} certificate(s), {bad} with findings", file=sys.stderr)


def _tri(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")
