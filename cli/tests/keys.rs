//! `keepsake keys`: create, list, add-recovery, add-passkey, remove.

mod common;

use std::fs;

use common::{expect_error, expect_error_with_stdin, json_run, json_run_with_stdin, Fixture};

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).expect("exists").permissions().mode() & 0o777
}

#[test]
fn create_writes_an_owner_only_root_key_and_an_empty_keyring() {
    let fx = Fixture::empty();
    let doc = fx.create_keys("keys");
    assert_eq!(doc["slots"].as_array().unwrap().len(), 0, "{doc}");
    assert_eq!(doc["keyring_id"].as_str().unwrap().len(), 32, "{doc}");
    assert_eq!(fs::read(fx.path("keys/root.key")).unwrap().len(), 32);
    assert!(fx.path("keys/keyring.pub").is_file());
    #[cfg(unix)]
    {
        assert_eq!(mode(&fx.path("keys/root.key")), 0o600);
        assert_eq!(mode(&fx.path("keys")), 0o700);
    }
}

#[test]
fn create_refuses_to_replace_an_existing_keyring() {
    let fx = Fixture::empty();
    fx.create_keys("keys");
    let root_before = fs::read(fx.path("keys/root.key")).unwrap();
    expect_error(
        &["keys", "create", "--keys", &fx.arg("keys")],
        18,
        "target_exists",
    );
    assert_eq!(fs::read(fx.path("keys/root.key")).unwrap(), root_before);
}

#[test]
fn slots_are_added_listed_and_removed() {
    let fx = Fixture::empty();
    fx.create_keys("keys");
    let recovery = fx.add_recovery("keys", "recovery.txt");
    let passkey = fx.add_passkey("keys", "phone.passkey");

    let key_text = fs::read_to_string(fx.path("recovery.txt")).unwrap();
    let significant: String = key_text.chars().filter(|c| c.is_alphanumeric()).collect();
    assert_eq!(significant.len(), 64, "{key_text:?}");
    assert!(
        recovery.get("recovery_key").is_none(),
        "a key written to a file is not also printed: {recovery}"
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&fx.path("recovery.txt")), 0o600);
        assert_eq!(mode(&fx.path("phone.passkey")), 0o600);
    }

    let list = json_run(&["keys", "list", "--keys", &fx.arg("keys")], 0);
    let slots = list["slots"].as_array().unwrap();
    let kinds: Vec<_> = slots.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["recovery_key", "passkey"], "{list}");
    assert_eq!(slots[0]["id"], recovery["slot"]);
    assert_eq!(slots[1]["rp_id"], "keepsake.example");
    assert!(passkey["slots"].as_array().is_some(), "{passkey}");

    let removed = json_run(
        &[
            "keys",
            "remove",
            "--keys",
            &fx.arg("keys"),
            recovery["slot"].as_str().unwrap(),
        ],
        0,
    );
    let left: Vec<_> = removed["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["passkey"], "{removed}");
}

#[test]
fn a_recovery_key_without_out_is_printed_once_in_the_result() {
    let fx = Fixture::empty();
    fx.create_keys("keys");
    let doc = json_run(&["keys", "add-recovery", "--keys", &fx.arg("keys")], 0);
    let key = doc["recovery_key"].as_str().unwrap();
    assert_eq!(key.chars().filter(|c| c.is_alphanumeric()).count(), 64);
}

#[test]
fn removing_an_unknown_slot_is_a_usage_error() {
    let fx = Fixture::empty();
    fx.create_keys("keys");
    expect_error(
        &["keys", "remove", "--keys", &fx.arg("keys"), "00ff"],
        2,
        "usage",
    );
}

#[test]
fn a_missing_keys_directory_is_an_io_error() {
    let fx = Fixture::empty();
    expect_error(&["keys", "list", "--keys", &fx.arg("nowhere")], 15, "io");
}

#[test]
fn an_edited_public_keyring_is_refused() {
    let fx = Fixture::empty();
    fx.create_keys("keys");
    fx.add_recovery("keys", "recovery.txt");
    let public = fx.path("keys/keyring.pub");
    let mut bytes = fs::read(&public).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&public, bytes).unwrap();
    expect_error(
        &["keys", "list", "--keys", &fx.arg("keys")],
        12,
        "corrupted",
    );
}

