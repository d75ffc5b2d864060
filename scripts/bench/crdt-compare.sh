#!/usr/bin/env bash
# Side-by-side speed and memory of Quire's crdt engine and Yjs on real
# editing traces (testdata/traces, CC BY 4.0; see the README there).
#
#   scripts/bench/crdt-compare.sh            # full run, ~3-4 minutes on 2 cores
#   QUICK=1 scripts/bench/crdt-compare.sh    # one sample per heavy scenario
#   LOAD_ROUNDS=N                            # rounds of the B4 load (default 7, QUICK 3)
#
# Runs the Go benchmarks of crdt/bench_test.go and scripts/bench/yjs-bench.mjs
# one after the other (never in parallel, so they do not compete for CPU),
# with rounds of the B4 load where the two take turns, then prints a
# markdown table: benchmark | Yjs | Quire | ratio (Yjs/Quire).
# Raw outputs are kept in $OUT_DIR (default: a fresh temporary directory).
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT_DIR:-$(mktemp -d -t crdt-compare.XXXXXX)}
mkdir -p "$out"

quick=${QUICK:-}
if [ -n "$quick" ]; then
	heavy_count=1 light_count=2 conc_count=1 mem_count=1 yjs_flags=--quick load_rounds=3
else
	heavy_count=3 light_count=5 conc_count=3 mem_count=3 yjs_flags= load_rounds=7
fi
load_rounds=${LOAD_ROUNDS:-$load_rounds}

log() { printf '+ %s\n' "$*" >&2; }

if [ ! -d node_modules/yjs ]; then
	log npm ci
	npm ci --no-audit --no-fund >&2 || npm install --no-audit --no-fund >&2 || exit 1
fi

loadavg() { cut -d' ' -f1 /proc/loadavg 2>/dev/null; }
LOADAVG="$(loadavg)"

log go test -c -o "$out/crdt.test" ./crdt
go test -c -o "$out/crdt.test" ./crdt || exit 1

# The test binary runs in crdt/ so that ../testdata/traces resolves.
run_go() {
	log "(cd crdt && crdt.test $*)"
	(cd crdt && "$out/crdt.test" "$@")
}

# Correctness first: replays checked against endContent, and digests of
# the updates produced, compared with Yjs's below.
run_go -test.run '^(TestTraceReplay|TestConcurrentTraceReplay)$' -test.v >"$out/go-digest.txt" 2>&1
grep -E -- '--- FAIL|trace_test.go' "$out/go-digest.txt" >&2

{
	# Heavy: one whole trace replay per sample.
	run_go -test.run '^$' -test.benchmem -test.bench '^Benchmark(B4|Seph)(Local|Remote)$' \
		-test.benchtime 1x -test.count "$heavy_count"
	run_go -test.run '^$' -test.benchmem -test.bench '^BenchmarkConcurrent' \
		-test.benchtime 5x -test.count "$conc_count"
	# Light: milliseconds per op.
	run_go -test.run '^$' -test.benchmem -test.bench '^Benchmark(B4|Seph)(Load|Encode)$' \
		-test.benchtime 20x -test.count "$light_count"
	run_go -test.run '^$' -test.bench '^Benchmark(B4|Seph)Memory$' \
		-test.benchtime 2x -test.count "$mem_count"
} 2>&1 | tee "$out/go-bench.txt" >&2

LOADAVG="$LOADAVG $(loadavg)"

# Load rounds: a load takes milliseconds, so a slower minute of a shared
# machine moves its figure more than the difference between two builds.
# So after timing its B4 load, yjs-bench.mjs waits, and Go and Yjs take
# turns: round after round, each times the B4 load on the same machine
# within seconds of the other, Yjs in the very process (warmed up, same
# heap) its B4 load figure came from. The table reports the median of
# the rounds' ratios. (Go times 100 loads a round, so that its garbage
# collector runs a few dozen times in each, as V8's does in Yjs's 25.)
rm -f "$out/cmd" "$out/res"
mkfifo "$out/cmd" "$out/res" || exit 1
: >"$out/load-rounds-go.txt"
: >"$out/load-rounds-yjs.jsonl"
log node --expose-gc scripts/bench/yjs-bench.mjs $yjs_flags --rounds "$out"
node --expose-gc scripts/bench/yjs-bench.mjs $yjs_flags --rounds "$out" >"$out/yjs.json" &
yjs_pid=$!
exec 3<>"$out/res" # (read and write: opening does not wait for node)
if ! read -r -t 900 -u 3 ready || [ "$ready" != ready ]; then
	echo "yjs-bench.mjs did not reach its load rounds" >&2
	kill "$yjs_pid" 2>/dev/null
	exit 1
fi
for round in $(seq "$load_rounds"); do
	log "load round $round of $load_rounds"
	run_go -test.run '^$' -test.benchmem -test.bench '^BenchmarkB4Load$' -test.benchtime 100x -test.count 1 \
		>>"$out/load-rounds-go.txt" 2>&1
	echo load >"$out/cmd"
	read -r -t 300 -u 3 line || { kill "$yjs_pid" 2>/dev/null; exit 1; }
	echo "$line" >>"$out/load-rounds-yjs.jsonl"
done
echo done >"$out/cmd"
exec 3<&-
wait "$yjs_pid" || exit 1

LOADAVG="$LOADAVG $(loadavg)"
if [ "$(awk '{print ($1 > 1.5)}' /proc/loadavg 2>/dev/null)" = 1 ]; then
	echo "warning: load average $(loadavg) on $(nproc) cores: other processes compete for the CPU; timings are noisy" >&2
fi
echo
LOADAVG="$LOADAVG" node scripts/bench/crdt-table.mjs "$out/go-bench.txt" "$out/go-digest.txt" "$out/yjs.json" \
	"$out/load-rounds-go.txt" "$out/load-rounds-yjs.jsonl"
echo
echo "Raw outputs: $out"
