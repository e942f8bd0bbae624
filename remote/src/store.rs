//! A [`BlobStore`] over an OpenDAL operator: S3-compatible storage, WebDAV, GCS and Azure.
//!
//! The engine calls stores from plain threads and blocks on each call, so the store owns a
//! private tokio runtime and drives OpenDAL's blocking operator on it (as rustic does). Layers:
//! a timeout per call and per transfer step, and a limit on requests in flight (`connections`).
//! Retries are not OpenDAL's: the core's `RetryingStore` wraps this store, so the apps' own
//! stores and these share one policy, which honours `Retry-After`.
//!
//! Per call: `put` is one request (S3 `PutObject`, WebDAV `PUT`; a single-part upload is
//! visible whole or not at all); `get` one `GET` (with a `Range` header for a range; a range
//! past the end is empty); `list` follows the listing's pages to the end (S3 continuation
//! tokens); `create` is the service's conditional create where it has one (S3, GCS, Azure:
//! `If-None-Match: *` or its equivalent; WebDAV: [`crate::webdav`]); `delete` of a missing
//! object succeeds; `stat` is a `HEAD`.

use std::time::Duration;

use keepsake_core::{
    repo::{check_name, BlobStore, ByteRange, ObjectInfo},
    Error, Result,
};
use opendal::{
    blocking,
    layers::{ConcurrentLimitLayer, TimeoutLayer},
    options::{ListOptions, ReadOptions, WriteOptions},
    ErrorKind, HttpTransporter, OperationContext, Operator,
};
use opendal_http_transport_reqwest::ReqwestTransport;

use crate::{
    classify::{is_range_past_end, to_core},
    webdav::WebDavCreate,
};

/// A remote store.
pub struct RemoteStore {
    op: blocking::Operator,
    /// Whether the service lists a whole tree in pages (S3, GCS, Azure) rather than one
    /// collection at a time (WebDAV).
    recursive_list: bool,
    /// The conditional create OpenDAL cannot send (WebDAV only).
    webdav_create: Option<WebDavCreate>,
    /// Dropped last: the operator's tasks run on it.
    runtime: Option<tokio::runtime::Runtime>,
}

impl RemoteStore {
    /// A store over `op` (a service with its credentials), with the layers `connections`,
    /// `timeout` and `io_timeout` ask for.
    pub(crate) fn new(
        op: Operator,
        client: reqwest::Client,
        connections: usize,
        timeout: Duration,
        io_timeout: Duration,
        webdav_create: Option<WebDavCreate>,
    ) -> Result<RemoteStore> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("keepsake-remote")
            .enable_all()
            .build()
            .map_err(|e| Error::io_at("tokio runtime", e))?;
        let transport = HttpTransporter::new(ReqwestTransport::new(client));
        let op = op
            .with_context(OperationContext::new().with_http_transport(transport))
            .layer(
                TimeoutLayer::new()
                    .with_timeout(timeout)
                    .with_io_timeout(io_timeout),
            )
            .layer(ConcurrentLimitLayer::new(connections));
        let recursive_list = op.info().capability().list_with_recursive;
        let op = {
            let _entered = runtime.enter();
            blocking::Operator::new(op).map_err(|e| to_core("open", "", &e))?
        };
        Ok(RemoteStore {
            op,
            recursive_list,
            webdav_create,
            runtime: Some(runtime),
        })
    }

    /// Runs a WebDAV conditional create on the store's runtime.
    fn webdav_create(&self, create: &WebDavCreate, name: &str, data: &[u8]) -> Result<bool> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("the store is closed".into()))?;
        match runtime.block_on(create.create(name, data))? {
            Some(created) => Ok(created),
            // The parent collection is missing: make it (OpenDAL's MKCOL) and try once more.
            None => {
                let parent = name.rsplit_once('/').map_or("", |(dir, _)| dir);
                self.op
                    .create_dir(&format!("{parent}/"))
                    .map_err(|e| to_core("create", name, &e))?;
                Ok(runtime
                    .block_on(create.create(name, data))?
                    .unwrap_or(false))
            }
        }
    }
}

