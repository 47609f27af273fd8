//! Wire vocabulary: grant types, token types and the token endpoint's form.
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

pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const TOKEN_TYPE_API_KEY: &str = "urn:grantd:token-type:api-key";

/// Client authentication at the token and revocation endpoints (RFC 7009 §2.1 lets public
/// clients revoke their own tokens).
pub const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];
/// Introspection takes confidential clients only: `none` is not listed because it does not work
/// there (RFC 8414 §2 lists what the endpoint supports).
pub const INTROSPECTION_AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

/// The token endpoint's parameters that may be sent several times: RFC 8707 §2 ("The client MAY
/// use the resource parameter multiple times") and RFC 8693 §2.1 (`audience`, likewise). Every
/// other name appears at most once (RFC 6749 §3.1).
pub const REPEATABLE_PARAMETERS: [&str; 2] = ["resource", "audience"];

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

/// The token endpoint's parameters. Every field stays a string here; grants parse them.
/// `resource` and `audience` keep every value sent, in order (`REPEATABLE_PARAMETERS`).
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub scope: Option<String>,
    pub resource: Vec<String>,
    pub audience: Vec<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub subject_token: Option<String>,
    pub subject_token_type: Option<String>,
    pub actor_token: Option<String>,
    pub actor_token_type: Option<String>,
    pub requested_token_type: Option<String>,
    pub credential_profile: Option<String>,
}

impl TokenRequest {
    pub fn from_form(mut form: crate::domain::Form) -> Self {
        let resource = form.take_all("resource");
        let audience = form.take_all("audience");
        let mut take = |name: &str| form.take(name);
        Self {
            grant_type: take("grant_type"),
            scope: take("scope"),
            resource,
            audience,
            code: take("code"),
            redirect_uri: take("redirect_uri"),
            code_verifier: take("code_verifier"),
            refresh_token: take("refresh_token"),
            subject_token: take("subject_token"),
            subject_token_type: take("subject_token_type"),
            actor_token: take("actor_token"),
            actor_token_type: take("actor_token_type"),
            requested_token_type: take("requested_token_type"),
            credential_profile: take("credential_profile"),
        }
    }
}

/// RFC 6749 §5.1 (and RFC 8693 §2.2.1) success body.
#[derive(Debug, serde::Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}
