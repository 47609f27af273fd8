//! Settings: `GRANTD_*` environment variables, each overridable by a flag of the same name.
//! Nothing else in grantd reads the environment.
use std::num::NonZeroUsize;
use std::path::PathBuf;

use base64::Engine;
use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

use crate::client_address::TrustedProxies;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything `grantd` can be told at start.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Listen address.
    #[arg(
        long = "bind",
        env = "GRANTD_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,
    /// Base of every issuer URL; default `http://` + bind.
    #[arg(long = "public-url", env = "GRANTD_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// SeaORM database URL.
    #[arg(
        long = "database-url",
        env = "GRANTD_DATABASE_URL",
        default_value = "sqlite://grantd.db?mode=rwc",
        global = true
    )]
    pub database_url: SecretString,
    /// Redis URL; unset = an in-process store for a single node.
    #[arg(long = "redis-url", env = "GRANTD_REDIS_URL", global = true)]
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key, so that several deployments (or tests) can share a server.
    #[arg(
        long = "redis-prefix",
        env = "GRANTD_REDIS_PREFIX",
        default_value = "grantd",
        global = true
    )]
    pub redis_prefix: String,
    /// Bearer token of the admin API; unset = the admin API answers 401 to everyone.
    #[arg(long = "admin-token", env = "GRANTD_ADMIN_TOKEN", global = true)]
    pub admin_token: Option<SecretString>,
    /// 32 bytes, base64: encrypts signing keys and credential-profile secrets at rest.
    #[arg(long = "master-key", env = "GRANTD_MASTER_KEY", global = true)]
    pub master_key: Option<SecretString>,
    /// `text` or `json`.
    #[arg(
        long = "log-format",
        env = "GRANTD_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
    /// HTTP worker threads; default one per CPU core.
    #[arg(long = "workers", env = "GRANTD_WORKERS", global = true)]
    pub workers: Option<NonZeroUsize>,
    /// Connections each worker serves at once; further ones wait in the listen backlog.
    #[arg(
        long = "max-connections",
        env = "GRANTD_MAX_CONNECTIONS",
        default_value_t = NonZeroUsize::new(10_000).expect("not zero"),
        global = true
    )]
    pub max_connections: NonZeroUsize,
    /// Comma-separated IP addresses and CIDR blocks of reverse proxies whose `X-Forwarded-For`
    /// names the client's address; empty = the TCP peer is the client.
    #[arg(
        long = "trusted-proxies",
        env = "GRANTD_TRUSTED_PROXIES",
        default_value = "",
        global = true
    )]
    pub trusted_proxies: TrustedProxies,
}

impl Settings {
    /// The base of every issuer URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        derive_public_url(self.public_url.as_deref(), &self.bind)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose_secret().starts_with("sqlite:")
    }

    /// The master key, or the dev fallback: a key file beside the SQLite database.
    pub fn load_master_key(&self) -> anyhow::Result<[u8; 32]> {
        if let Some(encoded) = &self.master_key {
            return decode_master_key(encoded.expose_secret());
        }
        let Some(path) = self.master_key_file() else {
            anyhow::bail!("GRANTD_MASTER_KEY must be set when the database is not SQLite");
        };
        if let Ok(existing) = std::fs::read_to_string(&path) {
            return decode_master_key(existing.trim());
        }
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        let encoded = base64::engine::general_purpose::STANDARD.encode(key);
        write_private_file(&path, &encoded)?;
        Ok(key)
    }

    /// Where the dev master key lives: `<database file>.master-key`, for a file-backed SQLite URL.
    pub fn master_key_file(&self) -> Option<PathBuf> {
        let url = self.database_url.expose_secret();
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return None;
        }
        Some(PathBuf::from(format!("{path}.master-key")))
    }

    /// Refuses settings that would start a server other than the one the operator meant.
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(token) = &self.admin_token {
            check_admin_token(token.expose_secret())?;
        }
        Ok(())
    }

    /// One warning for each default that is fine on a laptop and wrong in production.
    pub fn dev_default_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.redis_url.is_none() {
            warnings.push(
                "GRANTD_REDIS_URL is unset: using the in-process store; codes, refresh tokens and revocations live in this process only (single node, lost on restart)".to_owned(),
            );
        }
        if self.master_key.is_none() {
            let place = self
                .master_key_file()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "nowhere".into());
            warnings.push(format!(
                "GRANTD_MASTER_KEY is unset: using a key file at {place}; keep it out of backups of the database"
            ));
        }
        if self.admin_token.is_none() {
            warnings.push("GRANTD_ADMIN_TOKEN is unset: the admin API answers 401 to everyone (the CLI still works)".to_owned());
        }
        if self
            .admin_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().chars().count() < SHORT_ADMIN_TOKEN)
        {
            warnings.push(format!("GRANTD_ADMIN_TOKEN is shorter than {SHORT_ADMIN_TOKEN} characters: use a long random value (e.g. openssl rand -hex 24)"));
        }
        if self.is_sqlite() {
            warnings.push("using SQLite: fine for one node; use PostgreSQL (GRANTD_DATABASE_URL=postgres://…) to run several".to_owned());
        }
        if !self.public_url().starts_with("https://") {
            warnings.push(format!(
                "GRANTD_PUBLIC_URL is {}: serve grantd over https in production",
                self.public_url()
            ));
        }
        warnings
    }
}

