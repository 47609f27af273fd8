//! RFC 9068 access tokens: claims, ES256 signing with keys parsed once, and verification.
mod claims;
mod signing;
mod verify;

pub use claims::{AccessClaims, Source};
pub use grantd_resource::wire::{Actor, Confirmation};
pub use signing::{generate_es256, Signer};
pub use verify::Verifier;
