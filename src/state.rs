//! What every request handler shares: the database, the state store, the master-key crypto,
//! the hot-path cache and the audit log.
use std::sync::Arc;

use chrono::Utc;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::audit::{AuditEntry, AuditLog, Backlogged};
use crate::cache::{build_tenant_view, Cache, ClientView, TenantView};
use crate::config::Settings;
use crate::crypto::Crypto;
use crate::db;
use crate::domain::{AppId, TenantId, UserId};
use crate::store::{MemoryStore, Metered, RedisStore, StateStore};

pub struct AppState {
    /// Every statement has a deadline (`db::STATEMENT_DEADLINE`).
    pub db: db::BoundedConnection,
    pub store: Arc<dyn StateStore>,
    pub crypto: Crypto,
    pub cache: Cache,
    pub audit: AuditLog,
    pub public_url: String,
    /// False for the in-process store, which only this process sees.
    pub shared_store: bool,
    pub failed_auth: crate::rate_limit::FailedAuth,
    /// Whose `X-Forwarded-For` names the client's address (`crate::client_address::of`).
    pub trusted_proxies: crate::client_address::TrustedProxies,
    /// Set on SIGTERM: `/readyz` answers 503 while the node drains.
    pub draining: std::sync::atomic::AtomicBool,
    admin_token_digest: Option<[u8; 32]>,
}

impl AppState {
    /// Connects to the database (running migrations) and the state store.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        settings.check()?;
        let master_key = settings.load_master_key()?;
        let db = connect_database(settings.database_url.expose_secret()).await?;
        let crypto = Crypto::new(&master_key);
        db::signing_keys::reseal_legacy(&db, &crypto).await?;
        let store: Arc<dyn StateStore> = match &settings.redis_url {
            Some(url) => Arc::new(Metered(
                RedisStore::connect(url.expose_secret(), &settings.redis_prefix).await?,
            )),
            None => Arc::new(Metered(MemoryStore::new(&settings.redis_prefix))),
        };
        Ok(Self {
            audit: AuditLog::start(db.clone()),
            db: db::BoundedConnection::new(db, db::STATEMENT_DEADLINE),
            store,
            crypto,
            cache: Cache::default(),
            public_url: settings.public_url(),
            shared_store: settings.redis_url.is_some(),
            failed_auth: Default::default(),
            trusted_proxies: settings.trusted_proxies.clone(),
            draining: Default::default(),
            admin_token_digest: settings
                .admin_token
                .as_ref()
                .map(|t| Sha256::digest(t.expose_secret().as_bytes()).into()),
        })
    }

    pub fn issuer(&self, slug: &str) -> String {
        format!("{}/t/{slug}", self.public_url)
    }

    /// Constant-time check of an admin bearer token; false when no admin token is configured.
    pub fn is_admin_token(&self, presented: &str) -> bool {
        match &self.admin_token_digest {
            Some(expected) => Sha256::digest(presented.as_bytes()).ct_eq(expected).into(),
            None => false,
        }
    }

    /// Queues an audit event; waits only when the writer is behind, and refuses (503) when it
    /// stays behind, so that nothing happens unrecorded.
    pub async fn audit(&self, entry: AuditEntry) -> Result<(), Backlogged> {
        self.audit.record(entry).await
    }

    pub async fn tenant(&self, slug: &str) -> anyhow::Result<Option<Arc<TenantView>>> {
        if let Some(cached) = self.cache.cached_tenant(slug) {
            return Ok(cached);
        }
        let view = self.load_tenant(slug).await?.map(Arc::new);
        self.cache.put_tenant(slug, view.clone());
        Ok(view)
    }

    async fn load_tenant(&self, slug: &str) -> anyhow::Result<Option<TenantView>> {
        if crate::domain::parse_slug(slug).is_err() {
            return Ok(None);
        }
        let Some(model) = db::tenants::find_by_slug(&self.db, slug).await? else {
            return Ok(None);
        };
        let apps = db::apps::list(&self.db, model.id).await?;
        let keys = db::signing_keys::list(&self.db, model.id).await?;
        let issuer = self.issuer(slug);
        let view = build_tenant_view(
            model,
            issuer,
            apps,
            keys,
            |key| {
                self.crypto.open(
                    &signing_key_context(key.tenant_id, &key.kid),
                    &key.private_key_enc,
                )
            },
            Utc::now(),
        )?;
        Ok(Some(view))
    }

    pub async fn client(&self, client_id: &str) -> anyhow::Result<Option<Arc<ClientView>>> {
        if let Some(cached) = self.cache.cached_client(client_id) {
            return Ok(cached);
        }
        let view = if !crate::domain::is_client_id_shape(client_id) {
            None
        } else {
            db::clients::find_by_client_id(&self.db, client_id)
                .await?
                .map(|m| Arc::new(ClientView::from_model(m)))
        };
        self.cache.put_client(client_id, view.clone());
        Ok(view)
    }

    /// Whether a user still exists, as of at most a moment ago.
    pub async fn user_exists(
        &self,
        tenant_id: uuid::Uuid,
        user_id: uuid::Uuid,
    ) -> anyhow::Result<bool> {
        let key = format!("{tenant_id}:{user_id}");
        if let Some(exists) = self.cache.cached_user(&key) {
            return Ok(exists);
        }
        let exists = db::users::find(&self.db, tenant_id, user_id)
            .await?
            .is_some();
        self.cache.put_user(&key, exists);
        Ok(exists)
    }

    /// `Ok` while the database and the state store both answer (each within its deadline) and
    /// the store is fit for grantd; else what is wrong, when it is a setting to fix.
    pub async fn ready(&self) -> Result<(), Option<String>> {
        let (db, store, config) = tokio::join!(
            self.db.execute_unprepared("SELECT 1"),
            tokio::time::timeout(db::STATEMENT_DEADLINE, self.store.ping()),
            tokio::time::timeout(db::STATEMENT_DEADLINE, self.store.misconfiguration()),
        );
        if let Ok(Ok(Some(problem))) = config {
            return Err(Some(problem));
        }
        let answered = db.is_ok() && store.is_ok_and(|r| r.is_ok());
        answered.then_some(()).ok_or(None)
    }
}

