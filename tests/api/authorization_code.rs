//! The authorization-code flow with PKCE through the login and consent pages, driven over HTTP
//! with the `oauth2` crate as the client, and every error path around it.
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, verify_with_jwks, TestApp};

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const PASSWORD: &str = "correct horse battery staple";

/// A tenant with an app, a user and a public client using PKCE.
pub struct UserFixture {
    pub slug: String,
    pub issuer: String,
    pub client_id: String,
    pub audience: String,
    pub username: String,
    pub user_id: String,
}

pub async fn user_fixture(app: &TestApp, grant_types: &[&str]) -> UserFixture {
    let slug = format!("u{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let tenant = app.create_tenant(&slug).await;
    let chat = app.create_app(&slug, &["chat:read", "chat:write"]).await;
    let client = app
        .create_client(
            &slug,
            json!({
                "name": "Support Chat", "type": "public", "grant_types": grant_types,
                "redirect_uris": [REDIRECT, "http://127.0.0.1:9/other?x=1"],
                "scopes": ["chat:read", "chat:write"], "app_ids": [chat["id"]],
            }),
        )
        .await;
    let (status, user) = app
        .post_admin(
            &format!("/tenants/{slug}/users"),
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201);
    UserFixture {
        issuer: tenant["issuer"].as_str().unwrap().to_owned(),
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        audience: chat["audience"].as_str().unwrap().to_owned(),
        username: "alice".into(),
        user_id: user["id"].as_str().unwrap().to_owned(),
        slug,
    }
}

pub fn oauth_client(
    app: &TestApp,
    f: &UserFixture,
) -> oauth2::basic::BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    BasicClient::new(ClientId::new(f.client_id.clone()))
        .set_auth_uri(AuthUrl::new(app.url(&format!("/t/{}/authorize", f.slug))).unwrap())
        .set_token_uri(TokenUrl::new(app.url(&format!("/t/{}/token", f.slug))).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
}

pub fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_owned())
}

/// What a browser keeps between the pages.
pub struct Page {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
    pub cookie: Option<String>,
}

pub async fn get_page(app: &TestApp, url: &str) -> Page {
    let response = app.http.get(url).send().await.unwrap();
    page(response).await
}

async fn page(response: reqwest::Response) -> Page {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    Page {
        status,
        body: response.text().await.unwrap(),
        location,
        cookie,
    }
}

pub async fn post_page(
    app: &TestApp,
    slug: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Page {
    let mut request = app
        .http
        .post(app.url(&format!("/t/{slug}/authorize")))
        .form(form);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    page(request.send().await.unwrap()).await
}

/// Logs in and approves; returns the redirect's query parameters.
pub async fn authorize(
    app: &TestApp,
    f: &UserFixture,
    url: &str,
    decision: &str,
) -> Vec<(String, String)> {
    let login = get_page(app, url).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let cookie = login.cookie.clone().expect("a session cookie");
    let csrf = hidden(&login.body, "csrf_token").unwrap();
    let consent = post_page(
        app,
        &f.slug,
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("username", &f.username),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains("name=\"decision\" value=\"approve\""));
    // Signing in renews the cookie and the CSRF token; the consent form needs the new ones.
    let cookie = consent.cookie.expect("a renewed cookie at sign-in");
    let csrf = hidden(&consent.body, "csrf_token").unwrap();
    let done = post_page(
        app,
        &f.slug,
        Some(&cookie),
        &[("csrf_token", &csrf), ("decision", decision)],
    )
    .await;
    assert_eq!(done.status, 302, "{}", done.body);
    query_of(&done.location.unwrap())
}

pub fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub struct Started {
    pub url: String,
    pub state: CsrfToken,
    pub verifier: PkceCodeVerifier,
}

pub fn start(app: &TestApp, f: &UserFixture, scopes: &[&str]) -> Started {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = oauth_client(app, f);
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).into()));
    }
    let (url, state) = request.url();
    Started {
        url: url.to_string(),
        state,
        verifier,
    }
}

