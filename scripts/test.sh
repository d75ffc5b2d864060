#!/usr/bin/env bash
# Runs the whole test suite: Go vet, the Go tests (race detector on) and the
# differential tests against real Yjs, which need the pinned npm packages,
# and the editor's browser tests in Chromium (/usr/bin/chromium, or
# QUIRE_CHROMIUM; they fail without it).
# Environment:
#   QUIRE_DIFF_SEEDS  number of randomized scenarios checked against Yjs (default 40)
#   QUIRE_FUZZTIME    if set, also runs every fuzz target for that -fuzztime:
#                     a count such as 100000x (a duration such as 10s can fail
#                     spuriously with "context deadline exceeded", go.dev/issue/75804)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# Chromium for the editor's browser tests (static/e2e), from Debian's
# packages when it is missing and apt-get is there (a fresh machine).
if [ -z "${QUIRE_CHROMIUM:-}" ] && ! command -v chromium >/dev/null && command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi

# The editor bundle the binary embeds (static/dist, not committed).
npm run --silent build

go vet ./...
go vet -tags memdiag ./cmd/quire # the diagnostic build of scripts/bench/idle-breakdown.sh
go test -race -count=1 ./...
# The full trace replays are too slow under the race detector; without it
# they check byte-identity with Yjs on every trace in seconds.
go test -count=1 -run 'Trace' ./crdt
# The engine built without assembly (-tags purego), as on every
# architecture but amd64: its loads, goldens and trace replays.
go vet -tags purego ./crdt/...
go test -tags purego -count=1 -run 'Load|ReadItems|Golden|Trace' ./crdt

# The editor in real Chromium against the built binary, and its
# confirmation tracker in Node (about a minute).
node --test --test-concurrency=1 static/e2e/

if [ -n "${QUIRE_FUZZTIME:-}" ]; then
  for pkg in ./crdt/lib0 ./crdt ./sync; do
    for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
      echo "fuzzing $pkg $target for $QUIRE_FUZZTIME"
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$QUIRE_FUZZTIME" "$pkg"
    done
  done
fi
