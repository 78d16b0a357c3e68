//! Supply-chain-risk designations: an authority designates a party or a model line, with a
//! structured justification, a scope and an appeal window; the designated party may appeal,
//! the authority decides, and lifts it.
//!
//! While a designation is in force, the gate refuses the approval of a version that depends on
//! what it designates (the line itself, its vendor, or a supplier the contract's liability
//! module names upstream of a party), and each running deployment of a contract in scope whose
//! version depends on it is suspended or rolled back on the designation's own entry, as the
//! contract's rollback module says (`on_designation`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apply::{Entry, Rejection, check_id, check_jurisdiction, reject};
use crate::contract::{Module, OnDesignation};
use crate::incident::SealedDescription;
use crate::kinds::Role;
use crate::state::{Change, KeyRecord, State};
use crate::updates::time::{format_instant, parse_instant};
use crate::updates::{
    DeploymentAction, DeploymentEvent, clock_of, require_party_signer, roll_back,
};

/// What a designation names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Subject {
    Party { id: String },
    ModelLine { line: String },
}

/// Why: the grounds (from a fixed list), public words, and the evidence as a sealed
/// commitment where it cannot be public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Justification {
    /// `foreign-ownership-control-or-influence`, `security-vulnerability`,
    /// `compromised-supply-chain`, `sanctions`, `unreliable-performance` or
    /// `contract-noncompliance`.
    pub grounds: Vec<String>,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<SealedDescription>,
}

/// The grounds a justification may give.
pub const GROUNDS: [&str; 6] = [
    "foreign-ownership-control-or-influence",
    "security-vulnerability",
    "compromised-supply-chain",
    "sanctions",
    "unreliable-performance",
    "contract-noncompliance",
];

/// An authority designates a party or a model line a supply-chain risk. Signed by the
/// authority (a party with the `overseer` role).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationIssued {
    pub party: String,
    /// The designation's id, e.g. `scr-2027-003`.
    pub designation: String,
    pub subject: Subject,
    pub justification: Justification,
    /// The jurisdictions whose contracts it covers (ISO 3166 or `EU`); a contract is in scope
    /// when it names one of them.
    pub scope: Vec<String>,
    /// When it takes effect (RFC 3339); at the latest, when it is logged.
    pub effective_at: String,
    /// Days from its effect during which it may be appealed.
    pub appeal_days: u32,
    pub at: String,
}

/// The designated party (or the vendor of a designated line) appeals. Signed by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationAppealed {
    pub party: String,
    pub designation: String,
    pub grounds: String,
    pub at: String,
}

/// The authority decides an appeal: upheld (the designation is lifted) or dismissed. Signed by
/// the authority that issued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationDecided {
    pub party: String,
    pub designation: String,
    pub upheld: bool,
    pub reasons: String,
    pub at: String,
}

/// The authority lifts a designation. Signed by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationLifted {
    pub party: String,
    pub designation: String,
    pub reason: String,
    pub at: String,
}

/// A designation as the ledger knows it, with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Designation {
    pub id: String,
    pub entry: u64,
    pub authority: String,
    pub subject: Subject,
    pub justification: Justification,
    pub scope: Vec<String>,
    pub effective_at: i64,
    pub appeal_until: i64,
    pub appeal: Option<Step>,
    pub decision: Option<Decision>,
    pub lifted: Option<Step>,
    /// The deployments its entry suspended or rolled back (`contract/deployment`).
    pub affected: Vec<String>,
}

/// A step in a designation's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub entry: u64,
    pub party: String,
    pub text: String,
    pub at: i64,
}

/// An appeal's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub entry: u64,
    pub upheld: bool,
    pub reasons: String,
    pub at: i64,
}

impl Designation {
    /// Whether it is in force at `now`.
    pub fn in_force(&self, now: i64) -> bool {
        self.effective_at <= now && self.lifted.is_none()
    }

    /// Whether it covers contracts of these jurisdictions.
    pub fn covers(&self, jurisdictions: &[String]) -> bool {
        self.scope.iter().any(|s| jurisdictions.contains(s))
    }

    pub fn names(&self) -> String {
        match &self.subject {
            Subject::Party { id } => format!("party `{id}`"),
            Subject::ModelLine { line } => format!("model line `{line}`"),
        }
    }
}

/// The parties `model` (`line@version`) depends on under `contract`: its vendor and the
/// suppliers the contract's liability module names.
fn depends_on(state: &State, contract: &str, model: &str) -> Vec<String> {
    let mut parties: Vec<String> = state
        .model(model)
        .map(|m| vec![m.vendor.clone()])
        .unwrap_or_default();
    if let Some(package) = state.package(contract) {
        for loaded in &package.modules {
            if let Module::Liability(liability) = &loaded.module {
                parties.extend(liability.suppliers.iter().map(|s| s.party.clone()));
            }
        }
    }
    parties
}

