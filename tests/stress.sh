#!/usr/bin/env bash
# Run the test suite N times in a row while a second copy of it runs beside it, to find tests
# that only fail under load (a test that waits for time instead of for a condition).
#
#   tests/stress.sh [N] [pytest arguments...]      N defaults to 5; arguments default to the suite
#
# The copy beside restarts whenever it finishes, so every one of the N runs shares the cores with
# it. Each run's log is kept under a temporary directory (printed at the end) and each failing
# test is named. The exit status is 0 only if all N runs passed; failures in the copy beside are
# reported too, because they happened under the same load. CPU heavy: two pytest processes.
set -u

runs=${1:-5}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.." || exit 2
python=${PYTHON:-python}
# No shared cache directory between the copies; -q keeps the logs short.
pytest_args=(-q -p no:cacheprovider "$@")
logs=$(mktemp -d "${TMPDIR:-/tmp}/glm-tui-stress.XXXXXX")

beside() {
    local round=0
    while [ ! -e "$logs/stop" ]; do
        round=$((round + 1))
        "$python" -m pytest "${pytest_args[@]}" >"$logs/beside-$round.log" 2>&1
        echo "$? $round" >>"$logs/beside.results"
    done
}

# With job control the copy beside gets a process group of its own, so stopping the group
# takes the pytest it is running along.
set -m
beside &
beside_pid=$!
set +m
trap 'touch "$logs/stop"; kill -- -"$beside_pid" 2>/dev/null' EXIT

failed=0
for round in $(seq 1 "$runs"); do
    started=$(date +%s)
    "$python" -m pytest "${pytest_args[@]}" >"$logs/run-$round.log" 2>&1
    status=$?
    summary=$(tail -n 1 "$logs/run-$round.log")
    echo "run $round/$runs: exit $status in $(( $(date +%s) - started )) s: $summary"
    if [ "$status" -ne 0 ]; then
        failed=$((failed + 1))
        grep -E '^(FAILED|ERROR) tests/' "$logs/run-$round.log" | sed 's/^/    /'
    fi
done

touch "$logs/stop"
kill -- -"$beside_pid" 2>/dev/null
wait "$beside_pid" 2>/dev/null
trap - EXIT
# The copy beside is stopped mid-run at the end; only its finished runs count.
if [ -s "$logs/beside.results" ]; then
    while read -r status round; do
        [ "$status" -eq 0 ] && continue
        # Killed by us (SIGTERM) is not a failure.
        grep -qE '^(FAILED|ERROR) tests/' "$logs/beside-$round.log" || continue
        echo "copy beside, run $round: exit $status"
        grep -E '^(FAILED|ERROR) tests/' "$logs/beside-$round.log" | sed 's/^/    /'
    done <"$logs/beside.results"
fi
echo "$((runs - failed))/$runs runs passed; logs in $logs"
[ "$failed" -eq 0 ]
