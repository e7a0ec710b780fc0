#!/usr/bin/env bash
# Documents at scale (docs/BENCHMARKS.md, issue 4): starts cirrusd on 127.0.0.1 with a fresh data
# directory (--sync full, the default), runs cirrus-bench-docs against it (DOCS documents into a
# collection indexed on every path and into one with indexing "none"; the same queries on both),
# and stops it. The run is bounded by the document count.
# Usage: tools/bench-docs.sh [BUILD_DIR]   (default build/release); DOCS=1000000 RUNS=5
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
DOCS=${DOCS:-1000000}
RUNS=${RUNS:-5}
for b in server/cirrusd tools/cirrus-bench-docs; do
  [ -x "$BUILD/$b" ] || { echo "bench-docs: no $BUILD/$b" >&2; exit 1; }
done
work=$(mktemp -d /tmp/cirrus-bench-docs-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
"$BUILD/server/cirrusd" --data "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" \
  --http off --log-level warn &
pid=$!
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "bench-docs: cirrusd did not start" >&2; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r)"
echo "cirrusd $("$BUILD/server/cirrusd" --version 2>&1 | head -1) (--sync full), on 127.0.0.1"
echo
"$BUILD/tools/cirrus-bench-docs" --host "127.0.0.1:$(cat "$work/port")" --docs "$DOCS" --runs "$RUNS"
echo
echo "data directory after the run: $(du -sh "$work/data" | cut -f1)"
