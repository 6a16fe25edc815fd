"""Where kinds keep what they remember across runs: the estate's state store, as kind facts.

``KindFacts`` is the base of each kind's typed layer (``PatchStore``, ``BackupStore``): it finds the
store (the run's, or the estate's from ``settings.state``) so that runners sharing a PostgreSQL store
share the facts, and it imports once the SQLite file an earlier version kept in the state folder.

The import runs under a lease (one process imports, the others wait for it), copies documents only
where the store has none (the store's value wins), tags every copied log entry so that an interrupted
import resumes without duplicates, adds counters at most once, and finally renames the file
``*.imported``: nothing is deleted.
"""

from __future__ import annotations

import secrets
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from runner.errors import StateError
from runner.state.base import StateStore

if TYPE_CHECKING:
    from runner.engine.kind import RunContext

IMPORT_TTL = timedelta(minutes=2)
IMPORT_WAIT = timedelta(minutes=3)  # longer than the TTL: a crashed importer's lease runs out first


class KindFacts:
    """A kind's facts over a ``StateStore``; ``close`` closes the store only if this object opened it."""

    NAMESPACE: ClassVar[str] = ""
    LEGACY_FILE: ClassVar[str] = ""  # the earlier version's own SQLite file in the state folder

    def __init__(self, state: StateStore, *, owned: bool = False, legacy_dir: str | Path | None = None) -> None:
        self.state = state
        self._owned = owned
        if legacy_dir is not None and self.LEGACY_FILE:
            try:
                import_legacy(state, Path(legacy_dir) / self.LEGACY_FILE, self.NAMESPACE, self.import_legacy)
            except BaseException:
                self.close()
                raise

    @classmethod
    def for_run(cls, ctx: RunContext) -> Self:
        """The run's store (``ctx.state``), else the estate's; the earlier file in ``ctx.state_dir`` is imported."""
        if ctx.state is not None:
            return cls(ctx.state, legacy_dir=ctx.state_dir)
        from runner.state import open_store

        store = open_store(Path(ctx.estate_root), ctx.catalogue.settings.state)
        return cls(store, owned=True, legacy_dir=ctx.state_dir)

    @classmethod
    def for_estate(cls, root: Path, settings: Mapping[str, Any] | None) -> Self:
        """The estate's store as ``settings.state`` (and the environment) choose it."""
        from runner.estate import state_dir
        from runner.state import open_store

        return cls(open_store(root, settings), owned=True, legacy_dir=state_dir(root))

    def import_legacy(self, db: sqlite3.Connection, job: LegacyImport) -> None:
        """Copy the earlier file's tables into the store (each kind knows its own tables)."""
        raise NotImplementedError

    def close(self) -> None:
        if self._owned:
            self.state.close()


@dataclass(frozen=True)
class LegacyImport:
    """One earlier file being copied into ``namespace``; ``tag`` names it among every runner's files."""

    state: StateStore
    namespace: str
    tag: str

    @staticmethod
    def rows(db: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
        """Every row of ``table`` in insertion order; none when the earlier version never created it."""
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone():
            return []
        cur = db.execute(f"SELECT rowid AS legacy_id, * FROM {table} ORDER BY rowid")  # noqa: S608 - our table names
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def log(self, stream: str, entries: Iterable[tuple[int, Mapping[str, Any], datetime | None]]) -> None:
        """Append (legacy id, value, at) entries not copied by an earlier, interrupted import."""
        todo = list(entries)
        if not todo:
            return
        copied = self.state.read_log(self.namespace, stream, where={"imported_from": self.tag}, limit=len(todo))
        done = {e.value.get("legacy_id") for e in copied}
        for legacy_id, value, at in todo:
            if legacy_id not in done:
                self.state.append_log(self.namespace, stream, {**value, "imported_from": self.tag,
                                                                "legacy_id": legacy_id}, at)

    def once(self, what: str) -> bool:
        """True for exactly one caller per (file, what), ever: for steps that must not repeat (counters)."""
        key, token = f"imported/{self.tag}/{what}", secrets.token_hex(8)
        stored = self.state.put_facts_if_absent(self.namespace, {key: {"token": token}})
        return bool(stored[key].value.get("token") == token)


def import_legacy(state: StateStore, path: Path, namespace: str,
                  copy: Callable[[sqlite3.Connection, LegacyImport], None]) -> bool:
    """Import ``path`` into ``state`` once and rename it ``*.imported``; False when there is nothing to do."""
    if not path.exists():
        return False
    from runner.engine.lease import make_owner

    tag = f"{socket.gethostname()}:{path.resolve()}"
    lease, owner = f"import/{namespace}/{tag}", make_owner()
    deadline = time.monotonic() + IMPORT_WAIT.total_seconds()
    while not state.acquire(lease, owner, IMPORT_TTL, datetime.now(UTC)):
        if not path.exists():
            return False  # the process holding the lease has imported it meanwhile
        if time.monotonic() > deadline:
            raise StateError(f"{path}: another process has been importing it for over {IMPORT_WAIT}; try again")
        time.sleep(0.2)
    try:
        if not path.exists():
            return False
        try:
            # Not read-only: opening folds in a WAL the earlier version may have left beside the file.
            db = sqlite3.connect(path)
            try:
                copy(db, LegacyImport(state, namespace, tag))
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise StateError(f"{path}: cannot import the state an earlier version kept there: {exc}") from exc
        try:
            _set_aside(path)
        except OSError as exc:
            raise StateError(f"{path}: imported into the state store, but cannot rename it: {exc}") from exc
        return True
    finally:
        state.release(lease, owner)


def _set_aside(path: Path) -> None:
    target = path.with_name(path.name + ".imported")
    n = 1
    while target.exists():  # never overwrite an earlier import's file
        n += 1
        target = path.with_name(f"{path.name}.imported.{n}")
    for suffix in ("-wal", "-shm"):  # renamed alongside, so that SQLite pairs them again if opened
        side = Path(str(path) + suffix)
        if side.exists():
            side.rename(Path(str(target) + suffix))
    path.rename(target)
