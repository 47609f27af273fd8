//! The protocol core of the OAuth endpoints other than the token endpoint's grants (`grants`):
//! each takes a `ClientCall` (narrow ports, the authenticated client, a clock) and returns a
//! typed outcome that the handler in `routes` only shapes into a response.
pub mod authorization;
pub mod introspection;
pub mod key_context;
pub mod revocation;
