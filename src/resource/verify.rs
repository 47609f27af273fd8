//! Local validation of a JWT access token as RFC 9068 §4 asks of a resource server: `typ` is
//! `at+jwt`, the algorithm is the one the issuer uses (ES256), the signature verifies with a key
//! of the issuer's JWKS, `iss` is the issuer, `aud` is this resource server, and `exp` has not
//! passed (RFC 7519 §4.1.4, with a small leeway for clock skew). Time is passed in, so that tests
//! can pin it.
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{Claims, TokenError};

/// Longer than any token grantd issues; refused before any parsing.
const MAX_TOKEN_LEN: usize = 8192;

/// What a token must say to be accepted here.
pub(crate) struct Expected<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub leeway_secs: i64,
}

/// The `kid` of a token whose header is acceptable: ES256, `typ` `at+jwt`.
pub(crate) fn kid_of(token: &str) -> Result<String, TokenError> {
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Invalid("malformed token"));
    }
    let header =
        jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid("malformed token"))?;
    if header.alg != Algorithm::ES256 {
        return Err(TokenError::Invalid("unsupported signing algorithm"));
    }
    // RFC 9068 §4: "at+jwt" or "application/at+jwt"; media types compare case-insensitively.
    let typ = header.typ.unwrap_or_default().to_ascii_lowercase();
    if typ != "at+jwt" && typ != "application/at+jwt" {
        return Err(TokenError::Invalid("not a JWT access token"));
    }
    header
        .kid
        .ok_or(TokenError::Invalid("the token names no signing key"))
}

/// Verifies the signature with `key` and the claims against `expected` at `now` (unix seconds).
pub(crate) fn decode(
    token: &str,
    key: &DecodingKey,
    expected: &Expected<'_>,
    now: i64,
) -> Result<Claims, TokenError> {
    let mut validation = Validation::new(Algorithm::ES256);
    // Times are checked below against the injected clock, not jsonwebtoken's.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_audience(&[expected.audience]);
    validation.set_issuer(&[expected.issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map_err(|e| TokenError::Invalid(reason(e.kind())))?
        .claims;
    let leeway = expected.leeway_secs;
    // RFC 7519 §4.1.4: "the current date/time MUST be before the expiration date/time".
    if now >= claims.exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Err(TokenError::Invalid("the token is not valid yet"));
    }
    Ok(claims)
}

fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidAudience => "the token is for another audience",
        ErrorKind::InvalidIssuer => "the token is of another issuer",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
        ErrorKind::InvalidAlgorithm => "unsupported signing algorithm",
        _ => "malformed token",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{generate_es256, Signer};

    const NOW: i64 = 1_750_000_000;
    const ISS: &str = "https://as.example/t/acme";
    const AUD: &str = "https://as.example/t/acme/apps/chat";

    fn claims(aud: &str, exp: i64) -> serde_json::Value {
        serde_json::json!({
            "iss": ISS, "sub": "c1", "aud": aud, "client_id": "c1", "scope": "chat:read",
            "iat": NOW - 60, "exp": exp, "jti": "j1", "tid": "t", "app_id": "a",
        })
    }

    fn signed(claims: &impl serde::Serialize) -> (String, DecodingKey) {
        let (pkcs8, jwk) = generate_es256("k1").unwrap();
        let token = Signer::from_pkcs8("k1", &pkcs8)
            .unwrap()
            .sign(claims)
            .unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).unwrap();
        (token, DecodingKey::from_jwk(&jwk).unwrap())
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: ISS,
            audience: AUD,
            leeway_secs: 30,
        }
    }

    #[test]
    fn a_token_for_this_audience_verifies() {
        let (token, key) = signed(&claims(AUD, NOW + 300));
        assert_eq!(kid_of(&token).unwrap(), "k1");
        let claims = decode(&token, &key, &expected(), NOW).unwrap();
        assert_eq!(claims.aud, AUD);
    }

    #[test]
    fn a_token_expired_within_the_leeway_is_still_accepted() {
        let (token, key) = signed(&claims(AUD, NOW - 29));
        assert!(decode(&token, &key, &expected(), NOW).is_ok());
    }

    #[test]
    fn a_token_expired_beyond_the_leeway_is_refused() {
        let (token, key) = signed(&claims(AUD, NOW - 30));
        assert_eq!(
            decode(&token, &key, &expected(), NOW),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn without_leeway_a_token_expires_at_its_exp() {
        let (token, key) = signed(&claims(AUD, NOW));
        let strict = Expected {
            leeway_secs: 0,
            ..expected()
        };
        assert_eq!(decode(&token, &key, &strict, NOW), Err(TokenError::Expired));
        assert!(decode(&token, &key, &strict, NOW - 1).is_ok());
    }

    #[test]
    fn a_token_for_another_audience_is_refused() {
        let (token, key) = signed(&claims(ISS, NOW + 300));
        assert_eq!(
            decode(&token, &key, &expected(), NOW),
            Err(TokenError::Invalid("the token is for another audience"))
        );
    }

    #[test]
    fn a_token_of_another_issuer_is_refused() {
        let mut foreign = claims(AUD, NOW + 300);
        foreign["iss"] = "https://as.example/t/other".into();
        let (token, key) = signed(&foreign);
        assert_eq!(
            decode(&token, &key, &expected(), NOW),
            Err(TokenError::Invalid("the token is of another issuer"))
        );
    }

    #[test]
    fn an_expired_forgery_is_a_bad_signature_not_an_expiry() {
        let (token, _) = signed(&claims(AUD, NOW - 3600));
        let (_, other_key) = signed(&claims(AUD, NOW));
        assert_eq!(
            decode(&token, &other_key, &expected(), NOW),
            Err(TokenError::Invalid("bad signature"))
        );
    }

    #[test]
    fn a_token_not_valid_yet_is_refused() {
        let mut value = claims(AUD, NOW + 600);
        value["nbf"] = serde_json::json!(NOW + 120);
        let (token, key) = signed(&value);
        assert_eq!(
            decode(&token, &key, &expected(), NOW),
            Err(TokenError::Invalid("the token is not valid yet"))
        );
        assert!(decode(&token, &key, &expected(), NOW + 100).is_ok());
    }

    #[test]
    fn a_token_without_a_subject_is_refused() {
        let mut value = claims(AUD, NOW + 600);
        value.as_object_mut().unwrap().remove("sub");
        let (token, key) = signed(&value);
        assert!(matches!(
            decode(&token, &key, &expected(), NOW),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn headers_other_than_es256_at_jwt_are_refused() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let token = |header: serde_json::Value| {
            format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header.to_string()))
        };
        for header in [
            serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}),
            serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}),
            serde_json::json!({"alg": "ES256", "kid": "k1"}),
            serde_json::json!({"alg": "ES256", "typ": "at+jwt"}),
        ] {
            assert!(
                matches!(kid_of(&token(header.clone())), Err(TokenError::Invalid(_))),
                "{header}"
            );
        }
        let ok = serde_json::json!({"alg": "ES256", "typ": "application/AT+JWT", "kid": "k1"});
        assert_eq!(kid_of(&token(ok)).unwrap(), "k1");
        assert_eq!(kid_of(""), Err(TokenError::Missing));
        assert_eq!(kid_of("junk"), Err(TokenError::Invalid("malformed token")));
    }
}
