#!/usr/bin/env python3
"""bench/tools/code_flow.py - make refresh-token families for bench/refresh.sh.

Drives grantd's authorization-code flow over HTTP, as a browser and a client would, N times:
GET the authorization endpoint (PKCE S256) -> POST the login form (csrf_token, username,
password, with the grantd_authz cookie) -> POST the consent form (decision=approve, with the
cookie and CSRF token renewed at sign-in) -> 302 with code -> POST the token endpoint
(authorization_code + code_verifier, HTTP Basic) -> refresh token.
Writes one refresh token per line (each the head of its own family) to --out.

Sign-in is throttled per user (10 a minute) and per client address (30 a minute), so it first
creates ceil(N / 10) users through the admin API, uses each user for at most 10 sign-ins, and
spreads the sign-ins over loopback source addresses 127.0.x.y (x.y >= 0.2), at most 30 each.
Every connection goes to 127.0.0.1 (the whole 127/8 is loopback on Linux); the run stops at
--deadline seconds. Standard library only (no `requests`).

Exit: 0 = N families written; 1 = something failed (the first failure is printed).
"""

import argparse
import base64
import concurrent.futures as cf
import hashlib
import http.client
import json
import os
import re
import secrets
import sys
import time
import urllib.parse

USER_LOGINS = 10  # src/routes/authorize/post.rs ATTEMPTS_PER_USER
ADDRESS_LOGINS = 30  # ATTEMPTS_PER_ADDRESS
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class FlowError(Exception):
    pass


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def source_address(index):
    """The index-th loopback client address: 127.0.0.2 ... 127.0.0.254, 127.0.1.2, ... (never
    127.0.0.1, never .0 or .255)."""
    return "127.0.%d.%d" % (index // 253, 2 + index % 253)


def loopback_parts(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit("code_flow.py: refusing a non-loopback URL: %s" % url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    return parts.port or 80, path


class Flow:
    def __init__(self, args):
        self.args = args
        self.port, self.authorize_path = loopback_parts(args.authorization_endpoint)
        token_port, self.token_path = loopback_parts(args.token_endpoint)
        if token_port != self.port:
            raise SystemExit("code_flow.py: authorization and token endpoints on different ports")
        self.basic = base64.b64encode(("%s:%s" % (args.client_id, args.client_secret)).encode()).decode()

    def connect(self, source):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10, source_address=(source, 0))

    def call(self, conn, method, path, body=None, headers=None, want=200):
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        payload = response.read().decode("utf-8", "replace")
        if response.status != want:
            raise FlowError("%s %s: expected %d, got %d: %s" % (method, path.split("?")[0], want, response.status, payload[:300]))
        return response, payload

    def admin_user(self, username, password):
        port, path = loopback_parts(self.args.base + "/admin/v1/tenants/%s/users" % self.args.slug)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            body = json.dumps({"username": username, "password": password})
            self.call(conn, "POST", path, body, {
                "Authorization": "Bearer " + self.args.admin_token,
                "Content-Type": "application/json",
            }, want=201)
        finally:
            conn.close()

    def family(self, index, username, password):
        """One whole code flow; returns the refresh token."""
        args = self.args
        verifier = b64url(secrets.token_bytes(32))
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        state = b64url(secrets.token_bytes(12))
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": args.client_id, "redirect_uri": args.redirect_uri,
            "scope": args.scope, "state": state, "code_challenge": challenge,
            "code_challenge_method": "S256",
        })
        sep = "&" if "?" in self.authorize_path else "?"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        conn = self.connect(source_address(index // ADDRESS_LOGINS))
        try:
            response, page = self.call(conn, "GET", self.authorize_path + sep + query)
            cookie = None
            for name, value in response.getheaders():
                if name.lower() == "set-cookie" and value.startswith("grantd_authz="):
                    cookie = value.split(";", 1)[0]
            match = CSRF.search(page)
            if not cookie or not match:
                raise FlowError("the login page has no grantd_authz cookie or no csrf_token")
            csrf = match.group(1)
            headers = dict(form, Cookie=cookie)
            body = urllib.parse.urlencode({"csrf_token": csrf, "username": username, "password": password})
            response, page = self.call(conn, "POST", self.authorize_path.split("?")[0], body, headers)
            if 'name="decision" value="approve"' not in page:
                raise FlowError("no consent page after sign-in: %s" % page[:300])
            # Signing in renews the cookie and the CSRF token.
            for name, value in response.getheaders():
                if name.lower() == "set-cookie" and value.startswith("grantd_authz="):
                    headers["Cookie"] = value.split(";", 1)[0]
            match = CSRF.search(page)
            if not match:
                raise FlowError("the consent page has no csrf_token")
            body = urllib.parse.urlencode({"csrf_token": match.group(1), "decision": "approve"})
            response, _ = self.call(conn, "POST", self.authorize_path.split("?")[0], body, headers, want=302)
            location = response.getheader("Location") or ""
            params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
            if params.get("state") != state or "code" not in params:
                raise FlowError("bad redirect after consent: %s" % location[:300])
            body = urllib.parse.urlencode({
                "grant_type": "authorization_code", "code": params["code"],
                "redirect_uri": args.redirect_uri, "code_verifier": verifier,
            })
            _, answer = self.call(conn, "POST", self.token_path, body, dict(
                form, Authorization="Basic " + self.basic, Accept="application/json"))
            token = json.loads(answer).get("refresh_token")
            if not token:
                raise FlowError("the token answer has no refresh_token: %s" % answer[:300])
            return token
        finally:
            conn.close()


def run(pool, deadline, jobs):
    """Runs (fn, args) jobs on the pool; returns the results in order; raises on the first error."""
    futures = [pool.submit(fn, *fn_args) for fn, fn_args in jobs]
    results = []
    try:
        for future in futures:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FlowError("deadline reached")
            results.append(future.result(timeout=remaining))
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="grantd base URL (loopback)")
    p.add_argument("--admin-token", default=os.environ.get("BENCH_ADMIN_TOKEN"))
    p.add_argument("--slug", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", default=os.environ.get("BENCH_CLIENT_SECRET"))
    p.add_argument("--authorization-endpoint", required=True)
    p.add_argument("--token-endpoint", required=True)
    p.add_argument("--redirect-uri", required=True)
    p.add_argument("--scope", default="api:read api:write")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--deadline", type=float, default=300, help="seconds for the whole run")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    if not args.admin_token or not args.client_secret:
        raise SystemExit("code_flow.py: set BENCH_ADMIN_TOKEN and BENCH_CLIENT_SECRET (or the flags)")
    loopback_parts(args.base)
    flow = Flow(args)
    deadline = time.monotonic() + args.deadline
    started = time.monotonic()
    users = (args.count + USER_LOGINS - 1) // USER_LOGINS
    password = b64url(secrets.token_bytes(18))
    names = ["bench-user-%05d" % k for k in range(users)]
    with cf.ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        try:
            run(pool, deadline, [(flow.admin_user, (name, password)) for name in names])
            made_users = time.monotonic()
            tokens = run(pool, deadline, [
                (flow.family, (i, names[i // USER_LOGINS], password)) for i in range(args.count)
            ])
        except (FlowError, OSError, ValueError, cf.TimeoutError) as e:
            print("code_flow.py: %s: %s" % (type(e).__name__, e), file=sys.stderr)
            return 1
    done = time.monotonic()
    with open(args.out, "w") as out:
        out.write("\n".join(tokens) + "\n")
    addresses = (args.count + ADDRESS_LOGINS - 1) // ADDRESS_LOGINS
    print("CODE_FLOW_JSON " + json.dumps({
        "families": len(tokens), "users": users, "source_addresses": addresses,
        "users_s": round(made_users - started, 2), "flows_s": round(done - made_users, 2),
        "flows_per_s": round(len(tokens) / max(done - made_users, 1e-9), 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
