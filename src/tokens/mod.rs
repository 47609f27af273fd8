//! RFC 9068 access tokens: claims, ES256 signing with keys parsed once, and verification.
mod claims;
mod signing;
mod verify;

pub use claims::{AccessClaims, Actor, Source};
pub use signing::{generate_es256, Signer};
pub use verify::{Verifier, VerifyError};
