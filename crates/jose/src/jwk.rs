//! Public keys from JWKs (RFC 7517). Every JWK grantd reads (a tenant's own set, an issuer's
//! `jwks_uri`, a client's `jwks`, a DPoP proof's header) goes through [`public_key`], which
//! refuses private and symmetric key material instead of quietly ignoring it.
use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::DecodingKey;
use serde_json::Value;

use crate::JoseError;

/// RFC 7518 §6.2.2, §6.3.2 and §6.4.1: the members that only a private or symmetric key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// One public key and the `kid` it was published under.
pub struct PublicKey {
    pub kid: Option<String>,
    pub jwk: Jwk,
    pub key: DecodingKey,
}

/// The public key of one JWK. `PrivateKey` when it carries private members; `Malformed` when it
/// is not a key `jsonwebtoken` can verify with.
pub fn public_key(value: &Value) -> Result<PublicKey, JoseError> {
    let object = value.as_object().ok_or(JoseError::Malformed)?;
    if PRIVATE_MEMBERS.iter().any(|m| object.contains_key(*m)) {
        return Err(JoseError::PrivateKey);
    }
    let jwk: Jwk = serde_json::from_value(value.clone()).map_err(|_| JoseError::Malformed)?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| JoseError::Malformed)?;
    Ok(PublicKey {
        kid: jwk.common.key_id.clone(),
        jwk,
        key,
    })
}

/// The usable keys of a JWK Set, by `kid`. Keys without a `kid`, or of a type that cannot
/// verify, are skipped (a set may hold encryption keys or newer key types); a set with any
/// private member is refused whole.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Arc<DecodingKey>>,
}

impl KeySet {
    /// The set of `keys` (the members of a JWK Set's `keys` array).
    pub fn from_jwks(keys: &[Value]) -> Result<Self, JoseError> {
        let mut set = HashMap::with_capacity(keys.len());
        for value in keys {
            match public_key(value) {
                Ok(PublicKey {
                    kid: Some(kid),
                    key,
                    ..
                }) => {
                    set.insert(kid, Arc::new(key));
                }
                Ok(_) | Err(JoseError::Malformed) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(Self { keys: set })
    }

    /// A JWK Set document (RFC 7517 §5).
    pub fn parse(document: &[u8]) -> Result<Self, JoseError> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<Value>,
        }
        let document: Document =
            serde_json::from_slice(document).map_err(|_| JoseError::NotAKeySet)?;
        Self::from_jwks(&document.keys)
    }

    pub fn get(&self, kid: &str) -> Option<&Arc<DecodingKey>> {
        self.keys.get(kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::es256_key;
    use serde_json::json;

    #[test]
    fn keys_without_kid_or_unusable_are_skipped() {
        let (_, jwk) = es256_key("good");
        let set = KeySet::from_jwks(&[
            jwk,
            json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
            json!({"kty": "weird", "kid": "w"}),
            json!("not an object"),
        ])
        .unwrap();
        assert_eq!(set.kids().collect::<Vec<_>>(), ["good"]);
        assert!(matches!(
            KeySet::parse(b"not json"),
            Err(JoseError::NotAKeySet)
        ));
        assert!(matches!(
            KeySet::parse(br#"{"keys": {}}"#),
            Err(JoseError::NotAKeySet)
        ));
    }

    #[test]
    fn a_set_with_private_or_symmetric_material_is_refused_whole() {
        let (_, good) = es256_key("good");
        for member in PRIVATE_MEMBERS {
            let mut leaked = good.clone();
            leaked["kid"] = json!("leaked");
            leaked[member] = json!("AAAA");
            assert!(
                matches!(
                    KeySet::from_jwks(&[good.clone(), leaked.clone()]),
                    Err(JoseError::PrivateKey)
                ),
                "{member}"
            );
            assert!(matches!(public_key(&leaked), Err(JoseError::PrivateKey)));
        }
        let oct = json!({"kty": "oct", "kid": "s", "k": "c2VjcmV0"});
        assert!(matches!(public_key(&oct), Err(JoseError::PrivateKey)));
    }

    #[test]
    fn a_public_key_keeps_its_kid_and_jwk() {
        let (_, jwk) = es256_key("k1");
        let key = public_key(&jwk).unwrap();
        assert_eq!(key.kid.as_deref(), Some("k1"));
        assert!(matches!(
            key.jwk.algorithm,
            jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_)
        ));
    }
}
