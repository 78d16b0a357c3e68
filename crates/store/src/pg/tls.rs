//! TLS to PostgreSQL with rustls: the server's certificate is verified for its host name,
//! against the system's trust store or a CA file the operator names.

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StoreError;

/// The system's trust store, read once a process.
fn system_roots() -> &'static Vec<CertificateDer<'static>> {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// The TLS connector: certificates chain to `root_file`'s (PEM) when given, else to the
/// system's trust store.
pub(crate) fn connector(root_file: Option<&str>) -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = RootCertStore::empty();
    match root_file {
        Some(path) => {
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    StoreError::Invalid(format!("sslrootcert `{path}`: not PEM certificates: {e}"))
                })?;
            if certificates.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "sslrootcert `{path}` holds no certificate"
                )));
            }
            for certificate in certificates {
                roots
                    .add(certificate)
                    .map_err(|e| StoreError::Invalid(format!("sslrootcert `{path}`: {e}")))?;
            }
        }
        None => {
            let _ = roots.add_parsable_certificates(system_roots().iter().cloned());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Invalid(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
