#!/usr/bin/env bash
# Installs the Debian packages the lab, the demo and the tests need. Idempotent: a
# second run with everything present only checks and returns.
set -euo pipefail
PKGS=(openssh-server openssh-client nginx-light postgresql postgresql-client restic pebble
      dpkg-dev iproute2 iptables procps psmisc util-linux openssl curl ca-certificates
      python3 python3-apt dnsmasq-base gnupg gpg-agent)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system: missing packages ${missing[*]}; run as root to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Services must not start on the machine itself: the lab starts its own copies inside namespaces.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
