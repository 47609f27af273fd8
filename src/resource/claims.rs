//! The claims a resource server reads from a grantd access token: those of RFC 9068 §2.2 and
//! grantd's `tid`, `app_id`, `cred_profile` and `act` (RFC 8693 §4.1). grantd's own bookkeeping
//! claims are ignored, so that this type stays stable for apps.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user id, the client id (client credentials), or `apikey:{id}` (exchanged API key).
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    /// Space-separated; see [`BearerToken::scopes`](super::BearerToken::scopes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    /// The tenant id.
    pub tid: String,
    /// Present on app-scoped tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The name of the credential profile the app should use for this caller, never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred_profile: Option<String>,
    /// On delegated tokens, `{"sub": …}` of the party acting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<serde_json::Value>,
}
