#!/usr/bin/env bash
# What one idle connection holds, part by part (README, "Memory per idle
# connection"). Builds Quire with -tags memdiag (cmd/quire/memdiag.go),
# serves on core 0 with GOMAXPROCS=1 and the memory store, opens N idle
# connections with `quire bench idle` on core 1, and reads the runtime's
# memory classes and a heap profile before and while they are open:
#
#   bash scripts/bench/idle-breakdown.sh            # 5,000 connections
#   CONNS=1000 bash scripts/bench/idle-breakdown.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
conns=${CONNS:-5000}
out=$(mktemp -d -t idle-breakdown.XXXXXX)
go build -tags memdiag -o "$out/quire-memdiag" ./cmd/quire
go build -o "$out/quire" ./cmd/quire

# run DIR RATE: one server and one idle bench; snapshots 0 (before) and 1
# (all connected and idle) in DIR.
run() {
	local dir=$1 rate=$2 pid port=
	mkdir -p "$dir"
	QUIRE_MEMDIAG_DIR=$dir QUIRE_MEMDIAG_RATE=$rate taskset -c 0 env GOMAXPROCS=1 "$out/quire-memdiag" serve \
		--addr 127.0.0.1:0 --store memory --max-conns-per-ip -1 >"$dir/server.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		port=$(sed -n 's/.*addr=[0-9.]*:\([0-9]*\).*/\1/p' "$dir/server.log" | head -1)
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { cat "$dir/server.log" >&2; kill "$pid"; exit 1; }
	kill -USR1 "$pid"
	wait_for "$dir/heap.0.pprof"
	taskset -c 1 "$out/quire" bench --url "ws://127.0.0.1:$port/ws" --pid "$pid" --rooms 100 \
		--clients "$conns" --duration 8s --json "$dir/idle.json" idle >/dev/null &
	local bench=$!
	sleep 6 # all connected (about 3 s for 5,000) and idle, before the bench closes them
	kill -USR1 "$pid"
	wait_for "$dir/heap.1.pprof"
	wait "$bench"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}
wait_for() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "no $1" >&2; exit 1; }

run "$out/classes" 0
run "$out/profile" 64

echo "Runtime memory classes, growth per connection (after a GC), $conns connections:"
awk -v n="$conns" 'NR==FNR { a[$1] = $2; next } $1 ~ /goroutines/ { printf "  %-52s %8.2f\n", $1, ($2 - a[$1]) / n; next }
	{ printf "  %-52s %8.2f KB\n", $1, ($2 - a[$1]) / n / 1024 }' \
	"$out/classes/metrics.0.txt" "$out/classes/metrics.1.txt"
echo "RSS growth per connection measured by quire bench: $(sed -n 's/.*"server_bytes_per_conn": \([0-9]*\).*/\1/p' "$out/classes/idle.json") bytes"
echo
echo "Live heap per connection by allocation site (cumulative; a second run, every 64 bytes sampled):"
go tool pprof -sample_index=inuse_space -base "$out/profile/heap.0.pprof" -top -cum -unit B \
	"$out/quire-memdiag" "$out/profile/heap.1.pprof" 2>/dev/null |
	awk -v n="$conns" '$4 ~ /B$/ { v = $4; sub(/B$/, "", v); if (v / n >= 20) printf "  %8.0f B  %s\n", v / n, $6 }' | head -40
echo "(raw files in $out)"
