#!/usr/bin/env bash
# The maintctl lab: `lab.sh up [--hosts N]`, `lab.sh down`, `lab.sh status`, `lab.sh ssh HOST`, ...
# Uses the machine's python3 (stdlib only) so that `down` works without the project's venv.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$(readlink -f "$0")")/labctl.py" "$@"