#[test]
fn the_passkey_file_is_never_overwritten() {
    let fx = Fixture::empty();
    fx.create_keys("keys");
    fs::write(fx.path("phone.passkey"), b"keep me").unwrap();
    expect_error(
        &[
            "keys",
            "add-passkey",
            "--keys",
            &fx.arg("keys"),
            "--passkey",
            &fx.arg("phone.passkey"),
        ],
        18,
        "target_exists",
    );
    assert_eq!(fs::read(fx.path("phone.passkey")).unwrap(), b"keep me");
    let list = json_run(&["keys", "list", "--keys", &fx.arg("keys")], 0);
    assert_eq!(list["slots"].as_array().unwrap().len(), 0, "{list}");
}

#[test]
fn removing_a_slot_rotates_the_root_key_and_a_rolled_back_keyring_is_refused() {
    let fx = Fixture::empty();
    fx.create_keys("keys");
    let old = fx.add_recovery("keys", "old.txt");
    let kept = fx.add_recovery("keys", "new.txt");
    assert_eq!(
        fs::read_to_string(fx.path("keys/generation")).unwrap(),
        "1\n"
    );
    let root_before = fs::read(fx.path("keys/root.key")).unwrap();
    let public_before = fs::read(fx.path("keys/keyring.pub")).unwrap();

    json_run(
        &[
            "keys",
            "remove",
            "--keys",
            &fx.arg("keys"),
            old["slot"].as_str().unwrap(),
        ],
        0,
    );
    assert_ne!(fs::read(fx.path("keys/root.key")).unwrap(), root_before);
    assert_eq!(
        fs::read_to_string(fx.path("keys/generation")).unwrap(),
        "2\n"
    );
    json_run(&["keys", "list", "--keys", &fx.arg("keys")], 0);

    // The last slot stays unless forced.
    let kept_slot = kept["slot"].as_str().unwrap();
    expect_error(
        &["keys", "remove", "--keys", &fx.arg("keys"), kept_slot],
        2,
        "usage",
    );

    // Putting back the old root key and keyring (both, so their MAC matches) is a rollback.
    fs::write(fx.path("keys/root.key"), &root_before).unwrap();
    fs::write(fx.path("keys/keyring.pub"), &public_before).unwrap();
    let doc = expect_error(
        &["keys", "list", "--keys", &fx.arg("keys")],
        12,
        "corrupted",
    );
    assert!(doc.to_string().contains("rolled back"), "{doc}");
}

#[test]
fn a_password_slot_is_added_from_stdin_and_unlocks_a_backup() {
    let fx = Fixture::empty();
    fx.seed("chats.db", 20);
    fx.create_keys("keys");
    expect_error_with_stdin(
        &[
            "keys",
            "add-password",
            "--keys",
            &fx.arg("keys"),
            "--password-stdin",
        ],
        2,
        "usage",
        Some("short\n"),
    );
    let added = json_run_with_stdin(
        &[
            "keys",
            "add-password",
            "--keys",
            &fx.arg("keys"),
            "--password-stdin",
        ],
        0,
        Some("a long enough passphrase\n"),
    );
    assert_eq!(added["slots"][0]["kind"], "password", "{added}");
    fx.backup("keys", "chats.db", "chats.keepsake");
    let backup = fx.arg("chats.keepsake");
    let verified = json_run_with_stdin(
        &["verify", &backup, "--password-stdin"],
        0,
        Some("a long enough passphrase\n"),
    );
    assert_eq!(verified["unlocked_with"], "password");
    let doc = expect_error_with_stdin(
        &["verify", &backup, "--password-stdin"],
        10,
        "wrong_key",
        Some("a long enough passphrasE\n"),
    );
    assert!(doc.to_string().contains("wrong password"), "{doc}");
    // Rotation on request: the password still opens backups made afterwards.
    json_run(&["keys", "rotate", "--keys", &fx.arg("keys")], 0);
    fx.backup("keys", "chats.db", "after.keepsake");
    json_run_with_stdin(
        &["verify", &fx.arg("after.keepsake"), "--password-stdin"],
        0,
        Some("a long enough passphrase\n"),
    );
}
