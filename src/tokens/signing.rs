//! ES256 signing with a key parsed once per load, not per token: `jsonwebtoken::encode`
//! re-parses the PKCS#8 document on every call, which costs about 1.7× the signature itself.
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

/// A tenant's current signing key, ready to sign.
pub struct Signer {
    kid: String,
    encoded_header: String,
    key_pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Signer {
    pub fn from_pkcs8(kid: &str, pkcs8: &[u8]) -> anyhow::Result<Self> {
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .map_err(|_| anyhow::anyhow!("signing key {kid} is not a P-256 PKCS#8 key"))?;
        let header = serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": kid});
        Ok(Self {
            kid: kid.to_owned(),
            encoded_header: URL_SAFE_NO_PAD.encode(header.to_string()),
            key_pair,
            rng: SystemRandom::new(),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A compact JWS (RFC 7515 §7.1) of `claims`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> anyhow::Result<String> {
        let payload = serde_json::to_vec(claims)?;
        let mut jwt =
            String::with_capacity(self.encoded_header.len() + payload.len() * 4 / 3 + 100);
        jwt.push_str(&self.encoded_header);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut jwt);
        let signature = self
            .key_pair
            .sign(&self.rng, jwt.as_bytes())
            .map_err(|_| anyhow::anyhow!("ES256 signing failed"))?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut jwt);
        Ok(jwt)
    }
}

/// A new P-256 key: its PKCS#8 document and its public JWK.
pub fn generate_es256(kid: &str) -> anyhow::Result<(Vec<u8>, serde_json::Value)> {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|_| anyhow::anyhow!("key generation failed"))?;
    let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .map_err(|_| anyhow::anyhow!("generated key does not parse"))?;
    // An uncompressed SEC1 point: 0x04 || x (32 bytes) || y (32 bytes).
    let point = key_pair.public_key().as_ref();
    anyhow::ensure!(
        point.len() == 65 && point[0] == 4,
        "unexpected public key encoding"
    );
    let jwk = serde_json::json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        "kid": kid,
        "use": "sig",
        "alg": "ES256",
    });
    Ok((pkcs8.as_ref().to_vec(), jwk))
}
