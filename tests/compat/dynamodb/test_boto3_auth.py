"""DynamoDB SigV4 verification (--auth): boto3, unchanged, against a cirrusd that checks signatures.

Usage: test_boto3_auth.py CIRRUSD [unittest args]. Starts its own cirrusd with --auth, one key
from --access-key and two from a --credentials file (the shared boto3 suite runs without
--auth), and checks that correctly signed clients are served and that every kind of bad
request gets DynamoDB's exception and message.
"""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import boto3
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

CIRRUSD = None
SERVER = None
PORT = None
DATA = None
KEY, SECRET = "AKIDCIRRUSTEST", "s3cr3t/Key+With=Odd:Chars"
FILE_KEY, FILE_SECRET = "AKIDFROMFILE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. "
                 "Check your AWS Secret Access Key and signing method. Consult the service "
                 "documentation for details.")
TARGET = "DynamoDB_20120810."


def setUpModule():
    global SERVER, PORT, DATA
    DATA = tempfile.mkdtemp(prefix="cirrus-ddb-auth-")
    port_file = os.path.join(DATA, "http.port")
    creds = os.path.join(DATA, "credentials")
    with open(creds, "w") as f:
        f.write("# test keys\n\n%s %s\n  AKIDSECOND\tanother  # trailing comment\n"
                % (FILE_KEY, FILE_SECRET))
    SERVER = subprocess.Popen(
        [CIRRUSD, "--data", os.path.join(DATA, "data"), "--listen", "127.0.0.1:0",
         "--http", "127.0.0.1:0", "--http-port-file", port_file, "--sync", "none",
         "--log-level", "warn", "--threads", "2", "--auth", "--credentials", creds,
         "--access-key", "%s:%s" % (KEY, SECRET)])
    deadline = time.time() + 20
    while not os.path.exists(port_file):
        if SERVER.poll() is not None or time.time() > deadline:
            raise RuntimeError("cirrusd did not start")
        time.sleep(0.05)
    with open(port_file) as f:
        PORT = int(f.read())


def tearDownModule():
    SERVER.send_signal(signal.SIGTERM)
    rc = SERVER.wait(timeout=30)
    shutil.rmtree(DATA, ignore_errors=True)
    if rc != 0:
        raise RuntimeError("cirrusd exited with %d" % rc)


def client(key=KEY, secret=SECRET, region="us-east-1", unsigned=False):
    cfg = Config(retries={"total_max_attempts": 1})
    if unsigned:
        cfg = cfg.merge(Config(signature_version=UNSIGNED))
    return boto3.client("dynamodb", endpoint_url="http://127.0.0.1:%d" % PORT,
                        region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=cfg)


