//! C2SP `tlog-policy`: which logs a verifier accepts, which witnesses it knows, and the quorum
//! of cosignatures a checkpoint needs — parsed line by line as the spec says (names defined
//! before use, each member once per group, 1 ≤ k ≤ n, one quorum line, no duplicate keys), and
//! applied to a signed checkpoint ([`Policy::verify`]).

use crate::checkpoint::Checkpoint;
use crate::note::{KeyType, Note, VerifierKey};

/// Why a policy file is refused, with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy line {line}: {reason}")]
pub struct PolicyError {
    pub line: usize,
    pub reason: String,
}

/// Why a checkpoint does not satisfy a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unmet {
    #[error("the checkpoint does not open: {0}")]
    Unreadable(String),
    #[error("the checkpoint is not signed by a log of the policy (origin `{0}`)")]
    NoLog(String),
    #[error("the checkpoint is cosigned by {cosigned}, which does not meet the quorum `{quorum}`")]
    BelowQuorum { cosigned: String, quorum: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Debug, Clone)]
struct Group {
    name: String,
    threshold: usize,
    members: Vec<Member>,
}

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    logs: Vec<VerifierKey>,
    witnesses: Vec<(String, VerifierKey)>,
    /// Where each witness (same order) is reached, when its line says.
    witness_urls: Vec<Option<String>>,
    groups: Vec<Group>,
    /// `None` for `quorum none`.
    quorum: Option<Member>,
}

/// A checkpoint the policy accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub checkpoint: Checkpoint,
    /// The names (in the policy) of the witnesses whose cosignatures verified.
    pub cosigned_by: Vec<String>,
}

