"""Build the engine (catalogue, state store, evidence, change records) for the run-related commands."""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.catalogue.model import Catalogue
    from runner.engine.progress import Reporter
    from runner.engine.run import Engine
    from runner.state.base import StateStore


def estate_root(args: argparse.Namespace) -> Path:
    from runner.estate import find_root

    return find_root(Path(args.estate) if getattr(args, "estate", None) else None)


def lease_ttl(state_settings: Any) -> timedelta:
    """``MAINTCTL_LEASE_TTL`` (seconds) or ``settings.state.lease_ttl`` or 60 s."""
    from runner.catalogue.durations import parse_duration
    from runner.engine.run import DEFAULT_LEASE_TTL

    env = os.environ.get("MAINTCTL_LEASE_TTL")
    if env:
        return timedelta(seconds=float(env))
    value = (state_settings or {}).get("lease_ttl")
    if isinstance(value, timedelta):
        return value
    return parse_duration(str(value)) if value else DEFAULT_LEASE_TTL


def load_estate(args: argparse.Namespace) -> tuple[Path, Catalogue]:
    """The estate root of ``args`` and its catalogue (credentials in the environment registered first,
    so that even a catalogue error is reported redacted)."""
    from runner import redact
    from runner.catalogue.loader import load_catalogue

    redact.register_environment()
    root = estate_root(args)
    return root, load_catalogue(root)


def build_engine(args: argparse.Namespace, reporter: Reporter,
                 loaded: tuple[Path, Catalogue] | None = None) -> Engine:
    """The engine for the estate of ``args`` (``loaded`` by ``load_estate`` unless given)."""
    from runner.changes import backend_from_settings
    from runner.engine.run import Engine
    from runner.estate import state_dir
    from runner.evidence.recorder import open_recorder
    from runner.state import open_store

    root, catalogue = loaded or load_estate(args)
    return Engine(
        root=root, catalogue=catalogue, store=open_store(root, catalogue.settings.state),
        evidence=open_recorder(root, catalogue.settings.evidence),
        changes=backend_from_settings(catalogue.settings, state_dir(root)), reporter=reporter,
        lease_ttl=lease_ttl(catalogue.settings.state),
    )


def open_state(args: argparse.Namespace) -> StateStore:
    """The state store alone (``runs``, ``show``): settings from the catalogue when it loads."""
    from runner.catalogue.loader import load_catalogue
    from runner.errors import CatalogueError
    from runner.state import open_store

    root = estate_root(args)
    try:
        settings = load_catalogue(root).settings.state
    except CatalogueError:
        settings = {}  # a broken catalogue must not hide the history of runs
    return open_store(root, settings)
