//! The claims of an access token (RFC 9068 §2.2, plus grantd's `tid`, `app_id`, `cred_profile`,
//! `act`).
use serde::{Deserialize, Serialize};

/// One link of an exchanged token's provenance: a token (or API key) it was exchanged from, as
/// subject or as actor. Whatever would make that token dead makes this one dead too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The token's `jti`, or `apikey:{id}` for an API key.
    pub jti: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The token's `sub` when it is not this token's own (an actor's), so that the marks on
    /// that subject cover this token too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The token's refresh family when it is not this token's own `fam` (an actor's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

/// The `act` claim of a delegated token (RFC 8693 §4.1): "The outermost `act` claim represents
/// the current actor while nested `act` claims represent prior actors."
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
    pub act: Option<Actor>,
    /// The tokens (or API key) this one was exchanged from, so that revoking one of them
    /// revokes it too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub src: Vec<Source>,
    /// The refresh family the token was issued from, so that killing the family kills it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
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
    fn a_source_without_sub_or_fam_keeps_its_old_wire_form() {
        let old = r#"{"jti":"j","client_id":"c","app_id":"a"}"#;
        let source: Source = serde_json::from_str(old).unwrap();
        assert_eq!((source.sub.as_deref(), source.fam.as_deref()), (None, None));
        assert_eq!(serde_json::to_string(&source).unwrap(), old);
    }
}
