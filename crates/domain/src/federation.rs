//! Federation: the instances of a coalition recognise each other's evidence.
//!
//! An operator logs its coalition (`coalition-published`): each member instance's log key,
//! named for its origin, and the C2SP tlog-policy its checkpoints must meet. Evidence another
//! member logged is then brought in whole (`evidence-mirrored`): the entry's DSSE envelope as
//! that log holds it and its tlog-proof against a checkpoint of that log. It counts only when
//! the checkpoint is signed by the member's log and cosigned as the member's policy requires,
//! the envelope is at the proof's index in the tree the checkpoint commits to, and it is an
//! `evidence-recorded` statement about a model version registered here with the same digest.
//! The lab is named `LAB@MEMBER` (a party of the member's ledger, not of this one), and a
//! recognition names such a lab to accept it. Everything is checked from the entry alone, so
//! replaying the log decides as the write path did.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tlog::note::{KeyType, VerifierKey};
use tlog::policy::Policy;
use tlog::proof_file::ProofFile;

use crate::apply::{Entry, Rejection, existing_party, reject};
use crate::kinds::{EvidenceRecorded, Kind, Role};
use crate::state::{Change, KeyRecord, State};
use crate::updates::{EvidenceRecord, clock_of, evidence_of, require_party_signer};

/// Members a coalition may list.
pub const MEMBERS_MAX: usize = 64;
/// A member's witness policy, at most this many bytes.
pub const POLICY_BYTES_MAX: usize = 16 * 1024;

/// One member of a coalition as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CoalitionMember {
    /// The member's name here (lowercase letters, digits and `-`): mirrored labs are
    /// `LAB@NAME`.
    pub name: String,
    /// The member's log key (C2SP verifier key text, Ed25519); its name is the log's origin.
    pub log: String,
    /// The C2SP tlog-policy its checkpoints must meet, as text.
    pub witness_policy: String,
}

impl CoalitionMember {
    /// The origin its log key names (the key text's name, before its first `+`).
    pub fn origin(&self) -> &str {
        self.log.split('+').next().unwrap_or_default()
    }

    /// The quorum its witness policy states (`none` when it states none).
    pub fn quorum(&self) -> &str {
        self.witness_policy
            .lines()
            .find_map(|line| line.strip_prefix("quorum "))
            .unwrap_or("none")
    }
}

/// An operator names the coalition this instance belongs to: the member logs whose evidence
/// it recognises and the witness policy each one's checkpoints must meet. A later entry
/// replaces the coalition; evidence mirrored before stays as it was proved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoalitionPublished {
    pub operator: String,
    pub members: Vec<CoalitionMember>,
    pub at: String,
}

/// A party brings evidence another member of the coalition logged. Signed by the party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceMirrored {
    /// The party of this ledger that brings it.
    pub party: String,
    /// The coalition member whose log holds it.
    pub member: String,
    /// The entry as that log holds it, byte for byte: an `evidence-recorded` DSSE envelope.
    pub envelope: String,
    /// Its C2SP tlog-proof against a checkpoint of that log, with the witnesses'
    /// cosignatures.
    pub proof: String,
    pub at: String,
}

/// The coalition as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coalition {
    /// The entry that published it.
    pub entry: u64,
    pub members: Vec<CoalitionMember>,
}

impl Coalition {
    pub fn member(&self, name: &str) -> Option<&CoalitionMember> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// Where mirrored evidence was logged first, and how it was proved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mirrored {
    /// The coalition member.
    pub member: String,
    /// Its log's origin.
    pub origin: String,
    /// The entry's index in that log.
    pub index: u64,
    /// The size of the checkpoint it was proved against.
    pub checkpoint_size: u64,
    /// The witnesses whose cosignatures met the member's policy.
    pub cosigned_by: Vec<String>,
    /// The party that brought it here.
    pub by: String,
}

/// A member's log key and witness policy, read and checked: the key an Ed25519 log key, the
/// policy well formed, at most [`POLICY_BYTES_MAX`] bytes, and listing that key.
pub fn read_member(member: &CoalitionMember) -> Result<(VerifierKey, Policy), String> {
    crate::ids::check_id("member name", &member.name).map_err(|e| e.to_string())?;
    let log = VerifierKey::parse(&member.log).map_err(|e| format!("log: {e}"))?;
    if log.key_type() != KeyType::Ed25519 {
        return Err("log: not a log (Ed25519) key".to_owned());
    }
    if member.witness_policy.len() > POLICY_BYTES_MAX {
        return Err(format!("witnessPolicy: more than {POLICY_BYTES_MAX} bytes"));
    }
    let policy = Policy::parse(member.witness_policy.as_bytes())
        .map_err(|e| format!("witnessPolicy: {e}"))?;
    if !policy.logs().contains(&log) {
        return Err("its witness policy does not list its log".to_owned());
    }
    Ok((log, policy))
}

/// Checks a coalition's members: at least one and at most [`MEMBERS_MAX`], each read by
/// [`read_member`], no name or log origin twice. The error names the member.
pub fn check_members(members: &[CoalitionMember]) -> Result<(), String> {
    if members.is_empty() {
        return Err("a coalition lists at least one member".to_owned());
    }
    if members.len() > MEMBERS_MAX {
        return Err(format!("a coalition lists at most {MEMBERS_MAX} members"));
    }
    let mut origins: Vec<String> = Vec::new();
    for (index, member) in members.iter().enumerate() {
        let at = |what: String| format!("members[{index}] (`{}`): {what}", member.name);
        let (log, _) = read_member(member).map_err(at)?;
        if members[..index].iter().any(|m| m.name == member.name)
            || origins.iter().any(|o| o == log.name())
        {
            return Err(at("the name or the log's origin is listed twice".to_owned()));
        }
        origins.push(log.name().to_owned());
    }
    Ok(())
}

