//! Schema migrations, in order. Never edit a landed migration: add one.
pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_tenant;
mod m20261122_000002_create_app;
mod m20261122_000003_create_client;
mod m20261122_000004_create_user;
mod m20261122_000005_create_api_key;
mod m20261122_000006_create_signing_key;
mod m20261122_000007_create_credential_profile;
mod m20261122_000008_create_audit_event;
mod m20261203_000009_add_client_require_pkce;
mod m20261203_000010_add_signing_key_seal_version;
mod m20261204_000011_add_client_token_endpoint_auth_method;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_tenant::Migration),
            Box::new(m20261122_000002_create_app::Migration),
            Box::new(m20261122_000003_create_client::Migration),
            Box::new(m20261122_000004_create_user::Migration),
            Box::new(m20261122_000005_create_api_key::Migration),
            Box::new(m20261122_000006_create_signing_key::Migration),
            Box::new(m20261122_000007_create_credential_profile::Migration),
            Box::new(m20261122_000008_create_audit_event::Migration),
            Box::new(m20261203_000009_add_client_require_pkce::Migration),
            Box::new(m20261203_000010_add_signing_key_seal_version::Migration),
            Box::new(m20261204_000011_add_client_token_endpoint_auth_method::Migration),
        ]
    }
}
