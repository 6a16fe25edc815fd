"""The backup kind: restic and PostgreSQL backups, AWS snapshots, and restore verification."""
