//! The token endpoint's front half, as `routes::oauth_form::read` and `routes::token` run it:
//! strict form decoding (every name once, but `resource` and `audience` collected as lists),
//! client credentials from the `Authorization` header or the form, the
//! `grant_type` and the typed request of its grant (`grants::GrantRequest`), then what the grants
//! parse from it (scope, redirect URI, PKCE verifier). The database half of a grant is not here.
//!
//! Input: an optional `Authorization` header value, then `\n`, then the body. An input with no
//! `\n` is a body sent without the header.
#![no_main]

use actix_web::ResponseError;
use grantd::client_auth::{self, AuthMethod, Presented, Proof};
use grantd::domain::{self, Form, FormError, ScopeSet};
use grantd::error::OAuthError;
use grantd::grants::GrantRequest;
use grantd::pkce;
use grantd::protocol::{self, GrantType};
use libfuzzer_sys::fuzz_target;

/// `domain::form::{MAX_FIELDS, MAX_VALUE_LEN}` (not re-exported by `grantd::domain`).
const MAX_FIELDS: usize = 32;
const MAX_VALUE_LEN: usize = 8192;

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        // As the route reads it: a header that is not visible ASCII becomes "\0".
        Some(i) => (
            Some(std::str::from_utf8(&data[..i]).unwrap_or("\u{0}")),
            &data[i + 1..],
        ),
        None => (None, data),
    };

    let parsed = domain::parse_form_with_lists(body, &protocol::REPEATABLE_PARAMETERS);
    check_form_against_model(body, &parsed);
    let fields = match parsed {
        Ok(fields) => fields,
        Err(e) => {
            let description = e.describe();
            assert!(!description.is_empty());
            render(&OAuthError::invalid_request(description));
            return;
        }
    };
    check_reencoding(&fields);

    let presented = client_auth::presented(header, &fields);
    check_presented(header, &fields, &presented);
    if let Err(e) = &presented {
        render(e);
    }

    let Some(request) = check_grant_request(&fields) else {
        return;
    };
    let (scope, uris, verifier) = parts(&request);
    if let Some(scope) = scope {
        check_scope(scope);
    }
    for uri in uris {
        if let Ok(accepted) = domain::parse_absolute_uri(uri) {
            assert_eq!(&accepted, uri);
            assert!(!uri.contains('#'));
        }
    }
    if let Some(verifier) = verifier {
        let valid = pkce::is_valid_verifier(verifier);
        assert_eq!(
            valid,
            (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        );
    }
});

fn repeatable(name: &str) -> bool {
    protocol::REPEATABLE_PARAMETERS.contains(&name)
}

/// A plain model of the form grammar: which outcome must the parser have given?
fn check_form_against_model(body: &[u8], parsed: &Result<Form, FormError>) {
    let pairs: Vec<&[u8]> = body
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .collect();
    let decoded: Vec<(Option<String>, Option<String>)> = pairs
        .iter()
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (*pair, &b""[..]),
            };
            (decode(name), decode(value))
        })
        .collect();
    match parsed {
        Ok(fields) => {
            assert!(pairs.len() <= MAX_FIELDS);
            // Every pair is present and decoded; no two pairs share a name, unless it is one of
            // the repeatable names, whose values are all kept, in order.
            let listed: usize = protocol::REPEATABLE_PARAMETERS
                .iter()
                .map(|name| fields.all(name).len())
                .sum();
            assert_eq!(
                fields.len() + listed,
                pairs.len(),
                "a repeated name was accepted"
            );
            for (name, value) in &decoded {
                let (name, value) = (name.as_ref().unwrap(), value.as_ref().unwrap());
                if repeatable(name) {
                    assert_eq!(fields.get(name), None, "a list read as one value");
                } else {
                    assert_eq!(fields.get(name), Some(value));
                }
                assert!(value.len() <= MAX_VALUE_LEN);
            }
            for name in protocol::REPEATABLE_PARAMETERS {
                let sent: Vec<&String> = decoded
                    .iter()
                    .filter(|(n, _)| n.as_deref() == Some(name))
                    .filter_map(|(_, v)| v.as_ref())
                    .collect();
                assert_eq!(fields.all(name).iter().collect::<Vec<_>>(), sent, "{name}");
            }
        }
        Err(FormError::NotUtf8) => {
            assert!(decoded.iter().any(|(n, v)| n.is_none() || v.is_none()));
        }
        Err(FormError::TooManyFields) => assert!(pairs.len() > MAX_FIELDS),
        Err(FormError::ValueTooLong(name)) => {
            assert!(decoded.iter().any(|(n, v)| {
                v.as_ref().is_some_and(|v| v.len() > MAX_VALUE_LEN)
                    && n.as_ref().is_some_and(|n| printable(n) == *name)
            }));
            assert!(name.chars().count() <= 40 && !name.chars().any(char::is_control));
        }
        Err(FormError::Repeated(name)) => {
            let names: Vec<&String> = decoded.iter().filter_map(|(n, _)| n.as_ref()).collect();
            assert!(
                names.iter().enumerate().any(|(i, a)| {
                    !repeatable(a) && names[..i].contains(a) && printable(a) == *name
                }),
                "Repeated({name:?}) without a repeated name"
            );
            assert!(name.chars().count() <= 40 && !name.chars().any(char::is_control));
        }
    }
}

