//! Fetching a JWK Set (or an issuer's metadata) over HTTP with bounds: connect and overall
//! timeouts, a body size limit checked while reading (a chunked body cannot slip past it),
//! redirects followed only within the same origin, and the `Cache-Control` `max-age` of the
//! answer. A fetched body never goes into an error or a log line: it may be anything.
use std::time::Duration;

use crate::cache::{Fetched, DEFAULT_MAX_AGE};
use crate::{JoseError, KeySet};

/// No JWK Set or metadata document of a sane issuer comes near this.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// A `max-age` longer than this is cut down to it.
pub const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
const MAX_REDIRECTS: usize = 3;

/// An HTTP client with the fetcher's bounds: `connect` and `overall` timeouts, and redirects
/// only to the same scheme, host and port.
pub fn http_client(connect: Duration, overall: Duration) -> reqwest::Client {
    let same_origin = reqwest::redirect::Policy::custom(|attempt| {
        let origin = attempt.previous().first().map(|u| u.origin());
        if attempt.previous().len() > MAX_REDIRECTS || origin != Some(attempt.url().origin()) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(overall)
        .redirect(same_origin)
        .build()
        .unwrap_or_default()
}

/// A fetched document and its `Cache-Control` header.
pub struct Document {
    pub body: Vec<u8>,
    pub cache_control: Option<String>,
}

/// GET `url` as JSON; `Unavailable` on any failure, logged with `what` and never the body.
pub async fn get_document(
    http: &reqwest::Client,
    url: &str,
    what: &str,
) -> Result<Document, JoseError> {
    let unreachable = |error: reqwest::Error| {
        // reqwest's Display holds the URL, never a body or a token.
        tracing::warn!(what, error = %error, "fetch failed");
        JoseError::Unavailable
    };
    let mut response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(unreachable)?;
    if !response.status().is_success() {
        tracing::warn!(what, status = response.status().as_u16(), "fetch refused");
        return Err(JoseError::Unavailable);
    }
    let cache_control = response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let too_large = || {
        tracing::warn!(what, limit = MAX_DOCUMENT_BYTES, "document too large");
        JoseError::Unavailable
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Document {
        body,
        cache_control,
    })
}

/// The JWK Set at `url`, and how long it may be cached.
pub async fn fetch_jwks(http: &reqwest::Client, url: &str) -> Result<Fetched, JoseError> {
    let document = get_document(http, url, "JWKS").await?;
    let keys = KeySet::parse(&document.body).map_err(|error| {
        tracing::warn!(url, %error, "the JWKS was refused");
        JoseError::Unavailable
    })?;
    tracing::debug!(url, keys = keys.len(), "fetched a JWKS");
    Ok(Fetched {
        keys,
        max_age: max_age(document.cache_control.as_deref()),
    })
}

/// `max-age` of a `Cache-Control` value (RFC 9111 §5.2.2.1), capped at a day; `no-store` and
/// `no-cache` count as 0; absent, grantd's 300 seconds.
pub fn max_age(cache_control: Option<&str>) -> Duration {
    let Some(value) = cache_control else {
        return DEFAULT_MAX_AGE;
    };
    let mut found = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Duration::ZERO;
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            found = secs.trim_matches('"').parse::<u64>().ok();
        }
    }
    found
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_MAX_AGE)
        .min(MAX_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A real HTTP server on a loopback port that answers every request with `response`
    /// (`None`: accepts and never answers). Returns its base URL.
    async fn serve(response: Option<String>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let response = response.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    match response {
                        Some(response) => {
                            let _ = socket.write_all(response.as_bytes()).await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                });
            }
        });
        url
    }

    fn ok(headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{headers}connection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn client() -> reqwest::Client {
        http_client(Duration::from_secs(1), Duration::from_secs(2))
    }

    #[tokio::test]
    async fn a_key_set_is_fetched_with_its_max_age() {
        let (_, jwk) = crate::testing::es256_key("k1");
        let body = serde_json::json!({"keys": [jwk]}).to_string();
        let url = serve(Some(ok("cache-control: public, max-age=120\r\n", &body))).await;
        let fetched = fetch_jwks(&client(), &url).await.unwrap();
        assert!(fetched.keys.get("k1").is_some());
        assert_eq!(fetched.max_age, Duration::from_secs(120));
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_refused_even_when_chunked() {
        let big = "x".repeat(MAX_DOCUMENT_BYTES + 1);
        let url = serve(Some(ok("", &big))).await;
        assert!(matches!(
            get_document(&client(), &url, "test").await,
            Err(JoseError::Unavailable)
        ));
        let chunked = format!(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
            big.len()
        );
        let url = serve(Some(chunked)).await;
        assert!(matches!(
            get_document(&client(), &url, "test").await,
            Err(JoseError::Unavailable)
        ));
    }

    #[tokio::test]
    async fn a_redirect_to_another_origin_is_not_followed() {
        let (_, jwk) = crate::testing::es256_key("k1");
        let body = serde_json::json!({"keys": [jwk]}).to_string();
        let elsewhere = serve(Some(ok("", &body))).await;
        let redirect = format!(
            "HTTP/1.1 302 Found\r\nlocation: {elsewhere}/jwks\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        let url = serve(Some(redirect)).await;
        assert!(matches!(
            fetch_jwks(&client(), &url).await,
            Err(JoseError::Unavailable)
        ));
        assert!(fetch_jwks(&client(), &elsewhere).await.is_ok());
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_given_up_on_within_the_timeout() {
        let url = serve(None).await;
        let started = Instant::now();
        let http = http_client(Duration::from_secs(1), Duration::from_millis(300));
        assert!(matches!(
            get_document(&http, &url, "test").await,
            Err(JoseError::Unavailable)
        ));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn an_error_status_or_a_document_that_is_no_key_set_is_unavailable() {
        let url = serve(Some(
            "HTTP/1.1 500 Oops\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".into(),
        ))
        .await;
        assert!(fetch_jwks(&client(), &url).await.is_err());
        let url = serve(Some(ok("", r#"{"not": "a key set"}"#))).await;
        assert!(fetch_jwks(&client(), &url).await.is_err());
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(max_age(None), DEFAULT_MAX_AGE);
        assert_eq!(
            max_age(Some("public, max-age=120")),
            Duration::from_secs(120)
        );
        assert_eq!(max_age(Some("no-store")), Duration::ZERO);
        assert_eq!(max_age(Some("max-age=99999999")), MAX_MAX_AGE);
        assert_eq!(max_age(Some("public")), DEFAULT_MAX_AGE);
    }
}