/// Below this many characters an admin token starts with a warning: short ones are guessable,
/// but refusing them would break setups (and examples) that use one on a laptop.
const SHORT_ADMIN_TOKEN: usize = 16;

/// An empty admin token is refused rather than taken: it would look configured while it is a
/// value anyone can send. Surrounding whitespace is refused too: the admin API trims what it is
/// sent, so no request could ever match such a token.
fn check_admin_token(token: &str) -> anyhow::Result<()> {
    if token.trim().is_empty() {
        anyhow::bail!(
            "GRANTD_ADMIN_TOKEN is set but empty: set it to a long random value, or leave it unset to turn the admin API off (the CLI still works)"
        );
    }
    if token.trim() != token {
        anyhow::bail!(
            "GRANTD_ADMIN_TOKEN starts or ends with whitespace, which no request can present: remove it"
        );
    }
    Ok(())
}

fn derive_public_url(public_url: Option<&str>, bind: &str) -> String {
    match public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{bind}"),
    }
}

fn decode_master_key(encoded: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| anyhow::anyhow!("the master key is not valid base64"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("the master key must be exactly 32 bytes"))
}

fn write_private_file(path: &PathBuf, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_defaults_to_http_plus_bind() {
        assert_eq!(
            derive_public_url(None, "127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn public_url_loses_its_trailing_slash() {
        assert_eq!(
            derive_public_url(Some("https://id.example.com/"), "x"),
            "https://id.example.com"
        );
    }

    #[test]
    fn an_empty_admin_token_is_refused() {
        let error = check_admin_token("").unwrap_err().to_string();
        assert!(error.contains("GRANTD_ADMIN_TOKEN"), "{error}");
        assert!(error.contains("leave it unset"), "{error}");
    }

    #[test]
    fn a_whitespace_only_admin_token_is_refused() {
        assert!(check_admin_token(" \t ").is_err());
    }

    #[test]
    fn an_admin_token_with_surrounding_whitespace_is_refused() {
        assert!(check_admin_token("a-long-random-token ").is_err());
    }

    #[test]
    fn a_short_admin_token_is_taken_with_a_warning() {
        assert!(check_admin_token("admin").is_ok());
        let mut settings = <Settings as clap::FromArgMatches>::from_arg_matches(
            &<Settings as Args>::augment_args(clap::Command::new("t"))
                .try_get_matches_from(["t", "--admin-token", "admin"])
                .unwrap(),
        )
        .unwrap();
        assert!(settings
            .dev_default_warnings()
            .iter()
            .any(|w| w.contains("shorter than 16")));
        settings.admin_token = Some(SecretString::from("a-long-enough-random-value"));
        assert!(!settings
            .dev_default_warnings()
            .iter()
            .any(|w| w.contains("shorter than")));
    }

    #[test]
    fn trusted_proxies_default_to_none() {
        let settings = <Settings as clap::FromArgMatches>::from_arg_matches(
            &<Settings as Args>::augment_args(clap::Command::new("t"))
                .try_get_matches_from(["t"])
                .unwrap(),
        )
        .unwrap();
        assert!(settings.trusted_proxies.is_empty());
    }

    #[test]
    fn a_short_master_key_is_refused() {
        assert!(decode_master_key("c2hvcnQ=").is_err());
    }

    #[test]
    fn a_32_byte_master_key_is_accepted() {
        let encoded = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(decode_master_key(&encoded).unwrap(), [7u8; 32]);
    }
}
