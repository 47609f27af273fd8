//! RFC 9068 access tokens: claims, ES256 signing with keys parsed once, verification, and the
//! sender constraint they carry.
mod claims;
mod sender;
mod signing;
mod verify;

pub use claims::{AccessClaims, Source};
pub use grantd_resource::wire::{Actor, Confirmation};
pub use sender::SenderConstraint;
pub use signing::{generate_es256, Signer};
pub use verify::Verifier;
