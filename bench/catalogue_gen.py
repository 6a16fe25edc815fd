"""Generate a synthetic estate for benchmarks: N items over M windows, valid for ``maintctl validate``.

    python bench/catalogue_gen.py OUT_DIR [--items 10000] [--windows 200] [--seed 1]

The estate is deterministic for a seed. Items are spread over files of at most 500 items (each file
stays well under the 1 MiB limit), windows mix cron and RRULE rules in several time zones, and
items share inventory groups so that plan has real overlaps to find.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

import yaml

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")
KINDS = ("patch", "backup", "certificate", "drift")
ITEMS_PER_FILE = 500
HOSTS_PER_GROUP = 5


def _window(rng: random.Random, index: int) -> dict[str, Any]:
    hour, minute = rng.randrange(24), rng.choice((0, 15, 30, 45))
    hours = rng.choice((1, 2, 3, 4))
    spec: dict[str, Any] = {"description": f"synthetic window {index}"}
    if index % 2:
        spec["cron"] = f"{minute} {hour} * * {rng.choice(('*', '1-5', '6', '0,3'))}"
    else:
        day = rng.choice(("MO", "TU", "WE", "TH", "FR", "SA", "SU"))
        freq = rng.choice((f"FREQ=WEEKLY;BYDAY={day}", f"FREQ=MONTHLY;BYDAY=+2{day}", "FREQ=DAILY"))
        spec["rrule"] = f"{freq};BYHOUR={hour};BYMINUTE={minute}"
        spec["offset_days"] = rng.choice((0, 0, 1, 4))
    spec.update(timezone=ZONES[index % len(ZONES)], duration=f"{hours}h", cutoff="30m")
    return spec


def _item(rng: random.Random, index: int, windows: int, groups: int) -> dict[str, Any]:
    kind = KINDS[index % len(KINDS)]
    item: dict[str, Any] = {
        "id": f"{kind}-{index:05d}",
        "kind": kind,
        "description": f"synthetic {kind} item {index}",
        "targets": {"groups": [f"g{rng.randrange(groups):03d}"]},
        "window": f"w{rng.randrange(windows):03d}",
        "expected_duration": rng.choice(("10m", "30m", "1h", "1h30m")),
    }
    if index % 3 == 0:
        item["rollout"] = {"batch_size": "25%", "max_errors": 1, "pre_checks": [{"kind": "tcp", "port": 22}]}
    if kind == "patch":
        item["patch"] = {"baseline": f"b{index % 5}", "reboot": "if_needed"}
    elif kind == "backup":
        item["backup"] = {"plan": f"p{index % 5}"}
    elif kind == "certificate":
        item["certificate"] = {"names": ["{host}.example.org"], "endpoint": {"port": 443}}
    else:
        item["drift"] = {"playbooks": ["drift-app.yml"]}
    return item


def generate(out: Path, *, items: int = 10_000, windows: int = 200, seed: int = 1) -> None:
    """Write the estate under ``out`` (maintenance/, patching/, backup/, inventory/)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    groups = max(1, windows)
    for sub in ("maintenance", "patching", "backup", "inventory"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    _dump(out / "maintenance" / "windows.yml", {"windows": {f"w{i:03d}": _window(rng, i) for i in range(windows)}})
    freezes = {
        "year-end": {"rrule": "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20", "timezone": "Europe/Berlin", "duration": "15d"},
        "g000-migration": {"groups": ["g000"], "ranges": [{"start": "2027-03-05", "end": "2027-03-08"}]},
    }
    _dump(out / "maintenance" / "freezes.yml", {"freezes": freezes})
    for start in range(0, items, ITEMS_PER_FILE):
        chunk = [_item(rng, i, windows, groups) for i in range(start, min(items, start + ITEMS_PER_FILE))]
        _dump(out / "maintenance" / f"items-{start // ITEMS_PER_FILE:03d}.yml", {"items": chunk})
    baselines = {f"b{i}": {"package_manager": "apt", "approve": "security" if i % 2 else "all"} for i in range(5)}
    _dump(out / "patching" / "baselines.yml", {"baselines": baselines})
    plan = {"what": {"paths": ["/etc"]}, "where": {"restic": {"repository": "/srv/restic", "password_secret": "RP"}},
            "retention": {"keep_daily": 7}}
    _dump(out / "backup" / "plans.yml", {"plans": {f"p{i}": plan for i in range(5)}})
    children = {
        f"g{g:03d}": {"hosts": {f"h{g:03d}-{n}": None for n in range(HOSTS_PER_GROUP)}} for g in range(groups)
    }
    _dump(out / "inventory" / "hosts.yml", {"all": {"children": children}})


def _dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, items=args.items, windows=args.windows, seed=args.seed)
    print(f"wrote {args.items} items over {args.windows} windows to {args.out}")


if __name__ == "__main__":
    main()
