"""``maintctl evidence``: verify the ledger, export the public key, list/show/export bundles.

Heavy imports (cryptography, boto3) happen inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.errors import UsageError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("evidence", help="verify and review the tamper-evident evidence")
    cmds = p.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)

    v = cmds.add_parser("verify", help="check chain, signatures and artifacts offline (exit 0 ok, 2 broken)")
    v.add_argument("--pubkey", metavar="FILE", help="PEM public key to trust (default: the estate's own key)")
    v.add_argument("--dir", metavar="DIR", help="evidence folder (default: the estate's .maintctl/evidence)")
    v.add_argument("--anchor", metavar="FILE", help="a saved anchor (seq + hash) the ledger must still contain")
    v.add_argument("--full", action="store_true", help="check every record one by one, canonical form included")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(func=_verify)

    k = cmds.add_parser("pubkey", help="print the estate's evidence public key (PEM)")
    k.add_argument("--out", metavar="FILE", help="write it to FILE instead of stdout")
    k.set_defaults(func=_pubkey)

    ls = cmds.add_parser("list", help="list evidence bundles")
    _filters(ls)
    ls.set_defaults(func=_list)

    sh = cmds.add_parser("show", help="show one bundle's records and artifacts")
    sh.add_argument("bundle", help="bundle id (or a unique prefix)")
    sh.add_argument("--dir", metavar="DIR", help="evidence folder")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=_show)

    ex = cmds.add_parser("export", help="copy a bundle with the signed ledger covering it, verifiable on its own")
    ex.add_argument("bundle", help="bundle id (or a unique prefix)")
    ex.add_argument("--out", metavar="DIR", required=True, help="folder to create")
    ex.add_argument("--dir", metavar="DIR", help="evidence folder")
    ex.set_defaults(func=_export)

    pu = cmds.add_parser("push", help="copy closed bundles to the S3 bucket (Object Lock) from settings.evidence.s3")
    pu.add_argument("--bucket", required=True)
    pu.add_argument("--prefix", default="maintctl-evidence/")
    pu.add_argument("--retention-days", type=int, required=True)
    pu.set_defaults(func=_push)


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", metavar="WHEN", help="opened at or after (ISO date or time, UTC if no zone)")
    p.add_argument("--until", metavar="WHEN", help="opened before (ISO date or time)")
    p.add_argument("--item", metavar="ID", help="only this item")
    p.add_argument("--host", metavar="HOST", help="only bundles that touched HOST")
    p.add_argument("--dir", metavar="DIR", help="evidence folder")
    p.add_argument("--json", action="store_true")


def _root(args: argparse.Namespace) -> Path:
    from runner.estate import find_root
    from runner.redact import register_environment

    register_environment()  # credentials in the environment never reach the terminal

    return find_root(Path(args.estate) if args.estate else None)


def _folder(args: argparse.Namespace) -> Path:
    if getattr(args, "dir", None):
        folder = Path(args.dir)
        if not folder.is_dir():
            raise UsageError(f"{folder}: --dir is not a folder")
        return folder
    from runner.estate import state_dir

    return state_dir(_root(args)) / "evidence"


def _verify(args: argparse.Namespace) -> int:
    from runner.evidence.keys import load_public
    from runner.evidence.verify import verify

    anchor_path = Path(args.anchor) if args.anchor else None
    if args.pubkey:
        public = load_public(Path(args.pubkey))
    elif args.dir:
        raise UsageError("--dir needs --pubkey FILE: a folder's own key proves nothing to its verifier")
    else:
        public = _local_key(args)
    if anchor_path is None and not args.dir:
        from runner.estate import state_dir
        from runner.evidence.recorder import ANCHOR_FILE

        candidate = state_dir(_root(args)) / ANCHOR_FILE
        anchor_path = candidate if candidate.is_file() else None
    anchor = _read_anchor(anchor_path) if anchor_path else None
    report = verify(_folder(args), public, anchor=anchor, full=args.full)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, sort_keys=True))
    else:
        _print_report(report)
    return 0 if report.ok else 2


def _local_key(args: argparse.Namespace) -> Any:
    from runner.estate import state_dir
    from runner.evidence.keys import KEY_FILE, load_or_create

    keys = state_dir(_root(args)) / "keys"
    if not (keys / KEY_FILE).is_file():
        raise UsageError(f"{keys / KEY_FILE}: no evidence key in this estate; pass --pubkey FILE")
    return load_or_create(keys).public


def _read_anchor(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable anchor file: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("seq"), int) or not isinstance(doc.get("hash"), str):
        raise UsageError(f"{path}: an anchor needs integer 'seq' and string 'hash'")
    return doc


def _print_report(report: Any) -> None:
    first = report.first_broken
    if first is None:
        print(f"OK: {report.records} records, {report.checkpoints} checkpoints (last signed seq "
              f"{report.signed_seq}), {report.artifacts} artifacts, {report.bytes} bytes verified")  # fmt: skip
        print(f"key {report.key}; head seq {report.last_seq} hash {report.last_hash}")
    else:
        print(f"BROKEN: first broken record: {first}")
        for f in report.errors[1:20]:
            print(f"  also: {f}")
        if len(report.errors) > 20:
            print(f"  ... and {len(report.errors) - 20} more problems")
    for w in report.warnings[:20]:
        print(f"warning: {w}")


def _pubkey(args: argparse.Namespace) -> int:
    from runner.estate import private_subdir
    from runner.evidence.keys import load_or_create, public_pem

    pem = public_pem(load_or_create(private_subdir(_root(args), "keys")).public)
    if args.out:
        Path(args.out).write_bytes(pem)
    else:
        sys.stdout.write(pem.decode("ascii"))
    return 0


def _when(value: str | None, option: str) -> str | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"{option} {value!r}: not an ISO 8601 date or time") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _list(args: argparse.Namespace) -> int:
    from runner.evidence.query import bundles

    since, until = _when(args.since, "--since"), _when(args.until, "--until")
    rows = [
        b for b in bundles(_folder(args))
        if (since is None or b.opened >= since) and (until is None or b.opened < until)
        and (not args.item or b.item_id == args.item) and (not args.host or args.host in b.hosts)
    ]  # fmt: skip
    if args.json:
        print(json.dumps([b.as_dict() for b in rows], indent=2, sort_keys=True))
        return 0
    head = ("BUNDLE", "ITEM", "RUN", "OUTCOME", "OPENED", "CLOSED", "CHANGE")
    table = [head] + [(b.id, b.item_id, b.run_id, b.outcome or "(open)", b.opened[:19], b.closed[:19],
                       b.change_id or "-") for b in rows]  # fmt: skip
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _show(args: argparse.Namespace) -> int:
    from runner.evidence.artifacts import artifact_path
    from runner.evidence.query import bundle_records

    folder = _folder(args)
    records = bundle_records(folder, args.bundle)
    if args.json:
        print(json.dumps([dict(r, line=n) for n, r in records], indent=2, sort_keys=True))
        return 0
    print(f"bundle {records[0][1]['bundle']}")
    for n, r in records:
        payload = r.get("payload", {})
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
        print(f"{n:>8}  seq {r.get('seq')}  {r.get('time')}  {r.get('type')}  {text[:200]}")
        if r.get("type") == "artifact":
            print(f"          -> {artifact_path(folder, str(payload.get('sha256')))}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from runner.evidence.export import export_bundle

    out = export_bundle(_folder(args), args.bundle, Path(args.out))
    print(f"exported to {out}; verify with: maintctl evidence verify --dir {out} --pubkey KEY.pem")
    return 0


def _push(args: argparse.Namespace) -> int:
    from runner.estate import state_dir
    from runner.evidence.s3sink import S3Sink

    root = _root(args)
    sink = S3Sink.from_settings(
        state_dir(root) / "evidence",
        {"bucket": args.bucket, "prefix": args.prefix, "retention_days": args.retention_days},
        state=state_dir(root),
    )
    count = sink.sync()
    print(f"uploaded {count} objects to s3://{args.bucket}/{args.prefix}")
    return 0
