#!/bin/bash
# Machine-side keeper of one lab host: boots it in fresh namespaces, and boots it again when the host
# reboots (its init exits 10, or the kernel ended its PID namespace with SIGHUP for a reboot(2) call).
# Any other end (poweroff/halt inside the host, or `lab.sh down`) ends the keeper too.
# usage: keeper.sh NAME HOSTDIR NETNS BOOTSCRIPT
set -u
name=$1 hostdir=$2 netns=$3 boot=$4
boots=0
while :; do
  boots=$((boots + 1))
  echo "booting (boot $boots)" > "$hostdir/state"
  echo "$(date -u +%FT%TZ) keeper: boot $boots of $name"
  ip netns exec "$netns" unshare --mount --pid --uts --ipc --fork --kill-child \
    --propagation private bash "$boot" "$hostdir" "$name"
  rc=$?
  echo "$(date -u +%FT%TZ) keeper: $name init ended with status $rc"
  case $rc in
    10|129) continue ;;           # reboot requested (lab-reboot or reboot(2) inside the PID namespace)
    *) echo "down (status $rc)" > "$hostdir/state"; exit 0 ;;
  esac
done
