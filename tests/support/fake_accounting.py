#!/usr/bin/env python3
"""fake_accounting.py: an accounting API shaped like Xero's, for tests only,
on 127.0.0.1 (a real HTTP server; nothing leaves the machine).

It enforces what the real one does and the connector must survive:
  - OAuth2 at POST /connect/token: client credentials by HTTP Basic; grant
    authorization_code (code "good-code") or refresh_token. Refresh tokens
    rotate: each refresh returns a new one and the old one is refused
    (400 invalid_grant) from then on. Access tokens expire (ACCESS_TTL s).
  - POST /api.xro/2.0/Invoices: a valid unexpired bearer token (else 401),
    the right xero-tenant-id (else 403), at most RATE calls a minute when
    enforced (429 + Retry-After), and an Idempotency-Key: a key seen before
    returns the invoice it made, never a second one.
Faults on demand, POST /_control with JSON:
  {"fail": N, "fail_status": 500}  the next N invoice calls answer fail_status
  {"hang": N, "hang_s": 5}         the next N record the invoice, then sleep
                                   before answering (a client that gives up
                                   or dies must not duplicate it)
  {"rate": R, "rate_window": W}   enforce R calls per W seconds (0: off;
                                   Xero: 60 per 60)
  {"access_ttl": S}                new access tokens live S seconds
  {"expire_all": true}             every access token given so far expires
  {"down": true|false}             every call answers 503
  {"hook_fail": N}                 the next N webhook deliveries answer 500
POST /hooks receives frontdesk's webhooks, checking X-Frontdesk-Signature
with the secret "hook-secret".
GET /_state: {"invoices": [...], "duplicates": n, "refreshes": n,
              "refused_refresh": n, "calls": n, "refresh": the valid refresh token}.

Prints the port on stdout, then serves until killed.
"""
import base64
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

CLIENT = ("test-client", "test-secret")
TENANT = "tenant-1"
LOCK = threading.Lock()
S = {
    "access": {},  # token -> expiry
    "refresh": None,  # the one valid refresh token
    "access_ttl": 1800.0,
    "invoices": [],
    "by_key": {},
    "duplicates": 0,
    "refreshes": 0,
    "refused_refresh": 0,
    "calls": 0,
    "fail": 0,
    "fail_status": 500,
    "hang": 0,
    "hang_s": 5.0,
    "rate": 0,
    "rate_window": 60.0,
    "window": [],
    "down": False,
    "hooks": [],
    "hook_fail": 0,
}
HOOK_SECRET = b"hook-secret"


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, obj, headers=None):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        if self.path == "/_state":
            with LOCK:
                self.send(200, {k: S[k] for k in ("invoices", "duplicates", "refreshes",
                                                  "refused_refresh", "calls", "refresh", "hooks")})
        else:
            self.send(404, {"Message": "not found"})

    def token(self, raw):
        auth = self.headers.get("Authorization", "")
        ok = auth.startswith("Basic ") and base64.b64decode(auth[6:]).decode() == "%s:%s" % CLIENT
        if not ok:
            return self.send(401, {"error": "invalid_client"})
        f = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        with LOCK:
            g = f.get("grant_type")
            if g == "authorization_code" and f.get("code") == "good-code":
                pass
            elif g == "refresh_token" and S["refresh"] and f.get("refresh_token") == S["refresh"]:
                S["refreshes"] += 1
            else:
                S["refused_refresh"] += g == "refresh_token"
                return self.send(400, {"error": "invalid_grant"})
            acc, ref = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            S["access"][acc] = time.time() + S["access_ttl"]
            S["refresh"] = ref  # rotation: the old one is dead now
            ttl = S["access_ttl"]
        self.send(200, {"access_token": acc, "refresh_token": ref, "expires_in": ttl,
                        "token_type": "Bearer"})

    def invoices(self, raw):
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else ""
        with LOCK:
            S["calls"] += 1
            if S["down"]:
                return self.send(503, {"Message": "down"})
            exp = S["access"].get(tok)
            if not exp or exp < time.time():
                return self.send(401, {"Title": "Unauthorized", "Detail": "TokenExpired"})
            if self.headers.get("xero-tenant-id") != TENANT:
                return self.send(403, {"Title": "Forbidden"})
            now = time.time()
            if S["rate"]:
                w = S["rate_window"]
                S["window"] = [t for t in S["window"] if t > now - w]
                if len(S["window"]) >= S["rate"]:
                    wait = max(1, int(S["window"][0] + w - now) + 1)
                    return self.send(429, {"Title": "Too Many Requests"}, {"Retry-After": str(wait)})
                S["window"].append(now)
            if S["fail"] > 0:
                S["fail"] -= 1
                return self.send(S["fail_status"], {"Message": "injected failure",
                                                     "Elements": [{"ValidationErrors": [
                                                         {"Message": "injected failure"}]}]})
            key = self.headers.get("Idempotency-Key") or ""
            if key and key in S["by_key"]:
                S["duplicates"] += 1
                inv = S["by_key"][key]
            else:
                try:
                    inv = json.loads(raw)["Invoices"][0]
                except (ValueError, KeyError, IndexError):
                    return self.send(400, {"Message": "bad invoice"})
                inv = dict(inv, InvoiceID="inv-%d" % (len(S["invoices"]) + 1), IdempotencyKey=key)
                S["invoices"].append(inv)
                if key:
                    S["by_key"][key] = inv
            hang = 0
            if S["hang"] > 0:
                S["hang"] -= 1
                hang = S["hang_s"]
        if hang:
            time.sleep(hang)
        self.send(200, {"Invoices": [inv]})

    def do_POST(self):
        raw = self.body()
        if self.path == "/connect/token":
            return self.token(raw)
        if self.path == "/api.xro/2.0/Invoices":
            return self.invoices(raw)
        if self.path == "/hooks":
            # a company's webhook receiver: checks the signature, records
            ts = self.headers.get("X-Frontdesk-Timestamp", "")
            want = "sha256=" + hmac.new(HOOK_SECRET, ts.encode() + b"." + raw,
                                        hashlib.sha256).hexdigest()
            with LOCK:
                if S["hook_fail"] > 0:
                    S["hook_fail"] -= 1
                    return self.send(500, {"Message": "injected failure"})
                ev = json.loads(raw or b"{}")
                S["hooks"].append({"type": self.headers.get("X-Frontdesk-Event"),
                                   "id": self.headers.get("X-Frontdesk-Delivery"),
                                   "valid": hmac.compare_digest(
                                       want, self.headers.get("X-Frontdesk-Signature", "")),
                                   "data": ev.get("data")})
            return self.send(200, {"ok": True})
        if self.path == "/_control":
            c = json.loads(raw or b"{}")
            with LOCK:
                if c.get("expire_all"):
                    S["access"] = {}
                for k in ("fail", "fail_status", "hang", "hang_s", "rate", "rate_window",
                          "access_ttl", "down", "hook_fail"):
                    if k in c:
                        S[k] = c[k]
            return self.send(200, {"ok": True})
        self.send(404, {"Message": "not found"})


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