fn decode(raw: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len()
                && raw[i + 1].is_ascii_hexdigit()
                && raw[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// Any accepted form, encoded again by a standard encoder, parses to the same fields.
fn check_reencoding(fields: &Form) {
    let mut encoder = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields.iter() {
        encoder.append_pair(name, value);
    }
    for name in protocol::REPEATABLE_PARAMETERS {
        for value in fields.all(name) {
            encoder.append_pair(name, value);
        }
    }
    let encoded = encoder.finish();
    assert_eq!(
        domain::parse_form_with_lists(encoded.as_bytes(), &protocol::REPEATABLE_PARAMETERS)
            .as_ref(),
        Ok(fields)
    );
}

fn check_presented(header: Option<&str>, fields: &Form, presented: &Result<Presented, OAuthError>) {
    let form_id = fields.get("client_id");
    let form_secret = fields.get("client_secret");
    match header {
        Some(header) => {
            if form_secret.is_some() {
                assert_eq!(code(presented), Some("invalid_request"));
                return;
            }
            match client_auth::parse_basic(header) {
                Err(_) => assert_eq!(code(presented), Some("invalid_client")),
                Ok((id, _)) if form_id.is_some_and(|f| *f != id) => {
                    assert_eq!(code(presented), Some("invalid_client"))
                }
                Ok((id, secret)) => {
                    assert_eq!(
                        presented.as_ref().ok(),
                        Some(&Presented {
                            method: AuthMethod::ClientSecretBasic,
                            client_id: id,
                            proof: Proof::Secret(secret),
                        })
                    )
                }
            }
        }
        None => match (form_id, form_secret) {
            (Some(id), Some(secret)) => assert_eq!(
                presented.as_ref().ok(),
                Some(&Presented {
                    method: AuthMethod::ClientSecretPost,
                    client_id: id.clone(),
                    proof: Proof::Secret(secret.clone()),
                })
            ),
            (Some(id), None) => assert_eq!(
                presented.as_ref().ok(),
                Some(&Presented {
                    method: AuthMethod::None,
                    client_id: id.clone(),
                    proof: Proof::Nothing,
                })
            ),
            _ => assert_eq!(code(presented), Some("invalid_client")),
        },
    }
}

fn code(result: &Result<Presented, OAuthError>) -> Option<&'static str> {
    result.as_ref().err().map(|e| e.code().as_str())
}

/// `grant_type` and the grant's typed request, as `grants::dispatch` reads them: a missing
/// `grant_type` is `invalid_request`, one grantd does not list `unsupported_grant_type`, and every
/// field the grant reads is the form's value, unchanged.
fn check_grant_request(fields: &Form) -> Option<GrantRequest> {
    let mut form = fields.clone();
    let grant = GrantRequest::grant_type(&mut form);
    let Some(name) = fields.get("grant_type") else {
        assert_eq!(
            grant.map_err(|e| e.code().as_str()).err(),
            Some("invalid_request")
        );
        return None;
    };
    let grant = match grant {
        Ok(grant) => grant,
        Err(e) => {
            assert!(!protocol::GRANT_TYPES.contains(&name.as_str()));
            assert_eq!(e.code().as_str(), "unsupported_grant_type");
            render(&e);
            return None;
        }
    };
    assert_eq!(grant.as_str(), name);
    assert_eq!(Some(grant), GrantType::parse(name));
    let request = match GrantRequest::parse(grant, form) {
        Ok(request) => request,
        Err(e) => {
            assert_eq!(e.code().as_str(), "invalid_request");
            let required = match grant {
                GrantType::AuthorizationCode => &["code", "redirect_uri"][..],
                GrantType::RefreshToken => &["refresh_token"][..],
                _ => panic!("{grant} refused a form: {e:?}"),
            };
            assert!(required.iter().any(|name| fields.get(*name).is_none()));
            render(&e);
            return None;
        }
    };
    let field = |name: &str| fields.get(name);
    match &request {
        GrantRequest::ClientCredentials(r) => {
            assert_eq!(r.scope.as_ref(), field("scope"));
            assert_eq!(r.targets.resource.as_slice(), fields.all("resource"));
            assert_eq!(r.targets.audience.as_slice(), fields.all("audience"));
        }
        GrantRequest::AuthorizationCode(r) => {
            assert_eq!(Some(&r.code), field("code"));
            assert_eq!(Some(&r.redirect_uri), field("redirect_uri"));
            assert_eq!(r.code_verifier.as_ref(), field("code_verifier"));
        }
        GrantRequest::RefreshToken(r) => {
            assert_eq!(Some(&r.refresh_token), field("refresh_token"));
            assert_eq!(r.scope.as_ref(), field("scope"));
        }
        GrantRequest::TokenExchange(r) => {
            for (name, value) in [
                ("scope", &r.scope),
                ("subject_token", &r.subject_token),
                ("subject_token_type", &r.subject_token_type),
                ("actor_token", &r.actor_token),
                ("actor_token_type", &r.actor_token_type),
                ("requested_token_type", &r.requested_token_type),
                ("credential_profile", &r.credential_profile),
            ] {
                assert_eq!(value.as_ref(), field(name), "{name}");
            }
            assert_eq!(r.targets.resource.as_slice(), fields.all("resource"));
            assert_eq!(r.targets.audience.as_slice(), fields.all("audience"));
        }
    }
    Some(request)
}

/// What the grants parse further: the scope, the URIs and the PKCE verifier.
fn parts(request: &GrantRequest) -> (Option<&str>, Vec<&String>, Option<&str>) {
    match request {
        GrantRequest::ClientCredentials(r) => (
            r.scope.as_deref(),
            r.targets
                .resource
                .iter()
                .chain(&r.targets.audience)
                .collect(),
            None,
        ),
        GrantRequest::AuthorizationCode(r) => {
            (None, vec![&r.redirect_uri], r.code_verifier.as_deref())
        }
        GrantRequest::RefreshToken(r) => (r.scope.as_deref(), Vec::new(), None),
        GrantRequest::TokenExchange(r) => (
            r.scope.as_deref(),
            r.targets
                .resource
                .iter()
                .chain(&r.targets.audience)
                .collect(),
            None,
        ),
    }
}

fn check_scope(scope: &str) {
    match ScopeSet::parse(scope) {
        Some(set) => {
            let tokens: std::collections::BTreeSet<&str> =
                scope.split(' ').filter(|t| !t.is_empty()).collect();
            assert!(set.iter().all(|t| domain::is_scope_token(t)));
            assert_eq!(
                set.iter().map(String::as_str).collect::<Vec<_>>(),
                tokens.into_iter().collect::<Vec<_>>()
            );
            // Its string form is canonical: it parses back to the same set.
            let shown = set.to_string();
            assert_eq!(ScopeSet::parse(&shown), Some(set.clone()));
            assert!(set.is_subset(&set) && set.intersection(&set) == set);
        }
        None => assert!(scope.split(' ').any(|t| !domain::is_scope_token(t))),
    }
}

/// The error must render to a response without panicking (header values, JSON).
fn render(error: &OAuthError) {
    let response = error.error_response();
    assert!(response.status().is_client_error());
}
