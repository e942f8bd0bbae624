//! OpenDAL's errors as the core's typed store errors, so the core's `RetryingStore` retries what
//! can succeed later, honours `Retry-After`, and the user learns whether the network, a quota
//! or the credentials stopped a backup.
//!
//! OpenDAL 0.59 classifies by status (429 and S3's `SlowDown` are `RateLimited`; 5xx, timeouts
//! and connection failures are temporary; 403 is `PermissionDenied`) but keeps the response's
//! status line and headers only as a context string of its error (`response: Parts { status:
//! 503, headers: {"retry-after": "2", ...} }`). The status (401, 507) and `Retry-After` are read
//! from that string; the crate is pinned exactly for it, and `tests` check the parsing against
//! real OpenDAL errors. The response headers it prints never carry the request's credentials.

use std::time::Duration;

use keepsake_core::{repo::storage_error_of, Error, StorageErrorKind};
use opendal::ErrorKind;

/// The core's error for a failed call `op` on `name`.
pub fn to_core(op: &str, name: &str, err: &opendal::Error) -> Error {
    if err.kind() == ErrorKind::NotFound && op == "get" {
        return Error::ObjectMissing {
            name: name.to_owned(),
        };
    }
    let text = err.to_string();
    let status = status_of(&text);
    let kind = match (err.kind(), status) {
        (_, Some(507)) => StorageErrorKind::QuotaExceeded,
        (_, Some(401)) | (ErrorKind::PermissionDenied, _) => StorageErrorKind::Unauthorized,
        (ErrorKind::RateLimited, _) | (_, Some(429)) => StorageErrorKind::Throttled {
            retry_after: retry_after_of(&text),
        },
        // A 503 that says when to come back is throttling (S3 sends SlowDown as a 503).
        (_, Some(503)) if retry_after_of(&text).is_some() => StorageErrorKind::Throttled {
            retry_after: retry_after_of(&text),
        },
        _ if text.contains("QuotaExceeded") => StorageErrorKind::QuotaExceeded,
        _ if err.is_temporary() => StorageErrorKind::Transient,
        // No response at all: the connection failed, was reset or timed out.
        (ErrorKind::Unexpected, None) => StorageErrorKind::Transient,
        // S3 answers concurrent conditional writes with 409 ConditionalRequestConflict: retry.
        (_, Some(409)) if op == "create" => StorageErrorKind::Transient,
        _ => StorageErrorKind::Other,
    };
    storage_error_of(kind, op, name, summary(err, status))
}

/// Whether the service refused a range that starts at or past the object's end (S3 says so in
/// OpenDAL's kind; WebDAV's 416 arrives as an unexpected status).
pub fn is_range_past_end(err: &opendal::Error) -> bool {
    err.kind() == ErrorKind::RangeNotSatisfied || status_of(&err.to_string()) == Some(416)
}

/// A short message: OpenDAL's kind and message and the HTTP status, without the context dump.
fn summary(err: &opendal::Error, status: Option<u16>) -> String {
    let message: String = err.message().chars().take(300).collect();
    match status {
        Some(status) => format!("{} (HTTP {status}): {message}", err.kind()),
        None => format!("{}: {message}", err.kind()),
    }
}

/// The HTTP status of the response in OpenDAL's error context.
fn status_of(text: &str) -> Option<u16> {
    let start = text.find("status: ")? + "status: ".len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The `Retry-After` header (in seconds; an HTTP date is treated as unknown) in OpenDAL's error
/// context.
fn retry_after_of(text: &str) -> Option<Duration> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("\"retry-after\": \"")? + "\"retry-after\": \"".len();
    let value: String = lower[start..].chars().take_while(|c| *c != '"').collect();
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_response(kind: ErrorKind, parts: &str) -> opendal::Error {
        opendal::Error::new(kind, "service said no").with_context("response", parts)
    }

    #[test]
    fn statuses_and_retry_after_become_kinds() {
        let throttled = with_response(
            ErrorKind::RateLimited,
            r#"Parts { status: 429, version: HTTP/1.1, headers: {"retry-after": "3", "content-length": "0"} }"#,
        );
        assert_eq!(
            to_core("put", "data/aa", &throttled).storage_kind(),
            Some(StorageErrorKind::Throttled {
                retry_after: Some(Duration::from_secs(3))
            })
        );
        let busy = with_response(
            ErrorKind::Unexpected,
            r#"Parts { status: 503, version: HTTP/1.1, headers: {"Retry-After": "1"} }"#,
        )
        .set_temporary();
        assert!(matches!(
            to_core("get", "data/aa", &busy).storage_kind(),
            Some(StorageErrorKind::Throttled { retry_after: Some(d) }) if d == Duration::from_secs(1)
        ));
        let full = with_response(ErrorKind::Unexpected, "Parts { status: 507, headers: {} }");
        assert_eq!(
            to_core("put", "data/aa", &full).storage_kind(),
            Some(StorageErrorKind::QuotaExceeded)
        );
        let denied = with_response(ErrorKind::PermissionDenied, "Parts { status: 403 }");
        assert_eq!(
            to_core("list", "data/", &denied).storage_kind(),
            Some(StorageErrorKind::Unauthorized)
        );
        let unauthenticated = with_response(ErrorKind::Unexpected, "Parts { status: 401 }");
        assert_eq!(
            to_core("list", "data/", &unauthenticated).storage_kind(),
            Some(StorageErrorKind::Unauthorized)
        );
        let reset = opendal::Error::new(ErrorKind::Unexpected, "connection reset by peer");
        assert_eq!(
            to_core("put", "data/aa", &reset).storage_kind(),
            Some(StorageErrorKind::Transient)
        );
        let bad_request = with_response(ErrorKind::Unexpected, "Parts { status: 400 }");
        assert_eq!(
            to_core("put", "data/aa", &bad_request).storage_kind(),
            Some(StorageErrorKind::Other)
        );
        let missing = opendal::Error::new(ErrorKind::NotFound, "no such key");
        assert!(matches!(
            to_core("get", "data/aa", &missing),
            Error::ObjectMissing { name } if name == "data/aa"
        ));
    }

    #[test]
    fn the_message_leaves_out_opendal_s_context_dump() {
        let err = with_response(
            ErrorKind::Unexpected,
            r#"Parts { status: 500, headers: {"x-amz-request-id": "abc"} }"#,
        );
        let message = to_core("put", "data/aa", &err).to_string();
        assert!(
            message.contains("HTTP 500") && !message.contains("x-amz-request-id"),
            "{message}"
        );
    }
}