pub async fn code_for(
    app: &TestApp,
    f: &UserFixture,
    scopes: &[&str],
) -> (String, PkceCodeVerifier) {
    let started = start(app, f, scopes);
    let query = authorize(app, f, &started.url, "approve").await;
    assert_eq!(
        param(&query, "state"),
        Some(started.state.secret().as_str())
    );
    (param(&query, "code").unwrap().to_owned(), started.verifier)
}

pub async fn redeem(
    app: &TestApp,
    f: &UserFixture,
    code: &str,
    verifier: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", f.client_id.as_str()),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    app.post_token(&f.slug, None, &form).await
}

#[tokio::test]
async fn the_whole_flow_works_with_the_oauth2_crate() {
    // Arrange
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code", "refresh_token"]).await;
    let started = start(&app, &f, &["chat:read"]);
    // Act
    let query = authorize(&app, &f, &started.url, "approve").await;
    // Assert: the redirect carries code, state and iss (RFC 9207).
    assert_eq!(
        param(&query, "state"),
        Some(started.state.secret().as_str())
    );
    assert_eq!(param(&query, "iss"), Some(f.issuer.as_str()));
    let code = param(&query, "code").unwrap();
    let token = oauth_client(&app, &f)
        .exchange_code(AuthorizationCode::new(code.into()))
        .set_pkce_verifier(started.verifier)
        .request_async(&app.http)
        .await
        .expect("code exchange");
    let claims = verify_with_jwks(&app, &f.slug, token.access_token().secret(), &f.issuer).await;
    assert_eq!(claims["sub"], f.user_id);
    assert_eq!(claims["client_id"], f.client_id);
    assert_eq!(claims["scope"], "chat:read");
    let refresh = token.refresh_token().expect("a refresh token");
    let refreshed = oauth_client(&app, &f)
        .exchange_refresh_token(refresh)
        .request_async(&app.http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret(),
        "rotated"
    );
    let claims =
        verify_with_jwks(&app, &f.slug, refreshed.access_token().secret(), &f.issuer).await;
    assert_eq!(claims["sub"], f.user_id);
}

#[tokio::test]
async fn the_pages_name_the_tenant_client_and_scopes_and_protect_the_session() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let started = start(&app, &f, &["chat:read", "chat:write"]);
    let response = app.http.get(&started.url).send().await.unwrap();
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    assert!(!set_cookie.contains("Secure"), "http public URL");
    let body = response.text().await.unwrap();
    assert!(body.contains(&format!("Tenant {}", f.slug)) && body.contains("Support Chat"));
    assert!(body.contains("<label for=\"username\">") && body.contains("name=\"password\""));
    let cookie = set_cookie.split(';').next().unwrap();
    let csrf = hidden(&body, "csrf_token").unwrap();
    let consent = post_page(
        &app,
        &f.slug,
        Some(cookie),
        &[
            ("csrf_token", &csrf),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert!(
        consent.body.contains("Read your chat data")
            && consent.body.contains("Write your chat data")
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let started = start(&app, &f, &[]);
    let login = get_page(&app, &started.url).await;
    let cookie = login.cookie.unwrap();
    let csrf = hidden(&login.body, "csrf_token").unwrap();
    let wrong = post_page(
        &app,
        &f.slug,
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("username", "alice"),
            ("password", "nope-nope"),
        ],
    )
    .await;
    let unknown = post_page(
        &app,
        &f.slug,
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("username", "mallory"),
            ("password", "nope-nope"),
        ],
    )
    .await;
    assert_eq!((wrong.status, unknown.status), (200, 200));
    let error = |body: &str| {
        body.split("id=\"login-error\"")
            .nth(1)
            .map(|s| s.split('<').next().unwrap().to_owned())
    };
    assert_eq!(error(&wrong.body), error(&unknown.body));
    assert!(wrong.body.contains("aria-invalid=\"true\""));
    let events = app.audit_events(&f.slug).await;
    let failed = crate::helpers::eventually(std::time::Duration::from_secs(3), || async {
        app.audit_events(&f.slug)
            .await
            .iter()
            .filter(|e| e["action"] == "login.failed")
            .count()
            >= 2
    })
    .await;
    assert!(failed, "{events:?}");
}

