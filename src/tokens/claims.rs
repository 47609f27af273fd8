//! The claims of an access token (RFC 9068 §2.2, plus grantd's `tid`, `app_id`, `cred_profile`,
//! `act`).
use serde::{Deserialize, Serialize};

/// One link of an exchanged token's provenance: whose token it was exchanged from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The subject token's `jti`, or `apikey:{id}` for an API key.
    pub jti: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub tid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<serde_json::Value>,
    /// The tokens (or API key) this one was exchanged from, so that revoking one of them
    /// revokes it too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub src: Vec<Source>,
    /// The refresh family the token was issued from, so that killing the family kills it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}
