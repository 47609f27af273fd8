/// Why a JWT or a JWK Set was not accepted. Neutral on purpose: each caller answers in its own
/// protocol's terms (RFC 6750 `invalid_token`, RFC 6749 `invalid_client` or `invalid_grant`,
/// RFC 9449 `invalid_dpop_proof`). The text names the rule that failed and never echoes the
/// input: it may become a public `error_description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported signing algorithm")]
    UnsupportedAlgorithm,
    #[error("unexpected token type")]
    WrongType,
    #[error("the token names no signing key")]
    NoKeyId,
    #[error("signed by an unknown key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("the token is of another issuer")]
    WrongIssuer,
    #[error("the token is for another audience")]
    WrongAudience,
    #[error("a required claim is missing")]
    MissingClaim,
    #[error("the token expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    /// A JWK carries private or symmetric key material (`d`, `p`, `k`, ...): whoever published
    /// it leaked a secret, and nothing of that set is used.
    #[error("a key set holds private key material")]
    PrivateKey,
    #[error("not a JWK Set")]
    NotAKeySet,
    /// The key set could not be fetched (network, status, size, timeout).
    #[error("the key set is unavailable")]
    Unavailable,
}

impl From<&jsonwebtoken::errors::ErrorKind> for JoseError {
    fn from(kind: &jsonwebtoken::errors::ErrorKind) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match kind {
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::MissingRequiredClaim(_) => Self::MissingClaim,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                Self::UnsupportedAlgorithm
            }
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            _ => Self::Malformed,
        }
    }
}
