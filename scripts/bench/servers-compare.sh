#!/usr/bin/env bash
# Quire against @y/websocket-server and @hocuspocus/server, side by side in
# one run, driven by `quire bench` (loadtest/). Each server runs on
# loopback, in memory, pinned to core 0 with taskset; the load generator is
# pinned to core 1. Quire runs twice: GOMAXPROCS=1 on core 0 like the Node
# servers, and GOMAXPROCS=2 on both cores (sharing core 1 with the load
# generator). Every scenario gets a fresh server process, so that memory
# figures start from the same point. Cold load (documents on disk, restart)
# runs against Quire only: the reference servers keep documents in memory.
# Every client comes from 127.0.0.1, so Quire's per-address connection
# limit (issue 5; the reference servers have none) is lifted. Join storms
# wait 16 s after seeding before reading memory (every server alike), so
# that the documents are idle: Quire lets documents idle for 10 s
# hibernate as their encoded state.
#
#   scripts/bench/servers-compare.sh          # ~8 minutes on 2 cores
#   QUICK=1 scripts/bench/servers-compare.sh  # smaller loads, ~1 minute
#
# Prints a markdown table with ratios and targets (issue 6); the JSON of
# every run is kept in $OUT_DIR (default: a fresh temporary directory).
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT_DIR:-$(mktemp -d -t servers-compare.XXXXXX)}
mkdir -p "$out"
log() { printf '+ %s\n' "$*" >&2; }

servers_dir=scripts/bench/servers
if [ ! -f "$servers_dir/node_modules/.package-lock.json" ] || [ "$servers_dir/package-lock.json" -nt "$servers_dir/node_modules/.package-lock.json" ]; then
	log npm ci in $servers_dir
	(cd "$servers_dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || exit 1
fi
log go build
go build -o "$out/quire" ./cmd/quire || exit 1

if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	server_core=0 both_cores=0,1 loadgen_core=1
	pin() { taskset -c "$1" "${@:2}"; }
else
	log "fewer than 2 cores or no taskset: running unpinned"
	pin() { "${@:2}"; }
	server_core= both_cores= loadgen_core=
fi

# Scenarios: name, then `quire bench` flags. QUICK shrinks them.
if [ -n "${QUICK:-}" ]; then
	hot="--rooms 1 --clients 30 --senders 10 --duration 2s"
	scenarios=(
		"hot-1600|fan-out $hot --rate 160"
		"hot-3200|fan-out $hot --rate 320"
		"fanout-200x5|fan-out --rooms 40 --clients 5 --senders 2 --rate 5 --duration 3s"
		"idle|idle --rooms 20 --clients 500 --duration 1s"
		"join-storm|join-storm --rooms 20 --clients 50 --settle 16s"
	)
	cold="--rooms 20 --clients 50"
else
	hot="--rooms 1 --clients 100 --senders 10 --duration 5s"
	scenarios=(
		"hot-1600|fan-out $hot --rate 160"
		"hot-3200|fan-out $hot --rate 320"
		"fanout-200x5|fan-out --rooms 200 --clients 5 --senders 2 --rate 5 --duration 10s"
		"idle|idle --rooms 100 --clients 5000 --duration 3s"
		"join-storm|join-storm --rooms 100 --clients 200 --settle 16s"
	)
	cold="--rooms 100 --clients 200"
fi

srv_pid= srv_port=
# start LABEL CORES CMD...: starts a server whose first output line is
# "listening PORT" (Node wrappers) or a slog line with addr=HOST:PORT.
# Each start has a log of its own, so that no earlier port is read.
starts=0
start() {
	local label=$1 cores=$2
	shift 2
	starts=$((starts + 1))
	local logf="$out/$label.$starts.server.log"
	: >"$logf"
	# Started directly (not through a function), so that $! is the
	# server's own PID: taskset execs the command.
	if [ -n "$cores" ]; then
		taskset -c "$cores" "$@" >"$logf" 2>&1 &
	else
		"$@" >"$logf" 2>&1 &
	fi
	srv_pid=$!
	srv_port=
	for _ in $(seq 100); do
		srv_port=$(sed -n -e 's/^listening \([0-9]*\).*/\1/p' -e 's/.*addr=[0-9.]*:\([0-9]*\).*/\1/p' "$logf" | head -1)
		[ -n "$srv_port" ] && return 0
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	log "server $label did not start:"; cat "$logf" >&2
	return 1
}
stop() {
	kill -TERM "$srv_pid" 2>/dev/null
	for _ in $(seq 150); do
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	srv_pid=
}
trap '[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null' EXIT

# bench LABEL SCENARIO URL PROTOCOL FLAGS...
bench() {
	local label=$1 scen=$2 url=$3 proto=$4
	shift 4
	log "$label $scen: quire bench $* (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	pin "$loadgen_core" "$out/quire" bench --url "$url" --protocol "$proto" --label "$label" --pid "$srv_pid" \
		--json "$out/$label.$scen.json" "$@" >"$out/$label.$scen.txt" 2>&1 || { log "failed:"; cat "$out/$label.$scen.txt" >&2; }
}

run_server() {
	local label=$1 proto=$2 path=$3 cores=$4
	shift 4
	for s in "${scenarios[@]}"; do
		local name=${s%%|*} flags=${s#*|}
		start "$label" "$cores" "$@" || return 1
		# shellcheck disable=SC2086
		bench "$label" "$name" "ws://127.0.0.1:$srv_port$path" "$proto" $flags
		stop
	done
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
run_server y-websocket-server y-websocket "" "$server_core" node "$servers_dir/y-websocket-server.mjs"
run_server hocuspocus hocuspocus "" "$server_core" node "$servers_dir/hocuspocus-server.mjs"
run_server quire-1 y-websocket /ws "$server_core" env GOMAXPROCS=1 "$out/quire" serve --addr 127.0.0.1:0 --store memory --max-conns-per-ip -1
run_server quire-2 y-websocket /ws "$both_cores" env GOMAXPROCS=2 "$out/quire" serve --addr 127.0.0.1:0 --store memory --max-conns-per-ip -1

# Cold load: seed documents into a bbolt file, restart, join.
for g in 1 2; do
	cores=$server_core
	[ "$g" = 2 ] && cores=$both_cores
	rm -rf "$out/data-$g"
	start quire-$g "$cores" env GOMAXPROCS=$g "$out/quire" serve --addr 127.0.0.1:0 --data-dir "$out/data-$g" --max-conns-per-ip -1 || continue
	# shellcheck disable=SC2086
	bench quire-$g seed "ws://127.0.0.1:$srv_port/ws" y-websocket --prefix cold $cold seed
	stop
	start quire-$g "$cores" env GOMAXPROCS=$g "$out/quire" serve --addr 127.0.0.1:0 --data-dir "$out/data-$g" --max-conns-per-ip -1 || continue
	# shellcheck disable=SC2086
	bench quire-$g cold-load "ws://127.0.0.1:$srv_port/ws" y-websocket --prefix cold $cold cold-load
	stop
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

log "results in $out"
node scripts/bench/servers-table.mjs "$out" \
	--meta "$(date -u +%F), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(go version | cut -d' ' -f3), Node $(node --version); load average before $LOAD_BEFORE, after $LOAD_AFTER"
