//! Wire vocabulary: grant types, token types, lifetimes and the token endpoint's answer.
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

pub const GRANT_TYPES: [&str; 4] = [
    GRANT_CLIENT_CREDENTIALS,
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_TOKEN_EXCHANGE,
];

/// The grants of the token endpoint. Matches on it are exhaustive, so a new grant that is not
/// wired up everywhere does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    ClientCredentials,
    AuthorizationCode,
    RefreshToken,
    TokenExchange,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        Self::ClientCredentials,
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::TokenExchange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => GRANT_CLIENT_CREDENTIALS,
            Self::AuthorizationCode => GRANT_AUTHORIZATION_CODE,
            Self::RefreshToken => GRANT_REFRESH_TOKEN,
            Self::TokenExchange => GRANT_TOKEN_EXCHANGE,
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == value)
    }
}

impl std::fmt::Display for GrantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const TOKEN_TYPE_API_KEY: &str = "urn:grantd:token-type:api-key";

/// The token endpoint's parameters that may be sent several times: RFC 8707 §2 ("The client MAY
/// use the resource parameter multiple times") and RFC 8693 §2.1 (`audience`, likewise). Every
/// other name appears at most once (RFC 6749 §3.1).
pub const REPEATABLE_PARAMETERS: [&str; 2] = ["resource", "audience"];

/// What every app API key starts with, so that a key is told from a token at a glance.
pub const API_KEY_PREFIX: &str = "gk_";

/// The provenance id (`src[].jti`) of an API key: deleting the key marks it, and with it every
/// token exchanged from the key.
pub fn api_key_source(key_id: uuid::Uuid) -> String {
    format!("apikey:{key_id}")
}

/// How long a resource server may cache a tenant's JWKS; key rotation publishes a new key this
/// long before it signs with it.
pub const JWKS_MAX_AGE_SECS: u64 = 300;

/// Access-token lifetimes of the contract, in seconds.
pub const ACCESS_TOKEN_TTL: i64 = 600;
pub const APP_SCOPED_TOKEN_TTL: i64 = 300;
pub const REFRESH_TOKEN_TTL: i64 = 30 * 24 * 3600;
pub const AUTHORIZATION_CODE_TTL: i64 = 60;

/// The contract's default lifetime of an access token: shorter when it is scoped to one app.
pub fn access_token_ttl(app_scoped: bool) -> i64 {
    if app_scoped {
        APP_SCOPED_TOKEN_TTL
    } else {
        ACCESS_TOKEN_TTL
    }
}

/// RFC 6749 §5.1 (and RFC 8693 §2.2.1) success body.
#[derive(Debug, serde::Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// `Bearer`, or the sender constraint's scheme: set by `grants::issuance` only.
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}
