"""A throwaway estate on the lab's hosts, whose window is open now, for end-to-end runs of `maintctl`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MAINTCTL = str(Path(sys.executable).parent / "maintctl")

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: mark
      shell: echo "{{ token }} {{ inventory_hostname }}" >> /tmp/maintctl-e2e-{{ token }}
    - name: slow
      command: sleep {{ nap | default(0) }}
      changed_when: false
"""


def write_estate(root: Path, inventory: Path, token: str, *, nap: int = 0, post_check: bool = True) -> None:
    """Window opened a minute ago (2 h, cutoff 10 min); item `lab-marker` on web1, web2, db1."""
    start = datetime.now(UTC) - timedelta(minutes=1)
    for d in ("maintenance", "patching", "inventory", "playbooks"):
        (root / d).mkdir(parents=True, exist_ok=True)
    shutil.copy(inventory, root / "inventory" / "hosts.yml")
    (root / "playbooks" / "marker.yml").write_text(PLAYBOOK)
    (root / "patching" / "baselines.yml").write_text("baselines:\n  any:\n    package_manager: apt\n    approve: all\n")
    checks = textwrap.indent(textwrap.dedent(f"""\
        pre_checks:
          - {{kind: tcp, name: ssh port, port: 22}}
        post_checks:
          - {{kind: command, name: marker written, command: "grep -q {token} /tmp/maintctl-e2e-{token}"}}
    """), "      ") if post_check else ""
    (root / "maintenance" / "catalogue.yml").write_text(textwrap.dedent(f"""\
        windows:
          now:
            cron: "{start.minute} {start.hour} * * *"
            timezone: UTC
            duration: 2h
            cutoff: 10m
            max_start_delay: 30m
        items:
          - id: lab-marker
            kind: patch
            targets: {{groups: [web, db]}}
            window: now
            expected_duration: 10m
            rollout:
              batch_size: 1
              canary: 1
              max_errors: 0
        """) + checks + textwrap.indent(textwrap.dedent(f"""\
            change: {{type: standard}}
            patch:
              baseline: any
              runner: playbook
              playbook: marker.yml
              extravars: {{token: "{token}", nap: {nap}}}
        """), "    "))


def env(root: Path, known_hosts: Path, **extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("MAINTCTL_")}
    out.update(MAINTCTL_STATE_DIR=str(root / "state"), MAINTCTL_KNOWN_HOSTS=str(known_hosts), **extra)
    return out


def maintctl(root: Path, known_hosts: Path, *args: str, timeout: float = 300,
             **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MAINTCTL, "--estate", str(root), *args], capture_output=True, text=True,
                          timeout=timeout, env=env(root, known_hosts, **extra))


def show(root: Path, known_hosts: Path, run_id: str) -> dict[str, Any]:
    done = maintctl(root, known_hosts, "show", run_id, "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
