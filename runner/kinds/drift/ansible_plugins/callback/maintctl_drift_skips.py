"""Ansible callback that records why a task was skipped (ansible-runner's events drop the result).

Written as JSON lines to the file named by ``MAINTCTL_DRIFT_SKIPS``: host, task uuid and the
reason fields of the skipped result. Loaded only by maintctl's drift checks.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.callback import CallbackBase  # type: ignore[import-not-found,unused-ignore]

_FIELDS = ("msg", "skip_reason", "false_condition", "skipped", "changed")


class CallbackModule(CallbackBase):  # type: ignore[misc,unused-ignore]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "maintctl_drift_skips"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, result: Any) -> None:
        path = os.environ.get("MAINTCTL_DRIFT_SKIPS")
        if not path:
            return
        res = result._result
        row = {
            "host": result._host.get_name(),
            "task_uuid": result._task._uuid,
            "res": {k: res[k] for k in _FIELDS if k in res and isinstance(res[k], (str, bool, int))},
        }
        # Results arrive in the controller's main process one at a time: appends do not interleave.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, default=str) + "\n")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._write(result)
