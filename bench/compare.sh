#!/usr/bin/env bash
# Reproduce the ccos-vs-CPython comparison (see bench/README.md).
#
# Usage: bench/compare.sh [COUNT]     (or COUNT=N bench/compare.sh)
#
# Builds ccos, runs COUNT rounds (default 7) of BenchmarkVsPython, each
# `go test ./bench -run '^$' -bench '^BenchmarkVsPython$' -count 1 -benchtime 1x`
# (one whole process per program and interpreter per round), and writes
#   bench/results/raw.txt        raw `go test -bench` output
#   bench/results/benchstat.txt  benchstat comparison, python as the base
#   bench/results/table.md       medians and ratios computed from raw.txt
# and copies table.md into bench/README.md between the table markers.
set -euo pipefail

count=${1:-${COUNT:-7}}
case $count in
'' | *[!0-9]* | 0) echo "compare.sh: COUNT must be a positive integer, got '$count'" >&2; exit 2 ;;
esac

bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
results=$bench/results
cd "$root"

work=$(mktemp -d "${TMPDIR:-/tmp}/ccos-compare-XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -x /usr/bin/python3 ]; then
	echo "compare.sh: /usr/bin/python3 (Debian's CPython 3) is required" >&2
	exit 1
fi

echo "building ccos..." >&2
go build -o "$work/ccos" ./cmd/ccos

# benchstat: use one on PATH or in GOPATH/bin, else install it into $work.
benchstat=$(command -v benchstat || true)
if [ -z "$benchstat" ] && [ -x "$(go env GOPATH)/bin/benchstat" ]; then
	benchstat=$(go env GOPATH)/bin/benchstat
fi
if [ -z "$benchstat" ]; then
	echo "installing benchstat into a temporary GOBIN..." >&2
	(cd "$work" && GOBIN="$work/bin" GOFLAGS= go install golang.org/x/perf/cmd/benchstat@latest)
	benchstat=$work/bin/benchstat
fi

mkdir -p "$results"
# `go test -count N` would run each sub-benchmark N times back to back (all
# fib/ccos runs, then all fib/python runs, ...), so a burst of other load on
# the machine could land on one interpreter only. Instead run N rounds of
# -count 1: every round runs each program under ccos and then python, and the
# rounds interleave. The output is the same as one -count N run, in a
# different order.
echo "running BenchmarkVsPython, $count rounds (about 5 s each, more under load)..." >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
: >"$work/raw.txt"
for round in $(seq 1 "$count"); do
	echo "round $round/$count" >&2
	CCOS_BENCH_BIN="$work/ccos" go test ./bench -run '^$' -bench '^BenchmarkVsPython$' \
		-count 1 -benchtime 1x -timeout 0 | tee -a "$work/raw.txt"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
cp "$work/raw.txt" "$results/raw.txt"

# benchstat compares files, so split the results into one file per
# interpreter with the interpreter dropped from the benchmark names:
# BenchmarkVsPython/fib/ccos-2 -> BenchmarkVsPython/fib-2 in ccos.txt.
for impl in ccos python; do
	awk -v impl="$impl" '
		/^BenchmarkVsPython\// {
			n = split($1, part, "/")
			last = part[n]; suffix = ""
			if (match(last, /-[0-9]+$/)) { suffix = substr(last, RSTART); last = substr(last, 1, RSTART - 1) }
			if (last != impl) next
			name = part[1]
			for (i = 2; i < n; i++) name = name "/" part[i]
			$1 = name suffix
			print
			next
		}
		/^[a-z]+: / { print }   # goos/goarch/pkg/cpu configuration lines
	' "$work/raw.txt" >"$work/$impl.txt"
done
(cd "$work" && "$benchstat" python=python.txt ccos=ccos.txt) >"$results/benchstat.txt"

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]; then
	commit="$commit (with uncommitted changes)"
fi
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)

{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/compare.sh $count\`:"
	echo "ccos $commit built with $(go env GOVERSION), $(/usr/bin/python3 --version 2>&1) (/usr/bin/python3),"
	echo "$(uname -sm), ${cpu:-unknown CPU}, $(nproc 2>/dev/null || echo '?') CPUs;"
	echo "load average $load_before before and $load_after after the run."
	echo
	go run ./bench/internal/mediantable -in "$results/raw.txt"
	echo
	echo "Ratio ≤ 1.00 (✓) means ccos was at least as fast as CPython. Wall = whole"
	echo "process, median of $count runs; CPU = user+sys time of the process, median."
	echo
	echo "benchstat (python is the base; a negative delta means ccos is faster):"
	echo
	echo '```'
	cat "$results/benchstat.txt"
	echo '```'
} >"$results/table.md"

# Replace the README section between the markers with table.md.
readme=$bench/README.md
if grep -q '<!-- table:start -->' "$readme" && grep -q '<!-- table:end -->' "$readme"; then
	awk -v table="$results/table.md" '
		/<!-- table:start -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
		/<!-- table:end -->/ { skip = 0 }
		!skip { print }
	' "$readme" >"$work/README.md"
	cp "$work/README.md" "$readme"
else
	echo "compare.sh: table markers not found in $readme; README not updated" >&2
fi

echo >&2
cat "$results/table.md"
