//! Verification of a compact JWS (RFC 7515) carrying JWT claims (RFC 7519) against explicit
//! expectations: an allow-list of algorithms (never `none`, never one the key's type does not
//! match), the expected `typ`, `iss`, optionally `aud`, the claims that must be present, and
//! `exp`/`nbf` against a clock the caller passes in, with the caller's leeway. The header is read
//! first, so that the caller can find the key its `kid` names before anything is verified.
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::de::DeserializeOwned;

use crate::JoseError;

/// Longer than any token a sane issuer sends; refused before any parsing.
pub const MAX_TOKEN_LEN: usize = 8192;

/// The times a verified token carries, for the check against the injected clock.
pub trait TimeBound {
    /// `exp`, in unix seconds.
    fn expires_at(&self) -> i64;
    /// `nbf`, in unix seconds, when present.
    fn not_before(&self) -> Option<i64> {
        None
    }
}

/// What a token must be to be accepted.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// The algorithms accepted; anything else is `UnsupportedAlgorithm`.
    pub algorithms: &'a [Algorithm],
    /// Accepted `typ` values, compared as media types (case-insensitive, with or without the
    /// `application/` prefix, RFC 7515 §4.1.9); empty accepts any or none.
    pub types: &'a [&'a str],
    pub issuer: &'a str,
    /// `None` leaves `aud` to the caller (grantd checks its own tokens' audience per client).
    pub audience: Option<&'a str>,
    /// Claims that must be present besides `exp` (always required).
    pub required: &'a [&'a str],
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_secs: i64,
}

/// What an acceptable header says, read once: the algorithm to verify with, and the `kid`
/// that names the key.
#[derive(Debug, Clone)]
pub struct Checked {
    pub alg: Algorithm,
    pub kid: Option<String>,
}

impl Checked {
    /// The `kid`, which the caller's keys are looked up by.
    pub fn kid(&self) -> Result<&str, JoseError> {
        self.kid.as_deref().ok_or(JoseError::NoKeyId)
    }
}

/// [`Expectations`] made ready once for many tokens (a verifier on a hot path keeps one).
#[derive(Debug, Clone)]
pub struct Rules {
    /// One validation per allowed algorithm: jsonwebtoken wants every algorithm of a
    /// validation to be of the key's family, so an allow-list mixing EC and RSA is split.
    validations: Vec<(Algorithm, Validation)>,
    /// Lower-case, without `application/`.
    types: Vec<String>,
    leeway_secs: i64,
}

impl Rules {
    pub fn new(expected: &Expectations<'_>) -> Self {
        let mut required = vec!["exp", "iss"];
        required.extend_from_slice(expected.required);
        let validations = expected
            .algorithms
            .iter()
            .map(|&alg| {
                let mut validation = Validation::new(alg);
                // Times are checked against the injected clock, not jsonwebtoken's.
                validation.validate_exp = false;
                validation.validate_nbf = false;
                match expected.audience {
                    Some(audience) => validation.set_audience(&[audience]),
                    None => validation.validate_aud = false,
                }
                validation.set_issuer(&[expected.issuer]);
                validation.set_required_spec_claims(&required);
                (alg, validation)
            })
            .collect();
        let types = expected.types.iter().map(|t| bare_media_type(t)).collect();
        Self {
            validations,
            types,
            leeway_secs: expected.leeway_secs,
        }
    }

