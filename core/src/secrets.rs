//! Secrets at rest. Provider keys are sealed with AES-256-GCM under the server's key before
//! they are stored, and opened only where a provider is called; a leaked database (or
//! backup) does not leak them. The key comes from `SECRETS_KEY` (base64 of 32 random bytes;
//! in AWS, injected from Secrets Manager or a KMS-encrypted parameter by the task definition),
//! else from the file `SECRETS_KEY_FILE` (default `.dev/secrets.key`), which is created with
//! a fresh key on first start in embedded mode.

use std::path::{Path, PathBuf};

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use anyhow::Context;
use base64::{Engine, engine::general_purpose::STANDARD};
use rand::RngCore;
use secrecy::SecretString;

/// The prefix of a sealed value (the format's version).
const SEALED: &str = "v1:";
/// What every sealed value is bound to, with its own context (see [`SecretBox::seal`]).
const PURPOSE: &str = "aistudio secret";

/// Seals and opens secrets with the server's key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box for a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// A box with a random key that lives as long as the process (tests).
    pub fn ephemeral() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::new(&key)
    }

    /// The box for `SECRETS_KEY`, or the key file (`SECRETS_KEY_FILE`, default
    /// `.dev/secrets.key`), created with a new key when missing and `may_create` (the embedded
    /// default, where nobody else reaches the site); elsewhere a missing key is an error, since
    /// a key made on a container's disk would be lost, and the provider keys with it.
    pub fn from_env(may_create: bool) -> anyhow::Result<Self> {
        if let Some(raw) = std::env::var("SECRETS_KEY")
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            return Self::from_base64(&raw).context(
                "SECRETS_KEY must be the base64 of 32 random bytes (openssl rand -base64 32)",
            );
        }
        let file = std::env::var_os("SECRETS_KEY_FILE")
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from(".dev/secrets.key"), PathBuf::from);
        if !may_create && !file.exists() {
            anyhow::bail!(
                "SECRETS_KEY is not set (nor {} present): set it to the base64 of 32 random bytes (openssl rand -base64 32) and keep it with the database",
                file.display()
            );
        }
        Self::from_file(&file)
    }

    fn from_base64(raw: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD.decode(raw.trim())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the key is not 32 bytes long"))?;
        Ok(Self::new(&key))
    }

    fn from_file(file: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(file) {
            Ok(raw) => Self::from_base64(&raw)
                .with_context(|| format!("{} does not hold a valid key", file.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("could not create {}", dir.display()))?;
                }
                write_private(file, &STANDARD.encode(key)).with_context(|| {
                    format!(
                        "could not create {} (set SECRETS_KEY instead)",
                        file.display()
                    )
                })?;
                tracing::warn!(
                    file = %file.display(),
                    "SECRETS_KEY is not set: a new key was written to this file; keep it with the database (provider keys cannot be read without it)"
                );
                Ok(Self::new(&key))
            }
            Err(err) => Err(err).with_context(|| format!("could not read {}", file.display())),
        }
    }

    /// Seals `plain` for storage: `v1:` and the base64 of a fresh nonce and the ciphertext.
    /// It opens only with the same `context` (for a provider key: the provider, its kind and
    /// its address), so a sealed value copied elsewhere in the database opens nowhere.
    pub fn seal(&self, plain: &str, context: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: format!("{PURPOSE}\n{context}").as_bytes(),
                },
            )
            // Only inputs beyond GCM's 64 GB limit fail; a key is a few hundred bytes.
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{SEALED}{}", STANDARD.encode(out))
    }

    /// Opens a value [`seal`](Self::seal) made with this key and `context`.
    pub fn open(&self, stored: &str, context: &str) -> anyhow::Result<SecretString> {
        let raw = stored
            .strip_prefix(SEALED)
            .context("the stored key is not sealed")?;
        let bytes = STANDARD.decode(raw).context("the sealed key is damaged")?;
        anyhow::ensure!(bytes.len() > 12, "the sealed key is damaged");
        let (nonce, sealed) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().context("the sealed key is damaged")?;
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: format!("{PURPOSE}\n{context}").as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!(
                    "the stored key cannot be opened with this server's SECRETS_KEY for this provider (was the key or the provider's row changed outside the admin page?)"
                )
            })?;
        Ok(SecretString::from(
            String::from_utf8(plain).context("the sealed key is not text")?,
        ))
    }

    /// Whether a stored value is sealed (older rows hold keys in plain text until the server
    /// seals them at start).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED)
    }
}

#[cfg(unix)]
fn write_private(file: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)?;
    out.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(file: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(file, contents)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn sealed_keys_open_with_the_same_key_only() {
        let one = SecretBox::ephemeral();
        let sealed = one.seal("sk-live-123", "provider a");
        assert!(SecretBox::is_sealed(&sealed));
        assert!(!sealed.contains("sk-live-123"));
        assert_ne!(
            one.seal("sk-live-123", "provider a"),
            sealed,
            "a fresh nonce each time"
        );
        assert_eq!(
            one.open(&sealed, "provider a").unwrap().expose_secret(),
            "sk-live-123"
        );
        assert!(
            one.open(&sealed, "provider b").is_err(),
            "bound to its context"
        );
        let other = SecretBox::ephemeral();
        assert!(other.open(&sealed, "provider a").is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert!(one.open(&tampered, "provider a").is_err());
        assert!(one.open("sk-plain", "provider a").is_err());
    }

    #[test]
    fn a_missing_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/secrets.key");
        let first = SecretBox::from_file(&file).unwrap();
        let again = SecretBox::from_file(&file).unwrap();
        assert_eq!(
            again
                .open(&first.seal("k", "c"), "c")
                .unwrap()
                .expose_secret(),
            "k"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&file, "not base64!").unwrap();
        assert!(SecretBox::from_file(&file).is_err());
    }
}
