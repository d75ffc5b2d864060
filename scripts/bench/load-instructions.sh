#!/usr/bin/env bash
# Instructions per B4 load in the engine's own code (package crdt), as
# cachegrind counts them: a measure that stays put on a shared machine
# where timings move by a third from one minute to the next.
#
#   bash scripts/bench/load-instructions.sh          # this tree
#   bash scripts/bench/load-instructions.sh REV      # REV (a temporary worktree), then this tree
#
# Runs BenchmarkB4Load for 1 load and for 11 under valgrind, with GOGC=off
# so that the collector's work (which depends on timing) stays out, and
# prints a tenth of the difference: per function of package crdt, most
# first, then the total. Needs valgrind (apt-get install valgrind); takes
# a few minutes per tree, most of it building the fixture under valgrind.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v valgrind >/dev/null && command -v cg_annotate >/dev/null || {
	echo "load-instructions.sh needs valgrind (apt-get install valgrind)" >&2
	exit 1
}
work=$(mktemp -d -t load-instr.XXXXXX)
trap 'git -C "$root" worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# count DIR LABEL: per-load instructions of the crdt package built from DIR.
count() {
	local dir=$1 label=$2
	(cd "$dir/crdt" && go test -c -o "$work/$label.test" .)
	for n in 1 11; do
		(cd "$dir/crdt" && GOGC=off valgrind --tool=cachegrind --cache-sim=no \
			--cachegrind-out-file="$work/$label.$n.out" "$work/$label.test" \
			-test.run '^$' -test.bench '^BenchmarkB4Load$' -test.benchtime "${n}x" >/dev/null 2>&1)
		cg_annotate --threshold=0 "$work/$label.$n.out" 2>/dev/null |
			grep -E '^ *[0-9,]+ \(' | grep 'quire/crdt' | sed 's/( *[0-9.]*%)//g' | tr -d ',' |
			awk '{print $NF, $1}' >"$work/$label.$n.txt"
	done
	echo "== $label: instructions per load in package crdt (cachegrind, (11 loads - 1 load) / 10)"
	awk 'NR == FNR { a[$1] = $2; next } { d = ($2 - a[$1]) / 10; t += d; if (d >= 50000 && $1 ~ /:/) printf "%10d  %s\n", d, $1 }
		END { printf "%10d  total\n", t }' "$work/$label.1.txt" "$work/$label.11.txt" |
		sed "s|$dir/||; s|github.com/quirehq/quire/||" | sort -rn | head -16
}

if [ $# -ge 1 ]; then
	git -C "$root" worktree add --detach -q "$work/tree" "$1"
	count "$work/tree" "$1"
fi
count "$root" HEAD
