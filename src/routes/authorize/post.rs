//! `POST {issuer}/authorize`: the login form, then the consent form.
use std::sync::LazyLock;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;

use super::get::{redirect_with, unavailable};
use super::pages::{describe_scope, error_page, html, ConsentPage, LoginPage};
use super::pending::{self, Pending};
use super::COOKIE;
use crate::audit::{AuditEntry, Backlogged, Outcome};
use crate::cache::TenantView;
use crate::crypto::{constant_time_eq, hash_password, random_token, sha256_hex, verify_password};
use crate::db;
use crate::domain::parse_form;
use crate::grants::records::{bound_digest, CodeRecord};
use crate::protocol::AUTHORIZATION_CODE_TTL;
use crate::routes::{read_limited, BodyError};
use crate::state::AppState;
use crate::store::OnceKind;
use crate::telemetry::spawn_blocking_with_tracing;

/// Attempts per minute before sign-in is refused for a while.
const ATTEMPTS_PER_USER: u64 = 10;
const ATTEMPTS_PER_ADDRESS: u64 = 30;
const INVALID_LOGIN: &str = "The username or password is incorrect.";

/// Checked against when the username is unknown, so that both cases cost the same.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("grantd-dummy-password").unwrap_or_default());

#[tracing::instrument(skip_all, fields(tenant = %slug))]
pub async fn authorize_post(
    request: HttpRequest,
    slug: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
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
    let name = tenant.model.name.as_str();
    let form = match read_limited(payload, 8 * 1024).await {
        Ok(body) => parse_form(&body).ok(),
        Err(BodyError::TimedOut) => {
            return error_page(
                StatusCode::REQUEST_TIMEOUT,
                name,
                "The form took too long to arrive. Try again.",
            )
        }
        Err(_) => None,
    };
    let Some(form) = form else {
        return error_page(StatusCode::BAD_REQUEST, name, "The form is malformed.");
    };
    let Some(cookie) = request.cookie(COOKIE).map(|c| c.value().to_owned()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            name,
            "This sign-in request has expired. Start again from the application.",
        );
    };
    let pending = match pending::load(&state, tenant.model.id, &cookie).await {
        Ok(Some(pending)) => pending,
        Ok(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                name,
                "This sign-in request has expired. Start again from the application.",
            )
        }
        Err(_) => return unavailable(),
    };
    let csrf_ok = form
        .get("csrf_token")
        .is_some_and(|t| constant_time_eq(t, &pending.csrf_token));
    if !csrf_ok {
        tracing::warn!(target: "security", "authorization form with a missing or wrong CSRF token");
        return error_page(
            StatusCode::FORBIDDEN,
            name,
            "The form could not be verified. Start again from the application.",
        );
    }
    match (
        form.get("decision"),
        form.get("username"),
        form.get("password"),
    ) {
        (Some(decision), _, _) => decide(&state, &tenant, &slug, &cookie, pending, decision).await,
        (None, Some(username), Some(password)) => {
            let address = request
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            login(
                &state, &tenant, &cookie, pending, username, password, &address,
            )
            .await
        }
        _ => error_page(StatusCode::BAD_REQUEST, name, "The form is incomplete."),
    }
}