/// What a mirrored entry's proof established.
#[derive(Debug, Clone)]
pub struct Proven {
    pub origin: String,
    pub index: u64,
    pub checkpoint_size: u64,
    pub cosigned_by: Vec<String>,
    /// The statement the envelope carries.
    pub statement: attest::Statement,
    /// The key IDs the envelope's signatures name (hints: the member's ledger checked them).
    pub keyids: Vec<String>,
}

/// Checks that `envelope` is at the index `proof` gives in the log of `member`, against a
/// checkpoint signed by that log and cosigned per its witness policy. Offline and pure: the
/// CLI checks a mirror with it before signing, and the ledger on the write path.
pub fn prove(member: &CoalitionMember, envelope: &[u8], proof: &str) -> Result<Proven, String> {
    let (log, policy) =
        read_member(member).map_err(|e| format!("member `{}`: {e}", member.name))?;
    let file = ProofFile::parse(proof).map_err(|e| format!("the proof: {e}"))?;
    let accepted = policy.verify(file.checkpoint.as_bytes()).map_err(|e| {
        format!(
            "the proof's checkpoint does not meet the witness policy of `{}`: {e}",
            member.name
        )
    })?;
    if accepted.checkpoint.origin != log.name() {
        return Err(format!(
            "the proof's checkpoint is of `{}`, not of `{}`'s log `{}`",
            accepted.checkpoint.origin,
            member.name,
            log.name()
        ));
    }
    let proven = file
        .verify(envelope, std::slice::from_ref(&log))
        .map_err(|e| format!("the envelope is not proved in `{}`'s log: {e}", member.name))?;
    let parsed = attest::Envelope::parse(envelope).map_err(|e| format!("the envelope: {e}"))?;
    let statement =
        attest::Statement::parse(&parsed.payload).map_err(|e| format!("the envelope: {e}"))?;
    Ok(Proven {
        origin: proven.checkpoint.origin,
        index: proven.index,
        checkpoint_size: proven.checkpoint.size,
        cosigned_by: accepted.cosigned_by,
        statement,
        keyids: parsed.signatures.into_iter().map(|s| s.keyid).collect(),
    })
}

pub(crate) fn coalition_published(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: CoalitionPublished,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    clock_of(state, &p.at, &mut changes)?;
    let operator = existing_party(state, &p.operator)?;
    if !operator.roles.contains(&Role::Operator) {
        return Err(reject(
            "party-role",
            format!("`{}` is not an operator", p.operator),
        ));
    }
    require_party_signer(signers, &p.operator)?;
    check_members(&p.members).map_err(|e| reject("coalition", e))?;
    changes.push(Change::PutCoalition(Box::new(Coalition {
        entry: entry.index,
        members: p.members,
    })));
    Ok(changes)
}

pub(crate) fn evidence_mirrored(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: EvidenceMirrored,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    existing_party(state, &p.party)?;
    require_party_signer(signers, &p.party)?;
    let coalition = state.coalition().ok_or_else(|| {
        reject(
            "coalition",
            "this ledger names no coalition: an operator publishes one first",
        )
    })?;
    let member = coalition.member(&p.member).ok_or_else(|| {
        reject(
            "coalition",
            format!("`{}` is not a member of the coalition", p.member),
        )
    })?;
    let proven =
        prove(member, p.envelope.as_bytes(), &p.proof).map_err(|e| reject("mirrored-proof", e))?;
    if let Some(earlier) = state.mirrored_at(&proven.origin, proven.index) {
        return Err(reject(
            "mirrored-once",
            format!(
                "entry {} of `{}` was mirrored at entry {earlier}",
                proven.index, p.member
            ),
        ));
    }
    if Kind::from_predicate_type(&proven.statement.predicate_type) != Some(Kind::EvidenceRecorded) {
        return Err(reject(
            "mirrored-kind",
            format!(
                "entry {} of `{}` is `{}`, not evidence",
                proven.index, p.member, proven.statement.predicate_type
            ),
        ));
    }
    let evidence: EvidenceRecorded = serde_json::from_value(proven.statement.predicate.clone())
        .map_err(|e| reject("mirrored-kind", format!("its predicate: {e}")))?;
    let lab = format!("{}@{}", evidence.lab, p.member);
    let mut record: EvidenceRecord = evidence_of(
        state,
        &proven.statement,
        entry.index,
        at,
        evidence,
        lab,
        proven.keyids.clone(),
    )?;
    record.mirrored = Some(Mirrored {
        member: p.member,
        origin: proven.origin,
        index: proven.index,
        checkpoint_size: proven.checkpoint_size,
        cosigned_by: proven.cosigned_by,
        by: p.party,
    });
    changes.push(Change::PutEvidence(Box::new(record)));
    Ok(changes)
}

/// A recognised lab: a party here, or `LAB@MEMBER` for a lab of a coalition member.
pub(crate) fn check_recognised_lab(state: &State, lab: &str) -> Result<(), Rejection> {
    let Some((name, member)) = lab.split_once('@') else {
        return existing_party(state, lab).map(|_| ());
    };
    crate::ids::check_id("lab", name).map_err(|e| reject("recognition", e.to_string()))?;
    if state.coalition().and_then(|c| c.member(member)).is_none() {
        return Err(reject(
            "recognition",
            format!("`{lab}`: `{member}` is not a member of this ledger's coalition"),
        ));
    }
    Ok(())
}
