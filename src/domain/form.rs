//! Strict `application/x-www-form-urlencoded` decoding: valid UTF-8 only, each name at most once
//! (RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once").
use std::collections::HashMap;

use percent_encoding::percent_decode;

/// Limits that keep a hostile form cheap to refuse.
pub const MAX_FIELDS: usize = 32;
pub const MAX_VALUE_LEN: usize = 8192;

#[derive(Debug, PartialEq, Eq)]
pub enum FormError {
    NotUtf8,
    Repeated(String),
    TooManyFields,
    ValueTooLong(String),
}

impl FormError {
    /// Text for the client: names the field, never its value.
    pub fn describe(&self) -> String {
        match self {
            Self::NotUtf8 => "the form is not valid UTF-8".into(),
            Self::Repeated(name) => format!("parameter `{name}` is repeated"),
            Self::TooManyFields => format!("the form has more than {MAX_FIELDS} parameters"),
            Self::ValueTooLong(name) => {
                format!("parameter `{name}` is longer than {MAX_VALUE_LEN} bytes")
            }
        }
    }
}

pub fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, FormError> {
    let mut fields = HashMap::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        if fields.len() >= MAX_FIELDS {
            return Err(FormError::TooManyFields);
        }
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let name = decode(name)?;
        let value = decode(value)?;
        if value.len() > MAX_VALUE_LEN {
            return Err(FormError::ValueTooLong(printable(&name)));
        }
        if fields.contains_key(&name) {
            return Err(FormError::Repeated(printable(&name)));
        }
        fields.insert(name, value);
    }
    Ok(fields)
}

fn decode(raw: &[u8]) -> Result<String, FormError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|_| FormError::NotUtf8)
}

/// A field name fit to quote back: short, printable.
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_and_percent_escapes_decode() {
        let form = parse_form(b"scope=a+b%20c&x=%3D").unwrap();
        assert_eq!(form["scope"], "a b c");
        assert_eq!(form["x"], "=");
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(parse_form(b"a=1&a=2"), Err(FormError::Repeated("a".into())));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert_eq!(parse_form(b"a=%ff%fe"), Err(FormError::NotUtf8));
    }

    #[test]
    fn too_many_fields_are_refused() {
        let body: String = (0..40).map(|i| format!("f{i}=1&")).collect();
        assert_eq!(parse_form(body.as_bytes()), Err(FormError::TooManyFields));
    }

    #[test]
    fn empty_pairs_are_skipped() {
        assert_eq!(parse_form(b"&&a=1&").unwrap().len(), 1);
    }
}
