//! The narrow interfaces the protocol core (`grants`, `oauth`) works through, instead of the
//! whole `AppState`: the state store, look-ups of what the database holds, and the audit sink.
//! `AppState` implements them for the server (`state.rs`); the core's unit tests implement them
//! in memory (`grants::testing`), with a pinned clock passed in as `now`.
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{AuditEntry, Backlogged};
use crate::cache::{ClientView, TenantView};
use crate::domain::{AppId, TenantId, UserId};
use crate::store::StateStore;
use crate::tokens::SenderConstraint;

/// An app's API key as the exchange grant needs it: never the key itself.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub app_id: AppId,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A credential profile with its secret opened, for the key-context answer only.
pub use grantd_resource::wire::CredentialProfile as CredentialProfileSecret;

/// Look-ups of what the database holds, each as of at most a moment ago (cached).
#[async_trait]
pub trait Directory: Send + Sync {
    async fn client(&self, client_id: &str) -> anyhow::Result<Option<Arc<ClientView>>>;

    async fn user_exists(&self, tenant: TenantId, user: UserId) -> anyhow::Result<bool>;

    async fn credential_profile_exists(&self, tenant: TenantId, name: &str)
        -> anyhow::Result<bool>;

    /// The profile named `name`, its secret decrypted.
    async fn credential_profile_secret(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> anyhow::Result<Option<CredentialProfileSecret>>;

    /// The API key whose secret value is `key`, compared in constant time.
    async fn api_key(&self, key: &str) -> anyhow::Result<Option<ApiKeyRecord>>;

    /// Records a use of an API key, off the request path.
    fn api_key_used(&self, key: &ApiKeyRecord, now: DateTime<Utc>);
}

/// Where audit events go. Refuses (`Backlogged`) rather than let something happen unrecorded.
#[async_trait]
pub trait AuditSink: Send + Sync {
    async fn record(&self, entry: AuditEntry) -> Result<(), Backlogged>;
}

/// Everything the protocol core may reach outside itself.
#[derive(Clone, Copy)]
pub struct Ports<'a> {
    pub store: &'a dyn StateStore,
    pub directory: &'a dyn Directory,
    pub audit: &'a dyn AuditSink,
}

/// An authenticated client's call at an OAuth endpoint, as the protocol core sees it.
pub struct ClientCall<'a> {
    pub ports: Ports<'a>,
    pub tenant: &'a TenantView,
    pub client: &'a ClientView,
    /// Who may use what this call issues, from what the request presented.
    pub sender: SenderConstraint,
    /// The request's clock, pinned by tests.
    pub now: DateTime<Utc>,
}
