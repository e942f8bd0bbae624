//! WebDAV's conditional create: `PUT` with `If-None-Match: *` (RFC 4918 §9.7.1 and RFC 9110
//! §13.1.2), which a server answers with 412 when the name is taken. OpenDAL 0.59's WebDAV
//! service cannot send it (its writes carry no conditions), so this one request goes through
//! reqwest, the HTTP client OpenDAL itself uses. Apache's mod_dav evaluates the condition and
//! stores the body under the same lock (`docs/STORES.md`), so of several creators exactly one
//! wins (the conformance suite's "concurrent creators" check runs against it).

use std::time::Duration;

use keepsake_core::{repo::storage_error_of, Result, StorageErrorKind};
use reqwest::{header, StatusCode};

use crate::options::Secret;

/// Sends conditional creates to one collection.
pub(crate) struct WebDavCreate {
    client: reqwest::Client,
    /// `endpoint + path`, without a trailing `/`.
    base: String,
    authorization: Option<Secret>,
    /// The longest one create may take.
    timeout: Duration,
}

impl WebDavCreate {
    /// A sender for the collection at `base` through `client`; `authorization` is the header
    /// value (basic or bearer) built from the credentials.
    pub(crate) fn new(
        client: reqwest::Client,
        base: String,
        authorization: Option<Secret>,
        timeout: Duration,
    ) -> WebDavCreate {
        WebDavCreate {
            client,
            base,
            authorization,
            timeout,
        }
    }

    /// Creates `name` if it is free: Some(true) created, Some(false) taken, None when the
    /// parent collection does not exist yet (the caller makes it and tries again).
    pub(crate) async fn create(&self, name: &str, data: &[u8]) -> Result<Option<bool>> {
        let mut request = self
            .client
            .put(format!("{}/{name}", self.base))
            .header(header::IF_NONE_MATCH, "*")
            .timeout(self.timeout)
            .body(data.to_vec());
        if let Some(authorization) = &self.authorization {
            request = request.header(header::AUTHORIZATION, authorization.expose());
        }
        let response = request.send().await.map_err(|e| {
            // The request never got an answer: connection refused, reset, timed out.
            storage_error_of(StorageErrorKind::Transient, "create", name, without_url(&e))
        })?;
        let status = response.status();
        match status {
            StatusCode::CREATED | StatusCode::NO_CONTENT | StatusCode::OK => Ok(Some(true)),
            StatusCode::PRECONDITION_FAILED => Ok(Some(false)),
            StatusCode::CONFLICT => Ok(None),
            _ => {
                let retry_after = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64);
                let kind = match status.as_u16() {
                    429 => StorageErrorKind::Throttled { retry_after },
                    503 if retry_after.is_some() => StorageErrorKind::Throttled { retry_after },
                    507 => StorageErrorKind::QuotaExceeded,
                    401 | 403 => StorageErrorKind::Unauthorized,
                    500..=599 => StorageErrorKind::Transient,
                    _ => StorageErrorKind::Other,
                };
                Err(storage_error_of(
                    kind,
                    "create",
                    name,
                    format!("HTTP {status}"),
                ))
            }
        }
    }
}

/// reqwest's error text and its causes, with the URL left out (it is in the location already).
fn without_url(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
