//! Verification of grantd's own access tokens against a tenant's published keys, through
//! grantd-jose: ES256 only, `typ` `at+jwt`, `iss` the tenant, `sub` and `aud` present, and no
//! leeway on `exp` (grantd is the issuer's own clock). The audience is checked by each caller,
//! per client.
use grantd_jose::verify::{Expectations, Rules};
use grantd_jose::{Algorithm, JoseError, KeySet, TimeBound};

use super::AccessClaims;

impl TimeBound for AccessClaims {
    fn expires_at(&self) -> i64 {
        self.exp
    }
}

/// The verification keys of one tenant, by `kid`, and the rules its tokens follow.
pub struct Verifier {
    keys: KeySet,
    rules: Rules,
}

impl Verifier {
    /// The verifier for `issuer`'s published `jwks`. Keys it cannot use are skipped; a set with
    /// private key material (which grantd never publishes) verifies nothing, loudly.
    pub fn new(issuer: &str, jwks: &[serde_json::Value]) -> Self {
        let keys = KeySet::from_jwks(jwks).unwrap_or_else(|error| {
            tracing::error!(issuer, %error, "the tenant's published keys are unusable");
            KeySet::default()
        });
        let rules = Rules::new(&Expectations {
            algorithms: &[Algorithm::ES256],
            types: &["at+jwt"],
            issuer,
            audience: None,
            required: &["sub", "aud"],
            leeway_secs: 0,
        });
        Self { keys, rules }
    }

    /// The claims of `token` at `now` (unix seconds), with the `kid` that signed them.
    pub fn verify(&self, token: &str, now: i64) -> Result<(AccessClaims, String), JoseError> {
        let checked = self.rules.check(token)?;
        let kid = checked.kid()?;
        let key = self.keys.get(kid).ok_or(JoseError::UnknownKey)?;
        let claims = self.rules.verify_checked(token, &checked, key, now)?;
        Ok((claims, kid.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{generate_es256, Signer};

    const NOW: i64 = 1_750_000_000;

    fn claims(exp: i64) -> AccessClaims {
        let mut claims = AccessClaims::sample("http://x/t/a", "c1", "http://x/t/a", "c1", "j1");
        claims.exp = exp;
        claims
    }

    fn signed(exp: i64) -> (String, serde_json::Value) {
        let (pkcs8, jwk) = generate_es256("k1").unwrap();
        let token = Signer::from_pkcs8("k1", &pkcs8)
            .unwrap()
            .sign(&claims(exp))
            .unwrap();
        (token, jwk)
    }

    #[test]
    fn a_signed_token_verifies_with_its_jwk() {
        let (token, jwk) = signed(NOW + 300);
        let (claims, kid) = Verifier::new("http://x/t/a", &[jwk])
            .verify(&token, NOW)
            .unwrap();
        assert_eq!((claims.jti.as_str(), kid.as_str()), ("j1", "k1"));
    }

    #[test]
    fn a_token_of_another_key_or_issuer_is_refused() {
        let (token, _) = signed(NOW + 300);
        let (_, other_jwk) = generate_es256("k1").unwrap();
        assert_eq!(
            Verifier::new("http://x/t/a", &[other_jwk]).verify(&token, NOW),
            Err(JoseError::BadSignature)
        );
        let (token, jwk) = signed(NOW + 300);
        assert_eq!(
            Verifier::new("http://x/t/b", &[jwk]).verify(&token, NOW),
            Err(JoseError::WrongIssuer)
        );
        assert_eq!(
            Verifier::new("http://x/t/a", &[]).verify(&token, NOW),
            Err(JoseError::UnknownKey)
        );
    }

    #[test]
    fn a_token_expires_at_its_exp_on_the_injected_clock() {
        let (token, jwk) = signed(NOW);
        let verifier = Verifier::new("http://x/t/a", &[jwk]);
        assert!(verifier.verify(&token, NOW - 1).is_ok());
        assert_eq!(verifier.verify(&token, NOW), Err(JoseError::Expired));
    }

    #[test]
    fn junk_is_malformed() {
        assert_eq!(
            Verifier::new("i", &[]).verify("a.b.c", NOW),
            Err(JoseError::Malformed)
        );
    }
}
