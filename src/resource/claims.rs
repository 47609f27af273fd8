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
    /// On delegated tokens, the party acting, with the earlier actors nested in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
}

/// The `act` claim (RFC 8693 §4.1): "The outermost `act` claim represents the current actor
/// while nested `act` claims represent prior actors."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

impl Actor {
    /// The `sub` of every actor in the chain, the current one first.
    pub fn chain(&self) -> impl Iterator<Item = &str> {
        std::iter::successors(Some(self), |actor| actor.act.as_deref()).map(|a| a.sub.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_act_reads_as_a_chain_with_the_current_actor_first() {
        let act: Actor =
            serde_json::from_str(r#"{"sub":"b","act":{"sub":"a","iss":"x"}}"#).unwrap();
        assert_eq!(act.chain().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(
            serde_json::to_value(&act).unwrap(),
            serde_json::json!({"sub": "b", "act": {"sub": "a"}})
        );
    }
}
