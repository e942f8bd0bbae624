//! The keys directory: the device's copy of a keyring. `root.key` holds the root key (mode
//! 0600, the secret that lets daily backups run without a prompt), `keyring.pub` its public
//! part (key slots, MACed by the core with the root key) and `generation` the highest keyring
//! generation seen here, which refuses a rolled-back `keyring.pub`.

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
/// File name of the known keyring generation (decimal text) inside a keys directory.
pub const GENERATION_FILE: &str = "generation";

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

    /// Path of the known-generation file.
    pub fn generation_path(&self) -> PathBuf {
        self.dir.join(GENERATION_FILE)
    }

    /// The generation this directory has seen; `None` when the file is missing (a directory
    /// written before the file existed: [`Self::load`] writes it then).
    fn stored_generation(&self) -> CliResult<Option<u64>> {
        let path = self.generation_path();
        match fs::read_to_string(&path) {
            Ok(text) => text.trim().parse().map(Some).map_err(|_| {
                CliError::Usage(format!(
                    "{} does not hold a generation number",
                    path.display()
                ))
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(CliError::io(&path, err)),
        }
    }

    /// The generation this directory has seen, which every backup passes as its known
    /// generation; never a silent 0: a directory without the file gets it from its keyring at
    /// the first [`Self::load`].
    pub fn known_generation(&self) -> CliResult<u64> {
        match self.stored_generation()? {
            Some(generation) => Ok(generation),
            None => Ok(self.load()?.generation()),
        }
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
        self.save_generation(keyring.generation())?;
        Ok(keyring)
    }

    /// Load the keyring; the core checks the public part against the root key.
    pub fn load(&self) -> CliResult<Keyring> {
        let root = secrets::read_root_key(&self.root_key_path())?;
        let public_path = self.public_path();
        let public = fs::read(&public_path).map_err(|e| CliError::io(&public_path, e))?;
        match self.stored_generation()? {
            Some(known) => Ok(Keyring::from_stored(root, &public, known)?),
            None => {
                // Trust on first use: from now on an older keyring.pub is refused.
                let keyring = Keyring::from_parts(root, &public)?;
                self.save_generation(keyring.generation())?;
                Ok(keyring)
            }
        }
    }

    /// Write the keyring after a slot change: the root key (new after a rotation), the public
    /// part and the generation, each replaced atomically. The three are separate files, so a
    /// crash between the first two leaves a pair whose MAC fails (`keys list` says so); the
    /// backups already written stay readable with their secrets.
    pub fn save(&self, keyring: &Keyring) -> CliResult<()> {
        secrets::replace_private_file(&self.root_key_path(), keyring.root_key().expose_secret())?;
        secrets::replace_private_file(&self.public_path(), &keyring.to_public_bytes())?;
        self.save_generation(keyring.generation())
    }

    fn save_generation(&self, generation: u64) -> CliResult<()> {
        secrets::replace_private_file(
            &self.generation_path(),
            format!("{generation}\n").as_bytes(),
        )
    }
}
