"""labkit: builds and tears down the maintctl lab (hosts in namespaces, apt repo, moto, pebble, DNS).

Runs with the machine's own python3 (stdlib only) so that `lab.sh down` works without the venv.
"""
