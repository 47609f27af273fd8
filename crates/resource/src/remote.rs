//! What the kit asks the authorization server over HTTP: its RFC 8414 metadata (§3, at
//! `{issuer}/.well-known/oauth-authorization-server`, whose `issuer` must be the configured one,
//! §3.3), its JWK Set (RFC 7517 §5), and RFC 7662 §2 introspection, authenticated with
//! `client_secret_basic` (RFC 6749 §2.3.1: id and secret form-encoded first). Documents are
//! fetched with grantd-jose's bounds (size, same-origin redirects). Every failure to get an
//! answer is [`TokenError::Unavailable`]: the caller fails closed.
use std::time::Duration;

use crate::wire::{Introspection, Metadata};
use crate::TokenError;
use grantd_jose::fetch::{self, get_document};
use grantd_jose::{Fetched, JoseError};
use secrecy::{ExposeSecret, SecretString};

/// The confidential client the resource server introspects as.
pub(crate) struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

pub(crate) struct Remote {
    pub http: reqwest::Client,
    pub issuer: String,
    pub jwks_uri: Option<String>,
    pub metadata: tokio::sync::OnceCell<Metadata>,
}

/// A client with timeouts, for when the builder is given none.
pub(crate) fn default_client() -> reqwest::Client {
    fetch::http_client(Duration::from_secs(5), Duration::from_secs(10))
}

impl Remote {
    /// The issuer's metadata, fetched once; a failed fetch is tried again on the next call.
    async fn metadata(&self) -> Result<&Metadata, TokenError> {
        self.metadata
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/oauth-authorization-server", self.issuer);
                let document = get_document(&self.http, &url, "metadata")
                    .await
                    .map_err(|_| TokenError::Unavailable)?;
                let metadata: Metadata = serde_json::from_slice(&document.body).map_err(|e| {
                    tracing::warn!(error = %e, "the issuer's metadata is not JSON");
                    TokenError::Unavailable
                })?;
                if metadata.issuer != self.issuer {
                    tracing::error!(
                        expected = %self.issuer,
                        found = %metadata.issuer,
                        "the metadata names another issuer (RFC 8414 §3.3)"
                    );
                    return Err(TokenError::Unavailable);
                }
                Ok(metadata)
            })
            .await
    }

    /// The issuer's JWK Set and how long it may be cached.
    pub(crate) async fn fetch_jwks(&self) -> Result<Fetched, JoseError> {
        let uri = match &self.jwks_uri {
            Some(uri) => uri.as_str(),
            None => self
                .metadata()
                .await
                .map_err(|_| JoseError::Unavailable)?
                .jwks_uri
                .as_deref()
                .ok_or_else(|| {
                    tracing::error!("the issuer's metadata names no jwks_uri");
                    JoseError::Unavailable
                })?,
        };
        fetch::fetch_jwks(&self.http, uri).await
    }

    /// RFC 7662: is `token` active? Nothing is cached: every call asks.
    pub(crate) async fn introspect(
        &self,
        token: &str,
        credentials: &Credentials,
    ) -> Result<bool, TokenError> {
        let endpoint = self
            .metadata()
            .await?
            .introspection_endpoint
            .as_deref()
            .ok_or_else(|| {
                tracing::error!("the issuer's metadata names no introspection_endpoint");
                TokenError::Unavailable
            })?;
        let response = self
            .http
            .post(endpoint)
            .basic_auth(
                form_encode(&credentials.client_id),
                Some(form_encode(credentials.client_secret.expose_secret())),
            )
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| unreachable("introspection", &e))?;
        let status = response.status();
        if !status.is_success() {
            // A 401 here means the kit's own client credentials are wrong: fail closed, loudly.
            tracing::error!(status = status.as_u16(), "introspection refused to answer");
            return Err(TokenError::Unavailable);
        }
        let answer: Introspection = response.json().await.map_err(|e| {
            tracing::warn!(error = %e, "introspection answered no RFC 7662 response");
            TokenError::Unavailable
        })?;
        Ok(answer.active)
    }
}

fn unreachable(what: &str, error: &reqwest::Error) -> TokenError {
    // reqwest's Display holds the URL, never a token: tokens travel in bodies only.
    tracing::warn!(what, error = %error, "the authorization server is unreachable");
    TokenError::Unavailable
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
