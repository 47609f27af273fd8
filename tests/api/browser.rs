//! The authorization-code flow in a real browser: headless Chromium (Debian's `chromium`), driven
//! through `chromedriver`, opens the authorization URL, signs in as a person would, approves, and
//! lands on the client's redirect URI, served by a tiny HTTP server in this test; the test then
//! redeems the code with the PKCE verifier. Screenshots of the login and consent pages are saved
//! as `target/screenshots/login.png` and `target/screenshots/consent.png` for a person to look at.
//!
//! Never skipped: without /usr/bin/chromium and /usr/bin/chromedriver the test fails, and
//! `scripts/test` installs both (Debian packages `chromium` and `chromium-driver`).
//!
//! chromedriver is spoken to over the W3C WebDriver protocol (JSON over HTTP) with `reqwest`
//! rather than through `fantoccini`: fantoccini's rustls connector asks rustls for the
//! process-wide crypto provider, and with both of rustls's `ring` and `aws-lc-rs` features on in
//! this build it cannot pick one (it panics) unless the test installs one through a direct
//! `rustls` dependency.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use oauth2::{CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use reqwest::Method;
use serde_json::{json, Value};

use crate::authorization_code::{oauth_client, param, query_of, user_fixture, PASSWORD};
use crate::helpers::{free_port, spawn_app, verify_with_jwks};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any one step in the browser may take.
const STEP: Duration = Duration::from_secs(20);
/// The key of an element reference in WebDriver's JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `chromedriver` on a free port, in a process group of its own that also holds the Chromium
/// it starts; the whole group is killed when this is dropped, so a failing test leaves no
/// browser behind.
struct ChromeDriver {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl ChromeDriver {
    async fn start() -> ChromeDriver {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: run scripts/test, which installs Debian's chromium and \
                 chromium-driver (or apt-get install chromium chromium-driver)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                dir.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let mut driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        };
        driver.wait_until_ready(Duration::from_secs(20)).await;
        driver
    }

