#!/usr/bin/env bash
# tools/cirrus-cluster end to end (docs/raft.md, "cirrus-cluster"): start 3 nodes, one leader,
# replication to a follower, kill -9 of the leader and a new election, restart and rejoin,
# pause/resume, faults in the transport (the leader partitioned away and healed, a delayed
# follower serving stale reads), errors, clean. Every wait is bounded; every process is killed
# on exit.
# usage: test_cirrus_cluster.sh CIRRUSD CIRRUS CIRRUS_CLUSTER
set -u
[ $# -eq 3 ] || { echo "usage: $0 CIRRUSD CIRRUS CIRRUS_CLUSTER" >&2; exit 2; }
export CIRRUSD=$1 CIRRUS=$2
CC=$3
export CIRRUS_CLUSTER_WAIT=10

T=$(mktemp -d)
D=$T/cluster
cleanup() {
    local f pid
    for f in "$D"/node*/pid "$T"/other/node*/pid "$T"/single.pid; do
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
    [ -f "$D/cluster.env" ] && "$CC" --dir "$D" status >&2
    exit 1
}
cc() { "$CC" --dir "$D" "$@"; }

# status lines (no header) as: id pid state role term leader commit applied lag
st() { cc status | tail -n +2; }
field_of() { st | awk -v n="$1" -v f="$2" '$1 == n { print $f }'; }
leaders() { st | awk '$4 == "leader" { print $1 }'; }
# faults_of N: node N's faults column ("2:out,in 3:out,in", "-")
faults_of() {
    st | awk -v n="$1" '$1 == n { s = $10; for (i = 11; i <= NF; i++) s = s " " $i; print s }'
}

# wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds
wait_for() {
    local limit=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + limit))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "not within ${limit}s: $what"
        sleep 0.2
    done
}

# start, on a free base port (exit 4 when a port is taken: try another)
started=
for try in 1 2 3 4 5; do
    BASE=$((20000 + (RANDOM % 120) * 100)) # below the ephemeral ports (32768 up)
    out=$(cc start 3 --base-port "$BASE" --http off 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ]; then started=1; break; fi
    [ "$rc" -eq 4 ] || { echo "$out" >&2; fail "start exited $rc"; }
    echo "try $try: $out"
done
[ -n "$started" ] || fail "no free base port"
echo "$out"
grep -q '^leader: node [1-3] ' <<<"$out" || fail "start did not report a leader"
[ -f "$D/cluster.env" ] || fail "no cluster.env"

# exactly one leader, two followers, one term, every node naming the leader
s=$(st)
echo "$s"
[ "$(awk '$3 == "alive"' <<<"$s" | wc -l)" -eq 3 ] || fail "not 3 alive nodes"
[ "$(awk '$4 == "leader"' <<<"$s" | wc -l)" -eq 1 ] || fail "not exactly one leader"
[ "$(awk '$4 == "follower"' <<<"$s" | wc -l)" -eq 2 ] || fail "not exactly two followers"
[ "$(awk '{ print $5 }' <<<"$s" | sort -u | wc -l)" -eq 1 ] || fail "terms differ"
L=$(awk '$4 == "leader" { print $1 }' <<<"$s")
[ "$(awk '{ print $6 }' <<<"$s" | sort -u)" = "$L" ] || fail "not every node names leader $L"
F=$((L % 3 + 1)) # a follower
TERM1=$(awk '$4 == "leader" { print $5 }' <<<"$s")

# a write through the leader is readable on a follower (eventual consistency)
CIRRUS_HOST=127.0.0.1:$((BASE + L)) "$CIRRUS" create-table users --pk id:S >/dev/null ||
    fail "create-table on the leader"
CIRRUS_HOST=127.0.0.1:$((BASE + L)) "$CIRRUS" put users '{"id":"a","n":1}' >/dev/null ||
    fail "put on the leader"
read_on() { # read_on NODE: the follower serves item a
    "$CIRRUS" --host "127.0.0.1:$((BASE + $1))" --consistency eventual get users '{"id":"a"}' \
        2>/dev/null | grep -q '"n":1'
}
wait_for 5 "item readable on follower $F" read_on "$F"
# a follower forwards a write to the leader, and a STRONG read on the leader sees it
"$CIRRUS" --host "127.0.0.1:$((BASE + F))" put users '{"id":"b","n":2}' >/dev/null ||
    fail "follower $F did not take a write"
