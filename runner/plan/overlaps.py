"""Overlap detection: which items touch the same hosts at the same time.

Output-sensitive rather than quadratic in items:

1. One sweep over the occurrences of all windows, sorted by start, finds for each window which of its
   occurrences overlap each other window (an occurrence also overlaps itself: two items in one window
   run together).
2. Hosts are grouped by the exact set of item shapes that touch them, so a thousand hosts in one group
   cost as much as one. Within each such class, items are bucketed by window and only buckets whose
   windows overlap (from step 1) are paired.
3. Which occurrence overlaps which is worked out per window pair only when a plan is rendered
   (:class:`PairIndex`), by binary search over the two windows' sorted start and end times.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from runner.schedule import Occurrence


@dataclass(frozen=True, slots=True)
class Times:
    """A window's occurrences as sorted epoch seconds (durations are equal, so ends are sorted too)."""

    starts: tuple[float, ...]
    ends: tuple[float, ...]

    @classmethod
    def of(cls, occs: Sequence[Occurrence]) -> Times:
        starts = tuple(o.start_utc.timestamp() for o in occs)
        span = occs[0].duration.total_seconds() if occs else 0.0
        return cls(starts=starts, ends=tuple(s + span for s in starts))


def window_overlaps(times: Mapping[str, Times]) -> dict[str, dict[str, int]]:
    """For each window, per window it overlaps (itself included when it has occurrences), which of its
    occurrences overlap some occurrence of the other, as a bit mask (bit i: occurrence i).

    One sweep over all occurrences. Masks make the per-item question "how many of my occurrences
    overlap any of my partners' windows" an OR and a bit count.
    """
    found: dict[str, dict[str, int]] = {name: {} for name in times}
    events = sorted(
        (start, end, name, i)
        for name, t in times.items()
        for i, (start, end) in enumerate(zip(t.starts, t.ends, strict=True))
    )
    # Active entries carry their own bit and their window's mask dict, so the inner loop (every pair
    # of occurrences that overlap: hundreds of thousands in a large estate) does no lookups by name.
    active: list[tuple[float, int, str, int, dict[str, int]]] = []
    pop, push = heapq.heappop, heapq.heappush
    for seq, (start, end, name, i) in enumerate(events):
        while active and active[0][0] <= start:
            pop(active)
        mine = found[name]
        bit = 1 << i
        for _end, _seq, other, other_bit, theirs in active:
            if other != name:  # a window's own overlaps are set whole below
                mine[other] = mine.get(other, 0) | bit
                theirs[name] = theirs.get(name, 0) | other_bit
        if end > start:
            push(active, (end, seq, name, bit, mine))
    keys: dict[str, dict[str, int]] = {}
    for name, per in found.items():
        keys[name] = per
        if times[name].starts:
            per[name] = (1 << len(times[name].starts)) - 1
    return keys


class PairIndex:
    """For each occurrence of window A, the occurrences of window B that overlap it. Built on first use."""

    def __init__(self, a: Times, b: Times) -> None:
        self._a, self._b = a, b
        self._map: dict[int, tuple[int, ...]] | None = None

    @property
    def by_index(self) -> Mapping[int, tuple[int, ...]]:
        if self._map is None:
            out: dict[int, tuple[int, ...]] = {}
            b = self._b
            for i, (start, end) in enumerate(zip(self._a.starts, self._a.ends, strict=True)):
                lo = bisect_right(b.ends, start)
                hi = bisect_left(b.starts, end)
                if lo < hi:
                    out[i] = tuple(range(lo, hi))
            self._map = out
        return self._map


class Toucher(NamedTuple):
    """An item as the overlap search sees it (a tuple: there are thousands)."""

    position: int
    window: str
    hosts: tuple[str, ...]


class Pairs(NamedTuple):
    """What :func:`item_pairs` finds: overlapping item pairs with their shared hosts, and per item the
    windows of the items it overlaps."""

    found: dict[tuple[int, int], list[str]]
    partners: dict[int, set[str]]


def item_pairs(touchers: Sequence[Toucher], adjacency: Mapping[str, Mapping[str, object]]) -> Pairs:
    """Item index pairs ``(a, b)``, ``a < b``, in overlapping windows, with the hosts they share.

    ``adjacency`` maps each window to the windows it overlaps (as :func:`window_overlaps` returns).
    """
    # Items with the same host tuple object share a shape (the resolver returns one tuple per target shape).
    shapes: dict[int, list[Toucher]] = {}
    shape_hosts: dict[int, tuple[str, ...]] = {}
    for t in touchers:
        shapes.setdefault(id(t.hosts), []).append(t)
        shape_hosts[id(t.hosts)] = t.hosts
    host_shapes: dict[str, list[int]] = {}
    for shape, hosts in shape_hosts.items():
        for host in hosts:
            host_shapes.setdefault(host, []).append(shape)
    classes: dict[tuple[int, ...], list[str]] = {}
    for host, ids in host_shapes.items():
        classes.setdefault(tuple(ids), []).append(host)
    found: dict[tuple[int, int], list[str]] = {}
    partners: dict[int, set[str]] = {}
    for shape_ids, members in classes.items():
        buckets: dict[str, list[int]] = {}
        for shape in shape_ids:
            for t in shapes[shape]:
                buckets.setdefault(t.window, []).append(t.position)
        for wa, items_a in buckets.items():
            for wb in adjacency.get(wa, ()):
                if wb < wa or wb not in buckets:
                    continue
                items_b = buckets[wb]
                if wa == wb and len(items_a) < 2:
                    continue
                # Partner windows per bucket, not per pair: pairs grow with the square of a bucket.
                for a in items_a:
                    partners.setdefault(a, set()).add(wb)
                for b in items_b:
                    partners.setdefault(b, set()).add(wa)
                for a in items_a:
                    for b in items_b:
                        if a != b and (wa != wb or a < b):
                            found.setdefault((a, b) if a < b else (b, a), []).extend(members)
    return Pairs(found, partners)
