# Sourced by .ci/run (bash, set -euo pipefail): the LXD daemon for the lxd backend's tests.
# .ci/run has installed lxd/lxd-client; this starts the daemon as in
# ../shared/recipes/lxd-setup.sh (proxy-env trick, waitready, idempotent preseed) and builds
# the hostusr image when it is missing. The daemon is stopped (lxd shutdown, then its PID is
# awaited) when .ci/run exits; a daemon that was already running is left alone.
export BYOCI_LXD_WORK=${BYOCI_LXD_WORK:-/tmp/byoci-lxd-ci}
CLEANUP+=("scripts/lxd-up.sh stop")
scripts/lxd-up.sh start
