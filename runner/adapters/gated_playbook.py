"""The gated playbook of an Ansible session (``runner.adapters.ansible_session``): what makes a playbook one.

Checked before the session starts, so that a playbook the gate cannot hold is refused before any host
is touched, with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

GATE = "maintctl_gate"  # the strategy plugin, and the play var that marks the gated play


def gate_problem(playbook: Path) -> str | None:
    """Why the playbook cannot run as a session's gated playbook, or None: exactly one play, marked
    ``maintctl_gate: true``, with hosts from ``maintctl_order`` and serial from ``maintctl_serial``, and
    no strategy of its own (the gate is the session's strategy)."""
    import yaml  # ansible-runner imports it too, before any playbook starts

    try:
        plays = _safe_yaml(playbook.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return f"cannot read it: {exc}"
    if not isinstance(plays, list) or len(plays) != 1 or not isinstance(plays[0], dict):
        return "it must hold exactly one play"
    play = plays[0]
    if (play.get("vars") or {}).get(GATE) is not True:
        return f"its play's vars must say {GATE}: true"
    if "maintctl_order" not in str(play.get("hosts", "")) or "maintctl_serial" not in str(play.get("serial", "")):
        return "its play must use hosts '{{ maintctl_order }}' and serial '{{ maintctl_serial }}'"
    if "strategy" in play:
        return "its play must not choose a strategy (the session's gate is one; settings.ansible.strategy applies)"
    return None


def _safe_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's parser where PyYAML has it: the pure-Python one took ~25 ms
    for patch-apply.yml, on every rollout's path to Ansible."""
    import yaml

    loader = (getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader)(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
