//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
//! `client_secret_basic`, `client_secret_post`, and public clients that send only `client_id`.
use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;

use crate::cache::{ClientView, TenantView};
use crate::error::OAuthError;
use crate::state::AppState;

/// What the request presented, before any look-up.
#[derive(PartialEq, Eq)]
pub enum Presented {
    Secret { client_id: String, secret: String },
    Public { client_id: String },
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret { client_id, .. } => {
                write!(f, "Secret {{ client_id: {client_id:?}, .. }}")
            }
            Self::Public { client_id } => write!(f, "Public {{ client_id: {client_id:?} }}"),
        }
    }
}

impl Presented {
    pub fn client_id(&self) -> &str {
        match self {
            Self::Secret { client_id, .. } | Self::Public { client_id } => client_id,
        }
    }
}

/// Reads the client's credentials from the `Authorization` header or the form. Using two
/// methods at once is refused (RFC 6749 §2.3: "MUST NOT use more than one").
pub fn presented(
    authorization: Option<&str>,
    form: &HashMap<String, String>,
) -> Result<Presented, OAuthError> {
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    if let Some(header) = authorization {
        if form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        let (client_id, secret) = parse_basic(header)?;
        if form_id.is_some_and(|id| *id != client_id) {
            return Err(OAuthError::invalid_client(
                "client_id differs from the authenticated client",
            ));
        }
        return Ok(Presented::Secret { client_id, secret });
    }
    match (form_id, form_secret) {
        (Some(id), Some(secret)) => Ok(Presented::Secret {
            client_id: id.clone(),
            secret: secret.clone(),
        }),
        (Some(id), None) => Ok(Presented::Public {
            client_id: id.clone(),
        }),
        _ => Err(OAuthError::invalid_client(
            "client authentication is required",
        )),
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

/// Finds and checks the client; every failure is the same `invalid_client` to the caller.
pub async fn authenticate(
    state: &AppState,
    tenant: &TenantView,
    presented: &Presented,
) -> Result<Arc<ClientView>, OAuthError> {
    let client = state
        .client(presented.client_id())
        .await
        .map_err(OAuthError::Unavailable)?;
    let refused = || OAuthError::invalid_client("client authentication failed");
    let Some(client) = client.filter(|c| c.model.tenant_id == tenant.model.id) else {
        // Spend the same work as a real check, so unknown ids do not answer faster.
        if let Presented::Secret { secret, .. } = presented {
            let _ = state.crypto.verify_secret(secret, "");
        }
        return Err(refused());
    };
    match (
        presented,
        client.is_public,
        client.model.secret_hash.as_deref(),
    ) {
        (Presented::Secret { secret, .. }, false, Some(digest))
            if state.crypto.verify_secret(secret, digest) =>
        {
            Ok(client)
        }
        (Presented::Public { .. }, true, _) => Ok(client),
        _ => Err(refused()),
    }
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

    #[test]
    fn two_methods_at_once_are_refused() {
        let form = HashMap::from([("client_secret".to_owned(), "x".to_owned())]);
        let error = presented(Some(&basic("a:b")), &form).unwrap_err();
        assert_eq!(error.code().as_str(), "invalid_request");
    }

    #[test]
    fn a_client_id_alone_is_a_public_client() {
        let form = HashMap::from([("client_id".to_owned(), "app".to_owned())]);
        assert_eq!(
            presented(None, &form).unwrap(),
            Presented::Public {
                client_id: "app".into()
            }
        );
    }

    #[test]
    fn no_credentials_at_all_is_invalid_client() {
        assert_eq!(
            presented(None, &HashMap::new())
                .unwrap_err()
                .code()
                .as_str(),
            "invalid_client"
        );
    }
}
