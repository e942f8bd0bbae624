//! Where a repository lives, named as restic names its repositories:
//!
//! | location | store |
//! |---|---|
//! | `s3:http://HOST:PORT/BUCKET/PREFIX`, `s3:https://...` | an S3-compatible server at that endpoint (path-style requests) |
//! | `s3:HOST/BUCKET/PREFIX` | the same over https (`s3:s3.amazonaws.com/bucket/keepsake`) |
//! | `webdav:http://HOST:PORT/PATH`, `webdav:https://...` | a WebDAV collection |
//! | `gs:BUCKET:/PREFIX` | Google Cloud Storage |
//! | `azure:CONTAINER:/PREFIX` | Azure Blob Storage |
//! | anything else | a local directory (the core's directory store) |
//!
//! A location never carries credentials: they come from the environment or an options file
//! ([`crate::options`]). A location with `user:password@` in it is refused, so a secret never
//! ends up in shell history or `ps`.

use std::{fmt, path::PathBuf};

use keepsake_core::{Error, Result};

/// A parsed repository location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Directory(PathBuf),
    /// An S3-compatible bucket.
    S3 {
        /// `http://host:port` or `https://host`.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The prefix inside the bucket (no leading or trailing `/`; may be empty).
        prefix: String,
    },
    /// A WebDAV collection.
    WebDav {
        /// `http://host:port` or `https://host`.
        endpoint: String,
        /// The collection's path on the server (no trailing `/`; may be empty).
        path: String,
    },
    /// A Google Cloud Storage bucket.
    Gcs {
        /// The bucket.
        bucket: String,
        /// The prefix inside the bucket.
        prefix: String,
    },
    /// An Azure Blob Storage container.
    Azure {
        /// The container.
        container: String,
        /// The prefix inside the container.
        prefix: String,
    },
}

impl Location {
    /// Parses a location as the CLI's `--repo` takes it.
    pub fn parse(text: &str) -> Result<Location> {
        if let Some(rest) = text.strip_prefix("s3:") {
            let (scheme, rest) = split_scheme(rest, "https")?;
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
            check_host(text, host)?;
            if bucket.is_empty() {
                return Err(invalid(
                    text,
                    "names no bucket (s3:http://HOST:PORT/BUCKET/PREFIX)",
                ));
            }
            Ok(Location::S3 {
                endpoint: format!("{scheme}://{host}"),
                bucket: bucket.to_owned(),
                prefix: trim(prefix),
            })
        } else if let Some(rest) = text.strip_prefix("webdav:") {
            let (scheme, rest) = split_scheme(rest, "")?;
            if scheme.is_empty() {
                return Err(invalid(text, "needs http:// or https:// after webdav:"));
            }
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            check_host(text, host)?;
            let path = trim(path);
            Ok(Location::WebDav {
                endpoint: format!("{scheme}://{host}"),
                path: if path.is_empty() {
                    String::new()
                } else {
                    format!("/{path}")
                },
            })
        } else if let Some(rest) = text.strip_prefix("gs:") {
            let (bucket, prefix) = bucket_and_prefix(text, rest)?;
            Ok(Location::Gcs { bucket, prefix })
        } else if let Some(rest) = text.strip_prefix("azure:") {
            let (container, prefix) = bucket_and_prefix(text, rest)?;
            Ok(Location::Azure { container, prefix })
        } else if text.is_empty() {
            Err(Error::InvalidArgument(
                "an empty repository location".into(),
            ))
        } else {
            Ok(Location::Directory(PathBuf::from(text)))
        }
    }

    /// Whether the location is a remote store (not a local directory).
    pub fn is_remote(&self) -> bool {
        !matches!(self, Location::Directory(_))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Directory(path) => write!(f, "{}", path.display()),
            Location::S3 {
                endpoint,
                bucket,
                prefix,
            } => write!(f, "s3:{endpoint}/{bucket}/{prefix}"),
            Location::WebDav { endpoint, path } => write!(f, "webdav:{endpoint}{path}"),
            Location::Gcs { bucket, prefix } => write!(f, "gs:{bucket}:/{prefix}"),
            Location::Azure { container, prefix } => write!(f, "azure:{container}:/{prefix}"),
        }
    }
}