    /// Polls `/status` until chromedriver says it is ready.
    async fn wait_until_ready(&mut self, limit: Duration) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("chromedriver exited ({status}):\n{}", self.log());
            }
            let status = match http.get(format!("{}/status", self.url)).send().await {
                Ok(response) => response.json::<Value>().await.ok(),
                Err(_) => None,
            };
            if status.is_some_and(|s| s["value"]["ready"] == true) {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "chromedriver not ready within {limit:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of chromedriver's log, for failure messages.
    fn log(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// A WebDriver session in headless Chromium with a new empty profile. The flags keep
    /// Chromium off the network (closed here) apart from the pages the test opens.
    async fn session(&self) -> Browser {
        let profile = self.dir.path().join("profile");
        std::fs::create_dir(&profile).unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1000,900",
                ],
            },
        }}});
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let response = http
            .post(format!("{}/session", self.url))
            .json(&capabilities)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no WebDriver session: {e}\n{}", self.log()));
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        let id = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session ({status}): {body}\n{}", self.log()));
        Browser {
            http,
            session: format!("{}/session/{id}", self.url),
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // the process group that chromedriver leads: it and the Chromium processes it started
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver session: the handful of W3C WebDriver commands this test needs.
struct Browser {
    http: reqwest::Client,
    session: String,
}

/// An element reference.
struct El(String);

impl Browser {
    /// Sends a command; returns its `value`, or the WebDriver error as `Err`.
    async fn try_command(&self, method: Method, path: &str, body: Value) -> Result<Value, Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.session));
        if method == Method::POST {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| json!(e.to_string()))?;
        let ok = response.status().is_success();
        let body: Value = response.json().await.map_err(|e| json!(e.to_string()))?;
        if ok {
            Ok(body["value"].clone())
        } else {
            Err(body["value"].clone())
        }
    }

    async fn command(&self, method: Method, path: &str, body: Value) -> Value {
        self.try_command(method.clone(), path, body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    async fn goto(&self, url: &str) {
        self.command(Method::POST, "/url", json!({"url": url}))
            .await;
    }

    async fn current_url(&self) -> String {
        let url = self.command(Method::GET, "/url", Value::Null).await;
        url.as_str().unwrap().to_owned()
    }

    async fn source(&self) -> String {
        let source = self.command(Method::GET, "/source", Value::Null).await;
        source.as_str().unwrap_or_default().to_owned()
    }

    /// The first element matching a CSS selector, polled for at most `STEP`.
    async fn wait_for(&self, css: &str) -> El {
        let start = Instant::now();
        loop {
            let found = self
                .try_command(
                    Method::POST,
                    "/element",
                    json!({"using": "css selector", "value": css}),
                )
                .await;
            if let Ok(element) = found {
                return El(element[ELEMENT].as_str().unwrap().to_owned());
            }
            assert!(
                start.elapsed() < STEP,
                "no {css:?} on {} after {STEP:?}; the page:\n{}",
                self.current_url().await,
                self.source().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The input that the label with this text is for (so the label is tied to its field).
    async fn input_labelled(&self, text: &str) -> El {
        let labels = self
            .command(
                Method::POST,
                "/elements",
                json!({"using": "css selector", "value": "label[for]"}),
            )
            .await;
        for label in labels.as_array().unwrap() {
            let label = El(label[ELEMENT].as_str().unwrap().to_owned());
            if self.text(&label).await.trim() == text {
                let id = self.attr(&label, "for").await.unwrap();
                return self.wait_for(&format!("#{id}")).await;
            }
        }
        panic!("no label {text:?}; the page:\n{}", self.source().await);
    }

    async fn active_element(&self) -> El {
        let element = self
            .command(Method::GET, "/element/active", Value::Null)
            .await;
        El(element[ELEMENT].as_str().unwrap().to_owned())
    }

    async fn attr(&self, element: &El, name: &str) -> Option<String> {
        let path = format!("/element/{}/attribute/{name}", element.0);
        let value = self.command(Method::GET, &path, Value::Null).await;
        value.as_str().map(str::to_owned)
    }

    async fn text(&self, element: &El) -> String {
        let path = format!("/element/{}/text", element.0);
        let value = self.command(Method::GET, &path, Value::Null).await;
        value.as_str().unwrap().to_owned()
    }

    /// Types `text` into the element, key by key.
    async fn type_into(&self, element: &El, text: &str) {
        let path = format!("/element/{}/value", element.0);
        self.command(Method::POST, &path, json!({"text": text}))
            .await;
    }

    async fn click(&self, element: &El) {
        let path = format!("/element/{}/click", element.0);
        self.command(Method::POST, &path, json!({})).await;
    }

    /// Saves a screenshot of the window as `target/screenshots/<name>.png`.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.command(Method::GET, "/screenshot", Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Polls the browser's URL until it starts with `prefix`.
    async fn wait_for_url(&self, prefix: &str) -> String {
        let start = Instant::now();
        loop {
            let url = self.current_url().await;
            if url.starts_with(prefix) {
                return url;
            }
            assert!(
                start.elapsed() < STEP,
                "the browser is at {url}, not {prefix}, after {STEP:?}; the page:\n{}",
                self.source().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the session (chromedriver closes Chromium).
    async fn close(self) {
        self.command(Method::DELETE, "", Value::Null).await;
    }
}

/// The client's redirect target: answers every request with a small page and records the
/// request targets (path and query) it was asked for.
struct Callback {
    uri: String,
    requests: Arc<Mutex<Vec<String>>>,
}

fn serve_callback() -> Callback {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}/callback", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            // a thread per connection: Chromium may open a connection and send nothing on it
            std::thread::spawn(move || answer(stream, &seen));
        }
    });
    Callback { uri, requests }
}

fn answer(mut stream: TcpStream, seen: &Mutex<Vec<String>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    if let Some(target) = head.split(' ').nth(1) {
        seen.lock().unwrap().push(target.to_owned());
    }
    let body = "<!doctype html><title>Signed in</title><p>Signed in. The app has its code.</p>";
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

#[tokio::test]
async fn a_person_in_chromium_signs_in_approves_and_the_client_redeems_the_code() {
    // Arrange: a tenant, app and user (alice), and a public client whose redirect URI is the
    // callback server in this test.
    let driver = ChromeDriver::start().await;
    let callback = serve_callback();
    let app = spawn_app().await;
    let mut f = user_fixture(&app, &["authorization_code", "refresh_token"]).await;
    let (status, apps) = app
        .admin(Method::GET, &format!("/tenants/{}/apps", f.slug), None)
        .await;
    assert_eq!(status, 200, "{apps}");
    let client = app
        .create_client(
            &f.slug,
            json!({
                "name": "Support Chat", "type": "public",
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [callback.uri],
                "scopes": ["chat:read", "chat:write"], "app_ids": [apps[0]["id"]],
            }),
        )
        .await;
    f.client_id = client["client_id"].as_str().unwrap().to_owned();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorization_url, state) = oauth_client(&app, &f)
        .set_redirect_uri(RedirectUrl::new(callback.uri.clone()).unwrap())
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_scope(Scope::new("chat:read".into()))
        .add_scope(Scope::new("chat:write".into()))
        .url();
    let browser = driver.session().await;

    // Act: the login page, filled in through its labelled fields, as a person would.
    browser.goto(authorization_url.as_str()).await;
    let username = browser.input_labelled("Username").await;
    let password = browser.input_labelled("Password").await;
    assert_eq!(
        browser.attr(&username, "name").await.as_deref(),
        Some("username")
    );
    assert_eq!(
        browser.attr(&password, "name").await.as_deref(),
        Some("password")
    );
    assert_eq!(
        browser.attr(&password, "type").await.as_deref(),
        Some("password")
    );
    let focused = browser.active_element().await;
    assert_eq!(
        browser.attr(&focused, "id").await.as_deref(),
        Some("username"),
        "the username field has the focus"
    );
    let login_png = browser.screenshot("login").await;
    browser.type_into(&username, &f.username).await;
    browser.type_into(&password, PASSWORD).await;
    let sign_in = browser.wait_for("form button[type=submit]").await;
    assert_eq!(browser.text(&sign_in).await, "Sign in");
    browser.click(&sign_in).await;

    // the consent page
    let approve = browser
        .wait_for("button[name=decision][value=approve]")
        .await;
    assert_eq!(browser.text(&approve).await, "Allow");
    let main = browser.wait_for("main").await;
    let consent_text = browser.text(&main).await;
    assert!(
        consent_text.contains("Support Chat") && consent_text.contains("alice"),
        "{consent_text}"
    );
    assert!(
        consent_text.contains("chat:read") && consent_text.contains("chat:write"),
        "{consent_text}"
    );
    let consent_png = browser.screenshot("consent").await;
    browser.click(&approve).await;

    // the redirect back to the client
    let landed = browser.wait_for_url(&callback.uri).await;
    let body = browser.wait_for("body").await;
    let callback_text = browser.text(&body).await;
    browser.close().await;
    drop(driver);

    // Assert: the redirect carries the state, the issuer and a code that redeems once.
    let query = query_of(&landed);
    assert_eq!(param(&query, "state"), Some(state.secret().as_str()));
    assert_eq!(param(&query, "iss"), Some(f.issuer.as_str()));
    let code = param(&query, "code").expect("a code in the redirect");
    assert!(callback_text.contains("Signed in"), "{callback_text}");
    let requests = callback.requests.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("/callback?") && r.contains(&format!("code={code}"))),
        "the callback server saw the code: {requests:?}"
    );
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &callback.uri),
        ("client_id", &f.client_id),
        ("code_verifier", verifier.secret()),
    ];
    let (status, token) = app.post_token(&f.slug, None, &form).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer", "{token}");
    assert!(
        token["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{token}"
    );
    let access_token = token["access_token"].as_str().expect("an access token");
    let claims = verify_with_jwks(&app, &f.slug, access_token, &f.issuer).await;
    assert_eq!(claims["sub"], f.user_id);
    assert_eq!(claims["client_id"], f.client_id);
    assert_eq!(claims["scope"], "chat:read chat:write");
    let (status, again) = app.post_token(&f.slug, None, &form).await;
    assert_eq!(status, 400, "a code redeems once: {again}");
    for png in [login_png, consent_png] {
        assert!(
            std::fs::metadata(&png).unwrap().len() > 1000,
            "{}",
            png.display()
        );
    }
}
