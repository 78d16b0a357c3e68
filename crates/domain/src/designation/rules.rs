//! The rules of the designation kinds, and a designation's effect on running deployments.

use super::scope::reaches;
use super::{
    Decision, Designation, DesignationAppealed, DesignationDecided, DesignationIssued,
    DesignationLifted, GROUNDS, Step, Subject,
};
use crate::apply::{Entry, Rejection, check_id, check_jurisdiction, reject};
use crate::contract::{Module, OnDesignation};
use crate::kinds::Role;
use crate::state::{Change, KeyRecord, State};
use crate::updates::time::{format_instant, parse_instant};
use crate::updates::{
    DeploymentAction, DeploymentEvent, clock_of, require_party_signer, roll_back,
};

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
    let stated = parse_instant("effective_at", &p.effective_at).map_err(|e| reject("time", e))?;
    if stated > at {
        return Err(reject(
            "designation",
            format!(
                "`effective_at` {} is after the entry ({}): log a designation when it takes effect, so that its own entry suspends what it must",
                format_instant(stated),
                format_instant(at)
            ),
        ));
    }
    let effective = at;
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
    changes.extend(take_effect(state, entry.index, &mut designation, at));
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
