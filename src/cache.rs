//! Hot-path views of tenants (with their apps and parsed signing keys) and clients, loaded from
//! the database and kept for a short time. An admin change reaches every node within `FRESH`
//! plus one load; the node that made it drops its entry at once.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::{client, signing_key, tenant};
use parking_lot::RwLock;
use uuid::Uuid;

use crate::client_auth::{AuthMethod, ClientKind};
use crate::db;
use crate::domain::{AppId, ScopeSet, TenantId};
use crate::protocol::ACCESS_TOKEN_TTL;
use crate::tokens::{Signer, Verifier};

/// How long an entry is served before it is reloaded.
const FRESH: Duration = Duration::from_millis(400);
/// Past this age nobody serves it, even while another request reloads it.
const STALE: Duration = Duration::from_millis(900);
const MAX_ENTRIES: usize = 100_000;

pub struct AppView {
    pub id: AppId,
    pub name: String,
    pub audience: String,
    pub scopes: ScopeSet,
    pub api_enabled: bool,
}

pub struct TenantView {
    pub model: tenant::Model,
    pub issuer: String,
    pub apps: HashMap<AppId, AppView>,
    /// The key that signs now; none only if every key was withdrawn and no new one exists.
    pub signer: Option<Arc<Signer>>,
    /// Published public keys (RFC 7517 JWK objects).
    pub jwks: Vec<serde_json::Value>,
    pub verifier: Verifier,
    /// Keys withdrawn as compromised: their tokens are inactive.
    pub withdrawn_kids: Vec<String>,
}

impl TenantView {
    pub fn id(&self) -> TenantId {
        TenantId(self.model.id)
    }

    pub fn app_by_audience(&self, audience: &str) -> Option<&AppView> {
        self.apps.values().find(|app| app.audience == audience)
    }
}

pub fn app_audience(issuer: &str, app_id: Uuid) -> String {
    format!("{issuer}/apps/{app_id}")
}

pub struct ClientView {
    pub model: client::Model,
    pub kind: ClientKind,
    /// The methods it authenticates with: its registered `token_endpoint_auth_method`, or its
    /// kind's defaults when it has none.
    pub auth_methods: Vec<AuthMethod>,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: ScopeSet,
    pub app_ids: Vec<AppId>,
    pub credential_profiles: Vec<String>,
    pub exchange: crate::domain::ExchangePolicy,
}

impl ClientView {
    /// Whether an authorization request of this client must carry a PKCE challenge.
    pub fn requires_pkce(&self) -> bool {
        self.kind == ClientKind::Public || self.model.require_pkce
    }

    pub fn accepts(&self, method: AuthMethod) -> bool {
        self.auth_methods.contains(&method)
    }

    pub fn is_public(&self) -> bool {
        self.kind == ClientKind::Public
    }

    pub fn from_model(model: client::Model) -> Self {
        // Anything but "public" is held to the stricter rules of a confidential client.
        let kind = ClientKind::parse(&model.client_type).unwrap_or(ClientKind::Confidential);
        Self {
            kind,
            // A method this build does not know (a newer node wrote it) accepts nothing.
            auth_methods: match model.token_endpoint_auth_method.as_deref() {
                Some(name) => AuthMethod::parse(name).into_iter().collect(),
                None => kind.default_methods().to_vec(),
            },
            grant_types: db::strings_of(&model.grant_types),
            redirect_uris: db::strings_of(&model.redirect_uris),
            scopes: ScopeSet::from_tokens(&db::strings_of(&model.scopes)),
            app_ids: db::strings_of(&model.app_ids)
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
            credential_profiles: db::strings_of(&model.credential_profiles),
            exchange: model
                .exchange
                .clone()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default(),
            model,
        }
    }

    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

struct Entry<T> {
    value: Option<Arc<T>>,
    loaded: Instant,
    reloading: AtomicBool,
}

struct Map<T>(RwLock<HashMap<String, Arc<Entry<T>>>>);

impl<T> Map<T> {
    fn new() -> Self {
        Self(RwLock::new(HashMap::new()))
    }

