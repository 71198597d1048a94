#!/usr/bin/env bash
# Instructions per page under callgrind, the noise-free companion of the timed table (a shared
# machine makes wall times noisy; instruction counts are not). GOGC=off keeps garbage collection,
# whose timing varies from run to run, out of the counts. For each codec, op and mode it runs
# libtiffbench -just with 8 and 16 pages and reports (I16 - I8) / 8, so set-up cancels out.
# Usage: internal/libtiffbench/callgrind.sh [modes...]   (run from the repository root)
set -euo pipefail
command -v valgrind >/dev/null || { echo "valgrind not installed: skipping instruction counts"; exit 0; }
bin=$(mktemp -d)/libtiffbench
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -tags libtiff -o "$bin" ./internal/libtiffbench
modes=("${@:-MH MR2 MR4 MMR}")
count() { # mode just n
	GOGC=off GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$bin" -data testdata/g3/ccitt8 -modes "$1" -just "$2" -n "$3" 2>&1 | awk '/Collected/ {print $4}'
}
per_page() { # mode just [divisor]
	local a b
	a=$(count "$1" "$2" 8)
	b=$(count "$1" "$2" 16)
	echo $(( (b - a) / 8 / ${3:-1} ))
}
echo "| op | mode | libtiff Minstr/page | g3 Minstr/page | g3/libtiff |"
echo "|---|---|---|---|---|"
for m in ${modes[@]}; do
	for op in decode encode; do
		# libtiffbench's libtiff decode runs TIFFReadEncodedStrip twice per page (warm-up + timed).
		div=1; [ "$op" = decode ] && div=2
		lt=$(per_page "$m" "libtiff/$op" $div)
		g=$(per_page "$m" "g3/$op")
		awk -v op="$op" -v m="$m" -v lt="$lt" -v g="$g" 'BEGIN { printf "| %s | %s | %.2f | %.2f | %.2fx |\n", op, m, lt/1e6, g/1e6, g/lt }'
	done
done
