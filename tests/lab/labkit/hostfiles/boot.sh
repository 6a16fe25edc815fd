#!/bin/bash
# Runs as PID 1 of a lab host's fresh mount/PID/UTS/IPC namespaces (already inside its network namespace):
# mounts the host's overlay over the machine's root, gives it its own /proc, /sys (read-only), /dev, /run
# and /tmp, pivots into it and hands over to the host's init. Nothing here is visible to the machine.
# usage: boot.sh HOSTDIR NAME
set -euo pipefail
hostdir=$1 name=$2
m=$hostdir/merged
mount --make-rprivate /
for i in 1 2 3 4 5 6 7 8 9 10; do
  # A previous boot's overlay may still be going away (namespace teardown is asynchronous).
  if mount -t overlay "lab-$name" -o "lowerdir=/,upperdir=$hostdir/upper,workdir=$hostdir/work" "$m"; then
    break
  fi
  [ "$i" = 10 ] && { echo "boot: cannot mount the overlay of $name" >&2; exit 1; }
  sleep 0.3
done
mount -t proc -o nosuid,nodev,noexec proc "$m/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$m/sys"
mount -t tmpfs -o mode=755,nosuid,nodev,size=256m tmpfs "$m/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$m/tmp"
mount -t tmpfs -o mode=755,nosuid,size=8m tmpfs "$m/dev"
d=$m/dev
mknod -m 666 "$d/null" c 1 3; mknod -m 666 "$d/zero" c 1 5; mknod -m 666 "$d/full" c 1 7
mknod -m 666 "$d/random" c 1 8; mknod -m 666 "$d/urandom" c 1 9; mknod -m 666 "$d/tty" c 5 0
mkdir -m 755 "$d/pts"; mkdir -m 1777 "$d/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts "$d/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$d/shm"
ln -s pts/ptmx "$d/ptmx"; ln -s /proc/self/fd "$d/fd"
ln -s /proc/self/fd/0 "$d/stdin"; ln -s /proc/self/fd/1 "$d/stdout"; ln -s /proc/self/fd/2 "$d/stderr"
mkdir -p "$m/run/lock" "$m/run/sshd"
chmod 1777 "$m/run/lock"
# A boot id of the host's own, so `cat /proc/sys/kernel/random/boot_id` (Ansible's reboot check) changes
# on every lab reboot; the machine's kernel interfaces that could reboot or reconfigure it are masked.
cat /proc/sys/kernel/random/uuid > "$m/run/lab-boot-id"
date -u +%s > "$m/run/lab-boot-time"
mount --bind "$m/proc/sys" "$m/proc/sys"
mount -o remount,bind,ro "$m/proc/sys"
mount --bind "$m/run/lab-boot-id" "$m/proc/sys/kernel/random/boot_id"
for p in sysrq-trigger kcore keys timer_list; do
  [ -e "$m/proc/$p" ] && mount --bind /dev/null "$m/proc/$p"
done
for p in irq bus fs; do
  [ -d "$m/proc/$p" ] && mount --bind "$m/proc/$p" "$m/proc/$p" && mount -o remount,bind,ro "$m/proc/$p"
done
hostname "$name"
cd "$m"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
cd /
# The host's root keeps what services and playbooks need (kill, mount, chown, bind ports) but may not
# call reboot(2) (the lab's reboot/shutdown commands ask this host's init instead), load kernel modules,
# set the machine's clock, do raw I/O or make device nodes.
exec setpriv --bounding-set -sys_boot,-sys_module,-sys_time,-sys_rawio,-mknod,-syslog,-wake_alarm,-block_suspend,-mac_admin,-mac_override \
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
  /usr/bin/python3 -I /usr/local/sbin/lab-init
