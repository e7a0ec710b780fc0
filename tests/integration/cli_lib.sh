# Shared by the CLI tests (sourced): a cirrusd on an ephemeral loopback port with a fresh data
# directory, CIRRUS_HOST pointing at it, check(), and the summary. The sourcing script sets
# CIRRUSD and CLI first, then calls cli_start NAME and, at its end, cli_finish.

# cli_start NAME: $dir (removed on exit), the server started and answering on $CIRRUS_HOST.
cli_start() {
  dir=$(mktemp -d "/tmp/cirrus-$1-XXXXXX")
  pass=0
  fail=0
  trap cli_cleanup EXIT
  "$CIRRUSD" --data "$dir/data" --listen 127.0.0.1:0 --port-file "$dir/port" --log-level warn &
  pid=$!
  for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
  export CIRRUS_HOST="127.0.0.1:$(cat "$dir/port")"
}

cli_cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir"
}

# check NAME WANT_EXIT WANT_OUTPUT_REGEX command...: the command's exit status, and its stdout
# and stderr together matching the regex; at most 60 s.
check() {
  local name=$1 want_rc=$2 want_out=$3
  shift 3
  local out rc
  out=$(timeout 60 "$@" 2>"$dir/err")
  rc=$?
  if [ "$rc" -ne "$want_rc" ] || ! grep -Eq -- "$want_out" <<<"$out$(cat "$dir/err")"; then
    echo "FAIL $name: exit $rc (want $want_rc), output:"
    echo "$out"
    cat "$dir/err"
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
}

# The summary line; exits 1 when a check failed.
cli_finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
