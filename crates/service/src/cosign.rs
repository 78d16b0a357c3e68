//! The log's side of C2SP tlog-witness: an instance names its witnesses and the quorum it
//! needs in a C2SP tlog-policy file, and after a checkpoint asks every witness to cosign it —
//! all at once, each within a time limit, each with a consistency proof from the size that
//! witness last cosigned (learnt from its 409 answer when not known). A cosignature is kept
//! only if it verifies with the witness's key from the policy; whether the cosigned checkpoint
//! meets the quorum is the policy's to say. A witness that does not answer in time, or
//! refuses, is named with why; the others' cosignatures still count.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tlog::Hash;
use tlog::note::{Note, VerifierKey};
use tlog::policy::Policy;
use tlog::witness::{AddCheckpoint, SIZE_CONTENT_TYPE};

use crate::{Result, ServiceError};

/// One witness the policy names, and what the log knows of it.
struct Target {
    name: String,
    key: VerifierKey,
    url: String,
    /// The size it last cosigned for this log, once known.
    cosigned: Mutex<Option<u64>>,
}

/// An instance's witnesses, from its policy.
pub struct Witnessing {
    policy: Policy,
    targets: Vec<Target>,
}

impl std::fmt::Debug for Witnessing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witnessing")
            .field(
                "witnesses",
                &self.targets.iter().map(|t| &t.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// What asking the witnesses gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigning {
    /// The checkpoint with every cosignature that verified appended.
    pub note: String,
    /// The witnesses whose cosignature verified, by their policy names.
    pub cosigned_by: Vec<String>,
    /// The witnesses that did not cosign, and why.
    pub failed: BTreeMap<String, String>,
    /// Whether the cosigned checkpoint meets the policy's quorum.
    pub meets_quorum: bool,
}

impl Witnessing {
    /// The witnesses of `policy` (C2SP tlog-policy text), each with the URL its line gives
    /// (`https://`, or `http://` on a loopback host).
    pub fn from_policy(text: &[u8]) -> Result<Witnessing> {
        let policy = Policy::parse(text)
            .map_err(|e| ServiceError::BadRequest(format!("witness policy: {e}")))?;
        let targets = policy
            .witnesses()
            .map(|(name, key, url)| {
                let url = url.ok_or_else(|| {
                    ServiceError::BadRequest(format!(
                        "witness policy: witness `{name}` has no URL to ask it at (`witness {name} KEY URL`)"
                    ))
                })?;
                check_url(name, url)?;
                Ok(Target {
                    name: name.to_owned(),
                    key: key.clone(),
                    url: url.trim_end_matches('/').to_owned(),
                    cosigned: Mutex::new(None),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Witnessing { policy, targets })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Asks every witness to cosign `note`, the log's signed checkpoint of `size` entries,
    /// giving each `within` to answer; `prove(old, new)` is the log's consistency proof.
    pub fn cosign(
        &self,
        note: &str,
        size: u64,
        prove: &(dyn Fn(u64, u64) -> Result<Vec<Hash>> + Sync),
        within: Duration,
    ) -> Cosigning {
        let answers: Vec<(String, std::result::Result<String, String>)> =
            std::thread::scope(|scope| {
                let asked: Vec<_> = self
                    .targets
                    .iter()
                    .map(|target| {
                        scope.spawn(move || {
                            (target.name.clone(), ask(target, note, size, prove, within))
                        })
                    })
                    .collect();
                asked
                    .into_iter()
                    .filter_map(|thread| thread.join().ok())
                    .collect()
            });
        let mut cosigned = note.to_owned();
        let mut failed = BTreeMap::new();
        for (name, answer) in answers {
            match answer {
                Ok(lines) => cosigned.push_str(&lines),
                Err(why) => {
                    failed.insert(name, why);
                }
            }
        }
        let (cosigned_by, meets_quorum) = match self.policy.verify(cosigned.as_bytes()) {
            Ok(accepted) => (accepted.cosigned_by, true),
            Err(_) => (
                self.targets
                    .iter()
                    .filter(|t| !failed.contains_key(&t.name))
                    .map(|t| t.name.clone())
                    .collect(),
                false,
            ),
        };
        Cosigning {
            note: cosigned,
            cosigned_by,
            failed,
            meets_quorum,
        }
    }
}

/// A witness is reached over HTTPS, or plain HTTP on the loopback (one on the same machine).
fn check_url(name: &str, url: &str) -> Result<()> {
    let plain_loopback = url
        .strip_prefix("http://")
        .map(|rest| rest.split(['/', ':']).next().unwrap_or_default())
        .is_some_and(|host| ["127.0.0.1", "localhost", "[::1]"].contains(&host));
    if url.starts_with("https://") || plain_loopback {
        return Ok(());
    }
    Err(ServiceError::BadRequest(format!(
        "witness policy: witness `{name}` at `{url}`: a witness is asked over https://, or http:// on the loopback"
    )))
}

/// Asks one witness, once more with the size it says it holds when that differs from what the
/// log thought: its cosignature lines, verified with its key.
fn ask(
    target: &Target,
    note: &str,
    size: u64,
    prove: &(dyn Fn(u64, u64) -> Result<Vec<Hash>> + Sync),
    within: Duration,
) -> std::result::Result<String, String> {
    let agent = ureq::AgentBuilder::new().timeout(within).build();
    let mut old = target
        .cosigned
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .unwrap_or(0)
        .min(size);
    for _ in 0..2 {
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            prove(old, size).map_err(|e| format!("no consistency proof from {old}: {e}"))?
        };
        let body = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: note.as_bytes().to_vec(),
        }
        .to_body();
        let answer = agent
            .post(&format!("{}/add-checkpoint", target.url))
            .send_bytes(&body);
        match answer {
            Ok(response) => {
                let lines = response
                    .into_string()
                    .map_err(|e| format!("unreadable answer: {e}"))?;
                verify(target, note, &lines)?;
                *target
                    .cosigned
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(size);
                return Ok(lines);
            }
            Err(ureq::Error::Status(409, response))
                if response.content_type() == SIZE_CONTENT_TYPE =>
            {
                let text = response.into_string().unwrap_or_default();
                let held: u64 = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("409 with a size that is not one: `{}`", text.trim()))?;
                if held > size {
                    return Err(format!(
                        "it has cosigned size {held}, beyond this checkpoint's {size}"
                    ));
                }
                old = held;
            }
            Err(ureq::Error::Status(status, response)) => {
                let text = response.into_string().unwrap_or_default();
                return Err(format!("{status} {}", text.trim()));
            }
            Err(error) => return Err(error.to_string()),
        }
    }
    Err("it answered 409 twice".to_owned())
}

/// The answer holds a cosignature of `note` by the witness's key, and nothing else.
fn verify(target: &Target, note: &str, lines: &str) -> std::result::Result<(), String> {
    if lines.is_empty() || !lines.ends_with('\n') {
        return Err("the answer is not cosignature lines".to_owned());
    }
    let cosigned = Note::parse(format!("{note}{lines}").as_bytes())
        .map_err(|e| format!("the answer does not extend the note: {e}"))?;
    cosigned
        .verify(std::slice::from_ref(&target.key))
        .map_err(|e| format!("its cosignature does not verify with its key: {e}"))?;
    Ok(())
}
