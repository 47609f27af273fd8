//! The authorization endpoint (RFC 6749 §4.1.1, RFC 7636, RFC 9207): `GET` checks the request
//! and shows the login page; `POST` takes the login form, then the consent form, and redirects
//! back with a code. An unknown client or redirect URI gets an HTML page, never a redirect.
mod get;
mod pages;
mod pending;
mod post;

pub use get::authorize_get;
pub use post::authorize_post;

/// How long a user has to sign in and decide.
const PENDING_TTL_SECS: u64 = 600;
