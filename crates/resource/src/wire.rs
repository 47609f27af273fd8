//! What grantd writes and apps read, in one place shared by the server and the kit: the claims
//! of an access token (RFC 9068 §2.2 and grantd's `tid`, `app_id`, `cred_profile`, `act`
//! (RFC 8693 §4.1) and `cnf` (RFC 7800 §3.1)), the RFC 8414 metadata, the RFC 7662 answer about
//! an access token, and the key-context answer. The server's own bookkeeping claims live beside
//! these on its side and are ignored here, so that these types stay stable for apps.
use std::fmt;

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

/// RFC 8414 authorization server metadata, as a grantd tenant publishes it. Reading another
/// issuer's document, what it leaves out is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metadata {
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// grantd's own endpoint (see the contract's "Key context").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_context_endpoint: Option<String>,
    pub grant_types_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 9207.
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_documentation: Option<String>,
}

/// An RFC 7662 answer about an access token: `{"active": false}`, or its claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introspection {
    pub active: bool,
    /// `Bearer`, or the sender constraint's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Claims>,
}

/// The key-context answer: `{"active": false}`, or who the caller is for this app and which
/// credential profile its runs must use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyContext {
    pub active: bool,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ActiveKeyContext>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveKeyContext {
    pub tid: String,
    pub app_id: String,
    pub sub: String,
    pub client_id: String,
    pub scope: Option<String>,
    pub exp: i64,
    pub credential_profile: Option<CredentialProfile>,
}

/// A provider credential, opened for the app's backend.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialProfile {
    pub name: String,
    pub provider: String,
    pub secret: String,
}

impl fmt::Debug for CredentialProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialProfile")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("secret", &"<redacted>")
            .finish()
    }
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

    #[test]
    fn an_inactive_answer_is_only_active_false_and_reads_back() {
        let inactive = Introspection {
            active: false,
            token_type: None,
            claims: None,
        };
        let text = serde_json::to_string(&inactive).unwrap();
        assert_eq!(text, r#"{"active":false}"#);
        assert_eq!(
            serde_json::from_str::<Introspection>(&text).unwrap(),
            inactive
        );
        let refresh = r#"{"active":true,"token_type":"refresh_token","client_id":"c","sub":"u"}"#;
        let read: Introspection = serde_json::from_str(refresh).unwrap();
        assert_eq!((read.active, read.claims), (true, None));
    }

    #[test]
    fn a_key_context_shows_its_nulls_and_never_debugs_its_secret() {
        let answer = KeyContext {
            active: true,
            context: Some(ActiveKeyContext {
                tid: "t".into(),
                app_id: "a".into(),
                sub: "s".into(),
                client_id: "c".into(),
                scope: None,
                exp: 1,
                credential_profile: Some(CredentialProfile {
                    name: "openai".into(),
                    provider: "openai".into(),
                    secret: "sk-live".into(),
                }),
            }),
        };
        let value = serde_json::to_value(&answer).unwrap();
        assert_eq!(value["scope"], serde_json::Value::Null);
        assert!(value.as_object().unwrap().contains_key("scope"));
        assert_eq!(value["credential_profile"]["secret"], "sk-live");
        assert!(!format!("{answer:?}").contains("sk-live"));
    }
}
