//! AMD SEV-SNP attestation, verified: the report's signature by the VCEK, the VCEK certified
//! by AMD's signing key (ASK) and root key (ARK) for its processor generation — the keys AMD
//! publishes, as the `sev` crate carries them — and the launch measurement read from the
//! report itself. A hosting attestation that carries a report is kept only if all of this
//! holds (see [`crate::admission`]); the gate then compares the measurement with the ones the
//! contract names.

use base64::Engine as _;
use domain::HostingEvidence;
use sev::certs::snp::{Certificate, Chain, Verifiable, builtin, ca};
use sev::firmware::guest::AttestationReport;
use sev::parser::ByteParser as _;

/// What a verified report says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The launch measurement, 96 lowercase hex digits.
    pub measurement: String,
    /// `sha256:<hex>` of the report's bytes.
    pub report_digest: String,
}

/// The processor generations whose AMD keys are known.
pub const PROCESSORS: [&str; 3] = ["milan", "genoa", "turin"];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Verifies `report` (its bytes) as signed by the VCEK `vcek` (DER), certified by AMD's keys
/// for `processor`. Says what failed.
pub fn verify(processor: &str, report: &[u8], vcek: &[u8]) -> Result<Verified, String> {
    let (ark, ask) = match processor {
        "milan" => (builtin::milan::ark(), builtin::milan::ask()),
        "genoa" => (builtin::genoa::ark(), builtin::genoa::ask()),
        "turin" => (builtin::turin::ark(), builtin::turin::ask()),
        other => {
            return Err(format!(
                "processor `{other}` is not one whose AMD keys are known ({})",
                PROCESSORS.join(", ")
            ));
        }
    };
    let ark = ark.map_err(|e| format!("AMD's root key for {processor}: {e}"))?;
    let ask = ask.map_err(|e| format!("AMD's signing key for {processor}: {e}"))?;
    let vek = Certificate::from_der(vcek).map_err(|e| format!("the VCEK certificate: {e}"))?;
    let chain = Chain {
        ca: ca::Chain { ark, ask },
        vek,
    };
    chain
        .verify()
        .map_err(|e| format!("the VCEK is not certified by AMD's {processor} keys: {e}"))?;
    let parsed = AttestationReport::from_bytes(report)
        .map_err(|e| format!("not an SEV-SNP attestation report: {e}"))?;
    (&chain, &parsed)
        .verify()
        .map_err(|e| format!("the report's signature does not verify with the VCEK: {e}"))?;
    Ok(Verified {
        measurement: hex(&parsed.measurement),
        report_digest: format!("sha256:{}", crate::build::sha256_hex(report)),
    })
}

/// Verifies the evidence an entry carries, and that its stated measurement and report digest
/// are the report's.
pub fn verify_evidence(
    evidence: &HostingEvidence,
    report_digest: &str,
) -> Result<Verified, String> {
    let decode = |what: &str, text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("`evidence.{what}` is not base64: {e}"))
    };
    let report = decode("report", &evidence.report)?;
    let vcek = decode("vcek", &evidence.vcek)?;
    let verified = verify(&evidence.processor, &report, &vcek)?;
    if verified.report_digest != report_digest {
        return Err(format!(
            "`report` names {report_digest}, but the report in the evidence hashes to {}",
            verified.report_digest
        ));
    }
    if verified.measurement != evidence.measurement {
        return Err(format!(
            "`evidence.measurement` is {}, but the report's is {}",
            evidence.measurement, verified.measurement
        ));
    }
    Ok(verified)
}

/// The evidence for an entry, from a report (its bytes, or hex text of them) and the VCEK
/// certificate (DER, or PEM), verified here first so that a bad one is refused before it is
/// signed.
pub fn evidence(
    processor: &str,
    report: &[u8],
    vcek: &[u8],
) -> Result<(HostingEvidence, Verified), String> {
    let report = from_hex_text(report).unwrap_or_else(|| report.to_vec());
    let vcek = from_pem(vcek).unwrap_or_else(|| vcek.to_vec());
    let verified = verify(processor, &report, &vcek)?;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok((
        HostingEvidence {
            format: domain::SEV_SNP.to_owned(),
            processor: processor.to_owned(),
            report: encode(&report),
            vcek: encode(&vcek),
            measurement: verified.measurement.clone(),
        },
        verified,
    ))
}

/// Bytes written as hex text (whitespace allowed), if that is what `text` is.
fn from_hex_text(text: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if digits.is_empty()
        || !digits.len().is_multiple_of(2)
        || !digits.iter().all(u8::is_ascii_hexdigit)
    {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// The DER inside a PEM `CERTIFICATE` block, if `text` is one.
fn from_pem(text: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}
