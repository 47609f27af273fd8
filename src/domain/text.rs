//! Validation of the admin API's free-text and identifier fields. Each returns a message that
//! names no value, so that an error never echoes what was sent.

/// Tenant slugs: `[a-z0-9-]{1,63}`.
pub fn parse_slug(value: &str) -> Result<String, &'static str> {
    if value.is_empty() || value.len() > 63 {
        return Err("must be 1 to 63 characters");
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("may hold only a-z, 0-9 and '-'");
    }
    Ok(value.to_owned())
}

/// Could this be a client id grantd generated? (URL-safe characters, at most 64.) Anything else
/// is unknown without a database look-up, which also keeps NUL bytes away from PostgreSQL.
pub fn is_client_id_shape(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Display names: 1 to 200 characters, no control characters.
pub fn parse_display_name(value: &str) -> Result<String, &'static str> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 200 {
        return Err("must be 1 to 200 characters");
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(trimmed.to_owned())
}

/// Usernames: 1 to 255 characters, no whitespace or control characters.
pub fn parse_username(value: &str) -> Result<String, &'static str> {
    if value.is_empty() || value.chars().count() > 255 {
        return Err("must be 1 to 255 characters");
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters");
    }
    Ok(value.to_owned())
}

/// An absolute URI without a fragment (RFC 6749 §3.1.2), kept exactly as written: redirect URIs
/// are compared as registered strings.
pub fn parse_absolute_uri(value: &str) -> Result<String, &'static str> {
    if value.len() > 2000 {
        return Err("must be at most 2000 characters");
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters");
    }
    let url = url::Url::parse(value).map_err(|_| "must be an absolute URI")?;
    // Schemes a browser would run or read locally are never a redirect target; `file:` URLs
    // are also rewritten by the url crate (host dropped), so the redirect could differ from the
    // registered string.
    if matches!(
        url.scheme(),
        "file" | "javascript" | "data" | "vbscript" | "blob"
    ) {
        return Err("must not use the file, javascript, data, vbscript or blob scheme");
    }
    if url.fragment().is_some() {
        return Err("must not contain a fragment");
    }
    if url.cannot_be_a_base() && !matches!(url.scheme(), "urn") {
        return Err("must be a hierarchical URI");
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_lowercase_digits_and_dashes() {
        assert!(parse_slug("acme-2").is_ok());
    }

    #[test]
    fn slugs_refuse_uppercase_spaces_and_length() {
        for bad in [
            "Acme",
            "a b",
            "",
            &"a".repeat(64),
            "a_b",
            "a'; DROP TABLE tenant;--",
        ] {
            assert!(parse_slug(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_refuse_control_characters() {
        assert!(parse_display_name("a\u{0}b").is_err());
        assert!(parse_display_name("   ").is_err());
        assert_eq!(parse_display_name(" Acme ").unwrap(), "Acme");
    }

    #[test]
    fn redirect_uris_must_be_absolute_without_fragment() {
        assert!(parse_absolute_uri("https://app.example.com/cb").is_ok());
        assert!(parse_absolute_uri("http://127.0.0.1:9000/cb?x=1").is_ok());
        assert!(parse_absolute_uri("/cb").is_err());
        assert!(parse_absolute_uri("https://app.example.com/cb#frag").is_err());
        assert!(parse_absolute_uri("https://app.example.com/c b").is_err());
    }

    #[test]
    fn redirect_uris_refuse_local_and_script_schemes() {
        for bad in [
            "file://0\\\\A:",
            "file:///etc/passwd",
            "javascript://%0aalert(1)",
            "data://x/y",
            "vbscript://x",
        ] {
            assert!(parse_absolute_uri(bad).is_err(), "{bad}");
        }
        assert!(
            parse_absolute_uri("com.example.app://callback").is_ok(),
            "native app schemes stay allowed"
        );
    }
}
