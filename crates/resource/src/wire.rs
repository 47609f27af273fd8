//! The claims of a grantd access token, shared by the server that writes them and the kit that
//! reads them: those of RFC 9068 §2.2 and grantd's `tid`, `app_id`, `cred_profile`, `act`
//! (RFC 8693 §4.1) and `cnf` (RFC 7800 §3.1). The server's own bookkeeping claims live beside
//! these on its side and are ignored here, so that this type stays stable for apps.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user id, the client id (client credentials), or `apikey:{id}` (exchanged API key).
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    /// Space-separated; see [`BearerToken::scopes`](crate::BearerToken::scopes).
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
    /// On sender-constrained tokens, the key the caller must prove it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
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
    pub fn new(sub: impl Into<String>) -> Self {
        Self {
            sub: sub.into(),
            act: None,
        }
    }

    /// The `sub` of every actor in the chain, the current one first.
    pub fn chain(&self) -> impl Iterator<Item = &str> {
        std::iter::successors(Some(self), |actor| actor.act.as_deref()).map(|a| a.sub.as_str())
    }

    /// The nested claim for a chain given current actor first; `None` for an empty chain.
    pub fn from_chain<S: Into<String>>(chain: impl IntoIterator<Item = S>) -> Option<Self> {
        let subs: Vec<String> = chain.into_iter().map(Into::into).collect();
        subs.into_iter().rev().fold(None, |earlier, sub| {
            Some(Self {
                sub,
                act: earlier.map(Box::new),
            })
        })
    }
}

/// The `cnf` claim (RFC 7800 §3.1) of a sender-constrained token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The RFC 7638 thumbprint of the DPoP key (RFC 9449 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_nests_with_the_current_actor_outermost() {
        let act = Actor::from_chain(["c", "b", "a"]).unwrap();
        assert_eq!(
            serde_json::to_value(&act).unwrap(),
            serde_json::json!({"sub": "c", "act": {"sub": "b", "act": {"sub": "a"}}})
        );
        assert_eq!(act.chain().collect::<Vec<_>>(), ["c", "b", "a"]);
        assert_eq!(Actor::from_chain(Vec::<String>::new()), None);
    }

    #[test]
    fn a_nested_act_read_from_the_wire_drops_what_it_does_not_know() {
        let act: Actor =
            serde_json::from_str(r#"{"sub":"b","act":{"sub":"a","iss":"x"}}"#).unwrap();
        assert_eq!(act.chain().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(
            serde_json::to_value(&act).unwrap(),
            serde_json::json!({"sub": "b", "act": {"sub": "a"}})
        );
    }
}
