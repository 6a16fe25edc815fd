"""Every certificate the catalogue knows about, scanned: for each certificate item, its targets'
endpoints, its files on hosts (read over SSH) and its ACM certificates."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.kinds.certificate import config
from runner.kinds.certificate.model import ScanResult
from runner.kinds.certificate.scan import Endpoint, scan_endpoints, scan_files

if TYPE_CHECKING:
    from runner.catalogue.model import Catalogue, Item


def item_hosts(catalogue: Catalogue, item: Item) -> list[str]:
    """The inventory hosts an item targets (groups, then host names or shell-style patterns)."""
    inv = catalogue.inventory
    out: dict[str, None] = {}
    for g in item.targets.groups:
        for h in inv.groups.get(g, ()):
            out.setdefault(h, None)
    for pattern in item.targets.hosts:
        for h in inv.hosts:
            if fnmatch.fnmatchcase(h, pattern):
                out.setdefault(h, None)
    return list(out)


def endpoints_of(catalogue: Catalogue, item: Item, settings: config.CertSettings) -> list[Endpoint]:
    hostvars = catalogue.inventory.hostvars
    eps = []
    for host in item_hosts(catalogue, item):
        address = config.host_address(hostvars, host)
        names = settings.names_for(host, address)
        eps.append(Endpoint(address=config.expand(settings.address, host, address), port=settings.port,
                            name=names[0], host=host))
    for extra in settings.scan_endpoints:
        address = str(extra.get("address") or extra.get("host") or "")
        eps.append(Endpoint(address=address, port=int(extra.get("port", 443)),
                            name=str(extra.get("name") or extra.get("sni") or address)))
    return eps


def files_of(catalogue: Catalogue, item: Item, settings: config.CertSettings) -> list[tuple[str, str, str]]:
    hostvars = catalogue.inventory.hostvars
    out = []
    for host in item_hosts(catalogue, item):
        address = config.host_address(hostvars, host)
        files = settings.files_for(host, address)
        names = settings.names_for(host, address)
        paths = [files[k] for k in ("fullchain", "cert") if k in files][:1]
        paths += [config.expand(p, host, address) for p in settings.scan_files]
        out += [(host, p, names[0]) for p in paths]
    return out


def scan_item(catalogue: Catalogue, item: Item, now: datetime, *, timeout: float = 5.0,
              concurrency: int = 256, read_files: bool = True) -> list[ScanResult]:
    """Scan everything ``item`` declares. File reads go over SSH (or locally for local hosts)."""
    from runner.kinds.certificate.runner import _load_roots

    where = f"{item.location} item {item.id}"
    settings = config.parse(item.settings, where)
    root = Path(catalogue.root)
    roots = _load_roots(settings.trust_paths(root))
    results = scan_endpoints(endpoints_of(catalogue, item, settings), roots, timeout=timeout,
                             concurrency=concurrency, now=now)
    files = files_of(catalogue, item, settings) if read_files else []
    if files:
        results += scan_files(files, _reader(catalogue, root), roots, now=now)
    if settings.acm is not None:
        from runner.adapters.aws import AwsSessions
        from runner.kinds.certificate.acm import find_arns, scan_acm

        acm = AwsSessions.from_settings(catalogue.settings.aws).client("acm", region=settings.acm.region)
        results += scan_acm(acm, find_arns(acm, settings.acm.arns, settings.acm.tags), roots, now)
    return results


def _reader(catalogue: Catalogue, root: Path) -> Any:
    from runner.adapters.ssh import configured_known_hosts
    from runner.kinds.certificate.remote import SshShell, check, q, shell_for

    conf = catalogue.settings.ansible
    inv = conf.get("inventory") or "inventory"
    sources = [p if p.is_absolute() else root / p for p in map(Path, inv if isinstance(inv, list) else [inv])]
    ssh = SshShell(sources, configured_known_hosts(root, conf))

    def read(host: str, path: str) -> bytes:
        shell = shell_for(host, ssh)
        # Only certificate blocks leave the host, even when the file also holds a private key.
        cmd = f"sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' {q(path)}"
        res = check(shell.run(host, f"test -r {q(path)} && {cmd}", timeout=30), f"reading {path}")
        return res.stdout

    return read


def scan_catalogue(catalogue: Catalogue, item_ids: Sequence[str], now: datetime, **kw: Any) -> list[ScanResult]:
    from runner.errors import UsageError

    items = [i for i in catalogue.items if i.kind == "certificate"]
    if item_ids:
        known = {i.id: i for i in items}
        missing = [i for i in item_ids if i not in known]
        if missing:
            raise UsageError(f"no certificate item named {', '.join(missing)} "
                             f"(certificate items: {', '.join(known) or 'none'})")
        items = [known[i] for i in item_ids]
    out: list[ScanResult] = []
    for item in items:
        out += scan_item(catalogue, item, now, **kw)
    return out
