//! Store options (`-o key=value`, an options file) and credentials (the environment or an
//! options file, never the command line).
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `connections` | 5 | requests in flight at once (restic's default) |
//! | `timeout` | 120 | seconds one call may take in all (a 64 MiB pack at 15 Mbit/s takes 36 s) |
//! | `io-timeout` | 30 | seconds without progress on a transfer before it is cut |
//! | `retries` | 5 | retries of a transient or throttled failure (the core's `RetryingStore`) |
//! | `retry-delay` | 0.5 | seconds: the first retry's backoff step, doubling after |
//! | `retry-max-delay` | 15 | seconds: the longest backoff step |
//! | `max-retry-after` | 60 | seconds: the longest `Retry-After` honoured; longer fails the call |
//! | `s3.region` | `AWS_DEFAULT_REGION`, else `us-east-1` | the bucket's region |
//! | `s3.virtual-host` | false | virtual-hosted requests (`BUCKET.HOST`) instead of path-style |
//!
//! Credentials, from the environment or an options file only:
//!
//! | store | environment | options file |
//! |---|---|---|
//! | S3 | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | `s3.access-key-id`, `s3.secret-access-key`, `s3.session-token` |
//! | WebDAV | `KEEPSAKE_WEBDAV_USER`, `KEEPSAKE_WEBDAV_PASSWORD` (or `KEEPSAKE_WEBDAV_TOKEN`, a bearer token) | `webdav.user`, `webdav.password`, `webdav.token` |
//! | GCS | `GOOGLE_APPLICATION_CREDENTIALS` (a service account key file) | `gs.credential-path` |
//! | Azure | `AZURE_ACCOUNT_NAME`, `AZURE_ACCOUNT_KEY` | `azure.account-name`, `azure.account-key` |
//!
//! An options file holds `key=value` lines (`#` starts a comment); a value there wins over the
//! environment. Secrets are kept in zeroizing strings and print as `<redacted>`.

use std::{fmt, path::Path, time::Duration};

use keepsake_core::{repo::RetryPolicy, Error, Result};
use zeroize::Zeroizing;

/// A secret value: wiped on drop, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Secret {
        Secret(Zeroizing::new(value))
    }

    /// The value, to hand to the store's client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Credentials for the remote stores; each store reads its own.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// S3 access key id (not secret on its own, but kept with its key).
    pub s3_access_key_id: Option<Secret>,
    /// S3 secret access key.
    pub s3_secret_access_key: Option<Secret>,
    /// S3 session token (temporary credentials).
    pub s3_session_token: Option<Secret>,
    /// WebDAV user.
    pub webdav_user: Option<Secret>,
    /// WebDAV password.
    pub webdav_password: Option<Secret>,
    /// WebDAV bearer token.
    pub webdav_token: Option<Secret>,
    /// Path of a GCS service account key file.
    pub gcs_credential_path: Option<String>,
    /// Azure storage account name.
    pub azure_account_name: Option<Secret>,
    /// Azure storage account key.
    pub azure_account_key: Option<Secret>,
}

/// Everything that configures a remote store, besides its location.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Requests in flight at once.
    pub connections: usize,
    /// The longest one call may take in all.
    pub timeout: Duration,
    /// The longest a transfer may go without progress.
    pub io_timeout: Duration,
    /// Retries of transient and throttled failures.
    pub retry: RetryPolicy,
    /// The S3 region.
    pub s3_region: String,
    /// Virtual-hosted S3 requests.
    pub s3_virtual_host: bool,
    /// Credentials.
    pub credentials: Credentials,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            connections: 5,
            timeout: Duration::from_secs(120),
            io_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            s3_region: "us-east-1".into(),
            s3_virtual_host: false,
            credentials: Credentials::default(),
        }
    }
}

/// Keys that name a credential: accepted from an options file, refused on the command line.
const CREDENTIAL_KEYS: &[&str] = &[
    "s3.access-key-id",
    "s3.secret-access-key",
    "s3.session-token",
    "webdav.user",
    "webdav.password",
    "webdav.token",
    "gs.credential-path",
    "azure.account-name",
    "azure.account-key",
];

