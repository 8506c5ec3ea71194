//! The certificate cache directory (`WELD_TLS_CACHE_DIR`): the ACME account and
//! each certificate with its key, readable by the server's user only (directory
//! 0700, files 0600), written whole or not at all (a temporary file renamed into
//! place). Files are named by a hash of the ACME directory (and the domains), so
//! switching from staging to production never serves a staging certificate.

use std::{
    fs,
    io::{self, Write as _},
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

/// The cache directory of one ACME directory and set of domains.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    account: String,
    certificate: String,
}

impl Cache {
    /// Opens (creating it if needed) the directory, restricts it to the server's
    /// user and proves it can be written. The error says what to fix.
    pub fn open(dir: &Path, directory_url: &str, domains: &[String]) -> Result<Self, String> {
        let explain = |what: &str, e: io::Error| {
            format!(
                "WELD_TLS_CACHE_DIR `{}` {what}: {e}; it must be a directory the server's user can write (in the image: the volume at /data)",
                dir.display()
            )
        };
        create_private_dir(dir).map_err(|e| explain("cannot be created", e))?;
        let probe = dir.join(".write-test");
        write_private(&probe, b"").map_err(|e| explain("cannot be written", e))?;
        let _ = fs::remove_file(&probe);
        let mut names: Vec<String> = domains.iter().map(|d| d.to_ascii_lowercase()).collect();
        names.sort();
        let account = short_hash(directory_url);
        let certificate = short_hash(&format!("{directory_url}\n{}", names.join(",")));
        Ok(Self {
            dir: dir.to_owned(),
            account: format!("account-{account}.json"),
            certificate: format!("certificate-{certificate}.pem"),
        })
    }

    /// The stored ACME account credentials (JSON), if any.
    pub fn account(&self) -> Option<Vec<u8>> {
        fs::read(self.dir.join(&self.account)).ok()
    }

    /// Stores the ACME account credentials.
    pub fn store_account(&self, json: &[u8]) -> io::Result<()> {
        write_private(&self.dir.join(&self.account), json)
    }

    /// The stored certificate: the key PEM followed by the chain PEM, if any.
    pub fn certificate(&self) -> Option<Vec<u8>> {
        fs::read(self.dir.join(&self.certificate)).ok()
    }

    /// Stores a certificate chain with its key.
    pub fn store_certificate(&self, key_pem: &str, chain_pem: &str) -> io::Result<()> {
        let mut both = String::with_capacity(key_pem.len() + chain_pem.len() + 1);
        both.push_str(key_pem.trim_end());
        both.push('\n');
        both.push_str(chain_pem);
        write_private(&self.dir.join(&self.certificate), both.as_bytes())
    }
}

fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Writes `bytes` to `path` through a temporary file readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn files_and_directory_are_private_and_names_follow_the_directory_url() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("weld-cache-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let domains = ["b.example.org".to_owned(), "A.example.org".to_owned()];
        let cache = Cache::open(&dir.join("tls"), "https://acme.example/dir", &domains).unwrap();
        cache.store_account(b"{}").unwrap();
        cache.store_certificate("KEY", "CHAIN\n").unwrap();
        assert_eq!(cache.certificate().unwrap(), b"KEY\nCHAIN\n");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("tls")), 0o700);
        for entry in fs::read_dir(dir.join("tls")).unwrap() {
            assert_eq!(mode(&entry.unwrap().path()), 0o600);
        }
        // The same names in another order share the file; another directory does not.
        let same = Cache::open(
            &dir.join("tls"),
            "https://acme.example/dir",
            &["a.example.org".to_owned(), "b.example.org".to_owned()],
        )
        .unwrap();
        assert!(same.certificate().is_some());
        let staging = Cache::open(&dir.join("tls"), "https://staging.example/dir", &domains).unwrap();
        assert!(staging.certificate().is_none() && staging.account().is_none());
        let _ = fs::remove_dir_all(&dir);
    }
}
