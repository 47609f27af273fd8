//! The actix-web side: [`BearerToken`] is an extractor that reads `Authorization: Bearer …`
//! (RFC 6750 §2.1; the scheme is case-insensitive, RFC 9110 §11.1) and verifies it with the
//! [`ResourceServer`] registered as app data. Tokens in the query string or form body (§2.2,
//! §2.3) are not read: URLs end up in logs. Refusals are logged with their reason, never with the
//! token.
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::{BearerError, Claims, ResourceServer, TokenError};

/// A verified access token for this resource server.
///
/// ```no_run
/// use actix_web::{get, HttpResponse};
/// use grantd_resource::{BearerError, BearerToken};
///
/// #[get("/v1/messages")]
/// async fn messages(token: BearerToken) -> Result<HttpResponse, BearerError> {
///     token.require_scope("chat:read")?;
///     Ok(HttpResponse::Ok().body(format!("hello {}", token.claims.sub)))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct BearerToken {
    /// The token's claims.
    pub claims: Claims,
    /// The `scope` claim, split on spaces.
    pub scopes: Vec<String>,
}

impl BearerToken {
    pub fn new(claims: Claims) -> Self {
        let scopes = claims
            .scope
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Self { claims, scopes }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// `Ok` when the token carries `scope`, else the RFC 6750 §3.1 `insufficient_scope` error:
    /// "The request requires higher privileges than provided by the access token. The resource
    /// server SHOULD respond with the HTTP 403 (Forbidden) status code and MAY include the
    /// `scope` attribute with the scope necessary to access the protected resource."
    pub fn require_scope(&self, scope: &str) -> Result<(), BearerError> {
        if self.has_scope(scope) {
            return Ok(());
        }
        tracing::info!(
            error.code = "insufficient_scope",
            scope,
            jti = %self.claims.jti,
            client_id = %self.claims.client_id,
            "bearer token lacks a scope"
        );
        Err(BearerError::InsufficientScope {
            scope: scope.to_owned(),
        })
    }
}

/// What the `Authorization` header holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credentials<'a> {
    /// No header, or another scheme (RFC 6750 §3.1: no error code then).
    None,
    Bearer(&'a str),
    /// A `Bearer` header whose token is not a b64token.
    Malformed,
    /// More than one `Authorization` header.
    Ambiguous,
}

/// RFC 6750 §2.1: `credentials = "Bearer" 1*SP b64token`.
pub(crate) fn credentials(headers: &HeaderMap) -> Credentials<'_> {
    let mut values = headers.get_all(AUTHORIZATION);
    let Some(value) = values.next() else {
        return Credentials::None;
    };
    if values.next().is_some() {
        return Credentials::Ambiguous;
    }
    let Ok(value) = value.to_str() else {
        return Credentials::None;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Credentials::None;
    }
    let token = rest.trim_start_matches(' ');
    if is_b64token(token) {
        Credentials::Bearer(token)
    } else {
        Credentials::Malformed
    }
}

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

impl FromRequest for BearerToken {
    type Error = BearerError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let server = request
            .app_data::<web::Data<ResourceServer>>()
            .map(|data| data.get_ref().clone())
            .or_else(|| request.app_data::<ResourceServer>().cloned());
        let Some(server) = server else {
            tracing::error!("BearerToken used without a ResourceServer in app data");
            return Box::pin(async { Err(BearerError::Misconfigured) });
        };
        let realm = server.realm();
        let token = match credentials(request.headers()) {
            Credentials::Bearer(token) => Ok(token.to_owned()),
            Credentials::None => Err(BearerError::Token {
                realm,
                error: TokenError::Missing,
            }),
            Credentials::Malformed => Err(BearerError::Token {
                realm,
                error: TokenError::Invalid("malformed token"),
            }),
            Credentials::Ambiguous => Err(BearerError::InvalidRequest {
                realm,
                description: "more than one Authorization header",
            }),
        };
        Box::pin(async move {
            let result = match token {
                Ok(token) => server
                    .verify(&token)
                    .await
                    .map_err(|error| BearerError::Token {
                        realm: server.realm(),
                        error,
                    }),
                Err(error) => Err(error),
            };
            match &result {
                Ok(token) => tracing::debug!(
                    jti = %token.claims.jti,
                    client_id = %token.claims.client_id,
                    "bearer token accepted"
                ),
                Err(error) => tracing::info!(
                    error.code = error.code().unwrap_or("none"),
                    reason = %error,
                    "bearer token refused"
                ),
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in [
            "Bearer abc.def-_~+/ghi==",
            "bearer abc.def-_~+/ghi==",
            "BEARER  abc.def-_~+/ghi==",
        ] {
            assert_eq!(
                credentials(&headers(&[value])),
                Credentials::Bearer("abc.def-_~+/ghi=="),
                "{value}"
            );
        }
    }

    #[test]
    fn no_header_or_another_scheme_is_no_credentials() {
        assert_eq!(credentials(&headers(&[])), Credentials::None);
        assert_eq!(
            credentials(&headers(&["Basic dXNlcjpwYXNz"])),
            Credentials::None
        );
        assert_eq!(credentials(&headers(&["Bearerabc"])), Credentials::None);
    }

    #[test]
    fn a_bearer_header_without_a_b64token_is_malformed() {
        for value in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a\"b",
            "Bearer ===",
        ] {
            assert_eq!(
                credentials(&headers(&[value])),
                Credentials::Malformed,
                "{value}"
            );
        }
    }

    #[test]
    fn two_authorization_headers_are_ambiguous() {
        assert_eq!(
            credentials(&headers(&["Bearer a", "Bearer b"])),
            Credentials::Ambiguous
        );
    }

    #[test]
    fn scopes_are_split_on_spaces() {
        let claims: Claims = serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "s", "aud": "a", "client_id": "c", "scope": "chat:read  chat:write",
            "iat": 0, "exp": 1, "jti": "j", "tid": "t",
        }))
        .unwrap();
        let token = BearerToken::new(claims);
        assert_eq!(token.scopes, ["chat:read", "chat:write"]);
        assert!(token.require_scope("chat:write").is_ok());
        assert!(matches!(
            token.require_scope("chat:admin"),
            Err(BearerError::InsufficientScope { scope }) if scope == "chat:admin"
        ));
        assert!(!token.has_scope("chat"));
    }
}
