//! PRF outputs and recovery-key text handed to the FFI are wiped: while the checked calls run,
//! every heap block freed is searched for the secret, and none may still hold it.
//!
//! This binary holds one test only, so no other test frees memory while the scan is armed.
#![allow(unsafe_code)] // the scanning allocator below; test-only
#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering},
};

use keepsake_ffi::{
    backup_to_path, verify_backup, BackupSecret, ChatStore, EnrollmentOutcome, Keyring,
    PasskeyEnrollment, PasskeyUnlock, SoftAuthenticator, SoftAuthenticatorMode,
};
use zeroize::Zeroizing;

const NEEDLE_LEN: usize = 8;
const NEEDLES: usize = 4;

/// The secrets searched for (a prefix of each), set before arming.
static NEEDLE: [[AtomicU8; NEEDLE_LEN]; NEEDLES] =
    [const { [const { AtomicU8::new(0) }; NEEDLE_LEN] }; NEEDLES];
static NEEDLE_SET: [AtomicBool; NEEDLES] = [const { AtomicBool::new(false) }; NEEDLES];
static ARMED: AtomicBool = AtomicBool::new(false);
static HITS: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, searching each freed block for a needle while armed.
struct Scanning;

fn holds_a_needle(block: &[u8]) -> bool {
    (0..NEEDLES).any(|n| {
        NEEDLE_SET[n].load(Ordering::Relaxed)
            && block.windows(NEEDLE_LEN).any(|window| {
                window
                    .iter()
                    .zip(&NEEDLE[n])
                    .all(|(byte, needle)| *byte == needle.load(Ordering::Relaxed))
            })
    })
}

// SAFETY: every call is forwarded to `System` unchanged; `dealloc` only reads the block it is
// about to free (its bytes were allocated by `System` with this layout).
unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::Relaxed) && layout.size() >= NEEDLE_LEN {
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if holds_a_needle(block) {
                HITS.fetch_add(1, Ordering::Relaxed);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Scanning = Scanning;

fn set_needle(index: usize, secret: &[u8]) {
    for (slot, byte) in NEEDLE[index].iter().zip(secret) {
        slot.store(*byte, Ordering::Relaxed);
    }
    NEEDLE_SET[index].store(true, Ordering::Relaxed);
}

/// Runs `body` with the scan armed and returns how many freed blocks held a needle.
fn freed_copies(body: impl FnOnce()) -> usize {
    HITS.store(0, Ordering::Relaxed);
    ARMED.store(true, Ordering::SeqCst);
    body();
    ARMED.store(false, Ordering::SeqCst);
    HITS.load(Ordering::Relaxed)
}

/// The base64url text of `clientExtensionResults.prf.results.first` in a response.
fn prf_text(response_json: &str) -> &str {
    let start = response_json
        .find(r#""first":""#)
        .expect("the response carries a PRF output")
        + r#""first":""#.len();
    let length = response_json[start..].find('"').unwrap();
    &response_json[start..start + length]
}

#[test]
fn prf_outputs_and_recovery_key_text_are_wiped_on_every_ffi_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let rp = "chat.example.com".to_owned();
    let keyring = Keyring::create().unwrap();
    let soft = SoftAuthenticator::new(SoftAuthenticatorMode::PrfAtRegistration);
    // Every path is checked, then all leaks are reported together.
    let mut leaks: Vec<&str> = Vec::new();

    // Enrollment from JSON (Credential Manager).
    let enrollment = PasskeyEnrollment::new(
        keyring.clone(),
        rp.clone(),
        "Chat".into(),
        vec![1; 16],
        "alice".into(),
        "Alice".into(),
        "phone".into(),
    )
    .unwrap();
    let response = Zeroizing::new(
        soft.create_json(enrollment.registration_request_json().unwrap())
            .unwrap(),
    );
    set_needle(0, prf_text(&response).as_bytes());
    let copies = freed_copies(|| {
        let outcome = enrollment
            .finish_registration_json(response.as_str().to_owned())
            .unwrap();
        assert!(matches!(outcome, EnrollmentOutcome::Enrolled { .. }));
    });
    if copies > 0 {
        leaks.push("registration JSON: PRF text freed unwiped");
    }

    // Enrollment from typed values (ASAuthorization).
    let enrollment = PasskeyEnrollment::new(
        keyring.clone(),
        rp.clone(),
        "Chat".into(),
        vec![2; 16],
        "alice".into(),
        "Alice".into(),
        "tablet".into(),
    )
    .unwrap();
    // A second authenticator: the first one's passkey is in `excludeCredentials`.
    let tablet = SoftAuthenticator::new(SoftAuthenticatorMode::PrfAtRegistration);
    let registration = tablet.create_typed(enrollment.clone()).unwrap();
    set_needle(1, registration.prf_first.as_deref().unwrap());
    let copies = freed_copies(|| {
        enrollment.finish_registration_typed(registration).unwrap();
    });
    if copies > 0 {
        leaks.push("typed registration: PRF output freed unwiped");
    }

    let added = keyring.add_recovery_key("paper".into()).unwrap();
    let recovery_text = Zeroizing::new(added.recovery_key.reveal());
    set_needle(2, recovery_text.as_bytes());
    let store = ChatStore::open(path("chat.db")).unwrap();
    let backup = path("chat.keepsake");
    backup_to_path(store, keyring.clone(), backup.clone(), None, None, None).unwrap();

    // Unlock from JSON, then open the backup with the secret.
    let unlock = PasskeyUnlock::for_keyring(keyring.clone(), rp.clone(), false).unwrap();
    let response = Zeroizing::new(soft.get_json(unlock.request_json()).unwrap());
    set_needle(3, prf_text(&response).as_bytes());
    let copies = freed_copies(|| {
        let secret = unlock.finish_json(response.as_str().to_owned()).unwrap();
        verify_backup(backup.clone(), secret, None, None).unwrap();
    });
    if copies > 0 {
        leaks.push("assertion JSON: PRF text freed unwiped");
    }

    // Unlock from typed values.
    let assertion = tablet.get_typed(unlock.clone()).unwrap();
    set_needle(1, assertion.prf_first.as_deref().unwrap());
    let copies = freed_copies(|| {
        let secret = unlock.finish_typed(assertion).unwrap();
        verify_backup(backup.clone(), secret, None, None).unwrap();
    });
    if copies > 0 {
        leaks.push("typed assertion: PRF output freed unwiped");
    }

    // The recovery key: typed back by the user, and the new key's text once dropped.
    let copies = freed_copies(|| {
        let secret = BackupSecret::recovery_key(recovery_text.as_str().to_owned()).unwrap();
        verify_backup(backup.clone(), secret, None, None).unwrap();
        drop(added);
    });
    if copies > 0 {
        leaks.push("recovery key text freed unwiped");
    }
    assert!(leaks.is_empty(), "secrets freed unwiped: {leaks:?}");
}
