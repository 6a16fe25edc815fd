#!/usr/bin/env bash
# `make demo`: start the lab, run the example catalogue end to end against its real hosts, and
# verify the evidence offline with the exported public key. Leaves the lab up (make lab-down).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"

say() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

say "Starting the lab: web1, web2, db1 as real hosts (network namespaces, sshd, nginx, PostgreSQL)"
bash tests/lab/lab.sh up
# shellcheck disable=SC1091
. tests/lab/run/env
export MAINTCTL_KNOWN_HOSTS="$LAB_KNOWN_HOSTS"
# The restic repository lives in the lab's S3 as long as the lab does: keep its password beside it.
pwfile="$LAB_RUN_DIR/secrets/demo_restic_password"
[ -s "$pwfile" ] || (umask 077; head -c 18 /dev/urandom | base64 > "$pwfile")
# The example plans' repositories start empty in every demo (tests may have used them with their own
# password): empty the bucket in the lab's S3.
python - <<'PY'
import boto3
bucket = boto3.resource("s3").Bucket("maintctl-backups")
if bucket.creation_date:
    bucket.objects.all().delete()
PY
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

say "Drift: a hand edit on web2 is found with its diff, remediated, and gone again"
# The example playbook has a shell task check mode cannot evaluate: it stays "unknown" (exit 2),
# never "in sync". What changes between the steps is the number of drifted findings.
drifted() { local want=$1 out; printf '\033[2m$ maintctl drift drift-web\033[0m\n'
  out=$(maintctl drift drift-web || true); printf '%s\n' "$out"
  grep -q "($want drifted" <<<"$out" || { echo "demo: expected $want drifted finding(s)" >&2; exit 1; }; }
drifted 0
run bash tests/lab/lab.sh exec web2 sh -c 'echo "# edited by hand" >> /etc/app/app.conf'
drifted 1
printf '\033[2m$ maintctl drift drift-web --remediate --force --reason "demo: undo a hand edit"\033[0m\n'
rc=0; maintctl drift drift-web --remediate --force --reason "demo: undo a hand edit" || rc=$?
[ "$rc" -le 2 ] || { echo "demo: remediation failed (exit $rc)" >&2; exit 1; }
drifted 0

say "What happened: runs, change records, evidence"
run maintctl runs
run maintctl changes list
run maintctl evidence list

say "Verify the evidence offline with the exported public key"
maintctl evidence pubkey > "$MAINTCTL_STATE_DIR/evidence-pubkey.pem"
run maintctl evidence verify --pubkey "$MAINTCTL_STATE_DIR/evidence-pubkey.pem"

say "Demo complete. State and evidence: $MAINTCTL_STATE_DIR. The lab is still up: make lab-down stops it."
