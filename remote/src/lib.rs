//! Remote blob stores for Keepsake repositories: S3-compatible storage, WebDAV, Google Cloud
//! Storage and Azure Blob Storage, through Apache OpenDAL (pinned; `docs/STORES.md` says why
//! OpenDAL and what each store guarantees). For the CLI and Rust users: neither the core nor
//! the mobile library links this crate; apps keep implementing `BlobStore` over their own
//! cloud SDK.
//!
//! ```no_run
//! use keepsake_remote::{open, Location, StoreOptions};
//! let location = Location::parse("s3:http://127.0.0.1:9000/backups/alice")?;
//! let store = open(&location, &StoreOptions::from_env())?; // retries included
//! # Ok::<(), keepsake_core::Error>(())
//! ```

mod classify;
pub mod location;
pub mod options;
mod store;
mod webdav;

use std::sync::Arc;

use keepsake_core::{
    repo::{BlobStore, DirStore, RetryingStore},
    Error, Result,
};
use opendal::{services, Operator};

pub use location::Location;
pub use options::{Credentials, Secret, StoreOptions};
pub use store::RemoteStore;

/// Opens the store at `location`, wrapped in the core's `RetryingStore` with `options.retry`:
/// a directory is the core's directory store, anything else a [`RemoteStore`].
pub fn open(location: &Location, options: &StoreOptions) -> Result<Arc<dyn BlobStore>> {
    let raw = open_raw(location, options)?;
    Ok(Arc::new(RetryingStore::new(raw, options.retry)))
}

/// Opens the store at `location` without retries (for a caller that wraps it itself, e.g.
/// with a counting store beneath the retries).
pub fn open_raw(location: &Location, options: &StoreOptions) -> Result<Arc<dyn BlobStore>> {
    if let Location::Directory(path) = location {
        return Ok(Arc::new(DirStore::open(path)?));
    }
    install_tls_provider();
    // One client for OpenDAL's requests and the WebDAV conditional create: one connection
    // pool; the whole-call timeout is OpenDAL's layer, so the client only bounds connecting.
    let client = reqwest::Client::builder()
        .connect_timeout(options.io_timeout)
        .pool_max_idle_per_host(options.connections)
        .build()
        .map_err(|e| Error::InvalidArgument(format!("cannot set up the HTTP client: {e}")))?;
    let credentials = &options.credentials;
    let (op, webdav_create) = match location {
        Location::Directory(_) => unreachable_directory()?,
        Location::S3 {
            endpoint,
            bucket,
            prefix,
        } => {
            let mut builder = services::S3::default()
                .endpoint(endpoint)
                .bucket(bucket)
                .root(&format!("/{prefix}"))
                .region(&options.s3_region)
                // Only what the environment or options file gave: no ~/.aws files, no
                // instance metadata probes.
                .disable_config_load();
            if options.s3_virtual_host {
                builder = builder.enable_virtual_host_style();
            }
            if let Some(v) = &credentials.s3_access_key_id {
                builder = builder.access_key_id(v.expose());
            }
            if let Some(v) = &credentials.s3_secret_access_key {
                builder = builder.secret_access_key(v.expose());
            }
            if let Some(v) = &credentials.s3_session_token {
                builder = builder.session_token(v.expose());
            }
            (
                Operator::new(builder).map_err(|e| config_error(location, &e))?,
                None,
            )
        }
        Location::WebDav { endpoint, path } => {
            let mut builder = services::Webdav::default()
                .endpoint(endpoint)
                .root(&format!("{path}/"));
            let authorization = match (&credentials.webdav_user, &credentials.webdav_token) {
                (Some(user), _) => {
                    let password = credentials
                        .webdav_password
                        .as_ref()
                        .map(Secret::expose)
                        .unwrap_or_default();
                    builder = builder.username(user.expose()).password(password);
                    Some(basic_authorization(user.expose(), password))
                }
                (None, Some(token)) => {
                    builder = builder.token(token.expose());
                    Some(Secret::new(format!("Bearer {}", token.expose())))
                }
                (None, None) => None,
            };
            let create = webdav::WebDavCreate::new(
                client.clone(),
                format!("{endpoint}{path}"),
                authorization,
                options.timeout,
            );
            (
                Operator::new(builder).map_err(|e| config_error(location, &e))?,
                Some(create),
            )
        }
        Location::Gcs { bucket, prefix } => {
            let mut builder = services::Gcs::default()
                .bucket(bucket)
                .root(&format!("/{prefix}"))
                .disable_vm_metadata()
                .disable_config_load();
            if let Some(path) = &credentials.gcs_credential_path {
                builder = builder.credential_path(path);
            }
            (
                Operator::new(builder).map_err(|e| config_error(location, &e))?,
                None,
            )
        }
        Location::Azure { container, prefix } => {
            let mut builder = services::Azblob::default()
                .container(container)
                .root(&format!("/{prefix}"));
            if let Some(name) = &credentials.azure_account_name {
                builder = builder
                    .account_name(name.expose())
                    .endpoint(&format!("https://{}.blob.core.windows.net", name.expose()));
            }
            if let Some(key) = &credentials.azure_account_key {
                builder = builder.account_key(key.expose());
            }
            (
                Operator::new(builder).map_err(|e| config_error(location, &e))?,
                None,
            )
        }
    };
    Ok(Arc::new(RemoteStore::new(
        op,
        client,
        options.connections,
        options.timeout,
        options.io_timeout,
        webdav_create,
    )?))
}

/// reqwest is built without a bundled crypto provider; ring is this process's (another part of
/// the process may have installed one already, which is as good). rustls 0.23.48 deprecates
/// ring's provider because it lacks post-quantum key exchange; aws-lc-rs has it but takes
/// minutes to build on two cores. What TLS protects here is the credentials and the object
/// names: the objects themselves are sealed end to end (docs/STORES.md).
#[allow(deprecated)]
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn unreachable_directory() -> Result<(Operator, Option<webdav::WebDavCreate>)> {
    Err(Error::InvalidArgument(
        "a directory is not a remote store".into(),
    ))
}

/// A store that cannot be configured (a bad endpoint, a missing bucket name).
fn config_error(location: &Location, err: &opendal::Error) -> Error {
    Error::InvalidArgument(format!("cannot open {location}: {}", err.message()))
}

/// `Basic base64(user:password)`.
fn basic_authorization(user: &str, password: &str) -> Secret {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let plain = zeroize::Zeroizing::new(format!("{user}:{password}").into_bytes());
    let mut out = String::from("Basic ");
    for chunk in plain.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(TABLE[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    Secret::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_authorization_is_rfc_7617() {
        assert_eq!(
            basic_authorization("Aladdin", "open sesame").expose(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic_authorization("a", "b").expose(), "Basic YTpi");
    }
}
