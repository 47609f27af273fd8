//! What the kit asks the authorization server over HTTP: its RFC 8414 metadata (§3, at
//! `{issuer}/.well-known/oauth-authorization-server`, whose `issuer` must be the configured one,
//! §3.3), its JWK Set (RFC 7517 §5), and RFC 7662 §2 introspection, authenticated with
//! `client_secret_basic` (RFC 6749 §2.3.1: id and secret form-encoded first). Every failure to
//! get an answer is [`TokenError::Unavailable`]: the caller fails closed.
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::jwks::{self, Fetched};
use super::TokenError;

/// No JWKS or metadata document of a sane issuer comes near this.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// The confidential client the resource server introspects as.
pub(crate) struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Metadata {
    issuer: String,
    jwks_uri: Option<String>,
    introspection_endpoint: Option<String>,
}

pub(crate) struct Remote {
    pub http: reqwest::Client,
    pub issuer: String,
    pub jwks_uri: Option<String>,
    pub metadata: tokio::sync::OnceCell<Metadata>,
}

/// A client with timeouts, for when the builder is given none.
pub(crate) fn default_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

impl Remote {
    /// The issuer's metadata, fetched once; a failed fetch is tried again on the next call.
    async fn metadata(&self) -> Result<&Metadata, TokenError> {
        self.metadata
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/oauth-authorization-server", self.issuer);
                let metadata: Metadata =
                    serde_json::from_slice(&self.get(&url, "metadata").await?.0).map_err(|e| {
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
    pub(crate) async fn fetch_jwks(&self) -> Result<Fetched, TokenError> {
        let uri = match &self.jwks_uri {
            Some(uri) => uri.as_str(),
            None => self.metadata().await?.jwks_uri.as_deref().ok_or_else(|| {
                tracing::error!("the issuer's metadata names no jwks_uri");
                TokenError::Unavailable
            })?,
        };
        let (body, cache_control) = self.get(uri, "JWKS").await?;
        let keys = jwks::parse_jwks(&body).ok_or_else(|| {
            tracing::warn!("the JWKS is not a JWK Set");
            TokenError::Unavailable
        })?;
        tracing::debug!(keys = keys.len(), "fetched the issuer's JWKS");
        Ok(Fetched {
            keys,
            max_age: jwks::max_age(cache_control.as_deref()),
        })
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
        #[derive(Deserialize)]
        struct Answer {
            active: bool,
        }
        let answer: Answer = response.json().await.map_err(|e| {
            tracing::warn!(error = %e, "introspection answered no RFC 7662 response");
            TokenError::Unavailable
        })?;
        Ok(answer.active)
    }

    /// The body of a successful GET, and its `Cache-Control`.
    async fn get(&self, url: &str, what: &str) -> Result<(Vec<u8>, Option<String>), TokenError> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unreachable(what, &e))?;
        if !response.status().is_success() {
            tracing::warn!(what, status = response.status().as_u16(), "fetch failed");
            return Err(TokenError::Unavailable);
        }
        let cache_control = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            tracing::warn!(what, "document too large");
            return Err(TokenError::Unavailable);
        }
        let body = response.bytes().await.map_err(|e| unreachable(what, &e))?;
        if body.len() > MAX_DOCUMENT_BYTES {
            tracing::warn!(what, "document too large");
            return Err(TokenError::Unavailable);
        }
        Ok((body.to_vec(), cache_control))
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
