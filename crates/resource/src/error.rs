//! How a resource server refuses a request, as RFC 6750 §3 and §3.1 say: 401 with
//! `WWW-Authenticate: Bearer` (no error code when no credentials were sent, `invalid_token` for a
//! bad one), 400 `invalid_request` for a malformed request, 403 `insufficient_scope` naming the
//! scope that is needed. A token that cannot be checked (JWKS or introspection unreachable) is a
//! 503 `temporarily_unavailable`: the kit fails closed and never accepts what it cannot check.
use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// Why a bearer token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No bearer credentials at all (RFC 6750 §3.1: the answer carries no error code).
    #[error("no bearer token")]
    Missing,
    /// Malformed, badly signed, of another issuer or audience, or of an unknown key. The text is
    /// public: it becomes the `error_description`.
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// Past its `exp`, leeway included.
    #[error("token expired")]
    Expired,
    /// Introspection calls it inactive: revoked, or of a disabled app.
    #[error("token is not active")]
    Revoked,
    /// The JWKS, the metadata or the introspection endpoint could not be reached.
    #[error("token cannot be checked now")]
    Unavailable,
}

impl TokenError {
    /// The public `error_description` (RFC 6750 §3: printable ASCII without `"` and `\`).
    pub fn description(&self) -> &'static str {
        match self {
            Self::Missing => "a bearer token is required",
            Self::Invalid(why) => why,
            Self::Expired => "the access token expired",
            Self::Revoked => "the access token is not active",
            Self::Unavailable => "the access token cannot be checked right now",
        }
    }
}

/// The error of the [`BearerToken`](crate::BearerToken) extractor and of
/// [`BearerToken::require_scope`](crate::BearerToken::require_scope); renders itself as RFC 6750
/// says.
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// The token was missing or refused (401), or could not be checked (503).
    #[error("{error}")]
    Token { realm: Arc<str>, error: TokenError },
    /// RFC 6750 §3.1 `invalid_request`: for example two `Authorization` headers.
    #[error("invalid request: {description}")]
    InvalidRequest {
        realm: Arc<str>,
        description: &'static str,
    },
    /// RFC 6750 §3.1 `insufficient_scope`: the token is good but lacks `scope`.
    #[error("insufficient scope: {scope}")]
    InsufficientScope { scope: String },
    /// No [`ResourceServer`](crate::ResourceServer) was registered as app data.
    #[error("no ResourceServer registered as app data")]
    Misconfigured,
}

impl BearerError {
    /// The RFC 6750 §3.1 error code, if the answer has one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::Token {
                error: TokenError::Missing,
                ..
            } => None,
            Self::Token {
                error: TokenError::Unavailable,
                ..
            } => Some("temporarily_unavailable"),
            Self::Token { .. } => Some("invalid_token"),
            Self::InvalidRequest { .. } => Some("invalid_request"),
            Self::InsufficientScope { .. } => Some("insufficient_scope"),
            Self::Misconfigured => Some("server_error"),
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3), where the answer carries one.
    pub fn challenge(&self) -> Option<String> {
        match self {
            Self::Token {
                realm,
                error: TokenError::Missing,
            } => Some(format!("Bearer realm={}", quoted(realm))),
            Self::Token {
                error: TokenError::Unavailable,
                ..
            }
            | Self::Misconfigured => None,
            Self::Token { realm, error } => Some(format!(
                "Bearer realm={}, error=\"invalid_token\", error_description={}",
                quoted(realm),
                quoted(error.description())
            )),
            Self::InvalidRequest { realm, description } => Some(format!(
                "Bearer realm={}, error=\"invalid_request\", error_description={}",
                quoted(realm),
                quoted(description)
            )),
            Self::InsufficientScope { scope } => Some(format!(
                "Bearer error=\"insufficient_scope\", scope={}",
                quoted(scope)
            )),
        }
    }

    fn body(&self) -> Option<serde_json::Value> {
        let code = self.code()?;
        Some(match self {
            Self::Token { error, .. } => {
                json!({"error": code, "error_description": error.description()})
            }
            Self::InvalidRequest { description, .. } => {
                json!({"error": code, "error_description": description})
            }
            Self::InsufficientScope { scope } => json!({
                "error": code,
                "error_description": format!("this request needs the scope {scope}"),
                "scope": scope,
            }),
            Self::Misconfigured => json!({"error": code, "error_description": "internal error"}),
        })
    }
}

/// An RFC 9110 §5.6.4 quoted-string.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Token {
                error: TokenError::Unavailable,
                ..
            } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Token { .. } => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest { .. } => StatusCode::BAD_REQUEST,
            Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(challenge) = self.challenge() {
            match header::HeaderValue::from_str(&challenge) {
                Ok(value) => response.insert_header((header::WWW_AUTHENTICATE, value)),
                // A realm or scope with control characters: still a Bearer challenge.
                Err(_) => response.insert_header((header::WWW_AUTHENTICATE, "Bearer")),
            };
        }
        if matches!(
            self,
            Self::Token {
                error: TokenError::Unavailable,
                ..
            }
        ) {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        match self.body() {
            Some(body) => response.json(body),
            None => response.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(error: TokenError) -> BearerError {
        BearerError::Token {
            realm: "https://app.example/api".into(),
            error,
        }
    }

    fn challenge_of(error: &BearerError) -> String {
        error
            .error_response()
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_missing_token_gets_a_challenge_without_an_error_code() {
        let error = token(TokenError::Missing);
        assert_eq!(error.status_code(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenge_of(&error),
            "Bearer realm=\"https://app.example/api\""
        );
    }

    #[test]
    fn refused_tokens_are_401_invalid_token() {
        for error in [
            TokenError::Invalid("bad signature"),
            TokenError::Expired,
            TokenError::Revoked,
        ] {
            let error = token(error);
            assert_eq!(error.status_code(), StatusCode::UNAUTHORIZED);
            let challenge = challenge_of(&error);
            assert!(
                challenge.starts_with(
                    "Bearer realm=\"https://app.example/api\", error=\"invalid_token\", error_description=\""
                ),
                "{challenge}"
            );
        }
    }

    #[test]
    fn a_missing_scope_is_403_naming_the_scope() {
        let error = BearerError::InsufficientScope {
            scope: "chat:write".into(),
        };
        assert_eq!(error.status_code(), StatusCode::FORBIDDEN);
        assert_eq!(
            challenge_of(&error),
            "Bearer error=\"insufficient_scope\", scope=\"chat:write\""
        );
    }

    #[test]
    fn an_unreachable_key_set_is_503_without_a_challenge() {
        let error = token(TokenError::Unavailable);
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!response.headers().contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(error.code(), Some("temporarily_unavailable"));
    }

    #[test]
    fn quotes_and_backslashes_are_escaped_in_the_realm() {
        let error = BearerError::Token {
            realm: "a\"b\\c".into(),
            error: TokenError::Missing,
        };
        assert_eq!(challenge_of(&error), "Bearer realm=\"a\\\"b\\\\c\"");
    }
}
