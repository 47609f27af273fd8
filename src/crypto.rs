//! Secrets at rest: AES-256-GCM sealing under the master key, peppered digests of generated
//! secrets, Argon2id for user passwords, and random secret generation.
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const NONCE_LEN: usize = 12;

/// Keys derived from the master key, each for one purpose.
#[derive(Clone)]
pub struct Crypto {
    sealing: Aes256Gcm,
    /// Seals what grantd hands to browsers: a key of its own, so that the values anyone can make
    /// grantd seal (a pending authorization request carries the caller's `state`) never share
    /// the nonce space of the secrets at rest.
    browser: Aes256Gcm,
    pepper: [u8; 32],
}

impl Crypto {
    pub fn new(master_key: &[u8; 32]) -> Self {
        Self {
            sealing: Aes256Gcm::new(&derive(master_key, b"grantd/seal/v1").into()),
            browser: Aes256Gcm::new(&derive(master_key, b"grantd/browser/v1").into()),
            pepper: derive(master_key, b"grantd/pepper/v1"),
        }
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. `signing_key:{tenant}:{kid}`) so that a
    /// sealed value moved to another row does not open.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> anyhow::Result<String> {
        seal_with(&self.sealing, context, plaintext).map(|bytes| STANDARD.encode(bytes))
    }

    pub fn open(&self, context: &str, sealed: &str) -> anyhow::Result<Vec<u8>> {
        let bytes = STANDARD
            .decode(sealed)
            .map_err(|_| anyhow::anyhow!("sealed value is not base64"))?;
        open_with(&self.sealing, context, &bytes)
    }

    /// Like `seal`, for a value kept by the browser (a cookie): URL-safe, under its own key.
    pub fn seal_for_browser(&self, context: &str, plaintext: &[u8]) -> anyhow::Result<String> {
        seal_with(&self.browser, context, plaintext).map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn open_from_browser(&self, context: &str, sealed: &str) -> anyhow::Result<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| anyhow::anyhow!("sealed value is not base64url"))?;
        open_with(&self.browser, context, &bytes)
    }

    /// Digest of a high-entropy secret grantd generated (client secret, API key). A fast keyed
    /// hash is enough for 256-bit secrets; the pepper keeps a stolen database from being useful
    /// for offline checks.
    pub fn secret_digest(&self, secret: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.pepper).expect("any key length");
        mac.update(secret.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Compares `secret` with a stored digest in constant time.
    pub fn verify_secret(&self, secret: &str, stored_digest: &str) -> bool {
        let digest = self.secret_digest(secret);
        digest.as_bytes().ct_eq(stored_digest.as_bytes()).into()
    }
}

/// nonce ‖ ciphertext ‖ tag
fn seal_with(cipher: &Aes256Gcm, context: &str, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| anyhow::anyhow!("sealing failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

fn open_with(cipher: &Aes256Gcm, context: &str, bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(bytes.len() > NONCE_LEN, "sealed value is too short");
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| anyhow::anyhow!("sealed value does not open with this master key"))
}

fn derive(master_key: &[u8; 32], purpose: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master_key).expect("any key length");
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}

/// A random URL-safe secret of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Hex SHA-256, the form in which short-lived secrets (codes, refresh tokens) are stored.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Equal-length comparison in constant time, via digests so that lengths do not leak either.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes())
        .ct_eq(&Sha256::digest(b.as_bytes()))
        .into()
}

/// Argon2id PHC string; CPU-heavy, call it off the async executor.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| anyhow::anyhow!("password hashing failed"))
}

/// Checks a password against an Argon2id PHC string; CPU-heavy, call it off the executor.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc)
        .map(|hash| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The AES-GCM context a private signing key is sealed under: a sealed key copied to another
/// tenant's row does not open.
pub fn signing_key_context(tenant: uuid::Uuid, kid: &str) -> String {
    format!("signing_key:{tenant}:{kid}")
}

pub fn credential_profile_context(id: uuid::Uuid) -> String {
    format!("credential_profile:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crypto() -> Crypto {
        Crypto::new(&[1u8; 32])
    }

    #[test]
    fn sealed_values_open_with_the_same_context() {
        let sealed = crypto().seal("ctx", b"private").unwrap();
        assert_eq!(crypto().open("ctx", &sealed).unwrap(), b"private");
    }

    #[test]
    fn sealed_values_do_not_open_in_another_context() {
        let sealed = crypto().seal("signing_key:a", b"private").unwrap();
        assert!(crypto().open("signing_key:b", &sealed).is_err());
    }

    #[test]
    fn sealed_values_do_not_open_under_another_master_key() {
        let sealed = crypto().seal("ctx", b"private").unwrap();
        assert!(Crypto::new(&[2u8; 32]).open("ctx", &sealed).is_err());
    }

    #[test]
    fn browser_values_do_not_open_as_values_at_rest() {
        let sealed = crypto().seal_for_browser("ctx", b"pending").unwrap();
        assert_eq!(
            crypto().open_from_browser("ctx", &sealed).unwrap(),
            b"pending"
        );
        assert!(crypto().open("ctx", &sealed).is_err());
        assert!(sealed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn the_sealed_text_does_not_contain_the_plaintext() {
        let sealed = crypto().seal("ctx", b"sk-live-secret").unwrap();
        assert!(!sealed.contains("sk-live-secret"));
    }

    #[test]
    fn secret_digests_verify_only_the_same_secret() {
        let digest = crypto().secret_digest("abc");
        assert!(crypto().verify_secret("abc", &digest));
        assert!(!crypto().verify_secret("abd", &digest));
    }

    #[test]
    fn random_tokens_are_url_safe_and_long() {
        let token = random_token(32);
        assert_eq!(token.len(), 43);
        assert!(token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
    }
}
