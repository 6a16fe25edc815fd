#!/usr/bin/env bash
# `make demo`: start the lab, run the example catalogue end to end against its real hosts, and
# verify the evidence offline with the exported public key. Leaves the lab up (make lab-down).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"

say() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }
# Commands whose non-zero exit is the point of the step (drift found: 2).
expect() { local want=$1; shift; printf '\033[2m$ %s\033[0m\n' "$*"; set +e; "$@"; local rc=$?; set -e
  [ "$rc" -eq "$want" ] || { echo "demo: expected exit $want from '$*', got $rc" >&2; exit 1; }; }

say "Starting the lab: web1, web2, db1 as real hosts (network namespaces, sshd, nginx, PostgreSQL)"
bash tests/lab/lab.sh up
# shellcheck disable=SC1091
. tests/lab/run/env
export MAINTCTL_KNOWN_HOSTS="$LAB_KNOWN_HOSTS"
# The restic repository lives in the lab's S3 as long as the lab does: keep its password beside it.
pwfile="$LAB_RUN_DIR/secrets/demo_restic_password"
if [ ! -s "$pwfile" ]; then
  (umask 077; head -c 18 /dev/urandom | base64 > "$pwfile")
  # A new password needs a new repository: empty the demo's bucket in the lab's S3.
  python - <<'PY'
import boto3
s3 = boto3.resource("s3")
bucket = s3.Bucket("maintctl-backups")
if bucket.creation_date:
    bucket.objects.all().delete()
PY
fi
export RESTIC_PASSWORD="${RESTIC_PASSWORD:-$(cat "$pwfile")}"
# A fresh state folder per demo: the evidence verified at the end is exactly this demo's.
export MAINTCTL_STATE_DIR="$ROOT/.maintctl/demo-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p -m 0700 "$MAINTCTL_STATE_DIR"

say "Validate the catalogue"
run maintctl validate

say "Plan: the next occurrences around the year-end freeze"
run maintctl plan --from 2026-12-10 --to 2027-01-20

say "Patch: publish updates in the lab repository, scan, then roll them out (web1 is the canary)"
v="1.$(date +%s)"
run bash tests/lab/publish.sh lab-security "$v" --security
run bash tests/lab/publish.sh lab-tool "$v"
run maintctl patch scan patch-web
run maintctl run patch-web --force --reason "demo: security updates"
run maintctl patch status

say "Backup: restic + pg_dump into S3 (moto), then a verified restore into a scratch database"
run maintctl run backup-db --force --reason "demo: nightly backup"
run maintctl backup restore-test backup-db
run maintctl backup list

say "Certificates: scan what is served, renew through ACME (pebble), deploy, prove it is served"
run maintctl certs scan
run maintctl run certs-web --force --reason "demo: renew"

say "Drift: in sync, then a hand edit on web2 is found (exit 2), remediated, and in sync again"
expect 0 maintctl drift drift-web
run bash tests/lab/lab.sh exec web2 sh -c 'echo "# edited by hand" >> /etc/app/app.conf'
expect 2 maintctl drift drift-web
run maintctl drift drift-web --remediate --force --reason "demo: undo a hand edit"
expect 0 maintctl drift drift-web

say "What happened: runs, change records, evidence"
run maintctl runs
run maintctl changes list
run maintctl evidence list

say "Verify the evidence offline with the exported public key"
maintctl evidence pubkey > "$MAINTCTL_STATE_DIR/evidence-pubkey.pem"
run maintctl evidence verify --pubkey "$MAINTCTL_STATE_DIR/evidence-pubkey.pem"

say "Demo complete. State and evidence: $MAINTCTL_STATE_DIR. The lab is still up: make lab-down stops it."
