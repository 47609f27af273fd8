//! Who may use a token: its bearer, or only the holder of a key (RFC 9449 DPoP, to come). The
//! web layer works out the constraint of a request once, from what it presented; issuance turns
//! it into the token's `cnf` and `token_type`, and the token's answers read it back. A
//! proof-of-possession constraint is one variant here and the module that checks its proof.
use super::{AccessClaims, Confirmation};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SenderConstraint {
    #[default]
    Bearer,
}

impl SenderConstraint {
    /// RFC 6749 §7.1 `token_type`.
    pub fn token_type(&self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
        }
    }

    /// The token's `cnf` claim (RFC 7800): the key its sender must prove it holds.
    pub fn confirmation(&self) -> Option<Confirmation> {
        match self {
            Self::Bearer => None,
        }
    }

    /// The constraint an issued token carries, read back from its claims: only bearer tokens
    /// are issued so far; a proof-of-possession variant adds its `cnf` arm here.
    pub fn of(_claims: &AccessClaims) -> Self {
        Self::Bearer
    }
}
