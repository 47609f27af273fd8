//! `POST {issuer}/authorize`: the login form, then the consent form.
use std::sync::LazyLock;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;

use super::get::{redirect_with, unavailable};
use super::pages::{describe_scope, error_page, html, ConsentPage, LoginPage};
use super::pending::{self, Pending};
use crate::audit::{AuditAction, AuditEntry, Backlogged, Outcome};
use crate::cache::TenantView;
use crate::crypto::{constant_time_eq, hash_password, sha256_hex, verify_password};
use crate::db;
use crate::domain::{parse_form, UserId};
use crate::oauth::authorization::{issue_code, Approval};
use crate::routes::{read_limited, BodyError};
use crate::state::AppState;
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
    let Some(pending) = pending::load(&state, &request, &slug, tenant.model.id) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            name,
            "This sign-in request has expired. Start again from the application.",
        );
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
        (Some(decision), _, _) => decide(&state, &tenant, &slug, pending, decision).await,
        (None, Some(username), Some(password)) => {
            let address = crate::client_address::of(&request, &state.trusted_proxies)
                .map(|a| a.to_string())
                .unwrap_or_default();
            login(
                &state, &tenant, &slug, pending, username, password, &address,
            )
            .await
        }
        _ => error_page(StatusCode::BAD_REQUEST, name, "The form is incomplete."),
    }
}

async fn login(
    state: &AppState,
    tenant: &TenantView,
    slug: &str,
    pending: Pending,
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
    // The address first: an address past its limit writes no per-username counter, so one
    // address cannot make grantd keep a counter for every name it invents.
    let address_bucket = format!("login-addr:{address}");
    let Ok(per_address) = state.store.hit(tenant.id(), &address_bucket, 60).await else {
        return unavailable();
    };
    let per_user = if per_address > ATTEMPTS_PER_ADDRESS {
        0
    } else {
        let user_bucket = format!("login-user:{}", sha256_hex(&username.to_lowercase()));
        match state.store.hit(tenant.id(), &user_bucket, 60).await {
            Ok(count) => count,
            Err(_) => return unavailable(),
        }
    };
    if per_user > ATTEMPTS_PER_USER || per_address > ATTEMPTS_PER_ADDRESS {
        // One audit row per bucket and window, not one per refused attempt.
        let first_refusal =
            per_user == ATTEMPTS_PER_USER + 1 || per_address == ATTEMPTS_PER_ADDRESS + 1;
        if first_refusal
            && audit_failure(state, tenant, &masked_username(username), "throttled")
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
    // A name that is an account is recorded as it is; anything else may be a mistyped
    // password, and is recorded as a digest only.
    let shown = match &user {
        Some(known) => known.username.clone(),
        None => masked_username(username),
    };
    let Some(user) = user.filter(|_| verified) else {
        if audit_failure(state, tenant, &shown, "wrong username or password")
            .await
            .is_err()
        {
            return unavailable();
        }
        return login_page(StatusCode::OK, INVALID_LOGIN);
    };
    // A new cookie, id and CSRF token: whoever held the cookie before sign-in holds nothing now.
    let pending = Pending {
        user_id: Some(user.id),
        ..pending
    }
    .renewed();
    let Ok(sealed) = pending::seal(state, tenant.model.id, &pending) else {
        return unavailable();
    };
    let scopes = crate::domain::ScopeSet::parse(&pending.scope).unwrap_or_default();
    let app_name = pending
        .app_id
        .and_then(|id| tenant.apps.get(&id))
        .map(|app| app.name.as_str());
    let mut response = html(
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
    );
    let _ = response.add_cookie(&pending::cookie(state, slug, sealed));
    response
}

async fn audit_failure(
    state: &AppState,
    tenant: &TenantView,
    shown: &str,
    why: &str,
) -> Result<(), Backlogged> {
    state
        .audit(AuditEntry {
            tenant_id: Some(tenant.model.id),
            actor: format!("user:{shown}"),
            action: AuditAction::LoginFailed,
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
    pending: Pending,
    decision: &str,
) -> HttpResponse {
    let name = tenant.model.name.as_str();
    let (Some(user_id), true) = (pending.user_id, matches!(decision, "approve" | "deny")) else {
        return error_page(StatusCode::BAD_REQUEST, name, "Sign in before deciding.");
    };
    let client = match state.client(&pending.client_id).await {
        Ok(Some(client)) if client.model.tenant_id == tenant.model.id => client,
        Ok(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                name,
                "The application is not known here.",
            )
        }
        Err(_) => return unavailable(),
    };
    let Some(redirect_uri) = pending.redirect_uri(&client) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            name,
            "The redirect URI is not registered for this application.",
        );
    };
    match pending::claim_decision(state, tenant.id(), &pending).await {
        Ok(true) => {}
        Ok(false) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                name,
                "This sign-in request was already completed.",
            )
        }
        Err(_) => return unavailable(),
    }
    let state_param = pending.state.as_deref();
    let mut response = if decision == "deny" {
        redirect_with(
            redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the user denied the request"),
            ],
            state_param,
            &tenant.issuer,
        )
    } else {
        let approval = Approval {
            client_id: &pending.client_id,
            redirect_uri,
            user_id: UserId(user_id),
            scope: &pending.scope,
            code_challenge: pending.code_challenge.as_deref(),
            app_id: pending.app_id,
            now: Utc::now(),
        };
        let Ok(code) = issue_code(&state.ports(), tenant, approval).await else {
            return unavailable();
        };
        redirect_with(
            redirect_uri,
            &[("code", &code)],
            state_param,
            &tenant.issuer,
        )
    };
    let _ = response.add_cookie(&pending::expired_cookie(state, slug));
    response
}

/// A name typed at sign-in that is no account, as the audit log records it: a short digest, so
/// that a password typed into the username field never lands there, while repeated attempts on
/// one name can still be told apart.
fn masked_username(username: &str) -> String {
    format!("unknown#{}", &sha256_hex(username)[..16])
}

#[cfg(test)]
mod tests {
    use super::masked_username;

    #[test]
    fn failed_usernames_are_masked() {
        let masked = masked_username("hunter2-my-password");
        assert!(masked.starts_with("unknown#"), "{masked}");
        assert!(!masked.contains("hunter"));
        assert_eq!(masked, masked_username("hunter2-my-password"));
        assert_ne!(masked, masked_username("hunter2-other"));
    }
}
