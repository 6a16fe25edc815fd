#!/usr/bin/env bash
# Runs every benchmark; each prints its ratio against a peer measured in the same run (see RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
LAB=()
if bash tests/lab/lab.sh status >/dev/null 2>&1; then LAB=(--lab); fi
$PY bench/bench_engine.py "${LAB[@]}"
if [ ${#LAB[@]} -gt 0 ]; then $PY bench/bench_patch.py; fi
$PY bench/bench_backup.py
$PY bench/bench_plan.py
$PY bench/bench_certs.py
$PY bench/bench_evidence.py
$PY bench/bench_drift.py --hosts 200 "${LAB[@]}"
