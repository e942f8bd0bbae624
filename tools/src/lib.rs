//! Test and benchmark tools of the Keepsake repository. `faultproxy` (`src/bin/faultproxy.rs`)
//! sits between a store client and a real server (moto's S3, apache2's WebDAV) and injects
//! what real links do: latency per direction, a cloud drive's service time per request, rate
//! caps, throttling with `Retry-After`, connections reset mid-upload, downloads that stall, and
//! it logs every request with its bytes, so benchmarks count requests for any client (restic
//! included). Plain std threads; HTTP/1.1 only (no TLS: it runs on 127.0.0.1 before a local
//! server). No library links this crate.

pub mod config;
pub mod proxy;
pub mod shaping;
