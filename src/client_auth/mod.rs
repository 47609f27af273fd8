//! Client authentication at every endpoint that authenticates clients (RFC 6749 §2.3), one
//! module per method (RFC 7591 names). A request presents exactly one method; the client is
//! found, the method proves it, and the client must be registered for that method.
//!
//! To add a method: a module here implementing `Method`, an `AuthMethod` variant, and its entry
//! in `CREDENTIAL_METHODS`.
mod client_secret_basic;
mod client_secret_post;
mod none;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

pub use client_secret_basic::parse_basic;

use crate::cache::{ClientView, TenantView};
use crate::crypto::Crypto;
use crate::error::{OAuthError, BASIC_CHALLENGE};
use crate::ports::Directory;

/// A client authentication method, by its RFC 7591 `token_endpoint_auth_method` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 3] = [Self::ClientSecretBasic, Self::ClientSecretPost, Self::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Whether the method proves who the client is (every one but `none`).
    pub fn authenticates(self) -> bool {
        self != Self::None
    }

    fn module(self) -> &'static dyn Method {
        match self {
            Self::ClientSecretBasic => &client_secret_basic::ClientSecretBasic,
            Self::ClientSecretPost => &client_secret_post::ClientSecretPost,
            Self::None => &none::NoCredentials,
        }
    }
}

impl std::fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a client holds credentials (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Confidential,
    Public,
}

impl ClientKind {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "confidential" => Some(Self::Confidential),
            "public" => Some(Self::Public),
            _ => None,
        }
    }

    /// The methods a client of this kind accepts when it was registered with none; the first
    /// is the one the admin API shows.
    pub fn default_methods(self) -> &'static [AuthMethod] {
        match self {
            Self::Confidential => &[AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost],
            Self::Public => &[AuthMethod::None],
        }
    }

    /// The methods a client of this kind may be registered for.
    pub fn allowed_methods(self) -> &'static [AuthMethod] {
        self.default_methods()
    }
}

/// Where a request's credentials may be: the `Authorization` header and the form.
pub struct Presentation<'a> {
    pub authorization: Option<&'a str>,
    pub form: &'a HashMap<String, String>,
}

/// What the request presented, before any look-up.
#[derive(Debug, PartialEq, Eq)]
pub struct Presented {
    pub method: AuthMethod,
    pub client_id: String,
    pub proof: Proof,
}

/// The credential itself. Its `Debug` never shows a secret.
#[derive(PartialEq, Eq)]
pub enum Proof {
    Secret(String),
    Nothing,
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret(..)"),
            Self::Nothing => f.write_str("Nothing"),
        }
    }
}

impl Presented {
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// What a method may check credentials with.
pub struct Verifier<'a> {
    pub crypto: &'a Crypto,
}

/// One client authentication method.
#[async_trait]
pub trait Method: Sync {
    /// This method's credentials in the request, if it carries any; an error if they are there
    /// but malformed.
    fn recognise(&self, request: &Presentation<'_>) -> Option<Result<Presented, OAuthError>>;

    /// Whether `presented` proves `client`. For an unknown client id (`None`) a method spends
    /// the work of a real check, so that unknown ids do not answer faster.
    async fn verify(
        &self,
        with: &Verifier<'_>,
        client: Option<&ClientView>,
        presented: &Presented,
    ) -> bool;

    /// The `WWW-Authenticate` challenge of a failure (RFC 6749 §5.2, RFC 7235 §3.1): the one
    /// HTTP scheme grantd offers clients, unless a method has its own.
    fn challenge(&self) -> &'static str {
        BASIC_CHALLENGE
    }
}

/// The methods that carry credentials. A request with none of them and a `client_id` presents
/// `none`.
const CREDENTIAL_METHODS: [AuthMethod; 2] =
    [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost];

/// Reads the client's credentials from the `Authorization` header or the form. Using two
/// methods at once is refused (RFC 6749 §2.3: "MUST NOT use more than one").
pub fn presented(
    authorization: Option<&str>,
    form: &HashMap<String, String>,
) -> Result<Presented, OAuthError> {
    let request = Presentation {
        authorization,
        form,
    };
    let mut found = CREDENTIAL_METHODS
        .iter()
        .filter_map(|m| m.module().recognise(&request));
    match (found.next(), found.next()) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method, not two",
        )),
        (Some(one), None) => one,
        (None, _) => AuthMethod::None
            .module()
            .recognise(&request)
            .unwrap_or_else(|| {
                Err(OAuthError::invalid_client(
                    "client authentication is required",
                ))
            }),
    }
}

/// Finds the client and checks what it presented; every failure is the same `invalid_client`
/// to the caller: an unknown client, a wrong credential, and a method the client is not
/// registered for.
pub async fn authenticate(
    directory: &dyn Directory,
    with: &Verifier<'_>,
    tenant: &TenantView,
    presented: &Presented,
) -> Result<Arc<ClientView>, OAuthError> {
    let client = directory
        .client(&presented.client_id)
        .await
        .map_err(OAuthError::Unavailable)?
        .filter(|c| c.model.tenant_id == tenant.model.id);
    let method = presented.method.module();
    let proven = method.verify(with, client.as_deref(), presented).await;
    match client {
        Some(client) if proven && client.accepts(presented.method) => Ok(client),
        _ => Err(OAuthError::invalid_client("client authentication failed")
            .with_challenge(Some(method.challenge()))),
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let error = presented(Some(&basic("a:b")), &form(&[("client_secret", "x")])).unwrap_err();
        assert_eq!(error.code().as_str(), "invalid_request");
    }

    #[test]
    fn each_method_is_recognised_by_where_its_credentials_are() {
        let cases = [
            (
                Some(basic("app:s3")),
                form(&[]),
                AuthMethod::ClientSecretBasic,
            ),
            (
                None,
                form(&[("client_id", "app"), ("client_secret", "s3")]),
                AuthMethod::ClientSecretPost,
            ),
            (None, form(&[("client_id", "app")]), AuthMethod::None),
        ];
        for (header, form, method) in cases {
            let presented = presented(header.as_deref(), &form).unwrap();
            assert_eq!(presented.method, method);
            assert_eq!(presented.client_id, "app");
            let proof = if method == AuthMethod::None {
                Proof::Nothing
            } else {
                Proof::Secret("s3".into())
            };
            assert_eq!(presented.proof, proof);
        }
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let presented = presented(Some(&basic("app:hunter2")), &form(&[])).unwrap();
        assert!(!format!("{presented:?}").contains("hunter2"));
    }

    #[test]
    fn no_credentials_at_all_is_invalid_client() {
        for form in [form(&[]), form(&[("client_secret", "s3")])] {
            let error = presented(None, &form).unwrap_err();
            assert_eq!(error.code().as_str(), "invalid_client");
        }
    }

    #[test]
    fn method_names_are_the_rfc_7591_names() {
        for method in AuthMethod::ALL {
            assert_eq!(AuthMethod::parse(method.as_str()), Some(method));
        }
        assert_eq!(AuthMethod::parse("private_key_jwt"), None);
    }
}
