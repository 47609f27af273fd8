//! Parsed values: once a string becomes one of these, it is known to be well formed.
mod exchange_policy;
mod form;
mod ids;
mod numbers;
mod scope;
mod text;

pub use exchange_policy::ExchangePolicy;
pub use form::{parse_form, parse_form_with_lists, Form, FormError};
pub use ids::{AppId, TenantId, UserId};
pub use numbers::{whole_number, whole_number_opt};
pub use scope::{is_scope_token, ScopeSet};
pub use text::{
    is_client_id_shape, parse_absolute_uri, parse_display_name, parse_slug, parse_username,
};
