//! A requested `scope` against what may be granted: the one rule every grant (and the
//! authorization endpoint) applies.
use crate::domain::ScopeSet;
use crate::error::OAuthError;

/// Why a requested scope is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRefusal {
    Malformed,
    Exceeds,
}

/// The requested scope when it is within `allowed`; everything allowed when none is requested
/// (RFC 6749 §3.3 lets the server pick a default).
pub fn narrow(requested: Option<&str>, allowed: &ScopeSet) -> Result<ScopeSet, ScopeRefusal> {
    let Some(raw) = requested else {
        return Ok(allowed.clone());
    };
    let asked = ScopeSet::parse(raw).ok_or(ScopeRefusal::Malformed)?;
    if !asked.is_subset(allowed) {
        return Err(ScopeRefusal::Exceeds);
    }
    Ok(asked)
}

/// `narrow` for a grant: `invalid_scope`, saying `exceeds` when the scope is too wide.
pub fn within(
    requested: Option<&str>,
    allowed: &ScopeSet,
    exceeds: &'static str,
) -> Result<ScopeSet, OAuthError> {
    narrow(requested, allowed).map_err(|refusal| {
        OAuthError::invalid_scope(match refusal {
            ScopeRefusal::Malformed => "scope is malformed",
            ScopeRefusal::Exceeds => exceeds,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(raw: &str) -> ScopeSet {
        ScopeSet::parse(raw).unwrap()
    }

    #[test]
    fn nothing_requested_is_everything_allowed() {
        assert_eq!(within(None, &set("a b"), "x").unwrap(), set("a b"));
    }

    #[test]
    fn a_subset_is_granted_as_asked() {
        assert_eq!(within(Some("b"), &set("a b"), "x").unwrap(), set("b"));
    }

    #[test]
    fn more_than_allowed_or_malformed_is_invalid_scope() {
        let wider = within(Some("a c"), &set("a b"), "too wide").unwrap_err();
        assert_eq!(wider.code().as_str(), "invalid_scope");
        assert!(wider.to_string().contains("too wide"), "{wider}");
        let malformed = within(Some("a\"b"), &set("a b"), "too wide").unwrap_err();
        assert!(malformed.to_string().contains("malformed"), "{malformed}");
    }
}
