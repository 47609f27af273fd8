//! The two error formats of the wire: RFC 6749 §5.2 for OAuth endpoints, `{"error","message"}`
//! for the admin API. Client-visible text is written here on purpose; causes go to logs only.
use std::borrow::Cow;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Error codes of RFC 6749 §5.2, RFC 7009 §2.2.1 and RFC 8693 §2.2.2, named after their strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    InvalidTarget,
    UnsupportedTokenType,
    TemporarilyUnavailable,
    ServerError,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(thiserror::Error)]
pub enum OAuthError {
    /// The client's fault: a 4xx whose description is public.
    #[error("{code}: {description}")]
    Rejected {
        code: OAuthErrorCode,
        description: Cow<'static, str>,
        /// RFC 6749 §5.2: the `WWW-Authenticate` challenge of an `invalid_client`, matching the
        /// client authentication method the client used (`client_auth`).
        challenge: Option<&'static str>,
    },
    #[error("rate limited")]
    Throttled { retry_after_secs: u64 },
    #[error("request body too large")]
    TooLarge,
    #[error("request body too slow")]
    TimedOut,
    #[error("unknown tenant")]
    UnknownTenant,
    #[error("request headers too large")]
    HeadersTooLarge,
    /// A dependency (database, state store) cannot answer: 503, fail closed.
    #[error("dependency unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Ours: 500 with a generic description.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<anyhow::Error> for OAuthError {
    fn from(e: anyhow::Error) -> Self {
        if is_unavailability(&e) {
            Self::Unavailable(e)
        } else {
            Self::Unexpected(e)
        }
    }
}

impl From<crate::audit::Backlogged> for OAuthError {
    fn from(e: crate::audit::Backlogged) -> Self {
        Self::Unavailable(e.into())
    }
}

/// Whether `e` (or one of its causes) is the database or the audit log failing to answer rather
/// than a fault of ours: 503, not 500.
fn is_unavailability(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<sea_orm::DbErr>()
            .is_some_and(crate::db::is_unavailable)
            || cause.is::<crate::audit::Backlogged>()
    })
}

/// The challenge of the `client_secret_*` methods, and of a request that presented no method.
pub const BASIC_CHALLENGE: &str = r#"Basic realm="grantd""#;

macro_rules! constructors {
    ($($name:ident => $code:ident),* $(,)?) => {
        impl OAuthError {
            $(pub fn $name(description: impl Into<Cow<'static, str>>) -> Self {
                let code = OAuthErrorCode::$code;
                let challenge = (code == OAuthErrorCode::InvalidClient).then_some(BASIC_CHALLENGE);
                Self::Rejected { code, description: description.into(), challenge }
            })*
        }
    };
}

constructors! {
    invalid_request => InvalidRequest,
    invalid_client => InvalidClient,
    invalid_grant => InvalidGrant,
    unauthorized_client => UnauthorizedClient,
    unsupported_grant_type => UnsupportedGrantType,
    invalid_scope => InvalidScope,
    invalid_target => InvalidTarget,
    unsupported_token_type => UnsupportedTokenType,
}

impl OAuthError {
    /// The same error with another `WWW-Authenticate` challenge (or none).
    pub fn with_challenge(self, challenge: Option<&'static str>) -> Self {
        match self {
            Self::Rejected {
                code, description, ..
            } => Self::Rejected {
                code,
                description,
                challenge,
            },
            other => other,
        }
    }

    pub fn code(&self) -> OAuthErrorCode {
        match self {
            Self::Rejected { code, .. } => *code,
            Self::Throttled { .. } | Self::Unavailable(_) => OAuthErrorCode::TemporarilyUnavailable,
            Self::TooLarge | Self::TimedOut | Self::UnknownTenant | Self::HeadersTooLarge => {
                OAuthErrorCode::InvalidRequest
            }
            Self::Unexpected(_) => OAuthErrorCode::ServerError,
        }
    }
}

impl fmt::Debug for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        error_chain_fmt(self, f)
    }
}