/// Whether `designation` reaches `model` under `contract`.
pub fn reaches(state: &State, designation: &Designation, contract: &str, model: &str) -> bool {
    let in_scope = state
        .package(contract)
        .is_some_and(|p| designation.covers(&p.contract.jurisdictions));
    in_scope
        && match &designation.subject {
            Subject::ModelLine { line } => model.split_once('@').is_some_and(|(l, _)| l == line),
            Subject::Party { id } => depends_on(state, contract, model).contains(id),
        }
}

/// The designations in force at `now` that reach `model` under `contract`.
pub fn against<'s>(
    state: &'s State,
    contract: &'s str,
    model: &'s str,
    now: i64,
) -> impl Iterator<Item = &'s Designation> {
    state
        .designations()
        .filter(move |d| d.in_force(now) && reaches(state, d, contract, model))
}

fn authority(state: &State, party: &str) -> Result<(), Rejection> {
    let is_authority = state
        .party(party)
        .is_some_and(|p| p.roles.contains(&Role::Overseer));
    if is_authority {
        Ok(())
    } else {
        Err(reject(
            "designation",
            format!("`{party}` is not an authority (a party with the `overseer` role)"),
        ))
    }
}

/// `party` issued `designation`: only it `does` what is asked.
fn its_authority(designation: &Designation, party: &str, does: &str) -> Result<(), Rejection> {
    if designation.authority == party {
        return Ok(());
    }
    Err(reject(
        "designation",
        format!("only `{}`, which issued it, {does}", designation.authority),
    ))
}

fn known<'s>(state: &'s State, id: &str) -> Result<&'s Designation, Rejection> {
    state
        .designation(id)
        .ok_or_else(|| reject("designation", format!("no designation `{id}`")))
}

fn words(field: &str, text: &str) -> Result<(), Rejection> {
    if text.trim().is_empty() || text.len() > 16 * 1024 {
        return Err(reject(
            "designation",
            format!("`{field}` is empty or longer than 16 KiB"),
        ));
    }
    Ok(())
}

// tidy: long function: the checks, then its effect on every deployment in scope.
pub(crate) fn designation_issued(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: DesignationIssued,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    authority(state, &p.party)?;
    require_party_signer(signers, &p.party)?;
    check_id("designation", "designation id", &p.designation)?;
    if state.designation(&p.designation).is_some() {
        return Err(reject(
            "designation",
            format!("designation `{}` exists already", p.designation),
        ));
    }
    match &p.subject {
        Subject::Party { id } => {
            if state.party(id).is_none() {
                return Err(reject(
                    "designation",
                    format!("party `{id}` is not registered"),
                ));
            }
            if id == &p.party {
                return Err(reject(
                    "designation",
                    "an authority does not designate itself",
                ));
            }
        }
        Subject::ModelLine { line } => check_id("designation", "model line", line)?,
    }
    if p.justification.grounds.is_empty() {
        return Err(reject(
            "designation",
            "a justification gives at least one ground",
        ));
    }
    if let Some(ground) = p
        .justification
        .grounds
        .iter()
        .find(|g| !GROUNDS.contains(&g.as_str()))
    {
        return Err(reject(
            "designation",
            format!(
                "`{ground}` is not a ground; the grounds are {}",
                GROUNDS.join(", ")
            ),
        ));
    }
    words("justification.summary", &p.justification.summary)?;
    if p.scope.is_empty() {
        return Err(reject(
            "designation",
            "a designation names the jurisdictions it covers",
        ));
    }
    for code in &p.scope {
        if code != "EU" {
            check_jurisdiction(code)?;
        }
    }
    let effective = parse_instant("effective_at", &p.effective_at)
        .map_err(|e| reject("time", e))?
        .max(at);
    let mut designation = Designation {
        id: p.designation,
        entry: entry.index,
        authority: p.party,
        subject: p.subject,
        justification: p.justification,
        scope: p.scope,
        effective_at: effective,
        appeal_until: effective + i64::from(p.appeal_days) * 86_400,
        appeal: None,
        decision: None,
        lifted: None,
        affected: Vec::new(),
    };
    if effective <= at {
        changes.extend(take_effect(state, entry.index, &mut designation, at));
    }
    changes.push(Change::PutDesignation(Box::new(designation)));
    Ok(changes)
}

