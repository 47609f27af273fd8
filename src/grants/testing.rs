//! A world for the protocol core's scenario tests: one tenant with one app, one confidential
//! client allowed every grant, one user, the in-process state store, in-memory look-ups, an
//! audit sink that remembers, and a pinned clock. No database, no HTTP.
use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::records::{bound_digest, CodeRecord};
use super::{run, GrantRequest, Issued};
use crate::audit::{AuditEntry, Backlogged};
use crate::cache::{build_tenant_view, AppView, ClientView, TenantView};
use crate::crypto::random_token;
use crate::domain::{AppId, TenantId, UserId};
use crate::error::OAuthError;
use crate::ports::{
    ApiKeyRecord, AuditSink, ClientCall, CredentialProfileSecret, Directory, Ports,
};
use crate::protocol::GRANT_TYPES;
use crate::store::{MemoryStore, OnceKind, RevocationQuery, StateStore};

pub struct World {
    pub store: MemoryStore,
    pub directory: Lookups,
    pub audit: Recorder,
    pub tenant: TenantView,
    pub client: ClientView,
    pub user: UserId,
    pub now: DateTime<Utc>,
}

/// What the database would hold.
#[derive(Default)]
pub struct Lookups {
    pub clients: Mutex<HashMap<String, Arc<ClientView>>>,
    pub users: Mutex<Vec<(TenantId, UserId)>>,
    pub profiles: Mutex<Vec<(TenantId, String)>>,
    /// By the key's secret value.
    pub api_keys: Mutex<HashMap<String, ApiKeyRecord>>,
}

#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<AuditEntry>>);

impl World {
    pub const REDIRECT_URI: &'static str = "https://app.example/callback";

    pub fn new() -> Self {
        // Pinned, and near the real time: the in-process store counts its TTLs on the real clock.
        let now = Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap();
        let tenant_id = Uuid::now_v7();
        let tenant = tenant_view(tenant_id, now);
        let app_id = *tenant.apps.keys().next().unwrap();
        let client = client_view(tenant_id, "crm", app_id);
        let user = UserId(Uuid::now_v7());
        let directory = Lookups::default();
        directory.users.lock().push((TenantId(tenant_id), user));
        directory.clients.lock().insert(
            "crm".into(),
            Arc::new(client_view(tenant_id, "crm", app_id)),
        );
        Self {
            store: MemoryStore::new("test"),
            directory,
            audit: Recorder::default(),
            tenant,
            client,
            user,
            now,
        }
    }

    pub fn app(&self) -> &AppView {
        self.tenant.apps.values().next().unwrap()
    }

    pub fn call(&self) -> ClientCall<'_> {
        ClientCall {
            ports: Ports {
                store: &self.store,
                directory: &self.directory,
                audit: &self.audit,
            },
            tenant: &self.tenant,
            client: &self.client,
            sender: Default::default(),
            now: self.now,
        }
    }

    /// Runs a grant and issues what it decided, as the token endpoint does.
    pub async fn issue(&self, request: impl Into<GrantRequest>) -> Result<Issued, OAuthError> {
        run(&self.call(), request.into()).await
    }

    /// The audit actions recorded so far, in order.
    pub fn audited(&self) -> Vec<&'static str> {
        self.audit
            .0
            .lock()
            .iter()
            .map(|e| e.action.as_str())
            .collect()
    }

    /// An authorization code for the world's user and client, as the consent step stores it.
    pub async fn code(&self, code_challenge: Option<&str>) -> String {
        let code = random_token(32);
        let record = CodeRecord {
            client_id: self.client.model.client_id.clone(),
            redirect_uri: Self::REDIRECT_URI.into(),
            code_challenge: code_challenge.map(Into::into),
            scope: "chat:read chat:write".into(),
            user_id: self.user,
            app_id: None,
            issued_at_ms: self.now.timestamp_millis(),
            family: Uuid::now_v7().simple().to_string(),
        };
        self.store
            .put_once(
                self.tenant.id(),
                OnceKind::AuthorizationCode,
                &bound_digest(&record.client_id, &code),
                &serde_json::to_string(&record).unwrap(),
                60,
            )
            .await
            .unwrap();
        code
    }

    pub async fn family_revoked(&self, family: &str) -> bool {
        let query = RevocationQuery {
            families: vec![family.into()],
            issued_at: self.now.timestamp_millis(),
            ..Default::default()
        };
        self.store
            .is_revoked(self.tenant.id(), &query)
            .await
            .unwrap()
    }

    /// RFC 7636 §4.2 S256.
    pub fn challenge(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }

    /// The world's call made by `client` instead, `later_secs` after the pinned clock.
    pub fn call_as<'a>(&'a self, client: &'a ClientView, later_secs: i64) -> ClientCall<'a> {
        ClientCall {
            client,
            now: self.now + chrono::Duration::seconds(later_secs),
            ..self.call()
        }
    }

    /// A client of the world's tenant other than the world's own.
    pub fn other_client(&self, client_id: &str) -> ClientView {
        client_view(self.tenant.model.id, client_id, self.app().id)
    }
}

