#!/usr/bin/env bash
# The cirrus CLI's collections, documents, patches, import and sql against a real cirrusd.
# Usage: test_cli_docs.sh CIRRUSD CIRRUS
set -u
CIRRUSD=$1
CLI=$2
source "$(dirname "$0")/cli_lib.sh"
cli_start cli-docs

cat >"$dir/policy.json" <<'JSON'
{"indexingMode": "consistent", "automatic": true,
 "includedPaths": [{"path": "/*"}], "excludedPaths": [{"path": "/blob/*"}],
 "compositeIndexes": [[{"path": "/city", "order": "ascending"},
                       {"path": "/age", "order": "descending"}]]}
JSON
echo '{"includedPaths": [{"path": "/a/?"}]}' >"$dir/bad-policy.json"

check create 0 '"partition_key":"/city"' "$CLI" create-collection people --pk /city --indexing "$dir/policy.json"
check create-again 1 'CR_EEXISTS' "$CLI" create-collection people
check create-bad-policy 1 'CR_EINVAL' "$CLI" create-collection p2 --indexing "$dir/bad-policy.json"
check create-missing-policy 2 '' "$CLI" create-collection p3 --indexing "$dir/none.json"
check create-db 0 '"db":"shop"' "$CLI" create-collection carts --db shop
check collections 0 '"name":"people"' "$CLI" collections
check collections-db 0 '^1$' bash -c "\"$CLI\" collections --db shop | wc -l"

check put 0 '"_etag"' "$CLI" doc put people '{"id":"ann","city":"Oslo","age":30}'
check put-create-again 1 'CR_EEXISTS' "$CLI" doc put people '{"id":"ann","city":"Oslo"}' --create
check put-no-id 1 'CR_EINVAL' "$CLI" doc put people '{"city":"Oslo"}'
check get 0 '"age":30' "$CLI" doc get people ann --pk '"Oslo"'
check get-wrong-pk 1 'CR_ENOTFOUND' "$CLI" doc get people ann --pk '"Rome"'
check get-no-coll 1 'CR_ENOCOLL' "$CLI" doc get nowhere ann
etag=$("$CLI" doc get people ann --pk '"Oslo"' | sed -E 's/.*"_etag":"(\\"[^\\]*\\")".*/\1/; s/\\"/"/g')
check if-match-stale 1 'CR_ECONDITION' "$CLI" doc put people '{"id":"ann","city":"Oslo","age":31}' --if-match '"0"'
check if-match 0 '"age":31' "$CLI" doc put people '{"id":"ann","city":"Oslo","age":31}' --if-match "$etag"
check patch 0 '"age":41.*"tags":\["x"\]|"tags":\["x"\].*"age":41' "$CLI" doc patch people ann '[{"op":"incr","path":"/age","value":10},{"op":"add","path":"/tags","value":[]},{"op":"add","path":"/tags/-","value":"x"},{"op":"set","path":"/nick","value":"A"}]' --pk '"Oslo"'
check patch-remove 0 '"age":41' "$CLI" doc patch people ann '[{"op":"remove","path":"/nick"}]' --pk '"Oslo"'
check patch-remove-missing 1 'CR_EINVAL' "$CLI" doc patch people ann '[{"op":"remove","path":"/nick"}]' --pk '"Oslo"'
check patch-bad-op 2 'unknown patch operation' "$CLI" doc patch people ann '[{"op":"move","path":"/a","value":1}]'
check delete-stale 1 'CR_ECONDITION' "$CLI" doc delete people ann --pk '"Oslo"' --if-match '"0"'
check delete 0 'applied_index' "$CLI" doc delete people ann --pk '"Oslo"'
check get-deleted 1 'CR_ENOTFOUND' "$CLI" doc get people ann --pk '"Oslo"'

# import: 300 documents and one bad line (number 151)
for i in $(seq 1 300); do
  [ "$i" -eq 151 ] && echo '{"id": "broken",'
  echo "{\"id\":\"p$i\",\"city\":\"c$((i % 5))\",\"age\":$i}"
done >"$dir/people.jsonl"
echo '[1,2]' >>"$dir/people.jsonl"
check import 1 '"imported":300,"failed":2' "$CLI" import people "$dir/people.jsonl"
check import-line 1 'line 151: bad JSON' "$CLI" import people "$dir/people.jsonl"
check import-line2 1 'line 302: .*string "id"' "$CLI" import people "$dir/people.jsonl"
check import-strict 1 '"imported":150,"failed":1' "$CLI" import people "$dir/people.jsonl" --strict
check import-missing 1 'No such file' "$CLI" import people "$dir/nope.jsonl"
check sql-count 0 '^300$' "$CLI" sql 'SELECT VALUE COUNT(1) FROM people'
check sql-param 0 '^60$' bash -c "\"$CLI\" sql 'SELECT VALUE p.id FROM people p WHERE p.city = @c' --param '@c=\"c1\"' --max-items 7 | wc -l"
check sql-pages 0 '^300$' bash -c "\"$CLI\" sql 'SELECT p.id FROM people p' --max-items 1 | sort -u | wc -l"
check sql-order 0 '^300$' bash -c "\"$CLI\" sql 'SELECT VALUE p.age FROM people p ORDER BY p.age DESC' --max-items 13 | head -1"
check sql-bad 1 'CR_EINVAL.*1:10' "$CLI" sql 'SELECT * FORM people'
check explain-index 0 '^access: index /city' "$CLI" explain 'SELECT * FROM people p WHERE p.city = "c1" ORDER BY p.city, p.age DESC'
check explain-excluded 0 '^access: full scan' "$CLI" explain 'SELECT * FROM people p WHERE p.blob.x = 1'
check explain-bad 1 'CR_EINVAL.*1:10' "$CLI" explain 'SELECT * FORM people'
check sql-bad-param 2 '' "$CLI" sql 'SELECT * FROM people' --param 'x=1'
cat >"$dir/shell.txt" <<'SHELL'
doc put people {"id":"s1","city":"c9","n":1}
doc get people s1 --pk '"c9"'
sql 'SELECT VALUE p.n FROM people p WHERE p.id = "s1"'
quit
SHELL
check shell 0 '"id":"s1"' bash -c "\"$CLI\" shell <\"$dir/shell.txt\""
check shell-sql 0 '^1$' bash -c "\"$CLI\" shell <\"$dir/shell.txt\" | tail -1"
check drop 0 '"name":"people"' "$CLI" drop-collection people
check drop-again 1 'CR_ENOCOLL' "$CLI" drop-collection people
check sql-dropped 1 'CR_ENOCOLL' "$CLI" sql 'SELECT * FROM people'

cli_finish
