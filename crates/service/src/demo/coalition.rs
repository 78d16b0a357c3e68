//! The demo's coalition: a second instance, kept by a British agency, in which the UK lab
//! evaluated the version the demo's own instance holds back. Its operator names the demo's
//! instance and the British one as a coalition; the UK authority recognises the lab as it logs
//! in the British instance (`uk-test-lab@gb`) and brings that evaluation in with its proof
//! against a checkpoint the witness cosigned, where it meets the accuracy requirement of the
//! version's gate — a test run once and counted in two instances.

use std::path::Path;

use domain::federation::{CoalitionMember, CoalitionPublished, EvidenceMirrored};
use domain::{Assurance, Role};
use tlog::note::VerifierKey;

use super::{evaluate, internal, new_story, publish_contract, register};
use crate::{Draft, Instance as _, Local, Remote, Result, ServiceError};

/// The British instance's name in the coalition.
pub const MEMBER: &str = "gb";
const MEMBER_ORIGIN: &str = "gb.demo.concordat.example/ai";
/// The version whose evaluation the British instance logged.
pub const VERSION: &str = "2027.3.0";

/// The British instance's parties: id, name, role, jurisdiction.
const MEMBER_PARTIES: [(&str, &str, Role, &str); 4] = [
    (
        "gb-imagery-unit",
        "UK Defence Imagery Unit",
        Role::Agency,
        "GB",
    ),
    ("acme-ai", "Acme AI", Role::Vendor, "US"),
    ("gb-audit-office", "UK Audit Office", Role::Auditor, "GB"),
    ("uk-test-lab", "UK Evaluation Lab", Role::Lab, "GB"),
];

/// What the British instance holds.
#[derive(Debug, Clone)]
pub struct SeededMember {
    /// Its log's key (named for its origin).
    pub log_key: VerifierKey,
    /// The UK lab's evaluation of [`VERSION`].
    pub evidence: u64,
}

/// Creates the British instance in `dir`: its parties, the same template contract between
/// its agency and the vendor, [`VERSION`] offered under it, and the UK lab's evaluation of it,
/// ten days ago.
pub fn seed_member(dir: &Path) -> Result<SeededMember> {
    let (seeder, created) = new_story(dir, MEMBER_ORIGIN, &MEMBER_PARTIES, 30)?;
    let parties = crate::templates::Parties {
        agency: "gb-imagery-unit".into(),
        vendor: "acme-ai".into(),
        auditor: "gb-audit-office".into(),
    };
    publish_contract(&seeder, &parties, true)?;
    register(&seeder, VERSION, 1, 28, "Larger context window.")?;
    let evidence = evaluate(
        &seeder,
        VERSION,
        "uk-test-lab",
        "imagery-description-accuracy",
        "f1",
        0.91,
        20,
    )?;
    seeder.instance.close_ledger()?;
    Ok(SeededMember {
        log_key: created.log_key.verifier(),
        evidence,
    })
}

/// What joining the coalition logged in the demo's instance.
#[derive(Debug, Clone)]
pub struct Joined {
    pub coalition: u64,
    pub recognition: u64,
    pub mirrored: u64,
}

/// In the demo's instance `dir`: the operator names the coalition (the British instance,
/// whose checkpoints `witness_policy` governs), the UK authority recognises the UK lab as it
/// logs there, and brings in entry `evidence` of the British instance served at `member_url`
/// with its cosigned proof.
pub fn join(
    dir: &Path,
    member: &SeededMember,
    witness_policy: &str,
    member_url: &str,
) -> Result<Joined> {
    let instance = Local::open(dir)?;
    let read_key = |party: &str| {
        crate::keys::read_signer(&instance.layout().keys_dir().join(format!("{party}.key")))
            .map_err(internal)
    };
    let (operator, authority) = (read_key("operator")?, read_key("uk-aisi")?);
    let operator_party = crate::party_of(&instance, &operator)?;
    let now = crate::build::now();
    let at = domain::updates::time::format_instant(now);
    let submit = |draft: Draft, key: &tlog::note::SignerKey| -> Result<u64> {
        let kind = draft.kind().map_or("unknown", domain::Kind::name);
        instance
            .submit(draft.signed_bytes(&[key])?)
            .map(|reply| reply.index)
            .map_err(|e| internal(format!("entry `{kind}`: {e}")))
    };
    let coalition = submit(
        Draft::new(&CoalitionPublished {
            operator: operator_party,
            members: vec![CoalitionMember {
                name: MEMBER.to_owned(),
                log: member.log_key.to_text(),
                witness_policy: witness_policy.to_owned(),
            }],
            at: at.clone(),
        })?,
        &operator,
    )?;
    let recognition = submit(
        Draft::new(&domain::RecognitionPublished {
            authority: "uk-aisi".to_owned(),
            jurisdiction: "GB".to_owned(),
            labs: vec![format!("uk-test-lab@{MEMBER}")],
            suites: vec!["imagery-description-accuracy".to_owned()],
            min_assurance: Assurance::ThirdParty,
            max_evidence_age_days: 180,
            at: at.clone(),
        })?,
        &authority,
    )?;
    let remote = Remote::new(member_url)?;
    let envelope = String::from_utf8(remote.envelope(member.evidence)?)
        .map_err(|_| ServiceError::Unverified("the mirrored entry is not text".to_owned()))?;
    let proof = remote.proof(member.evidence)?;
    let mirrored = submit(
        Draft::new(&EvidenceMirrored {
            party: "uk-aisi".to_owned(),
            member: MEMBER.to_owned(),
            envelope,
            proof,
            at,
        })?,
        &authority,
    )?;
    instance.close_ledger()?;
    Ok(Joined {
        coalition,
        recognition,
        mirrored,
    })
}
