//! A resource-server kit for an app's own backend: accept only grantd access tokens for this
//! app's audience.
//!
//! It validates JWT access tokens as RFC 9068 §4 asks (`typ`, ES256 signature with a key of the
//! issuer's JWKS, `iss`, `aud`, `exp` with a small leeway), reads them from the `Authorization`
//! header (RFC 6750 §2.1), optionally asks the issuer's introspection endpoint (RFC 7662) whether
//! they are still active, and refuses as RFC 6750 §3 says. Endpoints come from the issuer's
//! RFC 8414 metadata.
//!
//! ```no_run
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use grantd_resource::{BearerError, BearerToken, ResourceServer};
//!
//! async fn post_message(token: BearerToken) -> Result<HttpResponse, BearerError> {
//!     token.require_scope("chat:write")?;
//!     Ok(HttpResponse::Created().finish())
//! }
//!
//! # async fn run() -> anyhow::Result<()> {
//! let kit = ResourceServer::builder(
//!     "https://auth.example.com/t/acme",
//!     "https://auth.example.com/t/acme/apps/0193…",
//! )
//! .build()?;
//! HttpServer::new(move || {
//!     App::new()
//!         .app_data(web::Data::new(kit.clone()))
//!         .route("/v1/chat-messages", web::post().to(post_message))
//! })
//! .bind("127.0.0.1:9000")?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```
//!
//! Revocation: a JWT stays valid until its `exp`, whatever happened to it at grantd. Without
//! [`ResourceServerBuilder::introspection`] a revoked token (or one of a disabled app) is
//! accepted until it expires (at most 5 minutes for app-scoped tokens); with it, every request
//! costs a round trip to grantd and a revoked token is refused at once.
mod error;
mod extract;
mod remote;
mod verify;
pub mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use secrecy::SecretString;

pub use error::{BearerError, TokenError};
pub use extract::BearerToken;
pub use wire::{Actor, Claims, Confirmation};

use grantd_jose::verify::Rules;
use grantd_jose::JwksCache;
use remote::{Credentials, Remote};

/// Verifies access tokens for one audience of one issuer. Cheap to clone: register it with
/// `App::app_data(web::Data::new(server))` and take [`BearerToken`] in handlers.
#[derive(Clone)]
pub struct ResourceServer {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audience: String,
    realm: Arc<str>,
    rules: Rules,
    introspection: Option<Credentials>,
    remote: Remote,
    keys: JwksCache,
}

impl fmt::Debug for ResourceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceServer")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("introspection", &self.inner.introspection.is_some())
            .finish_non_exhaustive()
    }
}

impl ResourceServer {
    /// A builder for tokens of `issuer` (a grantd tenant: `{PUBLIC_URL}/t/{slug}`) whose `aud`
    /// is `audience` (the app's audience).
    pub fn builder(
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> ResourceServerBuilder {
        ResourceServerBuilder {
            issuer: issuer.into(),
            audience: audience.into(),
            realm: None,
            jwks_uri: None,
            leeway: Duration::from_secs(30),
            refetch_interval: Duration::from_secs(5),
            introspection: None,
            http: None,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// The `realm` of the `WWW-Authenticate` challenges (RFC 6750 §3).
    pub fn realm(&self) -> Arc<str> {
        self.inner.realm.clone()
    }

    /// Verifies `token` (the bare JWT, without `Bearer `) now.
    pub async fn verify(&self, token: &str) -> Result<BearerToken, TokenError> {
        let checked = verify::check(token, &self.inner.rules)?;
        let kid = checked.kid().map_err(verify::refusal)?;
        let key = self
            .inner
            .keys
            .key(kid, Instant::now(), || self.inner.remote.fetch_jwks())
            .await
            .map_err(verify::refusal)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let claims = verify::decode(token, &checked, &key, &self.inner.rules, now)?;
        if let Some(credentials) = &self.inner.introspection {
            if !self.inner.remote.introspect(token, credentials).await? {
                return Err(TokenError::Revoked);
            }
        }
        Ok(BearerToken::new(claims))
    }
}

/// Settings of a [`ResourceServer`]; see [`ResourceServer::builder`].
pub struct ResourceServerBuilder {
    issuer: String,
    audience: String,
    realm: Option<String>,
    jwks_uri: Option<String>,
    leeway: Duration,
    refetch_interval: Duration,
    introspection: Option<Credentials>,
    http: Option<reqwest::Client>,
}

impl ResourceServerBuilder {
    /// Where the keys are; default: the `jwks_uri` of the issuer's metadata, read on first use.
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// Clock skew allowed on `exp` and `nbf`; default 30 seconds.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The least time between two JWKS fetches caused by tokens naming an unknown `kid`;
    /// default 5 seconds.
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// Also ask the issuer's `introspection_endpoint` about every token, as this confidential
    /// client (one whose `app_ids` list this app), and refuse unless it answers `active: true`.
    pub fn introspection(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.introspection = Some(Credentials {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
        });
        self
    }

    /// The `realm` of challenges; default: the audience.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// The HTTP client for metadata, JWKS and introspection; default: one with 5 s connect and
    /// 10 s overall timeouts.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    pub fn build(self) -> anyhow::Result<ResourceServer> {
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|e| anyhow::anyhow!("the issuer is not an absolute URL: {e}"))?;
        anyhow::ensure!(
            matches!(issuer.scheme(), "https" | "http"),
            "the issuer must be an http(s) URL"
        );
        anyhow::ensure!(!self.audience.is_empty(), "the audience must not be empty");
        if let Some(uri) = &self.jwks_uri {
            url::Url::parse(uri).map_err(|e| anyhow::anyhow!("bad jwks_uri: {e}"))?;
        }
        let realm = self.realm.unwrap_or_else(|| self.audience.clone());
        Ok(ResourceServer {
            inner: Arc::new(Inner {
                remote: Remote {
                    http: self.http.unwrap_or_else(remote::default_client),
                    issuer: self.issuer.clone(),
                    jwks_uri: self.jwks_uri,
                    metadata: tokio::sync::OnceCell::new(),
                },
                keys: JwksCache::new(self.refetch_interval),
                rules: verify::rules(&self.issuer, &self.audience, self.leeway.as_secs() as i64),
                issuer: self.issuer,
                audience: self.audience,
                realm: realm.into(),
                introspection: self.introspection,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn verification_can_run_on_any_executor_thread() {
        let kit =
            ResourceServer::builder("https://as.example/t/a", "https://as.example/t/a/apps/x")
                .build()
                .unwrap();
        assert_send(&kit.verify("token"));
    }

    #[test]
    fn a_relative_issuer_is_refused_at_build() {
        assert!(ResourceServer::builder("/t/a", "aud").build().is_err());
        assert!(ResourceServer::builder("https://as.example/t/a", "")
            .build()
            .is_err());
    }
}
