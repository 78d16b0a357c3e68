//! Sealing a text: the private half (text and a fresh random salt) and the public commitment,
//! and the file form of a sealed half that `concordat addendum verify` opens.

use domain::contract::Sealed;

use crate::{Result, ServiceError};

/// Seals `text` under a fresh random salt: the private half and the public commitment.
pub fn seal(id: &str, text: String) -> Result<(Sealed, String)> {
    let salt = crate::keys::random_bytes().map_err(ServiceError::internal)?;
    Ok(domain::contract::seal(id, text, &salt))
}

/// A sealed half as a file: TOML headed by the commitment it opens.
pub fn headed(commitment: &str, sealed: &Sealed) -> Result<String> {
    let body = toml::to_string(sealed).map_err(ServiceError::internal)?;
    Ok(format!("# commitment = \"{commitment}\"\n{body}"))
}
