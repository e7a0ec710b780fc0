#!/usr/bin/env bash
# Runs the benchmarks recorded in docs/BENCHMARKS.md, Cirrus beside its peers in the same run:
#   1. GET/SET: cirrus-bench against cirrusd --sync none, redis-benchmark against redis-server
#      without persistence; same connections, pipeline depth, key space and value size.
#   2. Durable puts: cirrusd --sync full (group commit) against lmdb-baseline (one put per
#      fsynced LMDB transaction) and redis-server with appendfsync always.
#   3. Start-up: time from exec to the first answered ping, on an empty data directory.
# Everything listens on 127.0.0.1 and every run is bounded by a request count.
# Usage: tools/bench-peers.sh [BUILD_DIR]   (default build/release; needs redis-server)
set -euo pipefail
BUILD=${1:-build/release}
CIRRUSD=$BUILD/server/cirrusd
BENCH=$BUILD/tools/cirrus-bench
BASELINE=$BUILD/tools/lmdb-baseline
CLI=$BUILD/tools/cirrus
PORT=17170
RPORT=17179
N=${N:-200000}
CONNS=${CONNS:-50}
KEYS=10000
SIZE=100
work=$(mktemp -d /tmp/cirrus-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_cirrusd() { # sync
  rm -rf "$work/data"
  "$CIRRUSD" --data "$work/data" --listen 127.0.0.1:$PORT --sync "$1" --log-level warn &
  pids+=($!)
  until "$CLI" --host 127.0.0.1:$PORT ping >/dev/null 2>&1; do sleep 0.01; done
}
stop_cirrusd() {
  kill "${pids[-1]}"
  wait "${pids[-1]}" || true
  unset 'pids[-1]'
}
start_redis() { # extra args
  redis-server --port $RPORT --bind 127.0.0.1 --save '' --dir "$work" --daemonize no \
    --logfile "$work/redis.log" "$@" &
  pids+=($!)
  until redis-cli -p $RPORT ping >/dev/null 2>&1; do sleep 0.01; done
}
cirrus_ops() { # mix pipeline conns requests
  "$BENCH" --host 127.0.0.1:$PORT --connections "$3" --pipeline "$2" --requests "$4" \
    --duration 60 --mix "$1" --keys $KEYS --value-size $SIZE --json
}
redis_ops() { # test pipeline conns requests
  redis-benchmark -h 127.0.0.1 -p $RPORT -c "$3" -n "$4" -P "$2" -d $SIZE -r $KEYS -t "$1" \
    --csv 2>/dev/null | awk -F'","' 'NR==2 {print $2}'
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "redis: $(redis-server --version | cut -d' ' -f3)"
echo
echo "| workload | Cirrus ops/s | p50 / p99 us | Redis ops/s | Cirrus / Redis |"
echo "|---|---|---|---|---|"
start_cirrusd none
start_redis
# Many connections without and with pipelining, then two deeply pipelined connections (where
# the load generators' own cost matters least).
for shape in "$CONNS 1" "$CONNS 16" "2 128"; do
  read -r conns pipe <<<"$shape"
  for op in get set; do
    mix=$([ $op = get ] && echo 100:0 || echo 0:100)
    c=$(cirrus_ops $mix "$pipe" "$conns" $N)
    r=$(redis_ops $op "$pipe" "$conns" $N)
    cops=$(echo "$c" | field ops_per_s)
    echo "| ${op^^}, $conns conns, pipeline $pipe | ${cops%.*} | $(echo "$c" | field p50_us) / $(echo "$c" | field p99_us) | ${r%.*} | $(ratio "$cops" "$r") |"
  done
done
stop_cirrusd
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'

echo
echo "| durable puts (fsync before ack) | ops/s | vs LMDB one-put-per-txn |"
echo "|---|---|---|"
base=$("$BASELINE" --puts 3000 --value-size $SIZE --dir "$work" | sed -E 's/.* ([0-9.]+) puts\/s.*/\1/')
echo "| lmdb-baseline: 1 put per fsynced txn | ${base%.*} | 1.00 |"
start_cirrusd full
for conns in 1 16 64; do
  c=$(cirrus_ops 0:100 1 $conns $((conns * 400)))
  cops=$(echo "$c" | field ops_per_s)
  echo "| cirrusd --sync full, $conns conns x 1 | ${cops%.*} | $(ratio "$cops" "$base") |"
done
stop_cirrusd
start_redis --appendonly yes --appendfsync always
r=$(redis_ops set 1 64 $((64 * 400)))
echo "| redis appendfsync always, 64 conns x 1 | ${r%.*} | $(ratio "$r" "$base") |"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'

echo
rm -rf "$work/data"
best=999999
for i in 1 2 3 4 5; do
  rm -rf "$work/data"
  t0=$(date +%s%N)
  "$CIRRUSD" --data "$work/data" --listen 127.0.0.1:$PORT --log-level warn &
  pids+=($!)
  until "$CLI" --host 127.0.0.1:$PORT ping >/dev/null 2>&1; do :; done
  t1=$(date +%s%N)
  stop_cirrusd
  ms=$(( (t1 - t0) / 1000000 ))
  [ $ms -lt $best ] && best=$ms
done
echo "start-up to first answered ping (best of 5, includes the cirrus CLI's own exec): ${best} ms"
