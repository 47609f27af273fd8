//! The claims of an access token: the wire claims of `grantd_resource::wire` (RFC 9068 §2.2,
//! plus `tid`, `app_id`, `cred_profile`, `act`, `cnf`) and grantd's revocation bookkeeping.
use std::ops::{Deref, DerefMut};

use grantd_resource::wire::Claims;
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

/// An access token's claims: the wire claims apps read (shared with the resource kit) and
/// grantd's own bookkeeping beside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    #[serde(flatten)]
    pub wire: Claims,
    /// The tokens (or API key) this one was exchanged from, so that revoking one of them
    /// revokes it too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub src: Vec<Source>,
    /// The refresh family the token was issued from, so that killing the family kills it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

impl AccessClaims {
    /// Claims with no bookkeeping yet.
    pub fn new(wire: Claims) -> Self {
        Self {
            wire,
            src: Vec::new(),
            fam: None,
        }
    }
}

#[cfg(test)]
impl AccessClaims {
    /// Claims of client `client_id`'s token `jti` for `sub` at `aud`, valid from 0 to 60 in
    /// tenant `t`; tests change what they need.
    pub(crate) fn sample(iss: &str, sub: &str, aud: &str, client_id: &str, jti: &str) -> Self {
        Self::new(Claims {
            iss: iss.into(),
            sub: sub.into(),
            aud: aud.into(),
            client_id: client_id.into(),
            scope: None,
            iat: 0,
            exp: 60,
            nbf: None,
            jti: jti.into(),
            tid: "t".into(),
            app_id: None,
            cred_profile: None,
            act: None,
            cnf: None,
        })
    }
}

impl Deref for AccessClaims {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.wire
    }
}

impl DerefMut for AccessClaims {
    fn deref_mut(&mut self) -> &mut Claims {
        &mut self.wire
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_without_sub_or_fam_keeps_its_old_wire_form() {
        let old = r#"{"jti":"j","client_id":"c","app_id":"a"}"#;
        let source: Source = serde_json::from_str(old).unwrap();
        assert_eq!((source.sub.as_deref(), source.fam.as_deref()), (None, None));
        assert_eq!(serde_json::to_string(&source).unwrap(), old);
    }
}