/// Suspends or rolls back every running deployment the designation reaches, as each
/// contract's rollback module says (`on_designation`; nothing when it says `continue`).
fn take_effect(state: &State, index: u64, designation: &mut Designation, at: i64) -> Vec<Change> {
    let mut changes = Vec::new();
    for deployment in state.deployments() {
        let Some(active) = deployment.active.as_deref() else {
            continue;
        };
        if !reaches(state, designation, &deployment.contract, active) {
            continue;
        }
        let on = state
            .package(&deployment.contract)
            .and_then(|p| {
                p.modules.iter().find_map(|m| match &m.module {
                    Module::Rollback(r) => Some(r.on_designation),
                    _ => None,
                })
            })
            .unwrap_or_default();
        let reason = format!(
            "designation `{}` of {} by `{}`",
            designation.id,
            designation.names(),
            designation.authority
        );
        let rolled = (on == OnDesignation::RollBack)
            .then(|| {
                roll_back(
                    state,
                    index,
                    &deployment.contract,
                    &deployment.name,
                    &designation.authority,
                    &reason,
                    at,
                )
                .ok()
            })
            .flatten()
            .filter(|step| !reaches(state, designation, &deployment.contract, &step.to));
        match (on, rolled) {
            (OnDesignation::Continue, _) => continue,
            (_, Some(step)) => changes.extend(step.changes),
            (OnDesignation::Suspend | OnDesignation::RollBack, None) => {
                let mut suspended = deployment.clone();
                suspended.active = None;
                suspended.events.push(DeploymentEvent {
                    entry: index,
                    action: DeploymentAction::Suspended,
                    version: active.to_owned(),
                    previous: Some(active.to_owned()),
                    party: designation.authority.clone(),
                    reason: Some(reason),
                    at,
                });
                changes.push(Change::PutDeployment(Box::new(suspended)));
            }
        }
        designation.affected.push(deployment.key());
    }
    changes
}

pub(crate) fn designation_appealed(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: DesignationAppealed,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    require_party_signer(signers, &p.party)?;
    let mut designation = known(state, &p.designation)?.clone();
    let designated = match &designation.subject {
        Subject::Party { id } => id == &p.party,
        Subject::ModelLine { line } => state.line_vendor(line) == Some(p.party.as_str()),
    };
    if !designated {
        return Err(reject(
            "designation",
            format!(
                "only the designated party (or the vendor of a designated line) appeals {}",
                designation.names()
            ),
        ));
    }
    if designation.appeal.is_some() || designation.lifted.is_some() {
        return Err(reject(
            "designation",
            format!(
                "designation `{}` was appealed or lifted already",
                designation.id
            ),
        ));
    }
    if at > designation.appeal_until {
        return Err(reject(
            "designation-appeal-window",
            format!(
                "the appeal window closed at {}",
                format_instant(designation.appeal_until)
            ),
        ));
    }
    words("grounds", &p.grounds)?;
    designation.appeal = Some(Step {
        entry: entry.index,
        party: p.party,
        text: p.grounds,
        at,
    });
    changes.push(Change::PutDesignation(Box::new(designation)));
    Ok(changes)
}

pub(crate) fn designation_decided(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: DesignationDecided,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    require_party_signer(signers, &p.party)?;
    let mut designation = known(state, &p.designation)?.clone();
    its_authority(&designation, &p.party, "decides its appeal")?;
    if designation.appeal.is_none() || designation.decision.is_some() {
        return Err(reject(
            "designation",
            format!(
                "designation `{}` has no appeal awaiting a decision",
                designation.id
            ),
        ));
    }
    words("reasons", &p.reasons)?;
    if p.upheld {
        designation.lifted = Some(Step {
            entry: entry.index,
            party: p.party.clone(),
            text: format!("appeal upheld: {}", p.reasons),
            at,
        });
    }
    designation.decision = Some(Decision {
        entry: entry.index,
        upheld: p.upheld,
        reasons: p.reasons,
        at,
    });
    changes.push(Change::PutDesignation(Box::new(designation)));
    Ok(changes)
}

pub(crate) fn designation_lifted(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: DesignationLifted,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    require_party_signer(signers, &p.party)?;
    let mut designation = known(state, &p.designation)?.clone();
    its_authority(&designation, &p.party, "lifts it")?;
    if designation.lifted.is_some() {
        return Err(reject(
            "designation",
            format!("designation `{}` is lifted already", designation.id),
        ));
    }
    words("reason", &p.reason)?;
    designation.lifted = Some(Step {
        entry: entry.index,
        party: p.party,
        text: p.reason,
        at,
    });
    changes.push(Change::PutDesignation(Box::new(designation)));
    Ok(changes)
}
