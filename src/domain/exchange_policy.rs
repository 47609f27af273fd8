//! A client's token-exchange policy (RFC 8693), stored with the client. Absent, a client with
//! the exchange grant may present both subject token types, may not act for others, and gets at
//! most the app-scoped default lifetime.
use serde::{Deserialize, Serialize};

use crate::protocol;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExchangePolicy {
    #[serde(default = "default_subject_token_types")]
    pub subject_token_types: Vec<String>,
    #[serde(default)]
    pub may_act: bool,
    #[serde(
        default = "default_max_lifetime",
        deserialize_with = "super::whole_number"
    )]
    pub max_lifetime_seconds: i64,
}

fn default_subject_token_types() -> Vec<String> {
    vec![
        protocol::TOKEN_TYPE_ACCESS_TOKEN.to_owned(),
        protocol::TOKEN_TYPE_API_KEY.to_owned(),
    ]
}

fn default_max_lifetime() -> i64 {
    protocol::APP_SCOPED_TOKEN_TTL
}

impl Default for ExchangePolicy {
    fn default() -> Self {
        Self {
            subject_token_types: default_subject_token_types(),
            may_act: false,
            max_lifetime_seconds: default_max_lifetime(),
        }
    }
}
