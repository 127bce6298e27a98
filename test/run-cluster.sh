#!/usr/bin/env bash
# `npm run test:cluster`: bring up the three-node cluster of
# test/support/cluster.sh, run the vitest project "cluster" (test/cluster/)
# against it, and always bring the cluster down again: when the tests pass,
# fail, or the run is interrupted (Ctrl-C, SIGTERM, SIGHUP).
#
#   npm run test:cluster                          all cluster tests
#   npm run test:cluster -- test/cluster/x.test.ts --reporter=json ...
#                                                 extra arguments go to vitest
#   CLUSTER_KEEP=1 npm run test:cluster           leave the cluster up afterwards
#                                                 (stop it with `bash test/support/cluster.sh down`)
#
# Exit status: vitest's, or 3 (with a message) when the cluster did not come up.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CLUSTER=test/support/cluster.sh

bring_down() {
  trap '' INT TERM HUP # a second Ctrl-C must not leave nodes behind
  if [[ "${CLUSTER_KEEP:-}" == 1 ]]; then
    echo "run-cluster: CLUSTER_KEEP=1, leaving the cluster up (bash $CLUSTER down stops it)" >&2
    return
  fi
  local t=$SECONDS
  bash "$CLUSTER" down || echo "run-cluster: '$CLUSTER down' failed; see its messages above" >&2
  echo "run-cluster: cluster down in $((SECONDS - t)) s" >&2
}
trap bring_down EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

t=$SECONDS
if ! bash "$CLUSTER" up; then
  echo "run-cluster: the three-node cluster did not come up, so no cluster test ran (see the messages above)" >&2
  exit 3
fi
echo "run-cluster: cluster up in $((SECONDS - t)) s" >&2

status=0
npx vitest run --project cluster "$@" || status=$?
exit "$status"
