#!/usr/bin/env bash
# The cirrus CLI's graphs: create, list, drop, gremlin with bindings, graph load of an edge list
# with a bad line, and the traversal helpers, against a real cirrusd.
# Usage: test_cli_graphs.sh CIRRUSD CIRRUS
set -u
CIRRUSD=$1
CLI=$2
source "$(dirname "$0")/cli_lib.sh"
cli_start cli-graphs

check create 0 '"name":"social"' "$CLI" create-graph social
check create-again 1 'CR_EEXISTS' "$CLI" create-graph social
check create-bad 1 'CR_ENAME' "$CLI" create-graph 'a/b'
check create-other 0 '"name":"other"' "$CLI" create-graph other
check graphs 0 '^\{"name":"other".*\}
\{"name":"social"' "$CLI" graphs
check addv 0 '"type":"vertex"' "$CLI" gremlin social "g.addV('person').property('id','a').property('name','alice')"
check addv2 0 '^\{"id":"c","label":"person","type":"vertex"' "$CLI" gremlin social "g.addV('person').property('id','b').property('name','bob');g.addV('person').property('id','c').property('name','carol')"
check adde 0 '"outV":"a".*"inV":"b"|"inV":"b".*"outV":"a"' "$CLI" gremlin social "g.V('a').addE('knows').to(g.V('b'))"
check adde2 0 '"type":"edge"' "$CLI" gremlin social "g.V('b').addE('knows').to(g.V('c'))"
check read 0 '^"carol"$' "$CLI" gremlin social "g.V('a').out('knows').out('knows').values('name')"
check bind 0 '^"bob"$' "$CLI" gremlin social "g.V(x).out('knows').values('name')" --bind 'x="a"'
check lines 0 '^"a"
"b"
"c"$' "$CLI" gremlin social "g.V().id().order()"
check parse-error 1 'CR_EINVAL.*1:' "$CLI" gremlin social "g.V('a').out("
check bad-bind 2 '' "$CLI" gremlin social "g.V(x)" --bind 'x'
check budget 0 '' "$CLI" gremlin social "g.V('c').addE('knows').to(g.V('a'))"
check runaway 1 'CR_EBUDGET' "$CLI" --timeout 60000 gremlin social "g.V('a').repeat(out()).times(1000000000)"
check drop-vertex 0 '' "$CLI" gremlin social "g.V('c').drop()"
check count 0 '^2$' "$CLI" gremlin social "g.V().count()"

# an edge list of a few hundred lines, both forms, with a comment, a blank and one bad line
{
  echo "# a ring of 200 and chords"
  for i in $(seq 0 199); do echo "n$i n$(((i + 1) % 200))"; done
  echo ""
  for i in $(seq 0 10 190); do echo "n$i,n$(((i + 100) % 200)),chord"; done
  echo "only-one-field"
  for i in $(seq 0 49); do echo "m$i, n$i ,link"; done
} >"$dir/edges.txt"
check load-nograph 1 'CR_ENOCOLL' "$CLI" graph load nograph "$dir/edges.txt"
check create-ring 0 '"name":"ring"' "$CLI" create-graph ring
check create-ring2 0 '"name":"ring2"' "$CLI" create-graph ring2
check load 1 'line 223:.*two fields' "$CLI" graph load ring "$dir/edges.txt"
check load-summary 1 '^\{"lines":273,"edges":270,"vertices":250,"failed":1\}' "$CLI" graph load ring2 "$dir/edges.txt"
check load-count 0 '^270$' "$CLI" gremlin ring "g.E().count()"
check load-label 0 '^20$' "$CLI" gremlin ring "g.E().hasLabel('chord').count()"
check neighbors 0 '"id":"n1".*"direction":"out"' "$CLI" graph neighbors ring n0
check neighbors-count 0 '^5$' bash -c "\"$CLI\" graph neighbors ring n0 --dir both | wc -l"
check neighbors-label 0 '^\{"id":"n100","label":"vertex","edge":"[^"]+","edgeLabel":"chord","direction":"out"\}$' "$CLI" graph neighbors ring n0 --label chord
check neighbors-limit 0 'more neighbours' "$CLI" graph neighbors ring n0 --dir both --limit 1
check neighbors-dir 2 '' "$CLI" graph neighbors ring n0 --dir sideways
check khop 0 '^\{"id":"n1","depth":1\}
\{"id":"n100","depth":1\}
\{"id":"n2","depth":2\}
\{"id":"n101","depth":2\}$' "$CLI" graph khop ring n0 2
check khop-in 0 '"id":"m0","depth":1' "$CLI" graph khop ring n0 1 --dir in
check path 0 '^"n0"
"n100"
"n101"
"n102"$' "$CLI" graph shortest-path ring n0 n102
check path-both 0 '^"m5"
"n5"
"n4"
"n3"$' "$CLI" graph shortest-path ring m5 n3 --dir both
check path-none 1 'no path' "$CLI" graph shortest-path ring n0 m0
check graph-usage 2 '' "$CLI" graph walk ring n0
cat >"$dir/shell.txt" <<'SHELL'
create-graph sh
gremlin sh "g.addV('x').property('id','s1')"
graph khop ring n0 1
quit
SHELL
check shell 0 '"id":"s1"' bash -c "\"$CLI\" shell <\"$dir/shell.txt\""
check shell-khop 0 '"id":"n100","depth":1' bash -c "\"$CLI\" shell <\"$dir/shell.txt\""
check drop 0 '"name":"other"' "$CLI" drop-graph other
check drop-again 1 'CR_ENOCOLL' "$CLI" drop-graph other
check gremlin-dropped 1 'CR_ENOCOLL' "$CLI" gremlin other "g.V()"

cli_finish
