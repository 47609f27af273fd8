//! `GET {issuer}/authorize`: validate the request, remember it, show the login page.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::pages::{error_page, html, LoginPage};
use super::pending::{self, Pending};
use crate::domain::parse_form_with_lists;
use crate::error::OAuthError;
use crate::oauth::authorization::check_request;
use crate::state::AppState;

#[tracing::instrument(skip_all, fields(tenant = %slug))]
pub async fn authorize_get(
    request: HttpRequest,
    slug: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    // As strict as the token endpoint's form: a parameter at most once, but for `resource`
    // (RFC 8707 §2), which may name the same app again and no other.
    let query = match parse_form_with_lists(request.query_string().as_bytes(), &["resource"]) {
        Ok(query) => query,
        Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "grantd",
                "The request is malformed.",
            )
        }
    };
    let tenant = match state.tenant(&slug).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => {
            return error_page(
                StatusCode::NOT_FOUND,
                "grantd",
                "There is no such organisation.",
            )
        }
        Err(_) => return unavailable(),
    };
    let tenant_name = tenant.model.name.as_str();
    // Until the client and its redirect URI are known, nothing may be redirected anywhere.
    let client = match query.get("client_id").map(|id| state.client(id)) {
        Some(lookup) => match lookup.await {
            Ok(Some(client)) if client.model.tenant_id == tenant.model.id => client,
            Ok(_) => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    tenant_name,
                    "The application is not known here.",
                )
            }
            Err(_) => return unavailable(),
        },
        None => {
            return error_page(
                StatusCode::BAD_REQUEST,
                tenant_name,
                "The request names no application (client_id).",
            )
        }
    };
    let redirect_uri = match query.get("redirect_uri") {
        Some(uri)
            if client
                .redirect_uris
                .iter()
                .any(|registered| registered == uri) =>
        {
            uri.clone()
        }
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                tenant_name,
                "The redirect URI is not registered for this application.",
            )
        }
    };
    // An oversized state is not sent back in a redirect: the page says what is wrong.
    let client_state = match query.get("state") {
        Some(state) if state.len() > MAX_STATE_LEN => {
            return error_page(
                StatusCode::BAD_REQUEST,
                tenant_name,
                &format!(
                    "The request's state parameter is longer than {MAX_STATE_LEN} characters."
                ),
            )
        }
        state => state.cloned(),
    };
    let back = |error: &str, description: &str| {
        redirect_with(
            &redirect_uri,
            &[("error", error), ("error_description", description)],
            client_state.as_deref(),
            &tenant.issuer,
        )
    };
    let asked = match check_request(&tenant, &client, &query) {
        Ok(asked) => asked,
        Err((error, description)) => return back(error, description),
    };
    let pending = Pending {
        id: String::new(),
        client_id: client.model.client_id.clone(),
        redirect_uri_digest: Pending::redirect_uri_digest_of(&redirect_uri),
        state: client_state.clone(),
        scope: asked.scope.to_string(),
        code_challenge: asked.code_challenge,
        app_id: asked.app_id,
        csrf_token: String::new(),
        user_id: None,
        expires_at: 0,
    }
    .renewed();
    let sealed = match pending::seal(&state, tenant.model.id, &pending) {
        Ok(sealed) => sealed,
        Err(OAuthError::Rejected { description, .. }) => {
            return back("invalid_request", &description)
        }
        Err(_) => return unavailable(),
    };
    let action = format!("{}/authorize", tenant.issuer);
    let page = LoginPage {
        tenant_name,
        client_name: &client.model.name,
        action: &action,
        csrf_token: &pending.csrf_token,
        username: "",
        error: None,
    };
    let mut response = html(StatusCode::OK, &page);
    let _ = response.add_cookie(&pending::cookie(&state, &slug, sealed));
    response
}

const MAX_STATE_LEN: usize = 1024;

/// A 302 to the client's redirect URI with `params`, `state` and `iss` (RFC 9207) added to its
/// query, keeping the query it already has.
pub fn redirect_with(
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
) -> HttpResponse {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return HttpResponse::BadRequest().finish();
    };
    {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in params {
            pairs.append_pair(name, value);
        }
        if let Some(state) = state {
            pairs.append_pair("state", state);
        }
        pairs.append_pair("iss", issuer);
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

pub fn unavailable() -> HttpResponse {
    let mut response = error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "grantd",
        "Sign-in is unavailable for a moment. Please try again shortly.",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    response
}
