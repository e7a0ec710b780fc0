#!/usr/bin/env bash
# cirrus graph load --vertices/--edges against a real cirrusd: RFC 4180 quoting, typed property
# columns, empty fields, Neptune header names, bad lines named FILE:LINE, the exact summary,
# vertices that exist already, --strict, and bad headers.
# Usage: test_cli_graph_csv.sh CIRRUSD CIRRUS
set -u
CIRRUSD=$1
CLI=$2
source "$(dirname "$0")/cli_lib.sh"
cli_start cli-graph-csv

# 203 vertices: quoted fields with commas, doubled quotes and a line break (alice spans lines
# 2-3), typed columns, empty fields (no property; an empty label: "vertex"), CRLF on one line
{
  echo 'id,label,name,age:int,score:double,vip:bool,note'
  echo 'alice,person,"Smith, Alice",42,1.5,true,"line one'
  echo 'line two"'
  echo 'bob,,"Bob ""B"" Jones",,2,false,'
  printf 'carol,person,Carol,7,,,\r\n'
  for i in $(seq 0 199); do echo "n$i,node,,$i,,,"; done
} >"$dir/v.csv"
# 204 edges with Neptune's names: a ring (lines 2-201), then two good and two bad lines
{
  echo '~from,~to,~label,since:int,weight:double'
  for i in $(seq 0 199); do echo "n$i,n$(((i + 1) % 200)),next,$i,0.5"; done
  echo 'alice,bob,knows,2001,'
  echo 'bob,carol,knows,oops,'
  echo 'carol,nobody,knows,,'
  echo 'alice,carol,knows,,1.25'
} >"$dir/e.csv"

check create 0 '"name":"g"' "$CLI" create-graph g
check load-nograph 1 'CR_ENOCOLL' "$CLI" graph load nograph --vertices "$dir/v.csv"
check load-bad-int 1 'e\.csv:203: column .since.: .oops. is not an int' \
  "$CLI" graph load g --vertices "$dir/v.csv" --edges "$dir/e.csv"
cp "$dir/err" "$dir/load.err"
check load-bad-endpoint 0 'e\.csv:204: no vertex .carol. or no vertex .nobody.' cat "$dir/load.err"
check load-two-errors 0 '^2$' grep -c 'cirrus: graph load: ' "$dir/load.err"
check create2 0 '"name":"g2"' "$CLI" create-graph g2
check summary 1 '^\{"vertex_records":203,"edge_records":204,"vertices":203,"edges":202,"failed":2\}' \
  "$CLI" graph load g2 --vertices "$dir/v.csv" --edges "$dir/e.csv"
check vcount 0 '^203$' "$CLI" gremlin g "g.V().count()"
check ecount 0 '^202$' "$CLI" gremlin g "g.E().count()"
check knows 0 '^2$' "$CLI" gremlin g "g.E().hasLabel('knows').count()"
check alice 0 '^\{"name":\["Smith, Alice"\],"age":\[42\],"score":\[1\.5\],"vip":\[true\],"note":\["line one\\nline two"\]\}$' \
  "$CLI" gremlin g "g.V('alice').valueMap()"
check bob 0 '^\{"name":\["Bob \\"B\\" Jones"\],"score":\[2\.0\],"vip":\[false\]\}$' \
  "$CLI" gremlin g "g.V('bob').valueMap()"
check default-label 0 '^"vertex"$' "$CLI" gremlin g "g.V('bob').label()"
check carol-crlf 0 '^\{"name":\["Carol"\],"age":\[7\]\}$' "$CLI" gremlin g "g.V('carol').valueMap()"
check int-compare 0 '^99$' "$CLI" gremlin g "g.V().has('age', gt(100)).count()"
check int-eq 0 '^"Smith, Alice"$' "$CLI" gremlin g "g.V().has('age', 42).values('name')"
check bool 0 '^"alice"$' "$CLI" gremlin g "g.V().has('vip', true).id()"
check edge-int 0 '^"bob"$' "$CLI" gremlin g "g.V('alice').outE('knows').has('since', 2001).inV().id()"
check edge-double 0 '^1\.25$' "$CLI" gremlin g "g.V('alice').outE('knows').values('weight')"
check ring 0 '^"n0"$' "$CLI" gremlin g "g.V('n199').out('next').id()"
check ring-weight 0 '^200$' "$CLI" gremlin g "g.E().has('weight', 0.5).count()"

# vertices that exist fail their line; a malformed CSV line is named and skipped
printf 'id,n\nalice,x\nzed,ok\nq,"bad"x\n' >"$dir/v2.csv"
check exists 1 'v2\.csv:2: vertex .alice. exists already' "$CLI" graph load g --vertices "$dir/v2.csv"
cp "$dir/err" "$dir/load.err"
check malformed 0 'v2\.csv:4: a character after a closing quote' cat "$dir/load.err"
check exists-summary 1 '^\{"vertex_records":3,"edge_records":0,"vertices":1,"edges":0,"failed":2\}' \
  "$CLI" graph load g2 --vertices "$dir/v2.csv"
check zed 0 '^\{"n":\["ok"\]\}$' "$CLI" gremlin g "g.V('zed').valueMap()"

# --strict stops at the first bad line (records read ahead in its batch are counted, not
# loaded); --edges alone with plain names
printf 'src,dst,label\nalice,zed,likes\nalice,ghost,likes\nbob,zed,likes\n' >"$dir/e2.csv"
check strict 1 '^\{"vertex_records":0,"edge_records":3,"vertices":0,"edges":1,"failed":1\}' \
  "$CLI" graph load g --edges "$dir/e2.csv" --strict
check strict-count 0 '^1$' "$CLI" gremlin g "g.E().hasLabel('likes').count()"

# bad headers load nothing
printf 'name,age\nx,1\n' >"$dir/noid.csv"
check no-id 1 'noid\.csv:1: a vertex file needs an id' "$CLI" graph load g --vertices "$dir/noid.csv"
printf 'id,age:integer\nx,1\n' >"$dir/badtype.csv"
check bad-type 1 "badtype\.csv:1: column 2: type 'integer'" "$CLI" graph load g --vertices "$dir/badtype.csv"
printf 'src,label\nx,y\n' >"$dir/nodst.csv"
check no-dst 1 'needs src and dst' "$CLI" graph load g --edges "$dir/nodst.csv"
printf 'src,dst,w:int,w\nx,y,1,2\n' >"$dir/dupcol.csv"
check dup-column 1 "dupcol\.csv:1: edge property 'w' appears twice" "$CLI" graph load g --edges "$dir/dupcol.csv"
printf '\xef\xbb\xbfid,k:int\nbom,5\n' >"$dir/bom.csv"
check bom 0 '"vertices":1' "$CLI" graph load g --vertices "$dir/bom.csv"
check bom-value 0 '^5$' "$CLI" gremlin g "g.V('bom').values('k')"
check nothing-loaded 0 '^0$' "$CLI" gremlin g "g.V('x').count()"
check missing-file 1 'nofile\.csv' "$CLI" graph load g --vertices "$dir/nofile.csv"
check usage 2 '' "$CLI" graph load g extra --vertices "$dir/v.csv"

cli_finish