fn invalid(text: &str, why: &str) -> Error {
    Error::InvalidArgument(format!("repository location {text:?} {why}"))
}

/// `http://rest` or `https://rest` into (scheme, rest); without a scheme, `default`.
fn split_scheme<'t>(text: &'t str, default: &'static str) -> Result<(&'static str, &'t str)> {
    if let Some(rest) = text.strip_prefix("http://") {
        Ok(("http", rest))
    } else if let Some(rest) = text.strip_prefix("https://") {
        Ok(("https", rest))
    } else {
        Ok((default, text))
    }
}

/// Refuses an empty host and credentials in the location.
fn check_host(text: &str, host: &str) -> Result<()> {
    if host.is_empty() {
        return Err(invalid(text, "names no host"));
    }
    if host.contains('@') {
        return Err(invalid(
            text,
            "carries credentials; give them in the environment or an options file, never on \
             the command line",
        ));
    }
    Ok(())
}

/// `BUCKET:/PREFIX` (restic's form for gs: and azure:), also `BUCKET` or `BUCKET/PREFIX`.
fn bucket_and_prefix(text: &str, rest: &str) -> Result<(String, String)> {
    let (bucket, prefix) = rest
        .split_once(':')
        .or_else(|| rest.split_once('/'))
        .unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(invalid(text, "names no bucket or container"));
    }
    Ok((bucket.to_owned(), trim(prefix)))
}

fn trim(path: &str) -> String {
    path.trim_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restic_style_locations_parse() {
        assert_eq!(
            Location::parse("s3:http://127.0.0.1:9000/bucket/some/prefix/").unwrap(),
            Location::S3 {
                endpoint: "http://127.0.0.1:9000".into(),
                bucket: "bucket".into(),
                prefix: "some/prefix".into(),
            }
        );
        assert_eq!(
            Location::parse("s3:s3.amazonaws.com/bucket").unwrap(),
            Location::S3 {
                endpoint: "https://s3.amazonaws.com".into(),
                bucket: "bucket".into(),
                prefix: String::new(),
            }
        );
        assert_eq!(
            Location::parse("webdav:https://dav.example.org/remote.php/dav/keepsake").unwrap(),
            Location::WebDav {
                endpoint: "https://dav.example.org".into(),
                path: "/remote.php/dav/keepsake".into(),
            }
        );
        assert_eq!(
            Location::parse("gs:my-bucket:/backups").unwrap(),
            Location::Gcs {
                bucket: "my-bucket".into(),
                prefix: "backups".into()
            }
        );
        assert_eq!(
            Location::parse("azure:box:/").unwrap(),
            Location::Azure {
                container: "box".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            Location::parse("./repo").unwrap(),
            Location::Directory("./repo".into())
        );
        assert!(!Location::parse("/srv/repo").unwrap().is_remote());
    }

    #[test]
    fn bad_locations_are_refused_and_credentials_never_accepted() {
        for bad in [
            "",
            "s3:http://",
            "s3:http://host:9000",
            "s3:http://key:secret@host/bucket",
            "webdav:dav.example.org/x",
            "webdav:https://user:pw@dav.example.org/x",
            "gs:",
        ] {
            let err = Location::parse(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{bad}");
            assert!(!err.to_string().contains("secret") || bad.contains("secret"));
        }
    }

    #[test]
    fn a_location_prints_as_it_parses() {
        for text in [
            "s3:http://127.0.0.1:9000/bucket/prefix",
            "webdav:http://127.0.0.1:8080/dav/repo",
            "gs:b:/p",
            "azure:c:/p",
        ] {
            let location = Location::parse(text).unwrap();
            assert_eq!(Location::parse(&location.to_string()).unwrap(), location);
        }
    }
}