async fn login(
    state: &AppState,
    tenant: &TenantView,
    cookie: &str,
    mut pending: Pending,
    username: &str,
    password: &str,
    address: &str,
) -> HttpResponse {
    let Ok(Some(client)) = state.client(&pending.client_id).await else {
        return unavailable();
    };
    let action = format!("{}/authorize", tenant.issuer);
    let login_page = |status: StatusCode, error: &str| {
        html(
            status,
            &LoginPage {
                tenant_name: &tenant.model.name,
                client_name: &client.model.name,
                action: &action,
                csrf_token: &pending.csrf_token,
                username,
                error: Some(error),
            },
        )
    };
    let user_bucket = format!("login-user:{}", sha256_hex(&username.to_lowercase()));
    let address_bucket = format!("login-addr:{address}");
    let (Ok(per_user), Ok(per_address)) = (
        state.store.hit(tenant.model.id, &user_bucket, 60).await,
        state.store.hit(tenant.model.id, &address_bucket, 60).await,
    ) else {
        return unavailable();
    };
    if per_user > ATTEMPTS_PER_USER || per_address > ATTEMPTS_PER_ADDRESS {
        if audit_failure(state, tenant, username, "throttled")
            .await
            .is_err()
        {
            return unavailable();
        }
        let mut response = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts. Wait a minute and try again.",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
        return response;
    }
    let user = if username.len() <= 255 && !username.contains('\0') {
        match db::users::find_by_username(&state.db, tenant.model.id, username).await {
            Ok(user) => user,
            Err(_) => return unavailable(),
        }
    } else {
        None
    };
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let password = password.to_owned();
    let verified = spawn_blocking_with_tracing(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| verified) else {
        if audit_failure(state, tenant, username, "wrong username or password")
            .await
            .is_err()
        {
            return unavailable();
        }
        return login_page(StatusCode::OK, INVALID_LOGIN);
    };
    pending.user_id = Some(user.id);
    pending.username = Some(user.username.clone());
    if pending::save(state, tenant.model.id, cookie, &pending)
        .await
        .is_err()
    {
        return unavailable();
    }
    let scopes = crate::domain::ScopeSet::parse(&pending.scope).unwrap_or_default();
    let app_name = pending
        .app_id
        .and_then(|id| tenant.apps.get(&id))
        .map(|app| app.name.as_str());
    html(
        StatusCode::OK,
        &ConsentPage {
            tenant_name: &tenant.model.name,
            client_name: &client.model.name,
            username: &user.username,
            action: &action,
            csrf_token: &pending.csrf_token,
            scopes: scopes
                .iter()
                .map(|s| (describe_scope(s), s.clone()))
                .collect(),
            app_name,
        },
    )
}

async fn audit_failure(
    state: &AppState,
    tenant: &TenantView,
    username: &str,
    why: &str,
) -> Result<(), Backlogged> {
    let shown: String = username
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    state
        .audit(AuditEntry {
            tenant_id: Some(tenant.model.id),
            actor: format!("user:{shown}"),
            action: "login.failed",
            target: format!("user:{shown}"),
            outcome: Outcome::Refused,
            detail: why.to_owned(),
        })
        .await
}

async fn decide(
    state: &AppState,
    tenant: &TenantView,
    slug: &str,
    cookie: &str,
    pending: Pending,
    decision: &str,
) -> HttpResponse {
    let name = tenant.model.name.as_str();
    if pending.user_id.is_none() || !matches!(decision, "approve" | "deny") {
        return error_page(StatusCode::BAD_REQUEST, name, "Sign in before deciding.");
    }
    let pending = match pending::finish(state, tenant.model.id, cookie).await {
        Ok(Some(pending)) => pending,
        Ok(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                name,
                "This sign-in request was already completed.",
            )
        }
        Err(_) => return unavailable(),
    };
    let (Some(user_id), state_param) = (pending.user_id, pending.state.as_deref()) else {
        return error_page(StatusCode::BAD_REQUEST, name, "Sign in before deciding.");
    };
    let mut response = if decision == "deny" {
        redirect_with(
            &pending.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the user denied the request"),
            ],
            state_param,
            &tenant.issuer,
        )
    } else {
        let code = random_token(32);
        let record = CodeRecord {
            client_id: pending.client_id.clone(),
            redirect_uri: pending.redirect_uri.clone(),
            code_challenge: pending.code_challenge.clone(),
            scope: pending.scope.clone(),
            user_id,
            app_id: pending.app_id,
            issued_at_ms: Utc::now().timestamp_millis(),
            family: uuid::Uuid::new_v4().simple().to_string(),
        };
        let Ok(payload) = serde_json::to_string(&record) else {
            return unavailable();
        };
        let digest = bound_digest(&pending.client_id, &code);
        let stored = state
            .store
            .put_once(
                tenant.model.id,
                OnceKind::AuthorizationCode,
                &digest,
                &payload,
                AUTHORIZATION_CODE_TTL as u64,
            )
            .await;
        if stored.is_err() {
            return unavailable();
        }
        redirect_with(
            &pending.redirect_uri,
            &[("code", &code)],
            state_param,
            &tenant.issuer,
        )
    };
    let _ = response.add_cookie(&pending::expired_cookie(slug));
    response
}