#[derive(Serialize)]
struct OAuthErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Rejected {
                code: OAuthErrorCode::InvalidClient,
                ..
            } => StatusCode::UNAUTHORIZED,
            Self::Rejected { .. } => StatusCode::BAD_REQUEST,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TimedOut => StatusCode::REQUEST_TIMEOUT,
            Self::UnknownTenant => StatusCode::NOT_FOUND,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let description: &str = match self {
            Self::HeadersTooLarge => "the request headers are too large",
            Self::Rejected { description, .. } => description,
            Self::Throttled { .. } => "too many requests; retry later",
            Self::TooLarge => "the request body is too large",
            Self::TimedOut => "the request body did not arrive in time",
            Self::UnknownTenant => "no such tenant",
            Self::Unavailable(_) => "a dependency of the server is unavailable; retry later",
            Self::Unexpected(_) => "internal error",
        };
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        match self {
            Self::Rejected {
                challenge: Some(challenge),
                ..
            } => {
                response.insert_header((header::WWW_AUTHENTICATE, *challenge));
            }
            Self::Throttled { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.json(OAuthErrorBody {
            error: self.code().as_str(),
            error_description: description,
        })
    }
}

/// Admin API errors: `{"error": "<code>", "message": "<text>"}`.
#[derive(thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or wrong admin token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("the request body did not arrive in time")]
    TimedOut,
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// The state store or the database cannot answer: 503, nothing was changed or it is safe to
    /// retry.
    #[error("a dependency is unavailable; retry later")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<anyhow::Error> for AdminError {
    fn from(e: anyhow::Error) -> Self {
        if is_unavailability(&e) {
            Self::Unavailable(e)
        } else {
            Self::Unexpected(e)
        }
    }
}

impl From<crate::audit::Backlogged> for AdminError {
    fn from(e: crate::audit::Backlogged) -> Self {
        Self::Unavailable(e.into())
    }
}

impl AdminError {
    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Unprocessable(_) => "unprocessable_entity",
            Self::TimedOut => "request_timeout",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable(_) => "unavailable",
            Self::Unexpected(_) => "internal_error",
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    /// A 422 naming the offending field.
    pub fn field(field: &str, problem: impl fmt::Display) -> Self {
        Self::Unprocessable(format!("{field}: {problem}"))
    }
}

impl fmt::Debug for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        error_chain_fmt(self, f)
    }
}

#[derive(Serialize)]
struct AdminErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TimedOut => StatusCode::REQUEST_TIMEOUT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            Self::Unexpected(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::Unauthorized => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="grantd-admin""#));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.json(AdminErrorBody {
            error: self.code(),
            message: &message,
        })
    }
}

/// Writes an error and its whole cause chain, for `Debug` (which reaches logs, never clients).
pub fn error_chain_fmt(e: &impl std::error::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{e}")?;
    let mut current = e.source();
    while let Some(cause) = current {
        writeln!(f, "Caused by:\n\t{cause}")?;
        current = cause.source();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_is_401_with_www_authenticate() {
        let response = OAuthError::invalid_client("unknown client").error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(
            response.headers().get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
    }

    #[test]
    fn other_rejections_are_400() {
        for error in [
            OAuthError::invalid_request("x"),
            OAuthError::invalid_grant("x"),
            OAuthError::invalid_scope("x"),
            OAuthError::invalid_target("x"),
            OAuthError::unsupported_grant_type("x"),
        ] {
            assert_eq!(error.status_code(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn throttling_is_429_with_retry_after() {
        let response = OAuthError::Throttled {
            retry_after_secs: 3,
        }
        .error_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "3");
    }

    #[test]
    fn unavailable_dependencies_are_503_temporarily_unavailable() {
        let error = OAuthError::Unavailable(anyhow::anyhow!("redis down"));
        assert_eq!(error.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.code().as_str(), "temporarily_unavailable");
    }

    #[test]
    fn unexpected_errors_do_not_leak_their_cause() {
        let response =
            OAuthError::Unexpected(anyhow::anyhow!("db password is hunter2")).error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn admin_errors_map_to_their_statuses() {
        assert_eq!(
            AdminError::Conflict("x".into()).status_code(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            AdminError::field("slug", "bad").status_code(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            AdminError::Unauthorized.status_code(),
            StatusCode::UNAUTHORIZED
        );
    }
}
