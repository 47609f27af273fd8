//! `spawn_app()`: a grantd on a free port with its own database (a SQLite file, or a fresh
//! PostgreSQL database when `GRANTD_TEST_DATABASE_URL` is set) and its own key prefix in one
//! real `redis-server` shared by the test binary.
use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use grantd::config::{LogFormat, Settings};
use grantd::startup::Application;
use reqwest::header::AUTHORIZATION;
use secrecy::SecretString;
use serde_json::{json, Value};
use uuid::Uuid;

/// Every log line of the test binary, so that tests can look for leaked secrets.
pub static LOGS: LazyLock<Arc<Mutex<Vec<u8>>>> = LazyLock::new(|| {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = LogSink(buffer.clone());
    grantd::telemetry::init(
        LogFormat::Json,
        "debug,h2=info,hyper=info,rustls=info",
        move || sink.clone(),
    );
    buffer
});

#[derive(Clone)]
struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stdout().write_all(buf)?;
        }
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` that a shell watchdog stops when this test process exits.
pub struct RedisServer {
    pub url: String,
}

pub static REDIS: LazyLock<RedisServer> = LazyLock::new(|| start_redis(free_port()));

pub fn start_redis(port: u16) -> RedisServer {
    start_redis_with(port, "")
}

/// A `redis-server` with extra command-line settings (e.g. `--maxmemory-policy allkeys-lru`).
pub fn start_redis_with(port: u16, settings: &str) -> RedisServer {
    let script = format!(
        "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no --loglevel warning {settings} & r=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1; done; kill $r 2>/dev/null",
        parent = std::process::id()
    );
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (scripts/test installs it)");
    std::thread::spawn(move || watchdog.wait());
    let url = format!("redis://127.0.0.1:{port}");
    wait_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    RedisServer { url }
}

pub fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Polls an async condition every 25 ms for at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Redis,
    Memory,
}

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub admin_token: String,
    _dir: Arc<tempfile::TempDir>,
}

/// Where a test's database lives; shared by two nodes in multi-node tests.
#[derive(Clone)]
pub struct TestDatabase {
    pub url: String,
    pub master_key: String,
    pub admin_token: String,
    pub redis_prefix: String,
    dir: Arc<tempfile::TempDir>,
}

pub async fn test_database() -> TestDatabase {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let url = match std::env::var("GRANTD_TEST_DATABASE_URL") {
        Ok(base) if base.starts_with("postgres") => create_postgres_database(&base).await,
        _ => format!("sqlite://{}/grantd.db?mode=rwc", dir.path().display()),
    };
    with_url(url, dir)
}

/// A fresh PostgreSQL database whatever the pass: the database-outage tests need a server
/// they can put a `FaultProxy` in front of.
pub async fn postgres_database() -> TestDatabase {
    let base = std::env::var("GRANTD_TEST_POSTGRES_URL").expect(
        "GRANTD_TEST_POSTGRES_URL must name a PostgreSQL server: run scripts/test, which starts one",
    );
    let url = create_postgres_database(&base).await;
    with_url(url, Arc::new(tempfile::tempdir().unwrap()))
}

impl TestDatabase {
    pub fn port(&self) -> u16 {
        let url: url::Url = self.url.parse().unwrap();
        url.port().unwrap_or(5432)
    }

    /// The same database, reached through `127.0.0.1:{port}`.
    pub fn through(&self, port: u16) -> TestDatabase {
        let mut url: url::Url = self.url.parse().unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(port)).unwrap();
        TestDatabase {
            url: url.to_string(),
            ..self.clone()
        }
    }
}

/// Creates a database named after a fresh UUID on the server of `base`; returns its URL.
async fn create_postgres_database(base: &str) -> String {
    let name = format!("test_{}", Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(base)
        .await
        .expect("the PostgreSQL server of the tests must answer");
    sea_orm::ConnectionTrait::execute_unprepared(&admin, &format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    admin.close().await.unwrap();
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{name}")
}

fn with_url(url: String, dir: Arc<tempfile::TempDir>) -> TestDatabase {
    TestDatabase {
        url,
        master_key: base64::engine::general_purpose::STANDARD.encode(rand_bytes()),
        admin_token: grantd::crypto::random_token(24),
        redis_prefix: format!("test-{}", Uuid::new_v4().simple()),
        dir,
    }
}

fn rand_bytes() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    key
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(StoreKind::Redis).await
}

pub async fn spawn_app_with(store: StoreKind) -> TestApp {
    spawn_node(&test_database().await, store).await
}

/// One grantd node on `database`.
pub async fn spawn_node(database: &TestDatabase, store: StoreKind) -> TestApp {
    LazyLock::force(&LOGS);
    let redis_url = match store {
        StoreKind::Redis => Some(SecretString::from(REDIS.url.clone())),
        StoreKind::Memory => None,
    };
    spawn_with_settings(database, settings_for(database, redis_url)).await
}

/// Two nodes sharing one database, one Redis and one public URL (as behind a load balancer).
pub async fn spawn_two_nodes() -> (TestApp, TestApp) {
    let database = test_database().await;
    let node1 = spawn_node(&database, StoreKind::Redis).await;
    let mut settings = settings_for(&database, Some(SecretString::from(REDIS.url.clone())));
    settings.public_url = Some(node1.address.clone());
    let node2 = spawn_with_settings(&database, settings).await;
    (node1, node2)
}

pub fn settings_for(database: &TestDatabase, redis_url: Option<SecretString>) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        public_url: None,
        database_url: SecretString::from(database.url.clone()),
        redis_url,
        redis_prefix: database.redis_prefix.clone(),
        admin_token: Some(SecretString::from(database.admin_token.clone())),
        master_key: Some(SecretString::from(database.master_key.clone())),
        log_format: LogFormat::Json,
        workers: None,
        max_connections: std::num::NonZeroUsize::new(10_000).unwrap(),
        trusted_proxies: Default::default(),
    }
}

pub async fn spawn_with_settings(database: &TestDatabase, settings: Settings) -> TestApp {
    let app = Application::build(settings)
        .await
        .expect("grantd must start");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        admin_token: database.admin_token.clone(),
        _dir: database.dir.clone(),
    }
}

/// A tenant with one app and one confidential client-credentials client for that app.
pub struct Fixture {
    pub slug: String,
    pub issuer: String,
    pub app_id: String,
    pub audience: String,
    pub client_id: String,
    pub client_secret: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, self.url(&format!("/admin/v1{path}")))
            .header(AUTHORIZATION, format!("Bearer {}", self.admin_token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post_admin(&self, path: &str, body: Value) -> (u16, Value) {
        self.admin(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn create_tenant(&self, slug: &str) -> Value {
        let (status, body) = self
            .post_admin(
                "/tenants",
                json!({"slug": slug, "name": format!("Tenant {slug}")}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    pub async fn create_app(&self, slug: &str, scopes: &[&str]) -> Value {
        let (status, body) = self
            .post_admin(
                &format!("/tenants/{slug}/apps"),
                json!({"name": "chat app", "scopes": scopes}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    pub async fn create_client(&self, slug: &str, body: Value) -> Value {
        let (status, body) = self
            .post_admin(&format!("/tenants/{slug}/clients"), body)
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    pub async fn fixture(&self) -> Fixture {
        let slug = format!("t{}", &Uuid::new_v4().simple().to_string()[..10]);
        let tenant = self.create_tenant(&slug).await;
        let app = self.create_app(&slug, &["chat:read", "chat:write"]).await;
        let client = self
            .create_client(
                &slug,
                json!({
                    "name": "backend", "type": "confidential",
                    "grant_types": ["client_credentials"],
                    "scopes": ["chat:read", "chat:write"],
                    "app_ids": [app["id"]],
                }),
            )
            .await;
        Fixture {
            issuer: tenant["issuer"].as_str().unwrap().to_owned(),
            app_id: app["id"].as_str().unwrap().to_owned(),
            audience: app["audience"].as_str().unwrap().to_owned(),
            client_id: client["client_id"].as_str().unwrap().to_owned(),
            client_secret: client["client_secret"].as_str().unwrap().to_owned(),
            slug,
        }
    }

    pub async fn metadata(&self, slug: &str) -> Value {
        self.http
            .get(self.url(&format!("/t/{slug}/.well-known/oauth-authorization-server")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// POSTs a raw form body to the tenant's token endpoint.
    pub async fn post_token_raw(
        &self,
        slug: &str,
        basic: Option<(&str, &str)>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url(&format!("/t/{slug}/token")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        request.send().await.unwrap()
    }

    pub async fn post_token(
        &self,
        slug: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let body = serde_urlencoded::to_string(form).unwrap();
        let response = self.post_token_raw(slug, basic, body).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The tenant's audit events once one matches `wanted` (the log is written in batches),
    /// polling for at most three seconds.
    pub async fn audit_events_with(
        &self,
        slug: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let events = self.audit_events(slug).await;
            if events.iter().any(&wanted) || start.elapsed() > Duration::from_secs(3) {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn audit_events(&self, slug: &str) -> Vec<Value> {
        let (status, body) = self
            .admin(
                reqwest::Method::GET,
                &format!("/tenants/{slug}/audit-events?limit=500"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["events"].as_array().unwrap().clone()
    }
}

/// Verifies an access token the way a resource server would: keys from the JWKS named in the
/// tenant's metadata.
pub async fn verify_with_jwks(app: &TestApp, slug: &str, token: &str, audience: &str) -> Value {
    let metadata = app.metadata(slug).await;
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .http
        .get(metadata["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[metadata["issuer"].as_str().unwrap()]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("token verifies")
        .claims
}
