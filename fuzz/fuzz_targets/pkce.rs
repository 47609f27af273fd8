//! PKCE (RFC 7636, S256 only): `pkce::is_valid_verifier`, `is_valid_challenge`, `verify_s256`,
//! checked against a challenge computed here independently.
//!
//! Input: a verifier, then optionally `\n` and a presented challenge. The last byte of the input
//! also picks which byte of the verifier is changed to make a different verifier.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd::pkce::{is_valid_challenge, is_valid_verifier, verify_s256};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (verifier, presented) = match text.split_once('\n') {
        Some((v, c)) => (v, Some(c)),
        None => (&*text, None),
    };

    // RFC 7636 §4.1: code-verifier = 43*128unreserved.
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    assert_eq!(
        is_valid_verifier(verifier),
        (43..=128).contains(&verifier.len()) && verifier.bytes().all(unreserved),
        "{verifier:?}"
    );

    // The right challenge always verifies, whatever the verifier (validity is checked apart).
    let challenge = s256(verifier);
    assert!(is_valid_challenge(&challenge));
    assert!(verify_s256(verifier, &challenge));

    // Nothing else does: any other challenge string...
    if let Some(presented) = presented {
        assert_eq!(verify_s256(verifier, presented), presented == challenge);
        let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        assert_eq!(
            is_valid_challenge(presented),
            presented.len() == 43 && presented.bytes().all(base64url)
        );
        // ... including its padded, standard-alphabet and case-changed spellings.
        for near in [
            format!("{challenge}="),
            challenge.replace('-', "+").replace('_', "/"),
            challenge.to_ascii_uppercase(),
            challenge[..42].to_owned(),
        ] {
            if near != challenge {
                assert!(!verify_s256(verifier, &near), "{near:?}");
            }
        }
    }

    // ... and no other verifier: change one byte, or add or drop one.
    let pick = usize::from(*data.last().unwrap_or(&0));
    let mut others: Vec<String> = vec![format!("{verifier}a"), format!("a{verifier}")];
    if !verifier.is_empty() {
        let bytes = verifier.as_bytes();
        let i = pick % bytes.len();
        let mut changed = bytes.to_vec();
        changed[i] = if bytes[i] == b'~' { b'-' } else { b'~' };
        others.push(String::from_utf8_lossy(&changed).into_owned());
        others.push(String::from_utf8_lossy(&bytes[..bytes.len() - 1]).into_owned());
        others.push(verifier.to_ascii_uppercase());
        others.push(verifier.trim().to_owned());
    }
    for other in others {
        if other != verifier {
            assert!(
                !verify_s256(&other, &challenge),
                "{other:?} verified the challenge of {verifier:?}"
            );
        }
    }
});

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}
