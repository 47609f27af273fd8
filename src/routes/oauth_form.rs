//! What the token, revocation, introspection and key-context endpoints share: a bounded,
//! strictly parsed form body, the tenant, and client authentication.
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
use chrono::Utc;
use tracing_actix_web::RootSpan;

use super::{read_limited, BodyError};
use crate::cache::{ClientView, TenantView};
use crate::client_address;
use crate::client_auth;
use crate::domain::{parse_form_with_lists, Form};
use crate::error::OAuthError;
use crate::ports::ClientCall;
use crate::rate_limit::FailedAuth;
use crate::state::AppState;
use crate::tokens::SenderConstraint;

pub const MAX_FORM_BYTES: usize = 32 * 1024;

pub struct OAuthForm {
    pub tenant: Arc<TenantView>,
    pub client: Arc<ClientView>,
    pub fields: Form,
}

/// Who may use an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callers {
    /// Every client, a public one by its `client_id` alone (token, revocation).
    AnyClient,
    /// Confidential clients that authenticate (introspection, key context).
    Confidential,
}

/// Reads the form, finds the tenant and authenticates the client, in that order; then refuses
/// a client that may not use the endpoint, and only then charges a budget, so that requests
/// the endpoint refuses anyway spend nobody's budget.
pub async fn read(
    state: &AppState,
    request: &HttpRequest,
    slug: &str,
    payload: web::Payload,
    callers: Callers,
) -> Result<OAuthForm, OAuthError> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = read_limited(payload, MAX_FORM_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => OAuthError::TooLarge,
            BodyError::TimedOut => OAuthError::TimedOut,
            BodyError::Unreadable => OAuthError::invalid_request("the body could not be read"),
        })?;
    let fields = parse_form_with_lists(&body, &crate::protocol::REPEATABLE_PARAMETERS)
        .map_err(|e| OAuthError::invalid_request(e.describe()))?;
    let tenant = state
        .tenant(slug)
        .await
        .map_err(OAuthError::Unavailable)?
        .ok_or(OAuthError::UnknownTenant)?;
    // A header that is not visible ASCII can never be valid Basic credentials.
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let presented = client_auth::presented(authorization, &fields)?;
    let address = client_address::of(request, &state.trusted_proxies);
    let throttle_key = FailedAuth::key(tenant.model.id, presented.client_id(), address);
    // The right secret is refused too while blocked: otherwise a guesser would learn, from the
    // one answer that differs, that a guess was right.
    if let Some(retry_after_secs) = state.failed_auth.blocked_for(&throttle_key) {
        return Err(OAuthError::Throttled { retry_after_secs });
    }
    let verifier = client_auth::Verifier {
        crypto: &state.crypto,
    };
    let authenticated = client_auth::authenticate(state, &verifier, &tenant, &presented).await;
    let authenticated = match authenticated {
        Ok(client) if callers == Callers::Confidential && client.is_public() => Err(
            OAuthError::invalid_client("this endpoint needs an authenticated confidential client"),
        ),
        other => other,
    };
    let client = match authenticated {
        Ok(client) => client,
        Err(refused @ OAuthError::Rejected { .. }) => {
            if state
                .failed_auth
                .failed(state, &tenant, &throttle_key)
                .await?
            {
                return Err(OAuthError::Throttled {
                    retry_after_secs: 60,
                });
            }
            return Err(refused);
        }
        Err(other) => return Err(other),
    };
    crate::rate_limit::enforce(state, &tenant, &client, address).await?;
    if let Some(span) = request.extensions().get::<tracing_actix_web::RootSpan>() {
        span.record("client_id", client.model.client_id.as_str());
    }
    Ok(OAuthForm {
        tenant,
        client,
        fields,
    })
}

/// One OAuth form endpoint: who may call it, and what it answers an authenticated call.
pub trait Endpoint {
    const CALLERS: Callers;
    async fn answer(call: &ClientCall<'_>, fields: Form) -> Result<HttpResponse, OAuthError>;
}

/// The actix handler of every OAuth form endpoint: reads and authenticates the form, runs the
/// endpoint inside the request's root span (which records the tenant), and logs the outcome.
pub async fn serve<E: Endpoint>(
    request: HttpRequest,
    slug: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
    span: RootSpan,
) -> Result<HttpResponse, OAuthError> {
    span.record("tenant", slug.as_str());
    let result = async {
        let form = read(&state, &request, &slug, payload, E::CALLERS).await?;
        let call = ClientCall {
            ports: state.ports(),
            tenant: &form.tenant,
            client: &form.client,
            sender: SenderConstraint::Bearer,
            now: Utc::now(),
        };
        E::answer(&call, form.fields).await
    }
    .await;
    log_outcome(&span, &result);
    result
}

/// The `token` parameter of revocation, introspection and key context.
pub fn token_parameter(fields: &Form) -> Result<&str, OAuthError> {
    fields
        .get("token")
        .map(String::as_str)
        .ok_or_else(|| OAuthError::invalid_request("token is required"))
}

/// A 200 that no cache keeps (RFC 6749 §5.1, RFC 7662 §2.2).
pub fn no_store() -> HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// Logs the outcome of an OAuth endpoint call at the level its kind deserves.
fn log_outcome<T>(span: &tracing::Span, result: &Result<T, OAuthError>) {
    match result {
        Ok(_) => tracing::debug!("request granted"),
        Err(OAuthError::Unexpected(e)) => {
            tracing::error!(error.cause_chain = ?e, "request failed")
        }
        Err(OAuthError::Unavailable(e)) => {
            tracing::warn!(error.cause_chain = ?e, "dependency unavailable")
        }
        Err(e) => {
            span.record("error.code", e.code().as_str());
            tracing::info!(error.code = e.code().as_str(), "request refused");
        }
    }
}