#[tokio::test]
async fn failed_logins_are_throttled_per_user() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let started = start(&app, &f, &[]);
    let login = get_page(&app, &started.url).await;
    let cookie = login.cookie.unwrap();
    let csrf = hidden(&login.body, "csrf_token").unwrap();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let page = post_page(
            &app,
            &f.slug,
            Some(&cookie),
            &[
                ("csrf_token", &csrf),
                ("username", "alice"),
                ("password", "guess"),
            ],
        )
        .await;
        statuses.push(page.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    let right = post_page(
        &app,
        &f.slug,
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        right.status, 429,
        "even the right password waits out the throttle"
    );
}

#[tokio::test]
async fn csrf_tokens_that_are_missing_or_wrong_are_refused() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let started = start(&app, &f, &[]);
    let login = get_page(&app, &started.url).await;
    let cookie = login.cookie.unwrap();
    let missing = post_page(
        &app,
        &f.slug,
        Some(&cookie),
        &[("username", "alice"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(missing.status, 403);
    let wrong = post_page(
        &app,
        &f.slug,
        Some(&cookie),
        &[
            ("csrf_token", "forged"),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(wrong.status, 403);
    let csrf = hidden(&login.body, "csrf_token").unwrap();
    let no_cookie = post_page(
        &app,
        &f.slug,
        None,
        &[
            ("csrf_token", &csrf),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(no_cookie.status, 400);
}

#[tokio::test]
async fn denying_at_consent_redirects_with_access_denied() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let started = start(&app, &f, &["chat:read"]);
    let query = authorize(&app, &f, &started.url, "deny").await;
    assert_eq!(param(&query, "error"), Some("access_denied"));
    assert_eq!(
        param(&query, "state"),
        Some(started.state.secret().as_str())
    );
    assert!(param(&query, "code").is_none());
}

#[tokio::test]
async fn unknown_clients_and_unregistered_redirect_uris_get_a_page_never_a_redirect() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let base = app.url(&format!(
        "/t/{}/authorize?response_type=code&code_challenge_method=S256&code_challenge={}",
        f.slug, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    ));
    let cases = [
        format!("{base}&client_id=nobody&redirect_uri={REDIRECT}"),
        format!(
            "{base}&client_id={}&redirect_uri=http://127.0.0.1:9/callback/",
            f.client_id
        ),
        format!(
            "{base}&client_id={}&redirect_uri=HTTP://127.0.0.1:9/callback",
            f.client_id
        ),
        format!(
            "{base}&client_id={}&redirect_uri=http://127.0.0.1:9/Callback",
            f.client_id
        ),
        format!(
            "{base}&client_id={}&redirect_uri=http://127.0.0.1:9/callback%3Fx%3D1",
            f.client_id
        ),
        format!(
            "{base}&client_id={}&redirect_uri=https://evil.example/callback",
            f.client_id
        ),
        format!("{base}&client_id={}", f.client_id),
    ];
    for url in cases {
        let page = get_page(&app, &url).await;
        assert_eq!(page.status, 400, "{url}");
        assert!(page.location.is_none(), "{url}");
        assert!(page.body.contains("<!doctype html>"));
    }
}

#[tokio::test]
async fn other_request_errors_redirect_back_with_error_state_and_iss() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let base = app.url(&format!(
        "/t/{}/authorize?client_id={}&redirect_uri={REDIRECT}&state=xyz",
        f.slug, f.client_id
    ));
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let cases = [
        (format!("{base}&response_type=token&code_challenge={challenge}&code_challenge_method=S256"), "unsupported_response_type"),
        (format!("{base}&response_type=code"), "invalid_request"),
        (format!("{base}&response_type=code&code_challenge={challenge}&code_challenge_method=plain"), "invalid_request"),
        (format!("{base}&response_type=code&code_challenge={challenge}&code_challenge_method=S256&scope=admin"), "invalid_scope"),
        (format!("{base}&response_type=code&code_challenge={challenge}&code_challenge_method=S256&resource=https://x.example"), "invalid_target"),
    ];
    for (url, error) in cases {
        let page = get_page(&app, &url).await;
        assert_eq!(page.status, 302, "{url}");
        let query = query_of(page.location.as_deref().unwrap());
        assert_eq!(param(&query, "error"), Some(error), "{url}");
        assert_eq!(param(&query, "state"), Some("xyz"));
        assert_eq!(param(&query, "iss"), Some(f.issuer.as_str()));
    }
}

#[tokio::test]
async fn pkce_is_enforced_at_the_token_endpoint() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let (code, _) = code_for(&app, &f, &[]).await;
    let (status, body) = redeem(&app, &f, &code, Some(&"a".repeat(43))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "wrong verifier"
    );
    let (code, _) = code_for(&app, &f, &[]).await;
    let (status, body) = redeem(&app, &f, &code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "missing verifier"
    );
    let (code, verifier) = code_for(&app, &f, &[]).await;
    let (status, body) = redeem(&app, &f, &code, Some(&format!("{}!", verifier.secret()))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "verifier with a character outside RFC 7636"
    );
}

#[tokio::test]
async fn a_code_is_single_use_and_its_reuse_revokes_what_it_issued() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code", "refresh_token"]).await;
    let (code, verifier) = code_for(&app, &f, &["chat:read"]).await;
    let (status, first) = redeem(&app, &f, &code, Some(verifier.secret())).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = redeem(&app, &f, &code, Some(verifier.secret())).await;
    assert_eq!(
        (status, second["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, refreshed) = app
        .post_token(
            &f.slug,
            None,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", first["refresh_token"].as_str().unwrap()),
                ("client_id", &f.client_id),
            ],
        )
        .await;
    assert_eq!(
        (status, refreshed["error"].as_str()),
        (400, Some("invalid_grant")),
        "the first use's family is dead"
    );
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let other = app
        .create_client(&f.slug, json!({"name": "other", "type": "public", "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT]}))
        .await;
    let (code, verifier) = code_for(&app, &f, &[]).await;
    let as_other = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", other["client_id"].as_str().unwrap()),
        ("code_verifier", verifier.secret().as_str()),
    ];
    let (status, body) = app.post_token(&f.slug, None, &as_other).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "another client's code"
    );
    let (status, _) = redeem(&app, &f, &code, Some(verifier.secret())).await;
    assert_eq!(
        status, 200,
        "another client's presentation did not burn the code"
    );
    let (code, verifier) = code_for(&app, &f, &[]).await;
    let elsewhere = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/other?x=1"),
        ("client_id", f.client_id.as_str()),
        ("code_verifier", verifier.secret().as_str()),
    ];
    let (status, body) = app.post_token(&f.slug, None, &elsewhere).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "another redirect URI"
    );
}

#[tokio::test]
async fn a_resource_at_authorization_makes_an_app_scoped_user_token() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let started = start(&app, &f, &["chat:read"]);
    let url = format!("{}&resource={}", started.url, urlencode(&f.audience));
    let query = authorize(&app, &f, &url, "approve").await;
    let (status, body) = redeem(
        &app,
        &f,
        param(&query, "code").unwrap(),
        Some(started.verifier.secret()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = verify_with_jwks(
        &app,
        &f.slug,
        body["access_token"].as_str().unwrap(),
        &f.audience,
    )
    .await;
    assert_eq!(claims["aud"], f.audience);
    assert!(
        body.get("refresh_token").is_none(),
        "the client has no refresh_token grant"
    );
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn an_unknown_or_expired_code_is_invalid_grant() {
    let app = spawn_app().await;
    let f = user_fixture(&app, &["authorization_code"]).await;
    let (status, body) = redeem(&app, &f, "no-such-code", Some(&"a".repeat(43))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}
