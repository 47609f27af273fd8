//! Redirect URIs: `domain::parse_absolute_uri` (run on each URI a client registers), the exact
//! string match of `GET /authorize` (`client.redirect_uris.iter().any(|r| r == uri)`), and the
//! redirect that follows (`routes::authorize::get::redirect_with`, private, so its URL handling
//! is copied below: parse, append `code`/`error`, `state` and `iss` to the query, serialize).
//!
//! The match itself is byte-for-byte string equality, so the property that matters is what it
//! implies: the exact string registered (and accepted) is the redirect target, and the redirect
//! built from it lands on the scheme, host, port and path it names, keeps its query, and adds
//! no fragment.
//!
//! Input: the URI a client registers, then optionally `\n` and a `state` value.
#![no_main]

use grantd::domain::parse_absolute_uri;
use libfuzzer_sys::fuzz_target;
use url::Url;

const ISSUER: &str = "https://auth.example.com/t/acme";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(accepted) = parse_absolute_uri(text) {
        check_accepted(text, &accepted);
    }
    let (registered, state) = match text.split_once('\n') {
        Some((uri, state)) => (uri, Some(state)),
        None => (text, None),
    };

    let Ok(accepted) = parse_absolute_uri(registered) else {
        return;
    };
    check_accepted(registered, &accepted);

    // The redirect lands where the registered URI points, and nowhere else.
    let base = Url::parse(registered).unwrap();
    for params in [
        &[("code", "c0de")][..],
        &[
            ("error", "access_denied"),
            ("error_description", "the user said no & left"),
        ][..],
    ] {
        let location = redirect_location(registered, params, state);
        let target = Url::parse(&location).expect("the Location we send does not parse");
        assert_eq!(
            target.as_str(),
            location,
            "Location is not in canonical form"
        );
        assert_eq!(target.scheme(), base.scheme());
        assert_eq!(target.host_str(), base.host_str());
        assert_eq!(target.port_or_known_default(), base.port_or_known_default());
        assert_eq!(target.username(), base.username());
        assert_eq!(target.password(), base.password());
        assert_eq!(target.path(), base.path(), "the redirect changed the path");
        assert_eq!(target.fragment(), None);
        // The registered query is kept, then our parameters follow, decodable as sent.
        let query = target.query().unwrap();
        if let Some(original) = base.query().filter(|q| !q.is_empty()) {
            assert!(query.starts_with(original), "{query:?} lost {original:?}");
        }
        let pairs: Vec<(String, String)> = target.query_pairs().into_owned().collect();
        let tail = &pairs[pairs.len() - params.len() - 1 - usize::from(state.is_some())..];
        let mut expected: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if let Some(state) = state {
            expected.push(("state".into(), state.into()));
        }
        expected.push(("iss".into(), ISSUER.into()));
        assert_eq!(tail, &expected[..]);
    }
});

fn check_accepted(registered: &str, accepted: &str) {
    // Kept exactly as written: redirect URIs are compared as strings.
    assert_eq!(accepted, registered);
    assert!(registered.len() <= 2000);
    assert!(!registered.contains('#'), "a fragment was accepted");
    assert!(
        !registered
            .chars()
            .any(|c| c.is_whitespace() || c.is_control()),
        "whitespace or a control character was accepted"
    );
    let url = Url::parse(registered).expect("accepted but not an absolute URI");
    assert!(url.fragment().is_none());
    assert!(!url.cannot_be_a_base() || url.scheme() == "urn");
}

/// The URL handling of `routes::authorize::get::redirect_with`.
fn redirect_location(redirect_uri: &str, params: &[(&str, &str)], state: Option<&str>) -> String {
    let mut url = Url::parse(redirect_uri).unwrap();
    {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in params {
            pairs.append_pair(name, value);
        }
        if let Some(state) = state {
            pairs.append_pair("state", state);
        }
        pairs.append_pair("iss", ISSUER);
    }
    url.to_string()
}
