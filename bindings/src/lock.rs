//! A core value shared by an FFI object: serialized access from any thread (or, for
//! [`SharedGuarded`], concurrent reads), and an explicit `close()` after which calls fail
//! cleanly instead of touching a dropped value.

use std::sync::{Mutex, RwLock};

use crate::error::{FfiResult, KeepsakeError};

/// `Mutex<Option<T>>` with errors instead of panics: a poisoned lock (a panic inside an earlier
/// call) is `Internal`, a closed object is `InvalidArgument`.
pub(crate) struct Guarded<T> {
    value: Mutex<Option<T>>,
    what: &'static str,
}

impl<T> Guarded<T> {
    pub(crate) fn new(value: T, what: &'static str) -> Self {
        Guarded {
            value: Mutex::new(Some(value)),
            what,
        }
    }

    fn lock(&self) -> FfiResult<std::sync::MutexGuard<'_, Option<T>>> {
        self.value.lock().map_err(|_| {
            KeepsakeError::internal(format!(
                "the {} is unusable after an earlier failure",
                self.what
            ))
        })
    }

    fn closed(&self) -> KeepsakeError {
        KeepsakeError::invalid(format!("the {} is closed", self.what))
    }

    /// Runs `f` on the value.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&T) -> keepsake_core::Result<R>) -> FfiResult<R> {
        let guard = self.lock()?;
        let value = guard.as_ref().ok_or_else(|| self.closed())?;
        Ok(f(value)?)
    }

    /// Runs `f` on the value, mutably.
    pub(crate) fn with_mut<R>(
        &self,
        f: impl FnOnce(&mut T) -> keepsake_core::Result<R>,
    ) -> FfiResult<R> {
        let mut guard = self.lock()?;
        let value = guard.as_mut().ok_or_else(|| self.closed())?;
        Ok(f(value)?)
    }

    /// Takes the value out (closing the object); `None` when already closed.
    pub(crate) fn take(&self) -> FfiResult<Option<T>> {
        Ok(self.lock()?.take())
    }
}

impl<T> Guarded<T> {
    /// Runs `f`, which reports FFI errors itself (for nested objects), on the value, mutably.
    pub(crate) fn with_mut_ffi<R>(&self, f: impl FnOnce(&mut T) -> FfiResult<R>) -> FfiResult<R> {
        let mut guard = self.lock()?;
        let value = guard.as_mut().ok_or_else(|| self.closed())?;
        f(value)
    }
}

impl<T> Guarded<T> {
    /// Runs `f`, which reports FFI errors itself (for nested objects), on the value.
    pub(crate) fn with_ffi<R>(&self, f: impl FnOnce(&T) -> FfiResult<R>) -> FfiResult<R> {
        let guard = self.lock()?;
        let value = guard.as_ref().ok_or_else(|| self.closed())?;
        f(value)
    }
}

/// [`Guarded`] for a value that many calls may read at once (`RwLock<Option<T>>`): the
/// repository, whose media restore runs for minutes while the user opens one photo.
pub(crate) struct SharedGuarded<T> {
    value: RwLock<Option<T>>,
    what: &'static str,
}

impl<T> SharedGuarded<T> {
    pub(crate) fn new(value: T, what: &'static str) -> Self {
        SharedGuarded {
            value: RwLock::new(Some(value)),
            what,
        }
    }

    fn unusable(&self) -> KeepsakeError {
        KeepsakeError::internal(format!(
            "the {} is unusable after an earlier failure",
            self.what
        ))
    }

    fn closed(&self) -> KeepsakeError {
        KeepsakeError::invalid(format!("the {} is closed", self.what))
    }

    /// Runs `f` on the value, beside other readers.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&T) -> keepsake_core::Result<R>) -> FfiResult<R> {
        let guard = self.value.read().map_err(|_| self.unusable())?;
        let value = guard.as_ref().ok_or_else(|| self.closed())?;
        Ok(f(value)?)
    }

    /// Runs `f` on the value, mutably, alone.
    pub(crate) fn with_mut<R>(
        &self,
        f: impl FnOnce(&mut T) -> keepsake_core::Result<R>,
    ) -> FfiResult<R> {
        let mut guard = self.value.write().map_err(|_| self.unusable())?;
        let value = guard.as_mut().ok_or_else(|| self.closed())?;
        Ok(f(value)?)
    }

    /// Runs `f`, which reports FFI errors itself (for nested objects), on the value, mutably.
    pub(crate) fn with_mut_ffi<R>(&self, f: impl FnOnce(&mut T) -> FfiResult<R>) -> FfiResult<R> {
        let mut guard = self.value.write().map_err(|_| self.unusable())?;
        let value = guard.as_mut().ok_or_else(|| self.closed())?;
        f(value)
    }

    /// Takes the value out (closing the object); `None` when already closed.
    pub(crate) fn take(&self) -> FfiResult<Option<T>> {
        Ok(self.value.write().map_err(|_| self.unusable())?.take())
    }
}
