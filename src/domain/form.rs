//! Strict `application/x-www-form-urlencoded` decoding: valid UTF-8 only, each name at most once
//! (RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once"),
//! except the names a caller lets repeat because a later RFC says so (RFC 8707 §2 `resource`,
//! RFC 8693 §2.1 `audience`).
use std::collections::HashMap;
use std::ops::Deref;

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

/// A decoded form: the names that may appear once, and the values of the names allowed to repeat,
/// in the order sent. A repeatable name is only ever in the lists, even when sent once, so that
/// no reader can take one of several values for the whole.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form {
    single: HashMap<String, String>,
    lists: HashMap<String, Vec<String>>,
}

impl Form {
    /// Every value of a repeatable name; empty when it was not sent.
    pub fn all(&self, name: &str) -> &[String] {
        self.lists.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// Takes a name that may appear once out of the form.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.single.remove(name)
    }

    /// Takes every value of a repeatable name out of the form.
    pub fn take_all(&mut self, name: &str) -> Vec<String> {
        self.lists.remove(name).unwrap_or_default()
    }
}

/// Reading a form is reading its single-valued names, as before lists existed.
impl Deref for Form {
    type Target = HashMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.single
    }
}

/// Every name at most once.
pub fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, FormError> {
    parse_form_with_lists(body, &[]).map(|form| form.single)
}

/// Every name at most once except those in `repeatable`, which are collected as lists. The limits
/// count every pair, repeated or not.
pub fn parse_form_with_lists(body: &[u8], repeatable: &[&str]) -> Result<Form, FormError> {
    let mut form = Form::default();
    let pairs = body.split(|&b| b == b'&').filter(|p| !p.is_empty());
    for (seen, pair) in pairs.enumerate() {
        if seen >= MAX_FIELDS {
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
        if repeatable.contains(&name.as_str()) {
            form.lists.entry(name).or_default().push(value);
            continue;
        }
        if form.single.contains_key(&name) {
            return Err(FormError::Repeated(printable(&name)));
        }
        form.single.insert(name, value);
    }
    Ok(form)
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
    fn repeatable_names_are_collected_in_order_and_others_stay_strict() {
        let mut form =
            parse_form_with_lists(b"resource=a&x=1&resource=b&resource=a", &["resource"]).unwrap();
        assert_eq!(form.all("resource"), ["a", "b", "a"]);
        assert_eq!(
            form.get("resource"),
            None,
            "a list is never read as one value"
        );
        assert_eq!(form.take("x").as_deref(), Some("1"));
        assert_eq!(form.take_all("resource").len(), 3);
        assert_eq!(
            parse_form_with_lists(b"resource=a&x=1&x=2", &["resource"]),
            Err(FormError::Repeated("x".into()))
        );
    }

    #[test]
    fn repeated_values_count_towards_the_field_limit() {
        let body: String = (0..40).map(|_| "resource=a&").collect();
        assert_eq!(
            parse_form_with_lists(body.as_bytes(), &["resource"]),
            Err(FormError::TooManyFields)
        );
    }

    #[test]
    fn a_repeatable_name_sent_once_is_a_list_of_one() {
        let form = parse_form_with_lists(b"audience=x", &["audience", "resource"]).unwrap();
        assert_eq!(form.all("audience"), ["x"]);
        assert!(form.all("resource").is_empty());
    }

    #[test]
    fn empty_pairs_are_skipped() {
        assert_eq!(parse_form(b"&&a=1&").unwrap().len(), 1);
    }
}
