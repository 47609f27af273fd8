#!/usr/bin/env python3
"""Writes the committed seed corpus, fuzz/corpus/<target>/<name>: a handful of realistic inputs
per target. Run by hand (`python3 fuzz/make_corpus.py`) when the targets' input formats change;
it needs `openssl` to sign the seed JWTs. Files it does not write (crash inputs kept as
regression seeds, `crash-*`) are left alone.
"""
import base64
import json
import os
import subprocess
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
ISSUER = "https://auth.example.com/t/acme"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def basic(id_secret: bytes) -> bytes:
    return b"Basic " + base64.b64encode(id_secret)


def es256_jwt(header: dict, claims: dict) -> str:
    """A real ES256 JWS, signed with a throwaway P-256 key by openssl."""
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "key.pem")
        subprocess.run(
            ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
            check=True,
        )
        der = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", key],
            input=signing_input.encode(),
            capture_output=True,
            check=True,
        ).stdout
    # DER SEQUENCE { INTEGER r, INTEGER s } -> r || s, 32 bytes each.
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    parts = []
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        parts.append(int.from_bytes(der[i + 2 : i + 2 + n], "big").to_bytes(32, "big"))
        i += 2 + n
    return signing_input + "." + b64url(parts[0] + parts[1])


def unsigned_jwt(header: dict, claims: dict, signature: bytes = b"") -> str:
    enc = lambda v: b64url(json.dumps(v, separators=(",", ":")).encode())
    return enc(header) + "." + enc(claims) + "." + b64url(signature)


CLAIMS = {
    "iss": ISSUER,
    "sub": "user-1",
    "aud": "https://api.example.com",
    "client_id": "client-1",
    "scope": "read write",
    "iat": 1767225600,
    "exp": 4102444800,
    "jti": "0196a0c2-7d4e-7b3a-9c1f-2e8d4b6a5f10",
    "tid": "acme",
}
HEADER = {"alg": "ES256", "typ": "at+jwt", "kid": "k1"}
JWT = es256_jwt(HEADER, CLAIMS)
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 Appendix B
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

SEEDS = {
    "token_form": {
        "client-credentials": b"grant_type=client_credentials&scope=read+write",
        "client-credentials-basic": basic(b"client-1:s3cret")
        + b"\ngrant_type=client_credentials&scope=read&resource=https%3A%2F%2Fapi.example.com",
        "client-secret-post": b"grant_type=client_credentials&client_id=client-1&client_secret=s3cret"
        b"&audience=https%3A%2F%2Fapi.example.com",
        "authorization-code-public": (
            "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&client_id=spa-1"
            "&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback%3Fx%3D1"
            f"&code_verifier={VERIFIER}"
        ).encode(),
        "refresh-token-basic": basic(b"client-1:s3cret")
        + b"\ngrant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA&scope=read",
        "token-exchange": (
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
            f"&subject_token={JWT}"
            "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"
            "&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"
            "&audience=https%3A%2F%2Fapi.example.com&credential_profile=default"
            "&client_id=client-1&client_secret=s3cret"
        ).encode(),
        "repeated-name": b"grant_type=client_credentials&grant_type=refresh_token",
        "bad-utf8": b"grant_type=client_credentials&scope=%ff%fe",
        "odd-escapes": b"&&a%=b&%zz=%2&=&c+d=e+f%2B&scope=a++b",
        "too-many-fields": b"&".join(b"f%d=1" % i for i in range(33)),
        "header-id-mismatch": basic(b"client-1:s3cret") + b"\nclient_id=client-2&grant_type=x",
    },
    "basic_auth": {
        "basic": basic(b"client-1:s3cret"),
        "form-encoded-parts": basic(b"my%20client:s%3Ac+d%26e"),
        "lowercase-scheme-spaces": b"  basic   " + base64.b64encode(b"c:s") + b"\t",
        "empty-secret": basic(b"client-1:"),
        "empty-id": basic(b":secret"),
        "no-colon": basic(b"no-colon"),
        "not-utf8-inside": basic(b"\xff:\xfe"),
        "bad-escape-inside": basic(b"a%zz:%e9"),
        "bearer": b"Bearer " + JWT.encode(),
        "bad-base64": b"Basic !!!",
        "id-nul-secret": "client-1\0p@ss:w\u00f6rd&x=1+2".encode(),
    },
    "jwt_verify": {
        "es256-other-key": b"\x00" + JWT.encode(),
        "alg-none": b"\x00" + unsigned_jwt({"alg": "none", "typ": "at+jwt", "kid": "k1"}, CLAIMS).encode(),
        "hs256-kid": b"\x00"
        + unsigned_jwt({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}, CLAIMS, b"\x00" * 32).encode(),
        "typ-jwt": b"\x00" + es256_jwt({"alg": "ES256", "typ": "JWT", "kid": "k1"}, CLAIMS).encode(),
        "junk": b"\x00a.b.c",
        "unchanged": b"\x01",
        "flip-bit": b"\x01" + bytes([3, 0x01, 0x00, 2]),
        "edit-payload": b"\x01" + bytes([0, 0x00, 0x40, ord("A"), 1, 0x00, 0x10, ord(".")]),
        "swap-segments": b"\x01" + bytes([4, 0x00, 0x30, 1]),
        "signed-valid": b"\x02" + json.dumps(CLAIMS).encode(),
        "signed-expired": b"\x02" + json.dumps({**CLAIMS, "exp": 1000}).encode(),
        "signed-other-issuer": b"\x02" + json.dumps({**CLAIMS, "iss": "https://evil.example"}).encode(),
        "signed-duplicate-iss": b"\x02"
        + json.dumps(CLAIMS)[:-1].encode()
        + b', "iss": "https://evil.example"}',
        "signed-float-exp": b"\x02" + json.dumps({**CLAIMS, "exp": 4102444800.5}).encode(),
        "signed-provenance": b"\x02"
        + json.dumps(
            {
                **CLAIMS,
                "act": {"sub": "svc-1"},
                "src": [{"jti": "j0", "client_id": "c0", "app_id": "a0"}],
                "fam": "f1",
                "app_id": "app-1",
                "cred_profile": "default",
            }
        ).encode(),
    },
    "redirect_uri": {
        "https": b"https://app.example.com/callback",
        "loopback-query-state": b"http://127.0.0.1:9000/cb?x=1\nxyz-state%20&",
        "private-scheme": b"com.example.app:/oauth2redirect/example-provider",
        "urn-oob": b"urn:ietf:wg:oauth:2.0:oob",
        "fragment": b"https://app.example.com/cb#frag",
        "dot-segments-userinfo": b"https://user:pw@app.example.com:8443/a/../b/./c?q=%20&r",
        "ipv6": b"http://[::1]:8080/cb?",
        "idn": "https://b\u00fccher.example/cb".encode(),
        "space": b"https://app.example.com/c b",
        "javascript": b"javascript://%0aalert(1)",
    },
    "pkce": {
        "rfc7636-example": f"{VERIFIER}\n{CHALLENGE}".encode(),
        "verifier-only": VERIFIER.encode(),
        "max-length": b"a1-._~" * 21 + b"xy",
        "too-short": b"a" * 42,
        "plus-sign": b"a" * 43 + b"+",
        "padded-challenge": f"{VERIFIER}\n{CHALLENGE}=".encode(),
        "plain-method-attempt": f"{VERIFIER}\n{VERIFIER}".encode(),
    },
}

for target, seeds in SEEDS.items():
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seeds)} seeds")
