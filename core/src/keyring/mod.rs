//! Placeholder: filled by the container issue.
