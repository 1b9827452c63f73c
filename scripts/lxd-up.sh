#!/usr/bin/env bash
# Starts (or stops) the LXD daemon for byoci's lxd backend, as in
# ../shared/recipes/lxd-setup.sh: no systemd here, so the daemon is started by hand.
#
#   sudo scripts/lxd-up.sh [start]   # start the daemon if none answers, init, build images
#   sudo scripts/lxd-up.sh stop      # stop the daemon this script started (by its PID)
#
# Environment:
#   LXD_DIR          daemon state dir (default /var/lib/lxd; socket $LXD_DIR/unix.socket)
#   BYOCI_LXD_WORK   logs and the PID file (default /tmp/byoci-lxd)
#   BYOCI_LXD_IMAGES images to build when absent (default "hostusr"; also busybox, debootstrap)
#
# `start` is idempotent: a daemon that already answers is left alone (and not recorded, so
# `stop` will not stop it); `lxd init --preseed` with the same pool answers 0 again; an image
# is only built when its alias is missing.
set -euo pipefail

export LXD_DIR=${LXD_DIR:-/var/lib/lxd}
WORK=${BYOCI_LXD_WORK:-/tmp/byoci-lxd}
IMAGES=${BYOCI_LXD_IMAGES:-hostusr}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PIDFILE="$WORK/lxd.pid"

answers() { lxc query /1.0 >/dev/null 2>&1; }
# The PID file names a daemon this script started only if that PID is still an lxd process.
ours() { [ -s "$PIDFILE" ] && [ "$(cat "/proc/$(cat "$PIDFILE")/comm" 2>/dev/null)" = lxd ]; }

start() {
  mkdir -p "$WORK" "$LXD_DIR"
  if answers; then
    ours || rm -f "$PIDFILE"
    echo "lxd-up: a daemon already answers on $LXD_DIR/unix.socket"
  else
    sysctl -qw fs.inotify.max_user_instances=1024 2>/dev/null || true
    # The proxy variables make LXD's start-up fetch of the image index fail at once on a
    # closed loopback port instead of leaving the machine.
    https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 \
      setsid lxd --group lxd --logfile="$WORK/lxd.log" >"$WORK/lxd.out" 2>&1 </dev/null &
    echo $! > "$PIDFILE"
    echo "lxd-up: started lxd, PID $(cat "$PIDFILE")"
    if ! lxd waitready --timeout=60; then
      echo "lxd-up: the daemon did not become ready; its log:" >&2
      tail -n 30 "$WORK/lxd.log" "$WORK/lxd.out" >&2 || true
      exit 1
    fi
  fi
  lxd init --preseed <<'EOF'
config: {}
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  devices:
    root:
      path: /
      pool: default
      type: disk
EOF
  for image in $IMAGES; do
    if lxc image info "$image" >/dev/null 2>&1 && lxc image get-property "$image" byoci.recipe >/dev/null 2>&1; then
      echo "lxd-up: image $image is there"
    else
      echo "lxd-up: building image $image"
      (cd "$ROOT" && node --import tsx scripts/lxd-image.ts build "$image")
    fi
  done
}

stop() {
  if ! ours; then
    rm -f "$PIDFILE"
    echo "lxd-up: no running daemon started by this script (see $PIDFILE)"
    return 0
  fi
  local pid; pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    lxd shutdown --timeout 60 || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 140); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then echo "lxd-up: PID $pid still running after shutdown" >&2; return 1; fi
  fi
  nft delete table inet lxd 2>/dev/null || true
  rm -f "$PIDFILE"
  echo "lxd-up: stopped lxd (PID $pid)"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
