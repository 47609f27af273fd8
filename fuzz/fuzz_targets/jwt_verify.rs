//! `tokens::Verifier::verify` against one ES256 key made at start-up.
//!
//! The first byte of the input picks a mode (the rest is that mode's input):
//! - 0: the rest, as text, is a token: it must not verify unless it is the token signed at
//!   start-up (or that token's high-S twin, see `TWIN` below).
//! - 1: the rest is a list of edits (4 bytes each: op, position high, position low, byte) applied
//!   to the token signed at start-up: the edited token must not verify unless it is unchanged.
//! - 2: the rest is a JSON payload that the real key signs as it is; what verifies must be
//!   exactly the claims of that payload, with the right issuer and not expired, and a payload
//!   whose claims are well formed, current and of this issuer must verify.
#![no_main]

use std::sync::LazyLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd::tokens::{generate_es256, AccessClaims, Signer, Verifier};
use grantd_jose::JoseError;
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

const ISSUER: &str = "https://auth.example.com/t/acme";
const KID: &str = "k1";

struct Fixture {
    signer: Signer,
    verifier: Verifier,
    claims: AccessClaims,
    token: String,
    /// ECDSA signatures are malleable: `(r, n - s)` is as valid as `(r, s)`, so the same header
    /// and claims have a second valid token string. It carries the same claims (and `jti`).
    twin: String,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let (pkcs8, jwk) = generate_es256(KID).unwrap();
    let signer = Signer::from_pkcs8(KID, &pkcs8).unwrap();
    let verifier = Verifier::new(ISSUER, &[jwk]);
    let now = now();
    let claims = AccessClaims::new(grantd_resource::Claims {
        iss: ISSUER.into(),
        sub: "user-1".into(),
        aud: "https://api.example.com".into(),
        client_id: "client-1".into(),
        scope: Some("read write".into()),
        iat: now,
        exp: now + 10 * 365 * 24 * 3600,
        nbf: None,
        jti: "0196a0c2-7d4e-7b3a-9c1f-2e8d4b6a5f10".into(),
        tid: "acme".into(),
        app_id: Some("app-1".into()),
        cred_profile: None,
        act: Some(grantd::tokens::Actor::new("svc-1")),
        cnf: None,
    });
    let token = signer.sign(&claims).unwrap();
    assert_eq!(
        verifier.verify(&token, now).unwrap(),
        (claims.clone(), KID.to_owned())
    );
    let twin = high_s_twin(&token);
    if verifier.verify(&twin, now).is_ok() {
        eprintln!("jwt_verify: note: a token's high-S twin verifies too (ECDSA malleability)");
    }
    Fixture {
        signer,
        verifier,
        claims,
        token,
        twin,
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => arbitrary_token(rest),
        1 => edited_token(rest),
        _ => signed_payload(rest),
    }
});

fn arbitrary_token(rest: &[u8]) {
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    check_only_known_tokens_verify(text);
}

fn edited_token(edits: &[u8]) {
    let f = &*FIXTURE;
    let mut token = f.token.clone().into_bytes();
    for edit in edits.chunks_exact(4).take(16) {
        let (op, pos, byte) = (
            edit[0],
            usize::from(u16::from_be_bytes([edit[1], edit[2]])),
            edit[3],
        );
        match op % 5 {
            0 if !token.is_empty() => {
                let i = pos % token.len();
                token[i] = byte;
            }
            1 => {
                let i = pos % (token.len() + 1);
                token.insert(i, byte);
            }
            2 if !token.is_empty() => {
                let i = pos % token.len();
                token.remove(i);
            }
            3 if !token.is_empty() => {
                let i = pos % token.len();
                token[i] ^= 1 << (byte % 8);
            }
            4 => {
                // Cut the token, or move its tail to the front (segment swaps).
                let i = pos % (token.len() + 1);
                if byte & 1 == 0 {
                    token.truncate(i);
                } else {
                    token.rotate_left(i);
                }
            }
            _ => {}
        }
    }
    let Ok(text) = String::from_utf8(token) else {
        return;
    };
    check_only_known_tokens_verify(&text);
}

fn check_only_known_tokens_verify(text: &str) {
    let f = &*FIXTURE;
    let result = f.verifier.verify(text, now());
    if text == f.token {
        assert_eq!(result, Ok((f.claims.clone(), KID.to_owned())));
        return;
    }
    if text == f.twin {
        if let Ok(verified) = result {
            assert_eq!(verified, (f.claims.clone(), KID.to_owned()));
        }
        return;
    }
    assert!(
        result.is_err(),
        "a token that was never signed verified: {text:?} -> {result:?}"
    );
    if text.len() > 8192 {
        assert_eq!(result, Err(JoseError::Malformed));
    }
}

fn signed_payload(rest: &[u8]) {
    let f = &*FIXTURE;
    let Ok(payload) = serde_json::from_slice::<&RawValue>(rest) else {
        return;
    };
    let token = f.signer.sign(&payload).unwrap();
    // The signer put the payload in verbatim.
    let encoded = token.split('.').nth(1).unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.decode(encoded).unwrap(),
        payload.get().as_bytes()
    );

    let before = now();
    let result = f.verifier.verify(&token, before);
    let after = now();
    let expected = serde_json::from_str::<AccessClaims>(payload.get()).ok();
    match &result {
        Ok((claims, kid)) => {
            assert_eq!(kid, KID);
            assert_eq!(claims.iss, ISSUER, "a token of another issuer verified");
            assert!(
                claims.exp >= before,
                "an expired token verified: exp {}",
                claims.exp
            );
            assert_eq!(
                Some(claims),
                expected.as_ref(),
                "verified claims differ from the payload"
            );
        }
        Err(JoseError::Expired) => {
            if let Some(claims) = &expected {
                assert!(
                    claims.exp <= after,
                    "refused as expired but exp {} > now",
                    claims.exp
                );
            }
        }
        Err(e) => assert_ne!(*e, JoseError::UnknownKey),
    }
    // Completeness: well-formed, current claims of this issuer are accepted, when the payload
    // has only fields of `AccessClaims` (as grantd signs them). Other registered claims are
    // checked by jsonwebtoken too: a non-numeric `nbf` is refused even though it is not validated.
    if let Some(claims) = &expected {
        if claims.iss == ISSUER
            && claims.exp > after + 60
            && token.len() <= 8192
            && only_access_claims_fields(payload.get())
        {
            assert!(
                result.is_ok(),
                "valid claims were refused: {result:?} for {payload}"
            );
        }
    }
    if token.len() > 8192 {
        assert_eq!(result, Err(JoseError::Malformed));
    }
}

fn only_access_claims_fields(payload: &str) -> bool {
    const FIELDS: [&str; 14] = [
        "iss",
        "sub",
        "aud",
        "client_id",
        "scope",
        "iat",
        "exp",
        "jti",
        "tid",
        "app_id",
        "cred_profile",
        "act",
        "src",
        "fam",
    ];
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(payload)
        .is_ok_and(|object| object.keys().all(|k| FIELDS.contains(&k.as_str())))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The same token with its signature's `s` replaced by `n - s` (n: the P-256 group order).
fn high_s_twin(token: &str) -> String {
    const N: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63,
        0x25, 0x51,
    ];
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert_eq!(signature.len(), 64);
    let s = &mut signature[32..];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        s[i] = d as u8;
    }
    assert_eq!(borrow, 0);
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&signature))
}