fn tenant_view(id: Uuid, now: DateTime<Utc>) -> TenantView {
    let (pkcs8, jwk) = crate::tokens::generate_es256("k1").unwrap();
    let key = entity::signing_key::Model {
        id: Uuid::now_v7(),
        tenant_id: id,
        kid: "k1".into(),
        alg: "ES256".into(),
        private_key_enc: String::new(),
        public_jwk: jwk,
        signs_from: now - chrono::Duration::days(1),
        superseded_at: None,
        withdrawn_at: None,
        created_at: now,
        seal_version: 2,
    };
    let app = entity::app::Model {
        id: Uuid::now_v7(),
        tenant_id: id,
        name: "Chat".into(),
        scopes: serde_json::json!(["chat:read", "chat:write"]),
        api_enabled: true,
        created_at: now,
        updated_at: now,
    };
    let model = entity::tenant::Model {
        id,
        slug: "acme".into(),
        name: "Acme".into(),
        rate_limit: None,
        created_at: now,
        updated_at: now,
    };
    build_tenant_view(
        model,
        "http://grantd.test/t/acme".into(),
        vec![app],
        vec![key],
        |_| Ok(pkcs8.clone()),
        now,
    )
    .unwrap()
}

fn client_view(tenant_id: Uuid, client_id: &str, app_id: AppId) -> ClientView {
    let now = Utc::now();
    ClientView::from_model(entity::client::Model {
        id: Uuid::now_v7(),
        tenant_id,
        client_id: client_id.into(),
        name: client_id.into(),
        client_type: "confidential".into(),
        secret_hash: None,
        grant_types: serde_json::json!(GRANT_TYPES),
        redirect_uris: serde_json::json!([World::REDIRECT_URI]),
        scopes: serde_json::json!(["chat:read", "chat:write"]),
        app_ids: serde_json::json!([app_id]),
        credential_profiles: serde_json::json!(["openai-prod"]),
        exchange: None,
        rate_limit: None,
        require_pkce: true,
        token_endpoint_auth_method: None,
        created_at: now,
        updated_at: now,
    })
}

#[async_trait]
impl Directory for Lookups {
    async fn client(&self, client_id: &str) -> anyhow::Result<Option<Arc<ClientView>>> {
        Ok(self.clients.lock().get(client_id).cloned())
    }

    async fn user_exists(&self, tenant: TenantId, user: UserId) -> anyhow::Result<bool> {
        Ok(self.users.lock().contains(&(tenant, user)))
    }

    async fn credential_profile_exists(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> anyhow::Result<bool> {
        Ok(self
            .profiles
            .lock()
            .iter()
            .any(|(t, n)| *t == tenant && n == name))
    }

    async fn credential_profile_secret(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> anyhow::Result<Option<CredentialProfileSecret>> {
        let exists = self.credential_profile_exists(tenant, name).await?;
        Ok(exists.then(|| CredentialProfileSecret {
            name: name.into(),
            provider: "openai".into(),
            secret: "sk-test".into(),
        }))
    }

    async fn api_key(&self, key: &str) -> anyhow::Result<Option<ApiKeyRecord>> {
        Ok(self.api_keys.lock().get(key).cloned())
    }

    fn api_key_used(&self, _key: &ApiKeyRecord, _now: DateTime<Utc>) {}
}

#[async_trait]
impl AuditSink for Recorder {
    async fn record(&self, entry: AuditEntry) -> Result<(), Backlogged> {
        self.0.lock().push(entry);
        Ok(())
    }
}
