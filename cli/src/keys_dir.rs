//! The keys directory: the device's copy of a keyring. `root.key` holds the root key (mode
//! 0600, the secret that lets daily backups run without a prompt) and `keyring.pub` its public
//! part (key slots, MACed by the core with the root key).

use std::{
    fs,
    path::{Path, PathBuf},
};

use keepsake_core::keyring::Keyring;

use crate::{
    error::{CliError, CliResult},
    secrets,
};

/// File name of the root key inside a keys directory.
pub const ROOT_KEY_FILE: &str = "root.key";
/// File name of the public keyring inside a keys directory.
pub const PUBLIC_KEYRING_FILE: &str = "keyring.pub";

/// A keys directory on disk.
#[derive(Debug, Clone)]
pub struct KeysDir {
    dir: PathBuf,
}

impl KeysDir {
    /// The keys directory at `dir` (not checked yet).
    pub fn at(dir: &Path) -> Self {
        KeysDir {
            dir: dir.to_path_buf(),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Path of the root key file.
    pub fn root_key_path(&self) -> PathBuf {
        self.dir.join(ROOT_KEY_FILE)
    }

    /// Path of the public keyring file.
    pub fn public_path(&self) -> PathBuf {
        self.dir.join(PUBLIC_KEYRING_FILE)
    }

    /// Create the directory (owner-only) with a new keyring; refuses an existing keyring.
    pub fn create(&self) -> CliResult<Keyring> {
        if self.root_key_path().exists() || self.public_path().exists() {
            return Err(CliError::TargetExists(self.root_key_path()));
        }
        fs::create_dir_all(&self.dir).map_err(|e| CliError::io(&self.dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| CliError::io(&self.dir, e))?;
        }
        let keyring = Keyring::create()?;
        secrets::write_root_key(&self.root_key_path(), keyring.root_key())?;
        if let Err(err) =
            secrets::write_private_file(&self.public_path(), &keyring.to_public_bytes())
        {
            let _ = fs::remove_file(self.root_key_path());
            return Err(err);
        }
        Ok(keyring)
    }

    /// Load the keyring; the core checks the public part against the root key.
    pub fn load(&self) -> CliResult<Keyring> {
        let root = secrets::read_root_key(&self.root_key_path())?;
        let public_path = self.public_path();
        let public = fs::read(&public_path).map_err(|e| CliError::io(&public_path, e))?;
        Ok(Keyring::from_parts(root, &public)?)
    }

    /// Write the keyring's public part after a slot change (atomically).
    pub fn save(&self, keyring: &Keyring) -> CliResult<()> {
        secrets::replace_private_file(&self.public_path(), &keyring.to_public_bytes())
    }
}
