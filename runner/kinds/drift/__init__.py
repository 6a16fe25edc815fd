"""Drift checks: compare declared state (playbooks in check mode, AWS baselines) with live state.

Pure parts (classification, AWS comparison, waivers, report formats) are separate from the parts
that talk to the world (ansible-runner, boto3), so each can be tested with data alone.
"""