"$CIRRUS" --host "127.0.0.1:$((BASE + L))" --consistency strong get users '{"id":"b"}' |
    grep -q '"n":2' || fail "the forwarded write is not on the leader"

# errors: bad node numbers, no cluster, ports in use
cc kill 4 2>/dev/null; [ $? -eq 2 ] || fail "kill 4 on 3 nodes: exit code not 2"
cc pause x 2>/dev/null; [ $? -eq 2 ] || fail "pause x: exit code not 2"
"$CC" --dir "$T/none" status 2>/dev/null; [ $? -eq 3 ] || fail "status of no cluster: not 3"
"$CC" --dir "$T/other" start 3 --base-port "$BASE" --http off 2>/dev/null
[ $? -eq 4 ] || fail "start on ports in use: exit code not 4"
cc start 3 --base-port "$BASE" 2>/dev/null && fail "a second start in the same dir succeeded"

# kill -9 the leader: a new leader, in a higher term, within a bounded time
cc kill "$L" || fail "kill $L"
[ "$(field_of "$L" 3)" = stopped ] || fail "killed node $L not shown as stopped"
new_leader() { local l; l=$(leaders); [ -n "$l" ] && [ "$l" != "$L" ]; }
wait_for 10 "a new leader after kill -9 of node $L" new_leader
L2=$(leaders)
[ "$(field_of "$L2" 5)" -gt "$TERM1" ] || fail "new leader's term not above $TERM1"
echo "node $L killed; new leader: node $L2"

# restart the killed node: it rejoins as a follower of the new leader
cc restart "$L" || fail "restart $L"
rejoined() { [ "$(field_of "$L" 4)" = follower ] && [ "$(field_of "$L" 6)" = "$L2" ]; }
wait_for 10 "node $L rejoining as follower of $L2" rejoined
wait_for 5 "item readable on restarted node $L" read_on "$L"

# pause a follower, then resume it
P=1
while [ "$P" -eq "$L2" ]; do P=$((P + 1)); done
cc pause "$P" || fail "pause $P"
[ "$(field_of "$P" 3)" = paused ] || fail "node $P not shown as paused"
[ "$(leaders)" = "$L2" ] || fail "leader changed while a follower was paused"
cc resume "$P" || fail "resume $P"
back() { [ "$(field_of "$P" 3)" = alive ] && [ "$(field_of "$P" 4)" = follower ]; }
wait_for 10 "node $P alive and follower after resume" back
st

# faults: bad arguments are usage errors
cc partition 1 1 2>/dev/null; [ $? -eq 2 ] || fail "partition 1 1: exit code not 2"
cc partition 1 2,4 2>/dev/null; [ $? -eq 2 ] || fail "partition 1 2,4: exit code not 2"
cc loss 1 101 2>/dev/null; [ $? -eq 2 ] || fail "loss 1 101: exit code not 2"
cc delay 1 x 2>/dev/null; [ $? -eq 2 ] || fail "delay 1 x: exit code not 2"
"$CIRRUS" --host "127.0.0.1:$((BASE + 1))" cluster-fault --loss 5 2>/dev/null
[ $? -eq 2 ] || fail "cluster-fault without --peer: exit code not 2"
# a server without --peers has no faults to set
mkdir -p "$T/single"
"$CIRRUSD" --data "$T/single" --listen "127.0.0.1:$((BASE + 50))" --http off \
    >"$T/single.log" 2>&1 &
echo $! >"$T/single.pid"
single_up() { (exec 3<>"/dev/tcp/127.0.0.1/$((BASE + 50))") 2>/dev/null; }
wait_for 10 "a single server listening" single_up
err=$("$CIRRUS" --host "127.0.0.1:$((BASE + 50))" cluster-fault --heal 2>&1)
rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "CR_EINVAL: this server is not part of a cluster" <<<"$err"; then
    fail "cluster-fault on a single server: exit $rc, $err"
fi
kill "$(cat "$T/single.pid")"
# a one-way partition shows as out on one side, in on the other
cc partition 1 2 --one-way >/dev/null || fail "partition --one-way"
if [ "$(faults_of 1)" != 2:out ] || [ "$(faults_of 2)" != 1:in ] || [ "$(faults_of 3)" != - ]; then
    fail "one-way partition not shown as 2:out on node 1 and 1:in on node 2"
fi
cc heal >/dev/null || fail "heal"