impl Drop for RemoteStore {
    fn drop(&mut self) {
        // Dropping a runtime inside another one panics; shut it down without waiting instead.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl RemoteStore {
    /// Appends the files under `dir` whose names start with `prefix`. A service that lists one
    /// level at a time (WebDAV's PROPFIND) is walked down the subdirectories that can hold
    /// such names, so the empty prefix still lists the whole store (one request per folder).
    fn list_dir(&self, dir: &str, prefix: &str, out: &mut Vec<ObjectInfo>) -> Result<()> {
        let options = ListOptions {
            recursive: self.recursive_list,
            ..ListOptions::default()
        };
        let entries = match self.op.list_options(dir, options) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(to_core("list", prefix, &e)),
        };
        for entry in entries {
            let (path, metadata) = (entry.path(), entry.metadata());
            if metadata.is_file() {
                if path.starts_with(prefix) {
                    out.push(ObjectInfo {
                        size: metadata.content_length(),
                        name: path.to_owned(),
                    });
                }
            } else if !self.recursive_list
                && metadata.is_dir()
                && path != dir
                && path != "/"
                && (path.starts_with(prefix) || prefix.starts_with(path))
            {
                self.list_dir(path, prefix, out)?;
            }
        }
        Ok(())
    }
}

impl BlobStore for RemoteStore {
    fn put(&self, name: &str, data: &[u8]) -> Result<()> {
        check_name(name)?;
        self.op
            .write(name, data.to_vec())
            .map(|_| ())
            .map_err(|e| to_core("put", name, &e))
    }

    fn get(&self, name: &str, range: Option<ByteRange>) -> Result<Vec<u8>> {
        check_name(name)?;
        let options = match range {
            None => ReadOptions::default(),
            Some(ByteRange { len: 0, .. }) => {
                // Nothing to read, but a missing object must still say so.
                return match self.stat(name)? {
                    Some(_) => Ok(Vec::new()),
                    None => Err(Error::ObjectMissing {
                        name: name.to_owned(),
                    }),
                };
            }
            Some(ByteRange { offset, len }) => ReadOptions {
                range: (offset..offset.saturating_add(len)).into(),
                ..ReadOptions::default()
            },
        };
        match self.op.read_options(name, options) {
            Ok(buffer) => Ok(buffer.to_vec()),
            // A range that starts at or past the end: no bytes, as the trait asks.
            Err(e) if is_range_past_end(&e) => Ok(Vec::new()),
            // A range that ends past the end: OpenDAL refuses the short answer, so ask again
            // for what the object holds (two more requests; the engine reads exact ranges).
            Err(e) if e.kind() == ErrorKind::Unexpected && e.message().contains("too little") => {
                let Some(ByteRange { offset, .. }) = range else {
                    return Err(to_core("get", name, &e));
                };
                match self.stat(name)? {
                    None => Err(Error::ObjectMissing {
                        name: name.to_owned(),
                    }),
                    Some(size) if size <= offset => Ok(Vec::new()),
                    Some(size) => self.get(
                        name,
                        Some(ByteRange {
                            offset,
                            len: size - offset,
                        }),
                    ),
                }
            }
            Err(e) => Err(to_core("get", name, &e)),
        }
    }

    fn create(&self, name: &str, data: &[u8]) -> Result<bool> {
        check_name(name)?;
        if let Some(create) = &self.webdav_create {
            return self.webdav_create(create, name, data);
        }
        let options = WriteOptions {
            if_not_exists: true,
            ..WriteOptions::default()
        };
        match self.op.write_options(name, data.to_vec(), options) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::ConditionNotMatch => Ok(false),
            Err(e) => Err(to_core("create", name, &e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        // OpenDAL lists a directory: the prefix's part up to its last '/', filtered here.
        let dir = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
        let dir = if dir.is_empty() {
            "/".to_owned()
        } else {
            format!("{dir}/")
        };
        let mut objects = Vec::new();
        self.list_dir(&dir, prefix, &mut objects)?;
        Ok(objects)
    }

    fn delete(&self, name: &str) -> Result<()> {
        check_name(name)?;
        match self.op.delete(name) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(to_core("delete", name, &e)),
        }
    }

    fn stat(&self, name: &str) -> Result<Option<u64>> {
        check_name(name)?;
        match self.op.stat(name) {
            Ok(meta) => Ok(Some(meta.content_length())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(to_core("stat", name, &e)),
        }
    }
}
