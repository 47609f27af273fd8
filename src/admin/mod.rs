//! The admin operations, shared by the HTTP admin API and the CLI. Each validates its input,
//! writes, drops what the cache holds and records an `admin.<thing>.<verb>` audit event.
pub mod api_keys;
pub mod apps;
pub mod clients;
pub mod credential_profiles;
pub mod keys;
pub mod revocations;
pub mod tenants;
pub mod users;

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};

use crate::audit::{AuditEntry, Outcome};
use crate::cache::TenantView;
use crate::domain::is_scope_token;
use crate::error::AdminError;
use crate::state::AppState;

pub(crate) use crate::db::is_unique_violation;

/// `{"per_second": n, "burst": n}` on tenants and clients.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    #[serde(deserialize_with = "crate::domain::whole_number")]
    pub per_second: u32,
    #[serde(deserialize_with = "crate::domain::whole_number")]
    pub burst: u32,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`), for PATCH.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `double_option` for a field that holds an object (`rate_limit`, `exchange`): serde's derive
/// would also read a struct from a JSON array, by position (`"rate_limit": [5, 5]`), and the
/// admin API takes objects only.
pub fn double_option_object<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<Object<T>>::deserialize(d).map(|o| Some(o.map(|Object(value)| value)))
}

/// A value read from a JSON object and nothing else. The map is handed on as it is read, so a
/// problem inside it is still reported at its own path (`rate_limit.burst`).
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
            .map(Object)
    }
}

pub async fn tenant_or_404(state: &AppState, slug: &str) -> Result<Arc<TenantView>, AdminError> {
    state
        .tenant(slug)
        .await?
        .ok_or_else(|| AdminError::not_found("tenant"))
}

pub fn validate_scopes(field: &str, scopes: &[String]) -> Result<Vec<String>, AdminError> {
    if scopes.len() > 256 {
        return Err(AdminError::field(field, "at most 256 scopes"));
    }
    for scope in scopes {
        if !is_scope_token(scope) {
            return Err(AdminError::field(field, "each scope must be an RFC 6749 §3.3 scope-token (printable ASCII, no space, quote or backslash)"));
        }
    }
    let mut unique = scopes.to_vec();
    unique.sort();
    unique.dedup();
    Ok(unique)
}

pub fn validate_rate_limit(
    rate_limit: Option<RateLimit>,
) -> Result<Option<serde_json::Value>, AdminError> {
    match rate_limit {
        None => Ok(None),
        Some(limit) if limit.per_second == 0 || limit.burst == 0 => Err(AdminError::field(
            "rate_limit",
            "per_second and burst must be positive",
        )),
        Some(limit) => Ok(Some(
            serde_json::to_value(limit).map_err(anyhow::Error::from)?,
        )),
    }
}

pub fn field<T>(name: &str, result: Result<T, &'static str>) -> Result<T, AdminError> {
    result.map_err(|problem| AdminError::field(name, problem))
}

pub async fn record(
    state: &AppState,
    tenant_id: uuid::Uuid,
    actor: &str,
    action: crate::audit::AuditAction,
    target: String,
    detail: String,
) -> Result<(), AdminError> {
    state
        .audit(AuditEntry {
            tenant_id: Some(tenant_id),
            actor: actor.to_owned(),
            action,
            target,
            outcome: Outcome::Granted,
            detail,
        })
        .await?;
    Ok(())
}
