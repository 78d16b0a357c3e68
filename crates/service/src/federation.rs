//! A coalition of instances: each member's log (its verifier key, whose name is the log's
//! origin) and the witness policy its checkpoints must meet, so that evidence logged by one
//! member is checked by another — offline, from a mirrored tlog-proof — against a checkpoint
//! of that member's log cosigned as its policy requires.
//!
//! ```toml
//! [[member]]
//! name = "uk-aisi"
//! log = "uk.concordat.example/ai+1a2b3c4d+AZ..."
//! witness_policy = "uk.policy"   # a C2SP tlog-policy, relative to this file
//! ```

use std::path::Path;

use domain::federation::{CoalitionMember, check_members, read_member};
use serde::Deserialize;
use tlog::checkpoint::Checkpoint;
use tlog::note::{Note, VerifierKey};
use tlog::policy::Policy;

use crate::{Result, ServiceError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "member", default)]
    members: Vec<MemberFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberFile {
    name: String,
    log: String,
    witness_policy: String,
}

/// One member of a coalition.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    /// The member's log key; its name is the log's origin.
    pub log: VerifierKey,
    /// What the member's checkpoints must meet.
    pub policy: Policy,
}

/// The members of a coalition.
#[derive(Debug, Clone)]
pub struct Coalition {
    pub members: Vec<Member>,
    /// The members as a `coalition-published` entry logs them (each policy as its text).
    pub logged: Vec<CoalitionMember>,
}

impl Coalition {
    /// Reads a coalition file and each member's witness policy, checking them as the ledger
    /// will (`domain::federation::check_members`): the names and origins each listed once and
    /// each policy accepting its member's log.
    pub fn load(path: &Path) -> Result<Coalition> {
        let at = |what: String| ServiceError::BadRequest(format!("`{}`: {what}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
        let file: File = toml::from_str(&text).map_err(|e| at(e.to_string()))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        let mut logged = Vec::new();
        for (index, member) in file.members.into_iter().enumerate() {
            crate::layout::check_segment("member name", &member.name)
                .map_err(|e| at(format!("member[{index}]: {e}")))?;
            let policy_path = folder.join(&member.witness_policy);
            let witness_policy = std::fs::read_to_string(&policy_path).map_err(|e| {
                at(format!(
                    "member[{index}] (`{}`): witness_policy `{}`: {e}",
                    member.name,
                    policy_path.display()
                ))
            })?;
            logged.push(CoalitionMember {
                name: member.name,
                log: member.log,
                witness_policy,
            });
        }
        Coalition::from_logged(logged).map_err(|e| at(e.to_string()))
    }

    /// The coalition as an entry logged it, checked.
    pub fn from_logged(logged: Vec<CoalitionMember>) -> Result<Coalition> {
        check_members(&logged)
            .map_err(|e| ServiceError::BadRequest(e.replace("members[", "member[")))?;
        let mut members = Vec::new();
        for member in &logged {
            let (log, policy) = read_member(member).map_err(ServiceError::BadRequest)?;
            members.push(Member {
                name: member.name.clone(),
                log,
                policy,
            });
        }
        Ok(Coalition { members, logged })
    }

    /// The member whose log signed the checkpoint `note` names (by its origin).
    pub fn member_of(&self, note: &str) -> Result<&Member> {
        let note = Note::parse(note.as_bytes())
            .map_err(|e| ServiceError::Unverified(format!("the checkpoint does not open: {e}")))?;
        let checkpoint = Checkpoint::parse(note.text())
            .map_err(|e| ServiceError::Unverified(format!("the checkpoint does not open: {e}")))?;
        self.members
            .iter()
            .find(|m| m.log.name() == checkpoint.origin)
            .ok_or_else(|| {
                ServiceError::Unverified(format!(
                    "`{}` is not the log of a member of the coalition",
                    checkpoint.origin
                ))
            })
    }
}
