//! SeaORM entities, one module per table.
pub mod prelude;

pub mod api_key;
pub mod app;
pub mod audit_event;
pub mod client;
pub mod credential_profile;
pub mod signing_key;
pub mod tenant;
pub mod user;