    /// The header of `token` if it satisfies the algorithm and type rules.
    fn header(&self, token: &str) -> Result<Header, JoseError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(JoseError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| JoseError::from(e.kind()))?;
        if !self.validations.iter().any(|(alg, _)| *alg == header.alg) {
            return Err(JoseError::UnsupportedAlgorithm);
        }
        if !self.types.is_empty() {
            let typ = bare_media_type(header.typ.as_deref().unwrap_or_default());
            if !self.types.contains(&typ) {
                return Err(JoseError::WrongType);
            }
        }
        Ok(header)
    }

    /// The header of `token`, checked and kept for [`Rules::verify_checked`].
    pub fn check(&self, token: &str) -> Result<Checked, JoseError> {
        let header = self.header(token)?;
        Ok(Checked {
            alg: header.alg,
            kid: header.kid,
        })
    }

    /// The claims of `token`, verified with `key` at `now` (unix seconds).
    pub fn verify<C: DeserializeOwned + TimeBound>(
        &self,
        token: &str,
        key: &DecodingKey,
        now: i64,
    ) -> Result<C, JoseError> {
        self.verify_checked(token, &self.check(token)?, key, now)
    }

    /// [`Rules::verify`] for a token whose header [`Rules::check`] already read (to find the key).
    pub fn verify_checked<C: DeserializeOwned + TimeBound>(
        &self,
        token: &str,
        checked: &Checked,
        key: &DecodingKey,
        now: i64,
    ) -> Result<C, JoseError> {
        let validation = self
            .validations
            .iter()
            .find(|(alg, _)| *alg == checked.alg)
            .map(|(_, validation)| validation)
            .ok_or(JoseError::UnsupportedAlgorithm)?;
        let claims = jsonwebtoken::decode::<C>(token, key, validation)
            .map_err(|e| JoseError::from(e.kind()))?
            .claims;
        let leeway = self.leeway_secs;
        // RFC 7519 §4.1.4: "the current date/time MUST be before the expiration date/time".
        if now >= claims.expires_at().saturating_add(leeway) {
            return Err(JoseError::Expired);
        }
        if claims
            .not_before()
            .is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return Err(JoseError::NotYetValid);
        }
        Ok(claims)
    }
}

