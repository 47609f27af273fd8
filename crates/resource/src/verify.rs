//! Local validation of a JWT access token as RFC 9068 §4 asks of a resource server, through
//! grantd-jose: `typ` is `at+jwt`, the algorithm is the one the issuer uses (ES256), the
//! signature verifies with a key of the issuer's JWKS, `iss` is the issuer, `aud` is this
//! resource server, and `exp` has not passed (with a small leeway for clock skew). This module
//! only says which rules apply and words each refusal as the RFC 6750 description apps see.
use grantd_jose::verify::{Checked, Expectations, Rules};
use grantd_jose::{Algorithm, DecodingKey, JoseError, TimeBound};

use crate::{Claims, TokenError};

impl TimeBound for Claims {
    fn expires_at(&self) -> i64 {
        self.exp
    }
    fn not_before(&self) -> Option<i64> {
        self.nbf
    }
}

/// The rules for access tokens of `issuer` meant for `audience`.
pub(crate) fn rules(issuer: &str, audience: &str, leeway_secs: i64) -> Rules {
    Rules::new(&Expectations {
        algorithms: &[Algorithm::ES256],
        types: &["at+jwt"],
        issuer,
        audience: Some(audience),
        required: &["sub", "aud"],
        leeway_secs,
    })
}

/// The header of a token whose header is acceptable.
pub(crate) fn check(token: &str, rules: &Rules) -> Result<Checked, TokenError> {
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    rules.check(token).map_err(refusal)
}

/// Verifies the signature with `key` and the claims at `now` (unix seconds).
pub(crate) fn decode(
    token: &str,
    checked: &Checked,
    key: &DecodingKey,
    rules: &Rules,
    now: i64,
) -> Result<Claims, TokenError> {
    rules
        .verify_checked(token, checked, key, now)
        .map_err(refusal)
}

/// The RFC 6750 refusal for a rule that failed.
pub(crate) fn refusal(error: JoseError) -> TokenError {
    TokenError::Invalid(match error {
        JoseError::Expired => return TokenError::Expired,
        JoseError::Unavailable => return TokenError::Unavailable,
        JoseError::UnsupportedAlgorithm => "unsupported signing algorithm",
        JoseError::WrongType => "not a JWT access token",
        JoseError::NoKeyId => "the token names no signing key",
        JoseError::UnknownKey => "signed by an unknown key",
        JoseError::BadSignature => "bad signature",
        JoseError::WrongIssuer => "the token is of another issuer",
        JoseError::WrongAudience => "the token is for another audience",
        JoseError::MissingClaim => "a required claim is missing",
        JoseError::NotYetValid => "the token is not valid yet",
        JoseError::Malformed | JoseError::PrivateKey | JoseError::NotAKeySet => "malformed token",
    })
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use grantd_jose::jwk::public_key;
    use grantd_jose::testing::es256_key;
    use jsonwebtoken::Header;
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_750_000_000;
    const ISS: &str = "https://as.example/t/acme";
    const AUD: &str = "https://as.example/t/acme/apps/chat";

    fn claims(aud: &str, exp: i64) -> serde_json::Value {
        json!({
            "iss": ISS, "sub": "c1", "aud": aud, "client_id": "c1", "scope": "chat:read",
            "iat": NOW - 60, "exp": exp, "jti": "j1", "tid": "t", "app_id": "a",
        })
    }

    fn signed(claims: &serde_json::Value) -> (String, DecodingKey) {
        let (signing, jwk) = es256_key("k1");
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("at+jwt".into());
        header.kid = Some("k1".into());
        let token = jsonwebtoken::encode(&header, claims, &signing).unwrap();
        (token, public_key(&jwk).unwrap().key)
    }

    fn verified(token: &str, key: &DecodingKey) -> Result<Claims, TokenError> {
        let rules = rules(ISS, AUD, 30);
        decode(token, &check(token, &rules)?, key, &rules, NOW)
    }

    fn kid_of(token: &str, rules: &Rules) -> Result<String, TokenError> {
        let checked = check(token, rules)?;
        checked.kid().map(str::to_owned).map_err(refusal)
    }

    #[test]
    fn a_token_for_this_audience_verifies_into_the_wire_claims() {
        let (token, key) = signed(&claims(AUD, NOW + 300));
        assert_eq!(kid_of(&token, &rules(ISS, AUD, 30)).unwrap(), "k1");
        let claims = verified(&token, &key).unwrap();
        assert_eq!(
            (claims.aud.as_str(), claims.app_id.as_deref()),
            (AUD, Some("a"))
        );
    }

    #[test]
    fn each_refusal_reads_as_its_rfc_6750_description() {
        let (expired, key) = signed(&claims(AUD, NOW - 30));
        assert_eq!(verified(&expired, &key), Err(TokenError::Expired));
        let (other_audience, key) = signed(&claims(ISS, NOW + 300));
        assert_eq!(
            verified(&other_audience, &key),
            Err(TokenError::Invalid("the token is for another audience"))
        );
        let mut foreign = claims(AUD, NOW + 300);
        foreign["iss"] = json!("https://as.example/t/other");
        let (foreign, key) = signed(&foreign);
        assert_eq!(
            verified(&foreign, &key),
            Err(TokenError::Invalid("the token is of another issuer"))
        );
        let (forged, _) = signed(&claims(AUD, NOW - 3600));
        let (_, other_key) = signed(&claims(AUD, NOW));
        assert_eq!(
            verified(&forged, &other_key),
            Err(TokenError::Invalid("bad signature"))
        );
    }

    #[test]
    fn headers_other_than_es256_at_jwt_are_refused() {
        let expected = rules(ISS, AUD, 30);
        let token = |header: serde_json::Value| {
            format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header.to_string()))
        };
        for (header, why) in [
            (
                json!({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}),
                "unsupported signing algorithm",
            ),
            (
                json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}),
                "not a JWT access token",
            ),
            (
                json!({"alg": "ES256", "kid": "k1"}),
                "not a JWT access token",
            ),
            (
                json!({"alg": "ES256", "typ": "at+jwt"}),
                "the token names no signing key",
            ),
        ] {
            assert_eq!(
                kid_of(&token(header.clone()), &expected),
                Err(TokenError::Invalid(why)),
                "{header}"
            );
        }
        let ok = json!({"alg": "ES256", "typ": "application/AT+JWT", "kid": "k1"});
        assert_eq!(kid_of(&token(ok), &expected).unwrap(), "k1");
        assert_eq!(kid_of("", &expected), Err(TokenError::Missing));
        assert_eq!(
            kid_of("junk", &expected),
            Err(TokenError::Invalid("malformed token"))
        );
    }
}
