#!/usr/bin/env bash
# The cirrus CLI against a real cirrusd: the README's tour, exit codes, error text on stderr,
# JSON in and out, and the interactive shell fed from a pipe.
# Usage: test_cli.sh CIRRUSD CIRRUS
set -u
CIRRUSD=$1
CLI=$2
source "$(dirname "$0")/cli_lib.sh"
cli_start cli

check ping 0 '' "$CLI" ping
check create 0 'users' "$CLI" create-table users --pk id:S --sk ts:N
check create-again 1 'CR_ETABLEEXISTS' "$CLI" create-table users --pk id:S --sk ts:N
check put1 0 '' "$CLI" put users '{"id":"a","ts":1,"name":"Ann"}'
check put2 0 '' "$CLI" put users '{"id":"a","ts":2,"name":"Ann","city":"Oslo"}'
check put3 0 '' "$CLI" put users '{"id":"b","ts":1,"name":"Bob"}'
check get 0 '"name": ?"Ann"' "$CLI" get users '{"id":"a","ts":1}'
check get-missing 1 'not found' "$CLI" get users '{"id":"zz","ts":1}'
check query-gt 0 '"city": ?"Oslo"' "$CLI" query users --pk '"a"' --sk '> 1'
check query-count 0 '^2$' bash -c "\"$CLI\" query users --pk '\"a\"' | wc -l"
check query-reverse 0 '"ts": ?2' bash -c "\"$CLI\" query users --pk '\"a\"' --reverse --limit 1"
check query-between 0 '^1$' bash -c "\"$CLI\" query users --pk '\"a\"' --sk 'between 1 and 1' | wc -l"
check scan 0 '^3$' bash -c "\"$CLI\" scan users | wc -l"
check tables 0 'users' "$CLI" tables
check describe 0 '3' "$CLI" describe-table users
check cond-fail 1 'CR_ECONDITION' "$CLI" put users '{"id":"a","ts":1,"name":"Eve"}' --if-not-exists
check cond-eq 0 '' "$CLI" put users '{"id":"a","ts":1,"name":"Eve"}' --if 'name="Ann"'
check cond-eq-after 0 '"Eve"' "$CLI" get users '{"id":"a","ts":1}'
check delete 0 '' "$CLI" delete users '{"id":"b","ts":1}'
check batch 0 '' "$CLI" batch users '[{"put":{"id":"c","ts":1}},{"delete":{"id":"a","ts":2}}]'
check batch-result 0 '^2$' bash -c "\"$CLI\" scan users | wc -l"
check bad-json 2 '' "$CLI" put users '{"id":'
check unknown-table 1 'CR_ENOTABLE' "$CLI" get nope '{"id":"a"}'
check wrong-type 1 'CR_ETYPE' "$CLI" put users '{"id":1,"ts":1}'
check bytes 0 '\$bytes' bash -c "\"$CLI\" put users '{\"id\":\"bin\",\"ts\":1,\"b\":{\"\$bytes\":\"AAEC\"}}' && \"$CLI\" get users '{\"id\":\"bin\",\"ts\":1}'"
check bad-host 1 '' "$CLI" --host 127.0.0.1:1 ping
check consistency 0 'Ann|Eve' "$CLI" --consistency eventual get users '{"id":"a","ts":1}'
check shell 0 'Eve' bash -c "printf '%s\n' 'get users {\"id\":\"a\",\"ts\":1}' quit | \"$CLI\" shell"
check stats 0 'applied_index' "$CLI" stats
check delete-table 0 '' "$CLI" delete-table users

cli_finish
