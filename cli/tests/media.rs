//! Media in `keepsake repo` (issue 11): `seed --media`, `repo backup --media` with its options,
//! `repo restore --media-to` on a new device with filters, `repo fetch-media`, lost attachments
//! (exit 22), and `kill -9` during a media backup and a media restore followed by a resume.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod common;

use std::{
    collections::BTreeMap,
    fs,
    os::unix::process::ExitStatusExt,
    path::Path,
    process::{Child, Stdio},
    thread,
    time::{Duration, Instant},
};

use common::{expect_error, json_run, Fixture};
use serde_json::Value;

const MESSAGES: u64 = 3_000;

/// A directory with `chats.db` and its media in `media` (realistic sizes divided by
/// `divisor`: 200 makes about 4 MB, 20 about 38 MB), keys with a recovery key, and an empty
/// repository `repo`. Returns the seed report too.
fn setup(divisor: u64) -> (Fixture, Value) {
    let fx = Fixture::empty();
    let seeded = json_run(
        &[
            "seed",
            &fx.arg("chats.db"),
            "--messages",
            &MESSAGES.to_string(),
            "--media",
            &fx.arg("media"),
            "--media-bytes",
            "40000000",
            "--media-size-divisor",
            &divisor.to_string(),
        ],
        0,
    );
    assert!(seeded["media"]["files"].as_u64().unwrap() > 100, "{seeded}");
    assert!(seeded["media"]["absent"].as_u64().unwrap() > 0, "{seeded}");
    fx.create_keys("keys");
    fx.add_recovery("keys", "recovery.txt");
    json_run(
        &[
            "repo",
            "init",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ],
        0,
    );
    (fx, seeded)
}

