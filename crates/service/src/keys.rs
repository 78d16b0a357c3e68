//! Signer key files: created readable only by their owner, read with the file named in errors.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use tlog::note::{KeyType, SignerKey};

/// Why a key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("`{0}` already exists; pass --force to overwrite it")]
    Exists(String),
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}`: {source}")]
    Parse {
        path: String,
        source: tlog::note::KeyError,
    },
    #[error("key name `{name}`: {source}")]
    Name {
        name: String,
        source: tlog::note::KeyError,
    },
    #[error("cannot get random bytes: {0}")]
    Random(String),
}

/// 32 random bytes.
pub fn random_bytes() -> Result<[u8; 32], KeyError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(bytes)
}

/// `bytes` random bytes (at most 32) as lowercase hex: an id no one else will pick.
pub fn random_hex(bytes: usize) -> Result<String, KeyError> {
    Ok(random_bytes()?
        .iter()
        .take(bytes)
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A new Ed25519 signer key (or a C2SP cosignature key) named `name`.
pub fn new_key(name: &str, key_type: KeyType) -> Result<SignerKey, KeyError> {
    SignerKey::from_seed(name, key_type, random_bytes()?).map_err(|source| KeyError::Name {
        name: name.to_owned(),
        source,
    })
}

/// Writes a signer key file readable only by its owner, synced to disk; refuses to overwrite
/// unless `force`.
pub fn write_key_file(out: &Path, key: &SignerKey, force: bool) -> Result<(), KeyError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let io = |action, source| KeyError::Io {
        action,
        path: out.display().to_string(),
        source,
    };
    let mut file = options.open(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists(out.display().to_string())
        } else {
            io("create", e)
        }
    })?;
    file.write_all(format!("{}\n", key.to_text()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io("write", e))
}

/// Reads a signer key file.
pub fn read_signer(path: &Path) -> Result<SignerKey, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        action: "read signer key",
        path: path.display().to_string(),
        source,
    })?;
    SignerKey::parse(&text).map_err(|source| KeyError::Parse {
        path: path.display().to_string(),
        source,
    })
}

/// The key ID (hex SHA-256 of the SPKI DER) of a signer key's public half.
pub fn keyid_of(key: &SignerKey) -> Result<String, attest::keys::KeyError> {
    attest::PublicKey::parse(&key.verifier().to_text()).map(|k| k.keyid())
}

/// Why a signer key file is exposed: it can be read or written by others than its owner.
pub fn exposure(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "the signer key `{}` can be read or changed by others (mode {mode:03o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        )
    })
}