# the leader partitioned away from both followers: they elect a leader in a higher term
L3=$(leaders)
TERM3=$(field_of "$L3" 5)
OTHERS=$(for i in 1 2 3; do [ "$i" -eq "$L3" ] || echo "$i"; done | paste -sd,)
cc partition "$L3" "$OTHERS" || fail "partition $L3 $OTHERS"
WANT=$(for i in ${OTHERS/,/ }; do printf '%s:out,in ' "$i"; done)
[ "$(faults_of "$L3")" = "${WANT% }" ] || fail "node $L3 does not show its partition"
side_leader() {
    st | awk -v l="$L3" -v t="$TERM3" '$4 == "leader" && $1 != l && $5 > t' | grep -q .
}
wait_for 10 "a leader among $OTHERS in a term above $TERM3" side_leader
L4=$(st | awk -v l="$L3" '$4 == "leader" && $1 != l { print $1 }')
echo "node $L3 partitioned away; leader of $OTHERS: node $L4 (term $(field_of "$L4" 5))"
# heal: one leader, and the old one follows it
cc heal || fail "heal"
healed() {
    [ "$(leaders)" = "$L4" ] && [ "$(field_of "$L3" 4)" = follower ] &&
        [ "$(field_of "$L3" 6)" = "$L4" ]
}
wait_for 10 "one leader ($L4) after heal, node $L3 following it" healed

# a follower whose frames are held 500 ms: its acknowledgements reach the leader late, so the
# leader does not tell it the commit index of a new write (a heartbeat never carries a commit
# index past what the follower is known to hold): the write, acknowledged by the leader with
# the other follower, is not yet visible there, then it is
F4=$((L4 % 3 + 1))
cc delay "$F4" 500 || fail "delay $F4 500"
WANT=$(for i in 1 2 3; do [ "$i" -eq "$F4" ] || printf '%s:delay=500 ' "$i"; done)
[ "$(faults_of "$F4")" = "${WANT% }" ] || fail "node $F4 does not show its delay"
"$CIRRUS" --host "127.0.0.1:$((BASE + L4))" put users '{"id":"d","n":4}' >/dev/null ||
    fail "put on leader $L4"
"$CIRRUS" --host "127.0.0.1:$((BASE + F4))" --consistency eventual get users '{"id":"d"}' \
    2>/dev/null | grep -q '"n":4' && fail "the write is visible on delayed follower $F4 at once"
read_d() {
    "$CIRRUS" --host "127.0.0.1:$((BASE + F4))" --consistency eventual get users '{"id":"d"}' \
        2>/dev/null | grep -q '"n":4'
}
wait_for 5 "the write visible on delayed follower $F4" read_d
cc heal >/dev/null || fail "heal after delay"
[ "$(st | awk '$10 != "-"' | wc -l)" -eq 0 ] || fail "faults left after heal"
st

# membership: node 4 joins (empty, --join) and catches up with every write; a follower is
# removed and stopped; the three voters left take a write that node 4 serves
cc add >/dev/null || fail "add"
[ "$(field_of 4 3)" = alive ] && [ "$(field_of 4 4)" = follower ] || fail "node 4 not following"
"$CIRRUS" --host "127.0.0.1:$((BASE + 4))" --consistency eventual get users '{"id":"d"}' |
    grep -q '"n":4' || fail "node 4 does not serve the earlier writes"
R=$((L4 % 3 + 1))
cc remove "$R" >/dev/null || fail "remove $R"
[ "$(field_of "$R" 3)" = removed ] || fail "node $R not shown as removed"
cc restart "$R" 2>/dev/null && fail "a removed node restarted"
"$CIRRUS" --host "127.0.0.1:$((BASE + 4))" put users '{"id":"e","n":5}' >/dev/null ||
    fail "put through node 4 after the removal"
"$CIRRUS" --host "127.0.0.1:$((BASE + L4))" --consistency strong get users '{"id":"e"}' |
    grep -q '"n":5' || fail "the write through node 4 is not on the leader"
P=4

# stop one node, then clean: every process gone, the directory removed
cc stop "$P" || fail "stop $P"
[ "$(field_of "$P" 3)" = stopped ] || fail "node $P not stopped"
pids=$(cat "$D"/node*/pid)
cc clean || fail "clean"
[ ! -e "$D" ] || fail "clean left $D"
for pid in $pids; do
    # a zombie (exited, not yet reaped by whoever adopted it) counts as gone
    state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
    [ -z "$state" ] || [ "$state" = Z ] || fail "pid $pid still running after clean ($state)"
done
echo "PASS (${SECONDS}s)"