    /// A fresh enough value, or `None` when the caller must load one.
    fn get(&self, key: &str) -> Option<Option<Arc<T>>> {
        let entry = self.0.read().get(key).cloned()?;
        let age = entry.loaded.elapsed();
        if age < FRESH {
            return Some(entry.value.clone());
        }
        // One request reloads; the others keep serving the entry until it is too old.
        let first = !entry.reloading.swap(true, Ordering::AcqRel);
        if !first && age < STALE {
            return Some(entry.value.clone());
        }
        None
    }

    fn put(&self, key: &str, value: Option<Arc<T>>) {
        let mut map = self.0.write();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(
            key.to_owned(),
            Arc::new(Entry {
                value,
                loaded: Instant::now(),
                reloading: AtomicBool::new(false),
            }),
        );
    }

    fn remove(&self, key: &str) {
        self.0.write().remove(key);
    }
}

pub struct Cache {
    tenants: Map<TenantView>,
    clients: Map<ClientView>,
    /// Users that exist, by `{tenant}:{user}`: refreshes check it on every use.
    users: Map<()>,
}

impl Default for Cache {
    fn default() -> Self {
        Self {
            tenants: Map::new(),
            clients: Map::new(),
            users: Map::new(),
        }
    }
}

impl Cache {
    pub fn cached_tenant(&self, slug: &str) -> Option<Option<Arc<TenantView>>> {
        self.tenants.get(slug)
    }

    pub fn put_tenant(&self, slug: &str, view: Option<Arc<TenantView>>) {
        self.tenants.put(slug, view);
    }

    pub fn cached_client(&self, client_id: &str) -> Option<Option<Arc<ClientView>>> {
        self.clients.get(client_id)
    }

    pub fn put_client(&self, client_id: &str, view: Option<Arc<ClientView>>) {
        self.clients.put(client_id, view);
    }

    pub fn cached_user(&self, key: &str) -> Option<bool> {
        self.users.get(key).map(|found| found.is_some())
    }

    pub fn put_user(&self, key: &str, exists: bool) {
        self.users.put(key, exists.then(|| Arc::new(())));
    }

    pub fn forget_tenant(&self, slug: &str) {
        self.tenants.remove(slug);
    }

    pub fn forget_client(&self, client_id: &str) {
        self.clients.remove(client_id);
    }
}

/// Builds a tenant's view from its rows. `open` decrypts a sealed private key.
pub fn build_tenant_view(
    model: tenant::Model,
    issuer: String,
    apps: Vec<entity::app::Model>,
    keys: Vec<signing_key::Model>,
    open: impl Fn(&signing_key::Model) -> anyhow::Result<Vec<u8>>,
    now: DateTime<Utc>,
) -> anyhow::Result<TenantView> {
    let apps = apps
        .into_iter()
        .map(|app| {
            let view = AppView {
                id: AppId(app.id),
                audience: app_audience(&issuer, app.id),
                scopes: ScopeSet::from_tokens(&db::strings_of(&app.scopes)),
                name: app.name,
                api_enabled: app.api_enabled,
            };
            (view.id, view)
        })
        .collect();
    let withdrawn_kids = keys
        .iter()
        .filter(|k| k.withdrawn_at.is_some())
        .map(|k| k.kid.clone())
        .collect();
    let jwks: Vec<serde_json::Value> = keys
        .iter()
        .filter(|k| is_published(k, now))
        .map(|k| k.public_jwk.clone())
        .collect();
    let current = keys
        .iter()
        .rev()
        .find(|k| k.withdrawn_at.is_none() && k.signs_from <= now);
    let signer = match current {
        Some(key) => Some(Arc::new(Signer::from_pkcs8(&key.kid, &open(key)?)?)),
        None => None,
    };
    let verifier = Verifier::new(&issuer, &jwks);
    Ok(TenantView {
        model,
        issuer,
        apps,
        signer,
        jwks,
        verifier,
        withdrawn_kids,
    })
}

/// A superseded key stays published until the last token it can have signed has expired
/// (plus a minute for clock skew).
fn is_published(key: &signing_key::Model, now: DateTime<Utc>) -> bool {
    if key.withdrawn_at.is_some() {
        return false;
    }
    match key.superseded_at {
        Some(at) => now < at + chrono::Duration::seconds(ACCESS_TOKEN_TTL + 60),
        None => true,
    }
}
