//! Where secrets come from and where they are kept. Never from the command line (it leaks into
//! shell history and `ps`): the recovery key comes from a prompt, stdin or a file; the root key
//! lives in a file only its owner can read.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufRead, IsTerminal, Read, Write},
    path::{Path, PathBuf},
};

use keepsake_core::{crypto::RootKey, keyring::RecoveryKey};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{CliError, CliResult};

/// Where to read a recovery key from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryKeySource {
    /// Ask on the terminal without echo.
    Prompt,
    /// The first line of standard input.
    Stdin,
    /// The first line of a file.
    File(PathBuf),
}

/// Read and parse a recovery key; a typo is reported as such by the core.
pub fn read_recovery_key(source: &RecoveryKeySource) -> CliResult<RecoveryKey> {
    let text = match source {
        RecoveryKeySource::Prompt => prompt_recovery_key()?,
        RecoveryKeySource::Stdin => first_line(io::stdin().lock()).map_err(CliError::from_stdin)?,
        RecoveryKeySource::File(path) => {
            let file = File::open(path).map_err(|e| CliError::io(path, e))?;
            first_line(io::BufReader::new(file)).map_err(|e| CliError::io(path, e))?
        }
    };
    Ok(RecoveryKey::parse(text.trim())?)
}

/// Read a password from the first line of stdin (without its line ending) or from a prompt;
/// a new password (`confirm`) is asked for twice. Never from the command line.
pub fn read_password(stdin: bool, confirm: bool) -> CliResult<Zeroizing<String>> {
    if stdin {
        let mut line = first_line(io::stdin().lock()).map_err(CliError::from_stdin)?;
        while line.ends_with('\n') || line.ends_with('\r') {
            line.pop();
        }
        return Ok(line);
    }
    if !io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "no terminal to ask for the password: pass --password-stdin".into(),
        ));
    }
    let password = rpassword::prompt_password("Password: ")
        .map(Zeroizing::new)
        .map_err(CliError::from_stdin)?;
    if confirm {
        let again = rpassword::prompt_password("Password again: ")
            .map(Zeroizing::new)
            .map_err(CliError::from_stdin)?;
        if again != password {
            return Err(CliError::Usage("the two passwords differ".into()));
        }
    }
    Ok(password)
}

fn prompt_recovery_key() -> CliResult<Zeroizing<String>> {
    if !io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "no secret given: pass --recovery-key-stdin, --recovery-key-file, --passkey or --keys"
                .into(),
        ));
    }
    rpassword::prompt_password("Recovery key: ")
        .map(Zeroizing::new)
        .map_err(CliError::from_stdin)
}

fn first_line(mut reader: impl BufRead) -> io::Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    reader.read_line(&mut line)?;
    Ok(line)
}

impl CliError {
    fn from_stdin(err: io::Error) -> Self {
        CliError::io("<stdin>", err)
    }
}

/// Create `path` holding `bytes`, readable by its owner only (0600), refusing to overwrite.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> CliResult<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|err| {
        if err.kind() == io::ErrorKind::AlreadyExists {
            CliError::TargetExists(path.to_path_buf())
        } else {
            CliError::io(path, err)
        }
    })?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(err) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(CliError::io(path, err));
    }
    Ok(())
}

/// Replace `path` atomically with `bytes` (temporary file, then rename), owner-only.
pub fn replace_private_file(path: &Path, bytes: &[u8]) -> CliResult<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| CliError::io(dir, e))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| CliError::io(temp.path(), e))?;
    temp.persist(path)
        .map_err(|e| CliError::io(path, e.error))?;
    Ok(())
}

/// Read a file holding a secret, warning when others may read it.
pub fn read_private_file(path: &Path) -> CliResult<Zeroizing<Vec<u8>>> {
    let mut file = File::open(path).map_err(|e| CliError::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .map_err(|e| CliError::io(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "keepsake: warning: {} holds a secret but others may read it (mode {:o}); \
                 run chmod 600 on it",
                path.display(),
                mode & 0o777
            );
        }
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.read_to_end(&mut bytes)
        .map_err(|e| CliError::io(path, e))?;
    Ok(bytes)
}

/// Store a root key (32 raw bytes) in a new owner-only file.
pub fn write_root_key(path: &Path, key: &RootKey) -> CliResult<()> {
    write_private_file(path, key.expose_secret())
}

/// Load a root key written by [`write_root_key`].
pub fn read_root_key(path: &Path) -> CliResult<RootKey> {
    let bytes = read_private_file(path)?;
    // A root key of another length is a damaged keys directory (exit 12, as a keyring.pub whose
    // MAC fails), not a usage mistake.
    let mut array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        CliError::Core(keepsake_core::Error::Corrupted {
            what: format!(
                "{} is damaged: a root key is 32 bytes, this file has {}",
                path.display(),
                bytes.len()
            ),
        })
    })?;
    let key = RootKey::from_bytes(array);
    array.zeroize();
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_owner_only_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_private_file(&path, b"one").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = write_private_file(&path, b"two");
        assert!(matches!(again, Err(CliError::TargetExists(_))));
        assert_eq!(read_private_file(&path).unwrap().as_slice(), b"one");
    }

    #[test]
    fn replacing_keeps_the_file_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("public");
        write_private_file(&path, b"old").unwrap();
        replace_private_file(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
    }

    #[test]
    fn a_root_key_file_of_the_wrong_size_is_refused_as_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        write_private_file(&path, &[7u8; 31]).unwrap();
        assert!(matches!(
            read_root_key(&path),
            Err(CliError::Core(keepsake_core::Error::Corrupted { what })) if what.contains("has 31")
        ));
    }

    #[test]
    fn only_the_first_line_is_the_key() {
        let line = first_line(io::Cursor::new(b"abc def\nrest\n".to_vec())).unwrap();
        assert_eq!(line.trim(), "abc def");
    }
}
