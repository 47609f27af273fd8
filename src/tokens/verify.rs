//! Verification of grantd's own access tokens against a set of published keys.
use std::collections::HashMap;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::AccessClaims;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("not a JWT")]
    Malformed,
    #[error("signed by an unknown key")]
    UnknownKey,
    #[error("bad signature or claims")]
    Invalid,
    #[error("expired")]
    Expired,
}

/// The verification keys of one tenant, by `kid`.
#[derive(Default)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    issuer: String,
}

impl Verifier {
    pub fn new(issuer: &str, jwks: &[serde_json::Value]) -> Self {
        let keys = jwks
            .iter()
            .filter_map(|value| {
                let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
                let kid = jwk.common.key_id.clone()?;
                Some((kid, DecodingKey::from_jwk(&jwk).ok()?))
            })
            .collect();
        Self {
            keys,
            issuer: issuer.to_owned(),
        }
    }

    /// Verifies signature, `typ`, `iss` and `exp` (no leeway: grantd is the issuer's own clock),
    /// and returns the claims with the `kid` that signed them.
    pub fn verify(&self, token: &str) -> Result<(AccessClaims, String), VerifyError> {
        if token.len() > 8192 {
            return Err(VerifyError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if header.alg != Algorithm::ES256 || header.typ.as_deref() != Some("at+jwt") {
            return Err(VerifyError::Invalid);
        }
        let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
        let key = self.keys.get(&kid).ok_or(VerifyError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        match jsonwebtoken::decode::<AccessClaims>(token, key, &validation) {
            Ok(data) => Ok((data.claims, kid)),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(VerifyError::Expired)
            }
            Err(_) => Err(VerifyError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{generate_es256, Signer};

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "http://x/t/a".into(),
            sub: "c1".into(),
            aud: "http://x/t/a".into(),
            client_id: "c1".into(),
            scope: Some("read".into()),
            iat: 0,
            exp,
            jti: "j1".into(),
            tid: "t".into(),
            app_id: None,
            cred_profile: None,
            act: None,
            src: vec![],
            fam: None,
        }
    }

    #[test]
    fn a_signed_token_verifies_with_its_jwk() {
        let (pkcs8, jwk) = generate_es256("k1").unwrap();
        let token = Signer::from_pkcs8("k1", &pkcs8)
            .unwrap()
            .sign(&claims(i64::MAX / 2))
            .unwrap();
        let verified = Verifier::new("http://x/t/a", &[jwk])
            .verify(&token)
            .unwrap();
        assert_eq!(verified.0.jti, "j1");
        assert_eq!(verified.1, "k1");
    }

    #[test]
    fn a_token_of_another_key_is_refused() {
        let (pkcs8, _) = generate_es256("k1").unwrap();
        let (_, other_jwk) = generate_es256("k1").unwrap();
        let token = Signer::from_pkcs8("k1", &pkcs8)
            .unwrap()
            .sign(&claims(i64::MAX / 2))
            .unwrap();
        assert_eq!(
            Verifier::new("http://x/t/a", &[other_jwk]).verify(&token),
            Err(VerifyError::Invalid)
        );
    }

    #[test]
    fn an_expired_token_is_refused() {
        let (pkcs8, jwk) = generate_es256("k1").unwrap();
        let token = Signer::from_pkcs8("k1", &pkcs8)
            .unwrap()
            .sign(&claims(1))
            .unwrap();
        assert_eq!(
            Verifier::new("http://x/t/a", &[jwk]).verify(&token),
            Err(VerifyError::Expired)
        );
    }

    #[test]
    fn junk_is_malformed() {
        assert_eq!(
            Verifier::new("i", &[]).verify("a.b.c"),
            Err(VerifyError::Malformed)
        );
    }
}