/// A media type as `typ` compares it (RFC 7515 §4.1.9): lower-case, without `application/`.
fn bare_media_type(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(bare) => bare.to_owned(),
        None => lower,
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::EncodingKey;
    use serde_json::json;

    use super::*;
    use crate::jwk::public_key;
    use crate::testing::es256_key;

    fn kid(token: &str, expected: &Expectations<'_>) -> Result<String, JoseError> {
        Rules::new(expected).check(token)?.kid().map(str::to_owned)
    }

    fn verify<C: DeserializeOwned + TimeBound>(
        token: &str,
        key: &DecodingKey,
        expected: &Expectations<'_>,
        now: i64,
    ) -> Result<C, JoseError> {
        Rules::new(expected).verify(token, key, now)
    }

    const NOW: i64 = 1_750_000_000;
    const ISS: &str = "https://as.example/t/acme";
    const AUD: &str = "https://as.example/t/acme/apps/chat";

    #[derive(Debug, serde::Deserialize)]
    struct Claims {
        aud: String,
        exp: i64,
        nbf: Option<i64>,
    }

    impl TimeBound for Claims {
        fn expires_at(&self) -> i64 {
            self.exp
        }
        fn not_before(&self) -> Option<i64> {
            self.nbf
        }
    }

    const EXPECTED: Expectations<'static> = Expectations {
        algorithms: &[Algorithm::ES256],
        types: &["at+jwt"],
        issuer: ISS,
        audience: Some(AUD),
        required: &["sub", "aud"],
        leeway_secs: 30,
    };

    fn claims(exp: i64) -> serde_json::Value {
        json!({"iss": ISS, "sub": "c1", "aud": AUD, "iat": NOW - 60, "exp": exp})
    }

    fn signed(claims: &serde_json::Value) -> (String, DecodingKey) {
        let (signing, jwk) = es256_key("k1");
        (
            sign(&signing, "at+jwt", claims),
            public_key(&jwk).unwrap().key,
        )
    }

    fn sign(key: &EncodingKey, typ: &str, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(typ.into());
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn check(token: &str, key: &DecodingKey, at: i64) -> Result<Claims, JoseError> {
        verify(token, key, &EXPECTED, at)
    }

    #[test]
    fn a_token_for_this_audience_verifies() {
        let (token, key) = signed(&claims(NOW + 300));
        assert_eq!(kid(&token, &EXPECTED).unwrap(), "k1");
        assert_eq!(check(&token, &key, NOW).unwrap().aud, AUD);
    }

    #[test]
    fn expiry_is_checked_against_the_injected_clock_with_the_leeway() {
        let (token, key) = signed(&claims(NOW));
        assert!(check(&token, &key, NOW + 29).is_ok());
        assert_eq!(
            check(&token, &key, NOW + 30).unwrap_err(),
            JoseError::Expired
        );
        let strict = Expectations {
            leeway_secs: 0,
            ..EXPECTED
        };
        assert_eq!(
            verify::<Claims>(&token, &key, &strict, NOW).unwrap_err(),
            JoseError::Expired
        );
        assert!(verify::<Claims>(&token, &key, &strict, NOW - 1).is_ok());
    }

    #[test]
    fn a_token_not_valid_yet_is_refused() {
        let mut value = claims(NOW + 600);
        value["nbf"] = json!(NOW + 120);
        let (token, key) = signed(&value);
        assert_eq!(
            check(&token, &key, NOW).unwrap_err(),
            JoseError::NotYetValid
        );
        assert!(check(&token, &key, NOW + 100).is_ok());
    }

    #[test]
    fn issuer_audience_and_required_claims_are_checked() {
        let mut foreign = claims(NOW + 300);
        foreign["iss"] = json!("https://as.example/t/other");
        let (token, key) = signed(&foreign);
        assert_eq!(
            check(&token, &key, NOW).unwrap_err(),
            JoseError::WrongIssuer
        );

        let mut other = claims(NOW + 300);
        other["aud"] = json!(ISS);
        let (token, key) = signed(&other);
        assert_eq!(
            check(&token, &key, NOW).unwrap_err(),
            JoseError::WrongAudience
        );
        let any_audience = Expectations {
            audience: None,
            ..EXPECTED
        };
        assert!(verify::<Claims>(&token, &key, &any_audience, NOW).is_ok());

        let mut anonymous = claims(NOW + 300);
        anonymous.as_object_mut().unwrap().remove("sub");
        let (token, key) = signed(&anonymous);
        assert_eq!(
            check(&token, &key, NOW).unwrap_err(),
            JoseError::MissingClaim
        );
    }

    #[test]
    fn an_expired_forgery_is_a_bad_signature_not_an_expiry() {
        let (token, _) = signed(&claims(NOW - 3600));
        let (_, other_key) = signed(&claims(NOW));
        assert_eq!(
            check(&token, &other_key, NOW).unwrap_err(),
            JoseError::BadSignature
        );
    }

    #[test]
    fn headers_outside_the_allow_lists_are_refused() {
        let token = |header: serde_json::Value| {
            format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header.to_string()))
        };
        for (header, error) in [
            (
                json!({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}),
                JoseError::UnsupportedAlgorithm,
            ),
            (
                json!({"alg": "none", "typ": "at+jwt", "kid": "k1"}),
                JoseError::Malformed,
            ),
            (
                json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}),
                JoseError::WrongType,
            ),
            (json!({"alg": "ES256", "kid": "k1"}), JoseError::WrongType),
            (json!({"alg": "ES256", "typ": "at+jwt"}), JoseError::NoKeyId),
        ] {
            assert_eq!(
                kid(&token(header.clone()), &EXPECTED),
                Err(error),
                "{header}"
            );
        }
        let ok = json!({"alg": "ES256", "typ": "application/AT+JWT", "kid": "k1"});
        assert_eq!(kid(&token(ok), &EXPECTED).unwrap(), "k1");
        assert_eq!(kid("", &EXPECTED), Err(JoseError::Malformed));
        assert_eq!(kid("junk", &EXPECTED), Err(JoseError::Malformed));
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(kid(&huge, &EXPECTED), Err(JoseError::Malformed));
    }

    #[test]
    fn a_key_of_another_type_than_the_algorithm_is_refused() {
        let (signing, _) = es256_key("k1");
        let token = sign(&signing, "at+jwt", &claims(NOW + 300));
        let hmac = DecodingKey::from_secret(b"secret");
        let loose = Expectations {
            algorithms: &[Algorithm::ES256, Algorithm::HS256],
            ..EXPECTED
        };
        assert!(verify::<Claims>(&token, &hmac, &loose, NOW).is_err());
    }

    #[test]
    fn an_allow_list_mixing_key_families_verifies_each_with_its_own() {
        let (token, key) = signed(&claims(NOW + 300));
        let mixed = Expectations {
            algorithms: &[Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
            ..EXPECTED
        };
        let rules = Rules::new(&mixed);
        let checked = rules.check(&token).unwrap();
        assert_eq!(checked.alg, Algorithm::ES256);
        let verified: Claims = rules.verify_checked(&token, &checked, &key, NOW).unwrap();
        assert_eq!(verified.aud, AUD);
    }
}