impl Policy {
    /// Parses a policy file.
    // tidy: long function: one arm per line kind, as the spec lists them.
    pub fn parse(text: &[u8]) -> Result<Policy, PolicyError> {
        let mut policy = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            witness_urls: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        };
        let mut quorum_line = None;
        for (index, raw) in text.split(|b| *b == b'\n').enumerate() {
            let line = index + 1;
            let fail = |reason: String| PolicyError { line, reason };
            if let Some(bad) = raw
                .iter()
                .find(|b| **b != b'\t' && (**b < 0x20 || **b == 0x7f))
            {
                return Err(fail(format!("control character 0x{bad:02x}")));
            }
            let text = String::from_utf8_lossy(raw);
            let words: Vec<&str> = text.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
            let Some((&kind, args)) = words.split_first() else {
                continue;
            };
            if kind.starts_with('#') {
                continue;
            }
            match kind {
                "log" => {
                    let key = policy
                        .key(args, "log <vkey> [<url>]", KeyType::Ed25519)
                        .map_err(fail)?;
                    policy.logs.push(key);
                }
                "witness" => {
                    let (&name, rest) = args.split_first().ok_or_else(|| {
                        fail("expected `witness <name> <vkey> [<url>]`".to_owned())
                    })?;
                    policy.check_new_name(name).map_err(fail)?;
                    let key = policy
                        .key(rest, "witness <name> <vkey> [<url>]", KeyType::Cosignature)
                        .map_err(fail)?;
                    policy.witnesses.push((name.to_owned(), key));
                    policy
                        .witness_urls
                        .push(rest.get(1).map(|url| (*url).to_owned()));
                }
                "group" => {
                    let group = policy.group(args).map_err(fail)?;
                    policy.groups.push(group);
                }
                "quorum" => {
                    if quorum_line.is_some() {
                        return Err(fail("a policy has exactly one quorum line".to_owned()));
                    }
                    let [name] = args else {
                        return Err(fail("expected `quorum <name>`".to_owned()));
                    };
                    policy.quorum = if *name == "none" {
                        None
                    } else {
                        Some(policy.member(name).ok_or_else(|| {
                            fail(format!("`{name}` is not a witness or group defined above"))
                        })?)
                    };
                    quorum_line = Some(line);
                }
                other => return Err(fail(format!("unknown line kind `{other}`"))),
            }
        }
        if quorum_line.is_none() {
            return Err(PolicyError {
                line: text
                    .strip_suffix(b"\n")
                    .unwrap_or(text)
                    .split(|b| *b == b'\n')
                    .count(),
                reason: "no quorum line (write `quorum none` to need no cosignature)".to_owned(),
            });
        }
        Ok(policy)
    }

    /// The log or witness key of a line: `vkey [url]`, of the type the spec gives the role,
    /// not a duplicate of a key already listed.
    fn key(&self, args: &[&str], shape: &str, key_type: KeyType) -> Result<VerifierKey, String> {
        if args.is_empty() || args.len() > 2 {
            return Err(format!("expected `{shape}`"));
        }
        let key = VerifierKey::parse(args[0]).map_err(|e| format!("key: {e}"))?;
        if key.key_type() != key_type {
            return Err(format!(
                "`{}` is not a {} key",
                key.name(),
                if key_type == KeyType::Ed25519 {
                    "log (Ed25519)"
                } else {
                    "witness (cosignature/v1)"
                }
            ));
        }
        let duplicate = self
            .logs
            .iter()
            .chain(self.witnesses.iter().map(|(_, k)| k))
            .any(|k| k.public_key() == key.public_key());
        if duplicate {
            return Err(format!("the key of `{}` is listed already", key.name()));
        }
        Ok(key)
    }

    fn check_new_name(&self, name: &str) -> Result<(), String> {
        if name == "none" {
            return Err("`none` is predefined".to_owned());
        }
        if self.member(name).is_some() {
            return Err(format!("`{name}` is defined already"));
        }
        Ok(())
    }

    fn member(&self, name: &str) -> Option<Member> {
        self.witnesses
            .iter()
            .position(|(n, _)| n == name)
            .map(Member::Witness)
            .or_else(|| {
                self.groups
                    .iter()
                    .position(|g| g.name == name)
                    .map(Member::Group)
            })
    }

    fn group(&self, args: &[&str]) -> Result<Group, String> {
        let [name, threshold, names @ ..] = args else {
            return Err("expected `group <name> <all|any|k> <member>...`".to_owned());
        };
        self.check_new_name(name)?;
        if names.is_empty() {
            return Err(format!("group `{name}` lists no member"));
        }
        let mut members = Vec::new();
        for member in names {
            let found = self
                .member(member)
                .ok_or_else(|| format!("`{member}` is not a witness or group defined above"))?;
            if members.contains(&found) {
                return Err(format!("`{member}` is listed twice in group `{name}`"));
            }
            members.push(found);
        }
        let n = members.len();
        let threshold = match *threshold {
            "all" => n,
            "any" => 1,
            k => match k.parse::<usize>() {
                Ok(k) if k.to_string() == *threshold && (1..=n).contains(&k) => k,
                _ => {
                    return Err(format!(
                        "threshold `{k}` is not all, any or a number from 1 to {n}"
                    ));
                }
            },
        };
        Ok(Group {
            name: (*name).to_owned(),
            threshold,
            members,
        })
    }

    /// The logs the policy accepts.
    pub fn logs(&self) -> &[VerifierKey] {
        &self.logs
    }

    /// Every witness: its name, its key, and its URL when the policy gives one.
    pub fn witnesses(&self) -> impl Iterator<Item = (&str, &VerifierKey, Option<&str>)> {
        self.witnesses
            .iter()
            .zip(&self.witness_urls)
            .map(|((name, key), url)| (name.as_str(), key, url.as_deref()))
    }

    fn witnessed(&self, member: Member, cosigned: &[bool]) -> bool {
        match member {
            Member::Witness(i) => cosigned[i],
            Member::Group(g) => {
                let group = &self.groups[g];
                group
                    .members
                    .iter()
                    .filter(|m| self.witnessed(**m, cosigned))
                    .count()
                    >= group.threshold
            }
        }
    }

    /// Whether `note` (a signed checkpoint) is signed by a log of the policy whose key name is
    /// its origin, and cosigned per the quorum.
    pub fn verify(&self, note: &[u8]) -> Result<Accepted, Unmet> {
        let note = Note::parse(note).map_err(|e| Unmet::Unreadable(e.to_string()))?;
        let checkpoint =
            Checkpoint::parse(note.text()).map_err(|e| Unmet::Unreadable(e.to_string()))?;
        let logs: Vec<VerifierKey> = self
            .logs
            .iter()
            .filter(|k| k.name() == checkpoint.origin)
            .cloned()
            .collect();
        note.verify(&logs)
            .map_err(|_| Unmet::NoLog(checkpoint.origin.clone()))?;
        let keys: Vec<VerifierKey> = self.witnesses.iter().map(|(_, k)| k.clone()).collect();
        let verified = if keys.is_empty() {
            Vec::new()
        } else {
            match note.verify(&keys) {
                Ok(verified) => verified,
                Err(crate::note::NoteError::NoKnownSignature { .. }) => Vec::new(),
                Err(e) => return Err(Unmet::Unreadable(e.to_string())),
            }
        };
        let cosigned: Vec<bool> = self
            .witnesses
            .iter()
            .map(|(_, k)| {
                verified
                    .iter()
                    .any(|v| v.name == k.name() && v.key_id == k.key_id())
            })
            .collect();
        let names: Vec<String> = self
            .witnesses
            .iter()
            .zip(&cosigned)
            .filter(|(_, c)| **c)
            .map(|((n, _), _)| n.clone())
            .collect();
        if let Some(quorum) = self.quorum
            && !self.witnessed(quorum, &cosigned)
        {
            return Err(Unmet::BelowQuorum {
                cosigned: if names.is_empty() {
                    "no witness".to_owned()
                } else {
                    names.join(", ")
                },
                quorum: match quorum {
                    Member::Witness(i) => self.witnesses[i].0.clone(),
                    Member::Group(g) => self.groups[g].name.clone(),
                },
            });
        }
        Ok(Accepted {
            checkpoint,
            cosigned_by: names,
        })
    }
}
