//! SEV-SNP attestation against AMD's chain, on public test vectors: the genuine report
//! verifies and yields its measurement; a changed byte, another processor's keys, another
//! VCEK or a text file that only says it is an attestation do not.

use service::snp;

const REPORT_HEX: &[u8] = include_bytes!("../fixtures/sev-snp/report_milan.hex");
const VCEK_MILAN: &[u8] = include_bytes!("../fixtures/sev-snp/vcek_milan.der");
const VCEK_TURIN: &[u8] = include_bytes!("../fixtures/sev-snp/vcek_turin.der");

fn report() -> Vec<u8> {
    let text: String = String::from_utf8(REPORT_HEX.to_vec())
        .unwrap()
        .split_whitespace()
        .collect();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn a_genuine_report_verifies_against_amds_chain_and_nothing_else_does() {
    let report = report();
    let verified = snp::verify("milan", &report, VCEK_MILAN).unwrap();
    assert_eq!(verified.measurement.len(), 96);
    println!("measurement {}", verified.measurement);
    // From hex text, as `hosting attest` reads it, the same.
    let (evidence, again) = snp::evidence("milan", REPORT_HEX, VCEK_MILAN).unwrap();
    assert_eq!(again, verified);
    assert_eq!(
        snp::verify_evidence(&evidence, &verified.report_digest).unwrap(),
        verified
    );

    let mut changed = report.clone();
    changed[0x90] ^= 1; // a byte of the measurement
    let error = snp::verify("milan", &changed, VCEK_MILAN).unwrap_err();
    assert!(error.contains("signature does not verify"), "{error}");
    let error = snp::verify("genoa", &report, VCEK_MILAN).unwrap_err();
    assert!(
        error.contains("not certified by AMD's genoa keys"),
        "{error}"
    );
    let error = snp::verify("milan", &report, VCEK_TURIN).unwrap_err();
    assert!(
        error.contains("not certified by AMD's milan keys"),
        "{error}"
    );
    let error = snp::verify("milan", b"not a real attestation", VCEK_MILAN).unwrap_err();
    assert!(
        error.contains("not an SEV-SNP attestation report"),
        "{error}"
    );
    let error = snp::verify("epyc-9", &report, VCEK_MILAN).unwrap_err();
    assert!(error.contains("milan, genoa, turin"), "{error}");

    // The evidence must be the report the entry names, with the report's measurement.
    let mut claimed = evidence.clone();
    claimed.measurement = "0".repeat(96);
    let error = snp::verify_evidence(&claimed, &verified.report_digest).unwrap_err();
    assert!(error.contains("but the report's is"), "{error}");
    let error = snp::verify_evidence(&evidence, &format!("sha256:{}", "0".repeat(64))).unwrap_err();
    assert!(error.contains("hashes to"), "{error}");
}
