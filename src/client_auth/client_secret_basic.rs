//! `client_secret_basic`: the id and secret in an RFC 7617 `Authorization: Basic` header.
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;

use super::client_secret_post::verify_secret;
use super::{AuthMethod, Method, Presentation, Presented, Proof, Verifier};
use crate::cache::ClientView;
use crate::error::OAuthError;

pub struct ClientSecretBasic;

#[async_trait]
impl Method for ClientSecretBasic {
    fn recognise(&self, request: &Presentation<'_>) -> Option<Result<Presented, OAuthError>> {
        let header = request.authorization?;
        Some(parse_basic(header).and_then(|(client_id, secret)| {
            if request
                .form
                .get("client_id")
                .is_some_and(|id| *id != client_id)
            {
                return Err(OAuthError::invalid_client(
                    "client_id differs from the authenticated client",
                ));
            }
            Ok(Presented {
                method: AuthMethod::ClientSecretBasic,
                client_id,
                proof: Proof::Secret(secret),
            })
        }))
    }

    async fn verify(
        &self,
        with: &Verifier<'_>,
        client: Option<&ClientView>,
        presented: &Presented,
    ) -> bool {
        verify_secret(with, client, presented)
    }
}

/// RFC 7617 Basic credentials, each part form-urlencoded as RFC 6749 §2.3.1 requires.
pub fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let malformed = || OAuthError::invalid_client("malformed Basic authorization header");
    let (scheme, encoded) = header.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 4096 {
        return Err(malformed());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id).ok_or_else(malformed)?;
    let secret = form_decode(secret).ok_or_else(malformed)?;
    if id.is_empty() {
        return Err(malformed());
    }
    Ok((id, secret))
}

fn form_decode(value: &str) -> Option<String> {
    percent_decode_str(&value.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(
            parse_basic(&basic("my%20client:s%3Ac")).unwrap(),
            ("my client".into(), "s:c".into())
        );
    }

    #[test]
    fn malformed_basic_headers_are_invalid_client() {
        for header in [
            "Basic",
            "Basic !!!",
            "Bearer abc",
            &basic("no-colon"),
            &basic(":secret"),
        ] {
            let error = parse_basic(header).unwrap_err();
            assert_eq!(error.code().as_str(), "invalid_client", "{header}");
        }
    }
}