impl StoreOptions {
    /// The defaults with the credentials and region the environment gives.
    pub fn from_env() -> StoreOptions {
        Self::from_lookup(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
    }

    /// The defaults with credentials from `lookup` (the environment, in tests a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> StoreOptions {
        let secret = |key: &str| lookup(key).map(Secret::new);
        StoreOptions {
            s3_region: lookup("AWS_DEFAULT_REGION")
                .or_else(|| lookup("AWS_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            credentials: Credentials {
                s3_access_key_id: secret("AWS_ACCESS_KEY_ID"),
                s3_secret_access_key: secret("AWS_SECRET_ACCESS_KEY"),
                s3_session_token: secret("AWS_SESSION_TOKEN"),
                webdav_user: secret("KEEPSAKE_WEBDAV_USER"),
                webdav_password: secret("KEEPSAKE_WEBDAV_PASSWORD"),
                webdav_token: secret("KEEPSAKE_WEBDAV_TOKEN"),
                gcs_credential_path: lookup("GOOGLE_APPLICATION_CREDENTIALS"),
                azure_account_name: secret("AZURE_ACCOUNT_NAME"),
                azure_account_key: secret("AZURE_ACCOUNT_KEY"),
            },
            ..StoreOptions::default()
        }
    }

    /// Applies one `-o key=value` from the command line; a credential key is refused.
    pub fn apply_arg(&mut self, option: &str) -> Result<()> {
        let (key, value) = option.split_once('=').ok_or_else(|| {
            Error::InvalidArgument(format!("store option {option:?} is not key=value"))
        })?;
        let key = key.trim();
        if CREDENTIAL_KEYS.contains(&key) {
            return Err(Error::InvalidArgument(format!(
                "{key} is a credential: give it in the environment or an options file, never \
                 on the command line"
            )));
        }
        self.apply(key, value.trim())
    }

    /// Reads an options file: `key=value` lines, credentials allowed.
    pub fn apply_file(&mut self, path: &Path) -> Result<()> {
        let text =
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io_at(path, e))?);
        self.apply_text(&text, &path.display().to_string())
    }

    /// Applies the lines of an options file read by the caller; `origin` names it in errors.
    pub fn apply_text(&mut self, text: &str, origin: &str) -> Result<()> {
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once('=').ok_or_else(|| {
                Error::InvalidArgument(format!("{origin} line {}: not key=value", number + 1))
            })?;
            self.apply(key.trim(), value.trim()).map_err(|e| {
                Error::InvalidArgument(format!("{origin} line {}: {e}", number + 1))
            })?;
        }
        Ok(())
    }

    fn apply(&mut self, key: &str, value: &str) -> Result<()> {
        let secret = || Some(Secret::new(value.to_owned()));
        let c = &mut self.credentials;
        match key {
            "connections" => {
                self.connections = number(key, value)?;
                if !(1..=64).contains(&self.connections) {
                    return Err(bad(key, value, "1 to 64"));
                }
            }
            "timeout" => self.timeout = seconds(key, value)?,
            "io-timeout" => self.io_timeout = seconds(key, value)?,
            "retries" => self.retry.attempts = number::<u32>(key, value)?.saturating_add(1),
            "retry-delay" => self.retry.base_delay = seconds(key, value)?,
            "retry-max-delay" => self.retry.max_delay = seconds(key, value)?,
            "max-retry-after" => self.retry.max_retry_after = seconds(key, value)?,
            "s3.region" => self.s3_region = value.to_owned(),
            "s3.virtual-host" => {
                self.s3_virtual_host = match value {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(bad(key, value, "true or false")),
                }
            }
            "s3.access-key-id" => c.s3_access_key_id = secret(),
            "s3.secret-access-key" => c.s3_secret_access_key = secret(),
            "s3.session-token" => c.s3_session_token = secret(),
            "webdav.user" => c.webdav_user = secret(),
            "webdav.password" => c.webdav_password = secret(),
            "webdav.token" => c.webdav_token = secret(),
            "gs.credential-path" => c.gcs_credential_path = Some(value.to_owned()),
            "azure.account-name" => c.azure_account_name = secret(),
            "azure.account-key" => c.azure_account_key = secret(),
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "unknown store option {key:?} (docs/STORES.md lists them)"
                )))
            }
        }
        Ok(())
    }
}

/// An invalid value; the value is shown only for keys that are not credentials.
fn bad(key: &str, value: &str, want: &str) -> Error {
    Error::InvalidArgument(format!("store option {key}={value:?}: expected {want}"))
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| bad(key, value, "a whole number"))
}

fn seconds(key: &str, value: &str) -> Result<Duration> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| bad(key, value, "seconds, 0 to 86400"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn options_apply_and_bad_ones_are_refused() {
        let mut options = StoreOptions::default();
        for arg in [
            "connections=8",
            "timeout=30",
            "io-timeout=2.5",
            "retries=2",
            "retry-delay=0.1",
            "s3.region=eu-west-1",
            "s3.virtual-host=true",
        ] {
            options.apply_arg(arg).unwrap();
        }
        assert_eq!(options.connections, 8);
        assert_eq!(options.timeout, Duration::from_secs(30));
        assert_eq!(options.io_timeout, Duration::from_millis(2500));
        assert_eq!(options.retry.attempts, 3);
        assert_eq!(options.retry.base_delay, Duration::from_millis(100));
        assert_eq!(options.s3_region, "eu-west-1");
        assert!(options.s3_virtual_host);
        for bad in [
            "connections=0",
            "timeout=-1",
            "colour=blue",
            "retries",
            "s3.virtual-host=yes",
        ] {
            assert!(options.apply_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_come_from_the_environment_or_a_file_never_from_an_argument() {
        let env: HashMap<&str, &str> = [
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
            ("AWS_DEFAULT_REGION", "eu-central-1"),
            ("KEEPSAKE_WEBDAV_USER", "alice"),
        ]
        .into();
        let mut options = StoreOptions::from_lookup(|k| env.get(k).map(|v| (*v).to_owned()));
        assert_eq!(options.s3_region, "eu-central-1");
        assert_eq!(
            options
                .credentials
                .s3_secret_access_key
                .as_ref()
                .map(Secret::expose),
            Some("wJalrXUtnFEMI")
        );
        let printed = format!("{options:?}");
        assert!(
            !printed.contains("wJalrXUtnFEMI") && !printed.contains("alice"),
            "{printed}"
        );

        let err = options
            .apply_arg("s3.secret-access-key=hunter2")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("never on the command line") && !err.contains("hunter2"),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("store.conf");
        std::fs::write(
            &file,
            "# test server\nwebdav.password = s3cret\nconnections=3\n",
        )
        .unwrap();
        options.apply_file(&file).unwrap();
        assert_eq!(
            options
                .credentials
                .webdav_password
                .as_ref()
                .map(Secret::expose),
            Some("s3cret")
        );
        assert_eq!(options.connections, 3);
        std::fs::write(&file, "webdav.password\n").unwrap();
        assert!(options.apply_file(&file).is_err());
    }
}
