#!/usr/bin/env bash
# The libFuzzer targets of fuzz/ (docs/RELIABILITY.md section 9).
#
#   scripts/fuzz.sh run SECONDS [TARGET...]   build build-fuzz/ (clang-14, ASan + UBSan) and run
#       each target for SECONDS on its committed corpus fuzz/corpus/<target>/ plus the inputs
#       found so far in build-fuzz/corpus/<target>/; exit 1 when any target crashes, leaks or
#       trips a sanitizer (the input is kept in build-fuzz/artifacts/).
#   scripts/fuzz.sh coverage [TARGET...]      build build-fuzz-cov/ (source-based coverage) and
#       report the lines each target reaches on its corpora (llvm-cov-14).
#
# Every target prints one summary line: executions, libFuzzer's cov: (edges) and ft: (features)
# at the end, the corpus size.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
shift || true
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
COV_BUILD=${COV_BUILD:-build-fuzz-cov}
JOBS=${JOBS:-2}

targets() {
	if [ $# -gt 0 ]; then printf '%s\n' "$@"; return; fi
	for f in fuzz/fuzz_*.c; do basename "$f" .c; done
}

build() { # dir, extra cmake flags...
	local dir=$1
	shift
	CC=clang-14 cmake -S . -B "$dir" -DKOPILKA_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j"$JOBS" >/dev/null
}

case "$mode" in
run)
	seconds=${1:?usage: scripts/fuzz.sh run SECONDS [TARGET...]}
	shift
	build "$FUZZ_BUILD"
	mkdir -p "$FUZZ_BUILD/artifacts"
	failed=()
	for t in $(targets "$@"); do
		work="$FUZZ_BUILD/corpus/$t"
		log="$FUZZ_BUILD/$t.log"
		mkdir -p "$work" "fuzz/corpus/$t"
		# New inputs go to the first directory (the work corpus), the committed one is read.
		# -rss_limit_mb: Argon2id's 64 MiB and ASan's quarantine stay well under it.
		rc=0
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
			"$FUZZ_BUILD/$t" -max_total_time="$seconds" -print_final_stats=1 \
			-rss_limit_mb=4096 -timeout=25 -artifact_prefix="$FUZZ_BUILD/artifacts/$t-" \
			"$work" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
		cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
		ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
		corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$done_line")
		printf 'fuzz %-16s %5ss execs=%-9s cov=%-5s ft=%-6s corpus=%s rc=%s\n' "$t" \
			"$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$rc"
		if [ "$rc" -ne 0 ]; then
			failed+=("$t")
			grep -E 'ERROR|runtime error|SUMMARY|Test unit written|deadly signal' "$log" | head -20 >&2 || true
		fi
	done
	if [ ${#failed[@]} -gt 0 ]; then
		echo "fuzz: FAILED: ${failed[*]} (logs in $FUZZ_BUILD/<target>.log)" >&2
		exit 1
	fi
	;;
coverage)
	build "$COV_BUILD" -DKOPILKA_FUZZ_COVERAGE=ON
	for t in $(targets "$@"); do
		prof="$COV_BUILD/$t.profraw"
		dirs=("fuzz/corpus/$t")
		[ -d "$FUZZ_BUILD/corpus/$t" ] && dirs+=("$FUZZ_BUILD/corpus/$t")
		LLVM_PROFILE_FILE="$prof" "$COV_BUILD/$t" -runs=0 "${dirs[@]}" >"$COV_BUILD/$t.log" 2>&1
		llvm-profdata-14 merge -sparse "$prof" -o "$COV_BUILD/$t.profdata"
		# The lines of src/ the target reaches (the harness in fuzz/ left out).
		llvm-cov-14 report "$COV_BUILD/$t" -instr-profile="$COV_BUILD/$t.profdata" \
			-ignore-filename-regex='/fuzz/(fuzz_[a-z_]+|app)\.c$|openapi_blob' >"$COV_BUILD/$t.report"
		lines=$(grep '^TOTAL' "$COV_BUILD/$t.report" | awk '{printf "%s lines, %s covered (%s)", $8, $8-$9, $10}')
		printf 'coverage %-16s %s\n' "$t" "$lines"
		# Per file of src/ (paths relative to it) the target reaches.
		awk '$1 ~ /\.c$/ && $10 != "0.00%" {printf "    %-28s lines %5s missed %5s  %s\n", $1, $8, $9, $10}' "$COV_BUILD/$t.report"
	done
	;;
*)
	echo "usage: scripts/fuzz.sh run SECONDS [TARGET...] | coverage [TARGET...]" >&2
	exit 2
	;;
esac
