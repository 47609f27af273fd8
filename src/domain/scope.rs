//! Scopes per RFC 6749 §3.3: `scope = scope-token *( SP scope-token )`,
//! `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
use std::collections::BTreeSet;
use std::fmt;

/// A set of scope tokens, kept sorted so that its string form is stable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 128
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

impl ScopeSet {
    /// Parses a space-separated `scope` parameter. `None` for a syntax error.
    pub fn parse(value: &str) -> Option<Self> {
        if value.is_empty() {
            return Some(Self::default());
        }
        let mut set = BTreeSet::new();
        for token in value.split(' ') {
            if !is_scope_token(token) {
                return None;
            }
            set.insert(token.to_owned());
        }
        Some(Self(set))
    }

    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a String>) -> Self {
        Self(tokens.into_iter().cloned().collect())
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    pub fn iter(&self) -> impl Iterator<Item = &String> {
        self.0.iter()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_into_a_sorted_set() {
        assert_eq!(ScopeSet::parse("b a b").unwrap().to_string(), "a b");
    }

    #[test]
    fn a_double_space_is_a_syntax_error() {
        assert!(ScopeSet::parse("a  b").is_none());
    }

    #[test]
    fn quotes_backslashes_and_controls_are_refused() {
        for bad in ["a\"b", "a\\b", "a\u{7}", "é", "a\tb"] {
            assert!(ScopeSet::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_empty_string_is_no_scope() {
        assert!(ScopeSet::parse("").unwrap().is_empty());
    }

    #[test]
    fn subset_and_intersection_behave_as_sets() {
        let ab = ScopeSet::parse("a b").unwrap();
        let a = ScopeSet::parse("a").unwrap();
        assert!(a.is_subset(&ab));
        assert!(!ab.is_subset(&a));
        assert_eq!(
            ab.intersection(&ScopeSet::parse("b c").unwrap())
                .to_string(),
            "b"
        );
    }
}
