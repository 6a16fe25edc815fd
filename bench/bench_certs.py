"""Certificate scan benchmark: maintctl's concurrent endpoint scan vs a loop of `openssl s_client`.

Starts local TLS servers on 127.0.0.1 (several ports, each answering many SNI names with their own
certificate from one test CA), then in the same run:
* scans every endpoint with ``runner.kinds.certificate.scan.scan_endpoints`` (full parse, chain
  verification against the CA, name match) — the whole set;
* runs ``openssl s_client -connect ... -servername NAME | openssl x509 -noout -subject -issuer -serial
  -enddate`` per endpoint (the peer: what a shell loop over endpoints does) over a sample, and
  extrapolates to the whole set.
Prints a report (JSON with --json). Ratios, not absolute times, are what matter.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests" / "certs"))

from certs_pki import make_ca, make_leaf, server_context, tls_server  # noqa: E402

from runner.kinds.certificate.scan import Endpoint, scan_endpoints  # noqa: E402


@contextmanager
def serve_in_process(default: ssl.SSLContext, contexts: dict[str, ssl.SSLContext], ports: int) -> Iterator[list[int]]:
    """The TLS servers in a child process (forked: the contexts are inherited), so that server-side
    handshakes do not share this process's interpreter lock with the scan being measured."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()

    def serve() -> None:
        with tls_server(default, contexts, ports=ports) as srv:
            child.send(srv.ports)
            child.recv()  # until told to stop

    proc = ctx.Process(target=serve, daemon=True)
    proc.start()
    try:
        yield list(parent.recv())
    finally:
        parent.send("stop")
        proc.join(10)


def peer(endpoints: list[Endpoint]) -> float:
    """Seconds for the openssl loop over ``endpoints``; checks it really read every certificate."""
    start = time.perf_counter()
    for ep in endpoints:
        cmd = (f"openssl s_client -connect {ep.address}:{ep.port} -servername {ep.name} </dev/null 2>/dev/null"
               " | openssl x509 -noout -subject -issuer -serial -enddate")
        out = subprocess.run(cmd, shell=True, capture_output=True, text=True, check=False)  # noqa: S602
        if ep.name not in out.stdout:
            raise SystemExit(f"openssl peer did not read {ep.name}: {out.stdout!r} {out.stderr!r}")
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoints", type=int, default=1000)
    ap.add_argument("--ports", type=int, default=4, help="listening ports the endpoints are spread over")
    ap.add_argument("--sample", type=int, default=100, help="endpoints the openssl loop runs over")
    ap.add_argument("--concurrency", type=int, default=256)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    ca = make_ca("Bench Root")
    names = [f"host{i:04d}.bench.test" for i in range(args.endpoints)]
    contexts = {n: server_context(make_leaf([n], ca)) for n in names}
    setup = time.perf_counter() - t0
    with serve_in_process(server_context(make_leaf(["default.bench.test"], ca)), contexts, args.ports) as ports:
        endpoints = [Endpoint(address="127.0.0.1", port=ports[i % args.ports], name=n)
                     for i, n in enumerate(names)]
        scan_endpoints(endpoints[:20], [ca.cert])  # warm-up (imports, first handshakes)
        start = time.perf_counter()
        results = scan_endpoints(endpoints, [ca.cert], concurrency=args.concurrency)
        ours = time.perf_counter() - start
        bad = [r for r in results if not (r.ok and r.chain_valid and r.name_match)]
        if bad:
            raise SystemExit(f"{len(bad)} endpoints not scanned cleanly, e.g. {bad[0]}")
        sample = random.Random(7).sample(endpoints, min(args.sample, len(endpoints)))  # noqa: S311 - fixed sample
        peer_sample = peer(sample)
    peer_total = peer_sample * len(endpoints) / len(sample)
    report = {
        "endpoints": len(endpoints), "ports": args.ports, "concurrency": args.concurrency,
        "setup_seconds": round(setup, 2),
        "maintctl_seconds": round(ours, 3), "maintctl_per_second": round(len(endpoints) / ours, 1),
        "openssl_sample": len(sample), "openssl_sample_seconds": round(peer_sample, 3),
        "openssl_extrapolated_seconds": round(peer_total, 2),
        "speedup": round(peer_total / ours, 1),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"certificate scan, {report['endpoints']} TLS endpoints on 127.0.0.1 ({args.ports} ports, SNI names)")
        print(f"  maintctl scan (parse + chain + name):  {ours:8.3f} s  ({report['maintctl_per_second']}/s)")
        print(f"  openssl s_client loop, {len(sample)} sampled:  {peer_sample:8.3f} s"
              f"  -> {peer_total:.2f} s for all {len(endpoints)}")
        print(f"  ratio (openssl loop / maintctl):     {report['speedup']:8.1f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
