//! SeaORM queries, one module per aggregate. Free functions over `&impl ConnectionTrait`, so they
//! work inside transactions too; look-ups return `Option`.
pub mod api_keys;
pub mod apps;
pub mod audit_events;
mod bounded;
pub mod clients;
pub mod credential_profiles;
pub mod signing_keys;
pub mod tenants;
pub mod users;

pub use bounded::{
    is_unavailable, within, BoundedConnection, BoundedTransaction, STATEMENT_DEADLINE,
};
use sea_orm::{DbErr, JsonValue, SqlErr};

/// A JSON array of strings, the form of list columns.
pub fn json_strings<S: AsRef<str>>(items: &[S]) -> JsonValue {
    JsonValue::Array(
        items
            .iter()
            .map(|s| JsonValue::String(s.as_ref().to_owned()))
            .collect(),
    )
}

pub fn strings_of(value: &JsonValue) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
