"""Freezes at claim time: an ad-hoc run inside a freeze of its groups is refused unless the item is an
emergency (then the freeze is recorded as overridden); a catalogue without freezes claims at once."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import timedelta

import pytest

from runner.catalogue.model import Freeze, FreezeRange
from runner.engine.claim import claim_for
from runner.engine.run import RunRequest
from runner.errors import UsageError

from .conftest import T_OPEN, LocalEstate

REQ = RunRequest(item_id="demo", force=True, reason="test")


def _freeze(groups: tuple[str, ...]) -> Freeze:
    return Freeze(name="year-end", groups=groups,
                  ranges=(FreezeRange(start=T_OPEN - timedelta(hours=1), end=T_OPEN + timedelta(days=1)),))


def test_adhoc_run_inside_a_freeze_of_its_group_is_refused(estate: LocalEstate) -> None:
    estate.catalogue = replace(estate.catalogue, freezes=(_freeze(("local",)),))
    engine = estate.engine()
    with pytest.raises(UsageError, match="inside freeze year-end; only emergency items run in a freeze"):
        claim_for(engine, engine.item("demo"), REQ, T_OPEN)


def test_freeze_of_another_group_does_not_apply(estate: LocalEstate) -> None:
    estate.catalogue = replace(estate.catalogue, freezes=(_freeze(("elsewhere",)),))
    engine = estate.engine()
    claim = claim_for(engine, engine.item("demo"), REQ, T_OPEN)
    assert claim.adhoc and claim.freezes_overridden == ()


def test_emergency_item_overrides_the_freeze_and_says_so(estate: LocalEstate) -> None:
    estate.catalogue = replace(estate.catalogue, freezes=(_freeze(()),))
    estate.item(emergency=True)
    engine = estate.engine()
    assert claim_for(engine, engine.item("demo"), REQ, T_OPEN).freezes_overridden == ("year-end",)


def test_no_freezes_claims_without_loading_the_freeze_rules(estate: LocalEstate) -> None:
    code = (
        "import sys\n"
        "from types import SimpleNamespace as N\n"
        "from runner.engine.claim import freezes_in\n"
        "assert freezes_in(N(catalogue=N(freezes=())), None, None, None) == []\n"
        "print('runner.schedule.freeze' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
