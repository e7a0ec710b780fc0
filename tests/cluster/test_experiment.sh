#!/usr/bin/env bash
# `cirrus-cluster experiment` end to end (docs/consistency.md): a short run on a fresh 3-node
# cluster on a random free base port. Asserts the CSV and SVG files, no stale STRONG read, some
# stale EVENTUAL reads when a delay was injected, and a failover with no acknowledged write lost.
# Every wait is bounded; every process is killed on exit.
# usage: test_experiment.sh CIRRUSD CIRRUS CIRRUS_CLUSTER CIRRUS_EXPERIMENT
set -u
[ $# -eq 4 ] || { echo "usage: $0 CIRRUSD CIRRUS CIRRUS_CLUSTER CIRRUS_EXPERIMENT" >&2; exit 2; }
export CIRRUSD=$1 CIRRUS=$2 CIRRUS_EXPERIMENT=$4
CC=$3
export CIRRUS_CLUSTER_WAIT=10

T=$(mktemp -d)
D=$T/cluster
cleanup() {
    local f pid
    for f in "$D"/node*/pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        kill -CONT "$pid" 2>/dev/null
        kill -9 "$pid" 2>/dev/null
    done
    rm -rf -- "$T"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

started=
for try in 1 2 3 4 5; do
    BASE=$((20000 + (RANDOM % 120) * 100)) # below the ephemeral ports (32768 up)
    out=$("$CC" --dir "$D" start 3 --base-port "$BASE" --http off 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ]; then started=1; break; fi
    [ "$rc" -eq 4 ] || { echo "$out" >&2; fail "start exited $rc"; }
    echo "try $try: $out"
done
[ -n "$started" ] || fail "no free base port"
echo "$out"

# usage errors, before any work
"$CC" --dir "$D" experiment --seconds x >/dev/null 2>&1
[ $? -eq 2 ] || fail "experiment --seconds x: exit code not 2"
"$CIRRUS_EXPERIMENT" consistency --leader 127.0.0.1:1 >/dev/null 2>&1
[ $? -eq 2 ] || fail "consistency without --follower: exit code not 2"

R=$T/results
timeout 35 "$CC" --dir "$D" experiment --delay 50 --seconds 1 --rounds 1 --out "$R" \
    >"$T/out" 2>&1
rc=$?
cat "$T/out"
[ "$rc" -eq 0 ] || fail "experiment exited $rc"

# the consistency results: a header and one row per level, each with reads
csv=$R/consistency.csv
[ -s "$csv" ] || fail "no $csv"
head -n1 "$csv" | grep -q '^level,reads,errors,stale,' || fail "bad CSV header"
[ "$(tail -n +2 "$csv" | wc -l)" -eq 5 ] || fail "not 5 levels in the CSV"
for level in strong bounded_staleness session consistent_prefix eventual; do
    reads=$(awk -F, -v l="$level" '$1 == l { print $2 }' "$csv")
    [ "${reads:-0}" -gt 0 ] || fail "no reads at $level"
done
[ "$(awk -F, '$1 == "strong" { print $4 }' "$csv")" = 0 ] || fail "stale STRONG reads"
[ "$(awk -F, '$1 == "session" { print $4 }' "$csv")" = 0 ] || fail "stale SESSION reads"
delay=$(awk -F, '$1 == "eventual" { print $9 }' "$csv")
if [ "$delay" -gt 0 ]; then
    [ "$(awk -F, '$1 == "eventual" { print $4 }' "$csv")" -gt 0 ] ||
        fail "no stale EVENTUAL read with a ${delay} ms delay"
else
    grep -q 'runs without a delay' "$T/out" || fail "delay 0 without saying why"
fi

# the chart: an SVG with a bar per level in each of its two panels
svg=$R/consistency.svg
[ -s "$svg" ] || fail "no $svg"
head -c 200 "$svg" | grep -q '^<svg ' || fail "$svg is not an SVG"
tail -n1 "$svg" | grep -q '^</svg>$' || fail "$svg is not closed"
[ "$(grep -c '^<rect x=' "$svg")" -eq 10 ] || fail "not 10 bars in $svg"

# the failover: one round, a new leader took writes, no acknowledged write lost
fo=$R/failover.csv
[ -s "$fo" ] || fail "no $fo"
[ "$(tail -n +2 "$fo" | wc -l)" -eq 1 ] || fail "not 1 round in $fo"
IFS=, read -r round killed leader ms kill_ms acked lost < <(tail -n1 "$fo")
echo "round $round: node $killed killed (${kill_ms} ms), node $leader leads after ${ms} ms," \
    "$acked acked, $lost lost"
[ "$lost" = 0 ] || fail "$lost acknowledged writes lost"
[ "$acked" -gt 0 ] || fail "no acknowledged write"
[ "$leader" != "$killed" ] || fail "the killed node leads again"
grep -q 'acknowledged writes lost: 0 (at the end: 0)' "$T/out" || fail "no final read-back"

# the cluster was not started by the experiment: it is still there, with a leader
"$CC" --dir "$D" status | grep -q ' leader ' || fail "no leader after the experiment"
echo "PASS (${SECONDS}s)"
