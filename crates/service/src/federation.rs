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

use serde::Deserialize;
use tlog::checkpoint::Checkpoint;
use tlog::note::{KeyType, Note, VerifierKey};
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
}

impl Coalition {
    /// Reads a coalition file and each member's witness policy, checking that the names and
    /// origins are each listed once and that each policy accepts its member's log.
    pub fn load(path: &Path) -> Result<Coalition> {
        let at = |what: String| ServiceError::BadRequest(format!("`{}`: {what}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
        let file: File = toml::from_str(&text).map_err(|e| at(e.to_string()))?;
        if file.members.is_empty() {
            return Err(at("no [[member]]".to_owned()));
        }
        let folder = path.parent().unwrap_or(Path::new("."));
        let mut members: Vec<Member> = Vec::new();
        for (index, member) in file.members.into_iter().enumerate() {
            let at = |what: String| at(format!("member[{index}] (`{}`): {what}", member.name));
            crate::layout::check_segment("member name", &member.name)
                .map_err(|e| at(e.to_string()))?;
            let log = VerifierKey::parse(&member.log).map_err(|e| at(format!("log: {e}")))?;
            if log.key_type() != KeyType::Ed25519 {
                return Err(at("log: not a log (Ed25519) key".to_owned()));
            }
            let policy_path = folder.join(&member.witness_policy);
            let policy_text = std::fs::read(&policy_path)
                .map_err(|e| at(format!("witness_policy `{}`: {e}", policy_path.display())))?;
            let policy = Policy::parse(&policy_text)
                .map_err(|e| at(format!("witness_policy `{}`: {e}", policy_path.display())))?;
            if !policy.logs().contains(&log) {
                return Err(at(format!(
                    "its witness policy `{}` does not list its log",
                    policy_path.display()
                )));
            }
            if members
                .iter()
                .any(|m| m.name == member.name || m.log.name() == log.name())
            {
                return Err(at("the name or the log's origin is listed twice".to_owned()));
            }
            members.push(Member {
                name: member.name,
                log,
                policy,
            });
        }
        Ok(Coalition { members })
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
