//! What the state store keeps for authorization codes and refresh tokens. Both are stored under
//! a digest of the client id and the secret value, so a value presented by another client finds
//! nothing (and cannot burn the real owner's code or token).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crypto::sha256_hex;
use crate::domain::{AppId, UserId};

pub fn bound_digest(client_id: &str, value: &str) -> String {
    sha256_hex(&format!("{client_id}\n{value}"))
}

/// An authorization code's binding (RFC 6749 §4.1.3, RFC 7636 §4.4).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeRecord {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub scope: String,
    pub user_id: UserId,
    pub app_id: Option<AppId>,
    /// Unix milliseconds, compared with "revoked before" marks.
    pub issued_at_ms: i64,
    /// The refresh family the first redemption starts; a second redemption revokes it.
    pub family: String,
}

/// One refresh token of a family.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub family: String,
    pub client_id: String,
    pub user_id: UserId,
    pub scope: String,
    pub app_id: Option<AppId>,
    /// Unix milliseconds of this token's issue, compared with "revoked before" marks.
    pub issued_at_ms: i64,
    /// The family ends 30 days after the user signed in, however often it rotates.
    pub family_expires_at: i64,
}

impl RefreshRecord {
    /// A refresh token lives as long as what is left of its family.
    pub fn remaining_secs(&self, now: DateTime<Utc>) -> u64 {
        (self.family_expires_at - now.timestamp()).max(1) as u64
    }
}
