//! The one place grantd reads JWTs and JWK Sets, for its own tokens, for the resource kit, and
//! for what comes from outside (client assertions, DPoP proofs, foreign issuers' tokens):
//!
//! - [`jwk`]: public keys from JWKs and JWK Sets, refusing private key material;
//! - [`verify`]: a JWS checked against an explicit allow-list of algorithms, `typ`, `iss`,
//!   `aud`, required claims, and `exp`/`nbf` at a clock the caller passes in, with a leeway;
//! - [`cache`] and [`fetch`]: a JWK Set fetched with bounded time and size, kept for its
//!   `Cache-Control` max-age, and refetched on an unknown `kid` at most once per interval.
//!
//! Errors are [`JoseError`], which names the rule that failed and says nothing about
//! protocols: each caller answers in its own terms.
pub mod cache;
mod error;
pub mod fetch;
pub mod jwk;
#[cfg(any(test, feature = "test-keys"))]
pub mod testing;
pub mod verify;

pub use cache::{Fetched, JwksCache};
pub use error::JoseError;
pub use jsonwebtoken::{Algorithm, DecodingKey};
pub use jwk::{KeySet, PublicKey};
pub use verify::{Expectations, TimeBound};