pub use crate::crypto::{credential_profile_context, signing_key_context};

/// `grantd migrate`: the schema migrations, then the data steps that need the master key.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let crypto = Crypto::new(&settings.load_master_key()?);
    let db = connect_database(settings.database_url.expose_secret()).await?;
    db::signing_keys::reseal_legacy(&db, &crypto).await?;
    Ok(())
}

pub async fn connect_database(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    // Each SQLite connection keeps its own page cache; a few suffice for one node.
    let max_connections = if url.starts_with("sqlite:") { 4 } else { 16 };
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(std::time::Duration::from_secs(5))
        .acquire_timeout(db::STATEMENT_DEADLINE)
        .sqlx_logging(false);
    let db = Database::connect(options).await.map_err(|_| {
        anyhow::anyhow!("cannot connect to the database (check GRANTD_DATABASE_URL)")
    })?;
    if url.starts_with("sqlite:") {
        // WAL lets readers run while the audit writer writes.
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    <migration::Migrator as migration::MigratorTrait>::up(&db, None).await?;
    Ok(db)
}

#[async_trait::async_trait]
impl crate::ports::Directory for AppState {
    async fn client(&self, client_id: &str) -> anyhow::Result<Option<Arc<ClientView>>> {
        AppState::client(self, client_id).await
    }

    async fn user_exists(&self, tenant: TenantId, user: UserId) -> anyhow::Result<bool> {
        AppState::user_exists(self, tenant.0, user.0).await
    }

    async fn credential_profile_exists(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> anyhow::Result<bool> {
        Ok(
            db::credential_profiles::find_by_name(&self.db, tenant.0, name)
                .await?
                .is_some(),
        )
    }

    async fn credential_profile_secret(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> anyhow::Result<Option<crate::ports::CredentialProfileSecret>> {
        let Some(profile) = db::credential_profiles::find_by_name(&self.db, tenant.0, name).await?
        else {
            return Ok(None);
        };
        let secret = self
            .crypto
            .open(&credential_profile_context(profile.id), &profile.secret_enc)?;
        Ok(Some(crate::ports::CredentialProfileSecret {
            name: profile.name,
            provider: profile.provider,
            secret: String::from_utf8(secret)?,
        }))
    }

    async fn api_key(&self, key: &str) -> anyhow::Result<Option<crate::ports::ApiKeyRecord>> {
        let digest = self.crypto.secret_digest(key);
        Ok(db::api_keys::find_by_hash(&self.db, &digest)
            .await?
            .filter(|k| crate::crypto::constant_time_eq(&k.key_hash, &digest))
            .map(|k| crate::ports::ApiKeyRecord {
                id: k.id,
                tenant_id: TenantId(k.tenant_id),
                app_id: AppId(k.app_id),
                last_used_at: k.last_used_at,
            }))
    }

    /// At most once a minute per key, off the request path.
    fn api_key_used(&self, key: &crate::ports::ApiKeyRecord, now: chrono::DateTime<Utc>) {
        if key
            .last_used_at
            .is_some_and(|at| now - at < chrono::Duration::seconds(60))
        {
            return;
        }
        let (db, key_id) = (self.db.clone(), key.id);
        tokio::spawn(async move {
            if let Err(e) = db::api_keys::touch(&db, key_id, now).await {
                tracing::warn!(error.cause_chain = ?e, "recording an API key's last use failed");
            }
        });
    }
}

#[async_trait::async_trait]
impl crate::ports::AuditSink for AppState {
    async fn record(&self, entry: AuditEntry) -> Result<(), Backlogged> {
        self.audit.record(entry).await
    }
}

impl AppState {
    /// The protocol core's view of this node.
    pub fn ports(&self) -> crate::ports::Ports<'_> {
        crate::ports::Ports {
            store: self.store.as_ref(),
            directory: self,
            audit: self,
        }
    }
}