fn backup_args(fx: &Fixture, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "repo",
        "backup",
        "--repo",
        &fx.arg("repo"),
        "--keys",
        &fx.arg("keys"),
        "--cache",
        &fx.arg("cache"),
        &fx.arg("chats.db"),
        "--media",
        &fx.arg("media"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// `repo restore` on a new device (the recovery key) into `db` and the media into `to`.
fn restore_args(fx: &Fixture, db: &str, to: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "repo",
        "restore",
        "--repo",
        &fx.arg("repo"),
        "--recovery-key-file",
        &fx.arg("recovery.txt"),
        "--to",
        &fx.arg(db),
        "--media-to",
        &fx.arg(to),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn run(args: &[String], code: i32) -> Value {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    json_run(&args, code)
}

/// Every file under `root`: relative path to bytes.
fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy();
                out.insert(relative.into_owned(), fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// An attachment as the database and the media directory know it.
#[derive(Debug, Clone)]
struct Attachment {
    id: i64,
    mime: String,
    local_ref: String,
    conversation: i64,
    sent_at: i64,
    /// Size of its file in the media directory, if it has one.
    file: Option<u64>,
}

fn attachments(fx: &Fixture) -> Vec<Attachment> {
    let conn = rusqlite::Connection::open(fx.path("chats.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT a.id, a.mime, a.local_ref, m.conversation_id, m.sent_at FROM attachments a \
             JOIN messages m ON m.id = a.message_id ORDER BY a.id",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(Attachment {
                id: r.get(0)?,
                mime: r.get(1)?,
                local_ref: r.get(2)?,
                conversation: r.get(3)?,
                sent_at: r.get(4)?,
                file: None,
            })
        })
        .unwrap();
    rows.map(|a| {
        let mut a = a.unwrap();
        a.file = fs::metadata(fx.path("media").join(&a.local_ref))
            .ok()
            .map(|m| m.len());
        a
    })
    .collect()
}

#[test]
fn media_is_restored_on_a_new_device_byte_for_byte_and_a_rerun_does_nothing_again() {
    let (fx, seeded) = setup(200);
    let first = run(&backup_args(&fx, &[]), 0);
    let media = &first["media"];
    assert_eq!(media["files_stored"], seeded["media"]["files"], "{first}");
    assert_eq!(media["files_absent"], seeded["media"]["absent"], "{first}");
    assert_eq!(media["files_read"], media["files_stored"], "{first}");
    assert_eq!(media["bytes_stored"], seeded["media"]["bytes"], "{first}");
    let stored = media["files_stored"].as_u64().unwrap();
    // Nothing changed: no file is read again.
    let second = run(&backup_args(&fx, &[]), 0);
    assert_eq!(second["media"]["files_read"], 0, "{second}");
    assert_eq!(second["media"]["files_unchanged"], stored, "{second}");
    let listed = json_run(
        &[
            "repo",
            "snapshots",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ],
        0,
    );
    assert_eq!(listed["snapshots"][1]["media"]["files_stored"], stored);

    let restored = run(&restore_args(&fx, "new.db", "new-media", &[]), 0);
    assert_eq!(restored["database_kept"], false, "{restored}");
    assert_eq!(restored["counts"]["messages"], MESSAGES, "{restored}");
    assert_eq!(restored["media"]["files_restored"], stored, "{restored}");
    assert_eq!(
        restored["media"]["files_not_in_backup"], seeded["media"]["absent"],
        "{restored}"
    );
    assert_eq!(
        restored["media"]["lost"],
        serde_json::json!([]),
        "{restored}"
    );
    assert_eq!(
        files_under(&fx.path("new-media")),
        files_under(&fx.path("media"))
    );
    // The state sits beside the media directory, not in it.
    assert!(fx.path("new-media.keepsake-state").is_dir());

    // Running it again keeps the database and restores nothing twice.
    let again = run(&restore_args(&fx, "new.db", "new-media", &[]), 0);
    assert_eq!(again["database_kept"], true, "{again}");
    assert_eq!(again["media"]["files_restored"], 0, "{again}");
    assert_eq!(again["media"]["files_already_restored"], stored, "{again}");
    // Without --media-to an existing database is still refused.
    let args = [
        "repo",
        "restore",
        "--repo",
        &fx.arg("repo"),
        "--keys",
        &fx.arg("keys"),
        "--to",
        &fx.arg("new.db"),
    ];
    expect_error(&args, 18, "target_exists");
}

#[test]
fn backup_options_restore_filters_and_fetch_media_take_exactly_what_they_name() {
    let (fx, _) = setup(200);
    let all = attachments(&fx);
    // The conversation with the most photos.
    let mut photos = BTreeMap::<i64, usize>::new();
    for a in all.iter().filter(|a| a.mime.starts_with("image/")) {
        *photos.entry(a.conversation).or_default() += 1;
    }
    let (&conversation, _) = photos.iter().max_by_key(|(_, n)| **n).unwrap();
    let max = 8_000u64;
    let options = run(
        &backup_args(
            &fx,
            &[
                "--no-videos",
                "--max-file-size",
                &max.to_string(),
                "--exclude-conversation",
                &conversation.to_string(),
            ],
        ),
        0,
    );
    let left_out = |a: &Attachment| {
        a.mime.starts_with("video/")
            || a.conversation == conversation
            || a.file.is_some_and(|size| size > max)
    };
    let skipped = all.iter().filter(|a| left_out(a)).count();
    let stored = all
        .iter()
        .filter(|a| !left_out(a) && a.file.is_some())
        .count();
    assert_eq!(options["media"]["files_skipped"], skipped, "{options}");
    assert_eq!(options["media"]["files_stored"], stored, "{options}");

    // The latest backup takes everything; the restore takes only images of one conversation
    // sent since a time.
    run(&backup_args(&fx, &[]), 0);
    let images: Vec<&Attachment> = all
        .iter()
        .filter(|a| a.mime.starts_with("image/") && a.conversation == conversation)
        .collect();
    let since = images[images.len() / 2].sent_at;
    let expected: BTreeMap<String, Vec<u8>> = images
        .iter()
        .filter(|a| a.sent_at >= since && a.file.is_some())
        .map(|a| {
            let bytes = fs::read(fx.path("media").join(&a.local_ref)).unwrap();
            (a.local_ref.clone(), bytes)
        })
        .collect();
    assert!(!expected.is_empty());
    let filtered = run(
        &restore_args(
            &fx,
            "new.db",
            "new-media",
            &[
                "--kind",
                "image",
                "--conversation",
                &conversation.to_string(),
                "--since",
                &since.to_string(),
            ],
        ),
        0,
    );
    assert_eq!(
        filtered["media"]["files_restored"],
        expected.len(),
        "{filtered}"
    );
    assert_eq!(files_under(&fx.path("new-media")), expected);

    // One voice note on demand, into the same directory and state.
    let voice = all
        .iter()
        .find(|a| a.mime.starts_with("audio/") && a.file.is_some())
        .unwrap();
    let fetch = |id: i64| {
        vec![
            "repo".to_owned(),
            "fetch-media".to_owned(),
            "--repo".to_owned(),
            fx.arg("repo"),
            "--recovery-key-file".to_owned(),
            fx.arg("recovery.txt"),
            "--attachment".to_owned(),
            id.to_string(),
            "--media-to".to_owned(),
            fx.arg("new-media"),
        ]
    };
    let fetched = run(&fetch(voice.id), 0);
    assert_eq!(fetched["attachment_id"], voice.id, "{fetched}");
    assert_eq!(
        fs::read(fetched["path"].as_str().unwrap()).unwrap(),
        fs::read(fx.path("media").join(&voice.local_ref)).unwrap()
    );
    // An attachment without a file in the backup, and one that does not exist, are exit 22.
    let absent = all.iter().find(|a| a.file.is_none()).unwrap();
    for id in [absent.id, 1_000_000] {
        let args = fetch(id);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        expect_error(&args, 22, "media_unavailable");
    }

    // The rest: what the filter and the fetch restored is not restored again.
    let rest = run(&restore_args(&fx, "new.db", "new-media", &[]), 0);
    assert_eq!(
        rest["media"]["files_already_restored"],
        expected.len() + 1,
        "{rest}"
    );
    assert_eq!(
        files_under(&fx.path("new-media")),
        files_under(&fx.path("media"))
    );
}

#[test]
fn a_damaged_media_pack_costs_only_its_attachments_and_exits_22_with_the_report() {
    let (fx, _) = setup(200);
    let backup = run(&backup_args(&fx, &[]), 0);
    let stored = backup["media"]["files_stored"].as_u64().unwrap();
    // The largest pack holds media (the archive of 3,000 messages is a few hundred KiB).
    let largest = packs(&fx.path("repo"))
        .into_iter()
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = fs::read(&largest).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&largest, bytes).unwrap();

    let report = run(&restore_args(&fx, "new.db", "new-media", &[]), 22);
    assert_eq!(report["counts"]["messages"], MESSAGES, "{report}");
    let lost = report["media"]["lost"].as_array().unwrap();
    assert!(!lost.is_empty(), "{report}");
    assert!(lost
        .iter()
        .all(|l| !l["reason"].as_str().unwrap().is_empty()));
    assert_eq!(
        report["media"]["files_restored"].as_u64().unwrap() + lost.len() as u64,
        stored,
        "{report}"
    );
}

/// The pack files of a directory repository (temporary files start with a dot).
fn packs(repo: &Path) -> Vec<std::path::PathBuf> {
    fs::read_dir(repo.join("data"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

fn packs_bytes(repo: &Path) -> u64 {
    packs(repo)
        .iter()
        .map(|p| fs::metadata(p).map_or(0, |m| m.len()))
        .sum()
}

/// Starts `keepsake args` in the background.
fn spawn(args: &[String]) -> Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("keepsake"))
        .args(args)
        .env_remove("KEEPSAKE_KEYS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `reached` holds, then kills `child` with SIGKILL; fails if it ended first.
fn kill_when(mut child: Child, mut reached: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !reached() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the command ended ({status}) before it could be killed mid-way");
        }
        assert!(Instant::now() < deadline, "no progress in two minutes");
        thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status}");
}

/// Bytes of the distinct files under `root` (forwards share their chunks).
fn distinct_bytes(root: &Path) -> u64 {
    let mut seen = std::collections::BTreeSet::new();
    files_under(root)
        .into_values()
        .filter(|bytes| seen.insert(bytes.clone()))
        .map(|bytes| bytes.len() as u64)
        .sum()
}

#[test]
fn a_media_backup_killed_mid_way_resumes_without_uploading_again() {
    let (fx, _) = setup(20);
    let archive_only = run(
        &[
            "repo".to_owned(),
            "backup".to_owned(),
            "--repo".to_owned(),
            fx.arg("repo"),
            "--keys".to_owned(),
            fx.arg("keys"),
            fx.arg("chats.db"),
        ],
        0,
    );
    let before = packs_bytes(&fx.path("repo"));
    let distinct = distinct_bytes(&fx.path("media"));
    // Killed once a media pack (8 MiB) is in the repository, with more than as much to go.
    let threshold = before + 8 * 1024 * 1024;
    assert!(distinct > threshold + 8 * 1024 * 1024, "{distinct}");
    let child = spawn(&backup_args(&fx, &[]));
    kill_when(child, || packs_bytes(&fx.path("repo")) >= threshold);
    let at_kill = packs_bytes(&fx.path("repo")) - before;
    let listed = json_run(
        &[
            "repo",
            "snapshots",
            "--repo",
            &fx.arg("repo"),
            "--keys",
            &fx.arg("keys"),
        ],
        0,
    );
    assert_eq!(listed["snapshots"].as_array().unwrap().len(), 1, "{listed}");

    let resumed = run(&backup_args(&fx, &[]), 0);
    assert!(resumed["packs_adopted"].as_u64().unwrap() >= 1, "{resumed}");
    let uploaded = resumed["bytes_uploaded"].as_u64().unwrap();
    // It uploads what was left, not what the killed run had stored (1 MiB of slack for the
    // catalog, the index and the snapshot).
    assert!(
        uploaded + at_kill <= distinct + (1 << 20),
        "uploaded {uploaded} after {at_kill} of {distinct}: {resumed}"
    );
    assert!(
        packs_bytes(&fx.path("repo")) - before <= distinct + (1 << 20),
        "{archive_only}"
    );
    let restored = run(&restore_args(&fx, "new.db", "new-media", &[]), 0);
    assert!(restored["media"]["lost"].as_array().unwrap().is_empty());
    assert_eq!(
        files_under(&fx.path("new-media")),
        files_under(&fx.path("media"))
    );
}

#[test]
fn a_media_restore_killed_mid_way_resumes_without_restoring_again() {
    let (fx, _) = setup(20);
    let backup = run(&backup_args(&fx, &[]), 0);
    let stored = backup["media"]["files_stored"].as_u64().unwrap();
    let committed = || {
        fs::read_dir(fx.path("new-media").join("media"))
            .map(|entries| {
                entries
                    .filter(|e| {
                        let name = e.as_ref().unwrap().file_name();
                        !name.to_string_lossy().starts_with('.')
                    })
                    .count() as u64
            })
            .unwrap_or(0)
    };
    let child = spawn(&restore_args(&fx, "new.db", "new-media", &[]));
    kill_when(child, || committed() >= stored / 3);
    let at_kill = committed();
    assert!(fx.path("new.db").is_file(), "the database comes first");

    let resumed = run(&restore_args(&fx, "new.db", "new-media", &[]), 0);
    assert_eq!(resumed["database_kept"], true, "{resumed}");
    let media = &resumed["media"];
    let already = media["files_already_restored"].as_u64().unwrap();
    // The file committed at the moment of the kill may not have been recorded yet.
    assert!(already + 1 >= at_kill, "{already} of {at_kill}: {resumed}");
    assert_eq!(
        media["files_restored"].as_u64().unwrap() + already,
        stored,
        "{resumed}"
    );
    assert_eq!(
        files_under(&fx.path("new-media")),
        files_under(&fx.path("media"))
    );
}
