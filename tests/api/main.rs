//! Integration tests: grantd over real HTTP, against a real Redis and a real database.
mod admin;
mod authorization_code;
mod browser;
mod chat_api;
mod client_credentials;
mod health;
mod helpers;
mod junk;
mod logs;
mod multi_node;
mod outage;
mod rate_limits;
mod resource;
mod revocation;
mod spec;
mod store_contract;
mod token_exchange;
