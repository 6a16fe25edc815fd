"""Patch windows: baselines, scans and rolling installs of OS updates (apt and dnf)."""
