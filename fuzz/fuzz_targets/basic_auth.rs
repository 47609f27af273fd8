//! `client_auth::parse_basic` (RFC 7617 Basic credentials, each part form-urlencoded per
//! RFC 6749 §2.3.1), and `client_auth::presented` with a header.
//!
//! Each input is used twice: as the raw header value, and as an arbitrary client id and secret
//! (split at the first NUL) that a well-behaved client encodes into a header, which must then
//! parse back to exactly that id and secret.
#![no_main]

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use grantd::client_auth::{self, AuthMethod, Presented, Proof};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // As the route reads it: a header that is not visible ASCII becomes "\0".
    let header = std::str::from_utf8(data).unwrap_or("\u{0}");
    raw_header(header);
    round_trip(&String::from_utf8_lossy(data));
});

fn raw_header(header: &str) {
    let parsed = client_auth::parse_basic(header);
    match &parsed {
        Ok((id, secret)) => {
            assert!(!id.is_empty());
            // What was accepted is a Basic header whose payload decodes to `id:secret`.
            let (scheme, encoded) = header.trim().split_once(' ').unwrap();
            assert!(scheme.eq_ignore_ascii_case("basic"));
            assert!(encoded.len() <= 4096);
            let decoded = STANDARD.decode(encoded.trim()).unwrap();
            let decoded = String::from_utf8(decoded).unwrap();
            let (raw_id, raw_secret) = decoded.split_once(':').unwrap();
            assert_eq!(&form_decode(raw_id), id);
            assert_eq!(&form_decode(raw_secret), secret);
            // Encoding it again canonically gives the same credentials (when that encoding,
            // up to three times longer, is still within the 4096-byte limit).
            let canonical = basic(id, secret);
            if canonical.len() - "Basic ".len() <= 4096 {
                assert_eq!(
                    client_auth::parse_basic(&canonical).ok(),
                    Some((id.clone(), secret.clone()))
                );
            }
        }
        Err(e) => assert_eq!(e.code().as_str(), "invalid_client"),
    }
    // `presented` with the header: the header wins, and a form `client_id` must agree with it.
    let empty = HashMap::new();
    let presented = client_auth::presented(Some(header), &empty);
    match &parsed {
        Ok((id, secret)) => {
            assert_eq!(
                presented.as_ref().ok(),
                Some(&Presented {
                    method: AuthMethod::ClientSecretBasic,
                    client_id: id.clone(),
                    proof: Proof::Secret(secret.clone()),
                })
            );
            let same = HashMap::from([("client_id".to_owned(), id.clone())]);
            assert!(client_auth::presented(Some(header), &same).is_ok());
            let other = HashMap::from([("client_id".to_owned(), format!("{id}x"))]);
            let refused = client_auth::presented(Some(header), &other).unwrap_err();
            assert_eq!(refused.code().as_str(), "invalid_client");
        }
        Err(_) => assert!(presented.is_err()),
    }
    let with_secret = HashMap::from([("client_secret".to_owned(), "s".to_owned())]);
    let refused = client_auth::presented(Some(header), &with_secret).unwrap_err();
    assert_eq!(refused.code().as_str(), "invalid_request");
}

fn round_trip(text: &str) {
    let (id, secret) = text.split_once('\0').unwrap_or((text, ""));
    let header = basic(id, secret);
    let encoded_len = header.len() - "Basic ".len();
    let parsed = client_auth::parse_basic(&header);
    if id.is_empty() || encoded_len > 4096 {
        assert!(parsed.is_err());
    } else {
        assert_eq!(parsed.ok(), Some((id.to_owned(), secret.to_owned())));
        // Scheme case and surrounding whitespace do not matter.
        let lower = format!("  basic {}\t", &header["Basic ".len()..]);
        assert_eq!(
            client_auth::parse_basic(&lower).ok(),
            Some((id.to_owned(), secret.to_owned()))
        );
    }
}

/// What a client sends (RFC 6749 §2.3.1): each part form-urlencoded, then Base64.
fn basic(id: &str, secret: &str) -> String {
    let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let secret: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", value.replace('&', "%26")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
