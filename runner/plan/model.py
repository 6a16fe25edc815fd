"""The plan as data: what would run, where and when, and what is wrong with it. Built by ``build_plan``.

Occurrences are computed once per window and shared by every item in that window; per-occurrence
findings (freezes, overlaps) are stored sparsely and joined into :class:`Entry` values on demand, so a
plan of 10,000 items over a year stays small until someone renders it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from runner.catalogue.model import Item
from runner.plan.overlaps import PairIndex, Pairs, Times
from runner.schedule import Occurrence

FlagCode = Literal["FROZEN", "EMERGENCY-OVERRIDE", "TOO-SHORT", "OVERLAP", "NEVER-FIRES"]
FLAG_CODES: tuple[FlagCode, ...] = ("FROZEN", "EMERGENCY-OVERRIDE", "TOO-SHORT", "OVERLAP", "NEVER-FIRES")


@dataclass(frozen=True, slots=True, kw_only=True)
class Flag:
    """One finding. ``ref`` names what it is about: a freeze, another item, a window."""

    code: FlagCode
    ref: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class Overlap:
    """Items ``a`` and ``b`` touch ``hosts`` at the same time; ``count`` of a's occurrences overlap b's."""

    a: str
    b: str
    windows: tuple[str, str]
    hosts: tuple[str, ...]
    count: int


@dataclass(frozen=True, slots=True)
class OverlapRef:
    """One overlap as one of its items sees it. ``index``: my occurrence -> the other's occurrences."""

    other: str
    hosts: tuple[str, ...]
    index: PairIndex
    other_occurrences: tuple[Occurrence, ...]

    def flag(self, i: int) -> Flag | None:
        theirs = self.index.by_index.get(i)
        if theirs is None:
            return None
        shown = ", ".join(self.hosts[:3]) + (f" and {len(self.hosts) - 3} more" if len(self.hosts) > 3 else "")
        at = self.other_occurrences[theirs[0]].start.isoformat()
        return Flag(code="OVERLAP", ref=self.other, detail=f"overlaps {self.other} ({at}) on {shown}")


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One occurrence of one item, with everything flagged about it."""

    item: str
    occurrence: Occurrence
    flags: tuple[Flag, ...]

    @property
    def blocked(self) -> bool:
        """Whether a freeze stops this occurrence (an emergency item overrides, visibly)."""
        return any(f.code == "FROZEN" for f in self.flags)


@dataclass(kw_only=True)
class PlannedItem:
    """An item with its resolved hosts, its window's occurrences and its findings."""

    item: Item
    hosts: tuple[str, ...]
    occurrences: tuple[Occurrence, ...]
    item_flags: tuple[Flag, ...] = ()
    occurrence_flags: dict[int, list[Flag]] = field(default_factory=dict)
    # Per flag code, how many occurrences ``occurrence_flags`` flags: computed once per shared dict.
    occurrence_flag_counts: Mapping[str, int] = field(default_factory=dict)
    book: OverlapBook | None = None
    _flag_counts: dict[str, int] | None = field(default=None, repr=False)

    @property
    def overlap_refs(self) -> list[OverlapRef]:
        return self.book.refs(self.item.id) if self.book is not None else []

    def flags_at(self, i: int) -> tuple[Flag, ...]:
        """Everything flagged about occurrence ``i`` (item-wide flags first)."""
        flags = list(self.item_flags)
        flags.extend(self.occurrence_flags.get(i, ()))
        for ref in self.overlap_refs:
            flag = ref.flag(i)
            if flag is not None:
                flags.append(flag)
        return tuple(flags)

    def entries(self) -> Iterator[Entry]:
        for i, occ in enumerate(self.occurrences):
            yield Entry(item=self.item.id, occurrence=occ, flags=self.flags_at(i))

    @property
    def flag_counts(self) -> dict[str, int]:
        """How many occurrences carry each flag code (computed once)."""
        if self._flag_counts is None:
            self._flag_counts = self._count_flags()
        return dict(self._flag_counts)

    def _count_flags(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.item_flags:
            counts[f.code] = len(self.occurrences) or 1
        if self.occurrence_flags and not self.occurrence_flag_counts:
            self.occurrence_flag_counts = count_codes(self.occurrence_flags)
        for code, n in self.occurrence_flag_counts.items():
            counts[code] = counts.get(code, 0) + n
        overlapping = self.book.overlapping(self.item.id) if self.book is not None else 0
        if overlapping:
            counts["OVERLAP"] = overlapping
        return counts


def count_codes(flags: Mapping[int, Sequence[Flag]]) -> dict[str, int]:
    """Per flag code, how many occurrences carry it."""
    counts: dict[str, int] = {}
    for per in flags.values():
        for code in {f.code for f in per}:
            counts[code] = counts.get(code, 0) + 1
    return counts


class OverlapBook:
    """Every overlap of a plan, kept as found (item index pairs -> shared hosts); the per-item views and
    :class:`Overlap` records are made on first use, so building a plan stays cheap."""

    def __init__(
        self,
        planned: Sequence[PlannedItem],
        pairs: Pairs,
        keys: Mapping[str, Mapping[str, int]],
        times: Mapping[str, Times],
    ) -> None:
        self._planned = planned
        self._found = pairs.found
        self._partners = pairs.partners
        self._keys = keys
        self._times = times
        self._refs: dict[str, list[OverlapRef]] | None = None
        self._position = {p.item.id: i for i, p in enumerate(planned)}
        self._indexes: dict[tuple[str, str], PairIndex] = {}
        self._counted: dict[tuple[str, frozenset[str]], int] = {}

    def _index(self, wa: str, wb: str) -> PairIndex:
        found = self._indexes.get((wa, wb))
        if found is None:
            found = self._indexes[(wa, wb)] = PairIndex(self._times[wa], self._times[wb])
        return found

    def refs(self, item_id: str) -> list[OverlapRef]:
        if self._refs is None:
            refs: dict[str, list[OverlapRef]] = {}
            for (a, b), hosts in self._found.items():
                pa, pb = self._planned[a], self._planned[b]
                wa, wb = pa.item.window, pb.item.window
                shared = tuple(hosts)
                refs.setdefault(pa.item.id, []).append(
                    OverlapRef(pb.item.id, shared, self._index(wa, wb), pb.occurrences)
                )
                refs.setdefault(pb.item.id, []).append(
                    OverlapRef(pa.item.id, shared, self._index(wb, wa), pa.occurrences)
                )
            self._refs = refs
        return self._refs.get(item_id, [])

    def overlapping(self, item_id: str) -> int:
        """How many occurrences of ``item_id`` overlap another item on a shared host."""
        windows = self.partner_windows(item_id)
        if not windows:
            return 0
        window = self._planned[self._position[item_id]].item.window
        # Items of one window with the same partner windows are common: OR the masks once per shape.
        key = (window, frozenset(windows))
        found = self._counted.get(key)
        if found is None:
            mine = self._keys[window]
            mask = 0
            for w in windows:
                mask |= mine.get(w, 0)
            found = self._counted[key] = mask.bit_count()
        return found

    def partner_windows(self, item_id: str) -> set[str]:
        """The windows of the items ``item_id`` overlaps with."""
        index = self._position.get(item_id)
        return self._partners.get(index, set()) if index is not None else set()

    def overlaps(self, only: str | None = None) -> list[Overlap]:
        out: list[Overlap] = []
        for (a, b), hosts in sorted(self._found.items()):
            ia, ib = self._planned[a].item, self._planned[b].item
            if only is not None and only not in (ia.id, ib.id):
                continue
            wa, wb = ia.window, ib.window
            count = self._keys[wa].get(wb, 0).bit_count()
            out.append(Overlap(a=ia.id, b=ib.id, windows=(wa, wb), hosts=tuple(hosts), count=count))
        return out

    def __len__(self) -> int:
        return len(self._found)


@dataclass(kw_only=True)
class Plan:
    """Every occurrence of every enabled item in ``[start, end)``, with conflicts."""

    start: datetime
    end: datetime
    items: tuple[PlannedItem, ...]
    windows: Mapping[str, tuple[Occurrence, ...]]
    book: OverlapBook | None = None
    only: str | None = None  # the item asked for, if any
    never_fires: Mapping[str, str] = field(default_factory=dict)  # window -> why
    disabled: tuple[str, ...] = ()

    @property
    def overlaps(self) -> list[Overlap]:
        """Every overlap (only those of the item asked for, if one was)."""
        return self.book.overlaps(self.only) if self.book is not None else []

    @property
    def overlap_count(self) -> int:
        """How many item pairs overlap (all of them, even when one item was asked for)."""
        return len(self.book) if self.book is not None else 0

    @property
    def has_conflicts(self) -> bool:
        book = self.book
        return any(
            p.item_flags or p.occurrence_flags or (book is not None and book.partner_windows(p.item.id))
            for p in self.items
        )

    def planned(self, item_id: str) -> PlannedItem:
        for p in self.items:
            if p.item.id == item_id:
                return p
        raise KeyError(item_id)
