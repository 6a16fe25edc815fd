#!/usr/bin/env bash
# Publish a package version to the lab's apt repository:
#   tests/lab/publish.sh NAME VERSION [--reboot] [--fail] [--security]
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$(readlink -f "$0")")/labctl.py" publish "$@"
