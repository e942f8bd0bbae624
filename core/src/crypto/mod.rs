//! Placeholder: filled by the container issue.
pub mod stream;