def post(headers, body):
    """Sends a raw POST / and returns (status, decoded JSON body)."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def sign(op, body, amz_date, key=KEY, secret=SECRET, region="us-east-1", service="dynamodb"):
    """An independent SigV4 signer (not botocore's), so that the date can be chosen."""
    host = "127.0.0.1:%d" % PORT
    headers = {"Host": host, "Content-Type": "application/x-amz-json-1.0",
               "X-Amz-Date": amz_date, "X-Amz-Target": TARGET + op}
    names = sorted(h.lower() for h in headers)
    canonical = "\n".join(
        ["POST", "/", ""] + ["%s:%s" % (n, {k.lower(): v for k, v in headers.items()}[n])
                             for n in names]
        + ["", ";".join(names), hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        key, scope, ";".join(names), sig)
    return headers


def amz_date(offset_s=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return t.strftime("%Y%m%dT%H%M%SZ")


class AuthTest(unittest.TestCase):
    def assertError(self, code, message, fn, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        err = cm.exception.response["Error"]
        self.assertEqual(code, err["Code"], err)
        self.assertEqual(400, cm.exception.response["ResponseMetadata"]["HTTPStatusCode"])
        if isinstance(message, re.Pattern):
            self.assertRegex(err["Message"], message)
        elif message is not None:
            self.assertEqual(message, err["Message"])

    def assertRaw(self, code, message, status_body):
        status, body = status_body
        self.assertEqual(400, status, body)
        self.assertEqual(code, body["__type"].split("#")[-1], body)
        if isinstance(message, re.Pattern):
            self.assertRegex(body["message"], message)
        else:
            self.assertEqual(message, body["message"])


class TestAccepted(AuthTest):
    def test_signed_client_works(self):
        c = client()
        c.create_table(TableName="auth_items", BillingMode="PAY_PER_REQUEST",
                       KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        c.put_item(TableName="auth_items", Item={"id": {"S": "a"}, "v": {"S": "x" * 5000}})
        item = c.get_item(TableName="auth_items", Key={"id": {"S": "a"}})["Item"]
        self.assertEqual("x" * 5000, item["v"]["S"])
        self.assertIn("auth_items", c.list_tables()["TableNames"])

    def test_keys_from_the_credentials_file(self):
        client(FILE_KEY, FILE_SECRET).list_tables()
        client("AKIDSECOND", "another").list_tables()

    def test_any_region(self):
        c = client(region="eu-west-1")
        c.list_tables()
        c.describe_limits()

    def test_independent_signer(self):
        body = b"{}"
        status, out = post(sign("ListTables", body, amz_date()), body)
        self.assertEqual(200, status, out)
        self.assertIn("TableNames", out)

    def test_small_skew_is_accepted(self):
        for offset in (-14 * 60, 14 * 60):
            body = b"{}"
            status, out = post(sign("ListTables", body, amz_date(offset)), body)
            self.assertEqual(200, status, out)


class TestRefused(AuthTest):
    def test_wrong_secret(self):
        self.assertError("InvalidSignatureException", BAD_SIGNATURE,
                         client(secret="not-the-secret").list_tables)

    def test_unknown_key(self):
        self.assertError("UnrecognizedClientException",
                         "The security token included in the request is invalid.",
                         client(key="AKIDUNKNOWN").list_tables)

    def test_unsigned_boto3(self):
        self.assertError("MissingAuthenticationTokenException",
                         "Request is missing Authentication Token",
                         client(unsigned=True).list_tables)

    def test_unsigned_raw(self):
        self.assertRaw("MissingAuthenticationTokenException",
                       "Request is missing Authentication Token",
                       post({"Content-Type": "application/x-amz-json-1.0",
                             "X-Amz-Target": TARGET + "ListTables"}, b"{}"))

    def test_checked_before_the_operation(self):
        # An unknown operation or a bad body is not looked at before the signature.
        self.assertRaw("MissingAuthenticationTokenException",
                       "Request is missing Authentication Token",
                       post({"X-Amz-Target": TARGET + "NoSuchOp"}, b"not json"))

    def test_expired(self):
        body = b"{}"
        date = amz_date(-20 * 60)
        self.assertRaw("InvalidSignatureException",
                       re.compile(r"^Signature expired: %s is now earlier than \d{8}T\d{6}Z "
                                  r"\(\d{8}T\d{6}Z - 15 min\.\)$" % date),
                       post(sign("ListTables", body, date), body))

    def test_not_yet_current(self):
        body = b"{}"
        date = amz_date(20 * 60)
        self.assertRaw("InvalidSignatureException",
                       re.compile(r"^Signature not yet current: %s is still later than "
                                  r"\d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 15 min\.\)$" % date),
                       post(sign("ListTables", body, date), body))

    def test_tampered_body(self):
        body = b'{"Limit": 1}'
        headers = sign("ListTables", body, amz_date())
        self.assertRaw("InvalidSignatureException", BAD_SIGNATURE,
                       post(headers, b'{"Limit": 2}'))

    def test_tampered_signed_header(self):
        headers = sign("ListTables", b"{}", amz_date())
        headers["X-Amz-Target"] = TARGET + "DescribeLimits"
        self.assertRaw("InvalidSignatureException", BAD_SIGNATURE, post(headers, b"{}"))

    def test_content_sha256_must_match_the_body(self):
        req = AWSRequest(method="POST", url="http://127.0.0.1:%d/" % PORT, data=b"{}",
                         headers={"Content-Type": "application/x-amz-json-1.0",
                                  "X-Amz-Target": TARGET + "ListTables",
                                  "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"})
        SigV4Auth(Credentials(KEY, SECRET), "dynamodb", "us-east-1").add_auth(req)
        self.assertRaw("InvalidSignatureException", BAD_SIGNATURE,
                       post(dict(req.headers.items()), b"{}"))

    def test_wrong_service(self):
        body = b"{}"
        self.assertRaw("InvalidSignatureException",
                       "Credential should be scoped to correct service: 'dynamodb'. ",
                       post(sign("ListTables", body, amz_date(), service="s3"), body))

    def test_malformed_header(self):
        headers = sign("ListTables", b"{}", amz_date())
        headers["Authorization"] = headers["Authorization"].split(", Signature=")[0]
        self.assertRaw("IncompleteSignatureException",
                       re.compile(r"^Authorization header requires 'Signature' parameter\. "
                                  r"Authorization=AWS4-HMAC-SHA256 Credential="),
                       post(headers, b"{}"))

    def test_missing_date(self):
        headers = sign("ListTables", b"{}", amz_date())
        del headers["X-Amz-Date"]
        self.assertRaw("IncompleteSignatureException",
                       re.compile(r"^Authorization header requires existence of either a "
                                  r"'X-Amz-Date' or a 'Date' header\."),
                       post(headers, b"{}"))


class TestConfiguration(unittest.TestCase):
    def run_cirrusd(self, *args):
        p = subprocess.run([CIRRUSD, "--data", os.path.join(DATA, "unused")] + list(args),
                           capture_output=True, text=True, timeout=20)
        return p.returncode, p.stderr

    def test_auth_needs_keys(self):
        rc, err = self.run_cirrusd("--auth")
        self.assertEqual(2, rc)
        self.assertIn("--auth needs --credentials FILE or --access-key ID:SECRET", err)

    def test_bad_credentials_file(self):
        bad = os.path.join(DATA, "bad-credentials")
        with open(bad, "w") as f:
            f.write("AKIDONLY\n")
        rc, err = self.run_cirrusd("--auth", "--credentials", bad)
        self.assertEqual(2, rc)
        self.assertIn("bad-credentials:1: expected 'ACCESS_KEY_ID SECRET_ACCESS_KEY'", err)
        self.assertFalse(os.path.exists(os.path.join(DATA, "unused")))


if __name__ == "__main__":
    CIRRUSD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
