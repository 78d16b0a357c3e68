//! A C2SP `tlog-witness` for any number of logs, each known by its origin and the keys
//! trusted for it (`witness.toml` in the witness's directory), cosigning with the witness's
//! own key (`witness.key`, a `tlog-cosignature/v1` key). Its state — what it cosigned, and the
//! evidence of logs that misbehaved — is [`store::witness::WitnessState`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use store::GroupCommit;
use store::witness::{Evidence, WitnessState};
use tlog::note::{KeyType, SignerKey, VerifierKey};
use tlog::witness::AddCheckpoint;

use crate::{Result, ServiceError};

/// The witness's configuration file inside its directory.
pub const CONFIG_FILE: &str = "witness.toml";
/// The witness's signer key inside its directory.
pub const KEY_FILE: &str = "witness.key";

/// The logs a witness witnesses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, rename = "logs")]
    pub logs: Vec<WitnessedLog>,
}

/// One log: its origin and the verifier keys (C2SP text) trusted to sign its checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessedLog {
    pub origin: String,
    pub keys: Vec<String>,
}

fn config_path(dir: &Path) -> PathBuf {
    dir.join(CONFIG_FILE)
}

/// Reads and checks `witness.toml`: each origin once, each key a verifier key named for its
/// log's origin.
pub fn read_config(dir: &Path) -> Result<BTreeMap<String, Vec<VerifierKey>>> {
    let path = config_path(dir);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ServiceError::NotFound(format!(
            "`{}`: {e}; create the witness with `concordat witness init`",
            path.display()
        ))
    })?;
    let config: Config = toml::from_str(&text)
        .map_err(|e| ServiceError::BadRequest(format!("`{}`: {e}", path.display())))?;
    let mut logs = BTreeMap::new();
    for (index, log) in config.logs.iter().enumerate() {
        let at = format!("`{}`: logs[{index}] ({})", path.display(), log.origin);
        tlog::checkpoint::check_origin(&log.origin)
            .map_err(|e| ServiceError::BadRequest(format!("{at}: origin: {e}")))?;
        if log.keys.is_empty() {
            return Err(ServiceError::BadRequest(format!("{at}: no keys")));
        }
        let keys = log
            .keys
            .iter()
            .map(|k| {
                VerifierKey::parse(k)
                    .map_err(|e| ServiceError::BadRequest(format!("{at}: key `{k}`: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        if logs.insert(log.origin.clone(), keys).is_some() {
            return Err(ServiceError::BadRequest(format!(
                "{at}: the origin appears twice"
            )));
        }
    }
    Ok(logs)
}

/// Creates a witness in `dir`: a new cosignature key named `name` and a configuration with no
/// logs yet. Returns the witness's verifier key, for logs to name it.
pub fn init(dir: &Path, name: &str) -> Result<VerifierKey> {
    std::fs::create_dir_all(dir).map_err(|e| {
        ServiceError::Unavailable(format!("cannot create `{}`: {e}", dir.display()))
    })?;
    if config_path(dir).exists() {
        return Err(ServiceError::Conflict(format!(
            "`{}` already holds a witness",
            dir.display()
        )));
    }
    let key = crate::keys::new_key(name, KeyType::Cosignature)
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    crate::keys::write_key_file(&dir.join(KEY_FILE), &key, false)
        .map_err(|e| ServiceError::Unavailable(e.to_string()))?;
    write_config(dir, &Config::default())?;
    Ok(key.verifier())
}

fn write_config(dir: &Path, config: &Config) -> Result<()> {
    let text = toml::to_string(config).map_err(ServiceError::internal)?;
    let header = "# The logs this witness cosigns: each origin with the keys trusted to sign its\n# checkpoints. Edit with `concordat witness add-log`.\n";
    let path = config_path(dir);
    let temporary = path.with_extension("toml.new");
    std::fs::write(&temporary, format!("{header}{text}"))
        .and_then(|()| std::fs::rename(&temporary, &path))
        .map_err(|e| ServiceError::Unavailable(format!("cannot write `{}`: {e}", path.display())))
}

/// Adds a log (or replaces the keys of one already there) to the witness in `dir`.
pub fn add_log(dir: &Path, origin: &str, keys: &[String]) -> Result<()> {
    read_config(dir)?;
    let path = config_path(dir);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ServiceError::Unavailable(format!("`{}`: {e}", path.display())))?;
    let mut config: Config = toml::from_str(&text)
        .map_err(|e| ServiceError::BadRequest(format!("`{}`: {e}", path.display())))?;
    config.logs.retain(|l| l.origin != origin);
    config.logs.push(WitnessedLog {
        origin: origin.to_owned(),
        keys: keys.to_vec(),
    });
    config.logs.sort_by(|a, b| a.origin.cmp(&b.origin));
    let previous = text;
    write_config(dir, &config)?;
    // The new file must read back; if not, put the old one back and say why.
    if let Err(error) = read_config(dir) {
        let _ = std::fs::write(&path, previous);
        return Err(error);
    }
    Ok(())
}

/// The answer to one `add-checkpoint` request, as the spec gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// A running witness.
#[derive(Debug)]
pub struct Witness {
    key: SignerKey,
    state: WitnessState,
}

impl Witness {
    /// Opens the witness in `dir`: its key, its configuration and its state.
    pub fn open(dir: &Path) -> Result<Witness> {
        let logs = read_config(dir)?;
        let key_path = dir.join(KEY_FILE);
        let text = std::fs::read_to_string(&key_path)
            .map_err(|e| ServiceError::NotFound(format!("`{}`: {e}", key_path.display())))?;
        let key = SignerKey::parse(text.trim())
            .map_err(|e| ServiceError::BadRequest(format!("`{}`: {e}", key_path.display())))?;
        if key.key_type() != KeyType::Cosignature {
            return Err(ServiceError::BadRequest(format!(
                "`{}` is not a cosignature key (make one with `concordat key generate --cosigner`)",
                key_path.display()
            )));
        }
        let state = WitnessState::open(dir, logs, GroupCommit::default())?;
        Ok(Witness { key, state })
    }

    pub fn verifier(&self) -> VerifierKey {
        self.key.verifier()
    }

    /// Answers an `add-checkpoint` request body: the cosignature once the checkpoint is
    /// recorded, or the spec's refusal. An error is the witness's own fault (it could not
    /// record), not the request's.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<Answer> {
        const TEXT: &str = "text/plain; charset=utf-8";
        let answer = |status: u16, content_type: &'static str, body: String| Answer {
            status,
            content_type,
            body,
        };
        let request = match AddCheckpoint::parse(body) {
            Ok(request) => request,
            Err(refusal) => return Ok(answer(400, TEXT, format!("{refusal}\n"))),
        };
        Ok(match self.state.add(request)? {
            Ok((_, note)) => {
                let lines =
                    tlog::witness::cosignatures(std::slice::from_ref(&self.key), note.text(), now)
                        .map_err(ServiceError::internal)?;
                answer(200, TEXT, lines)
            }
            Err(refusal) => match refusal.body() {
                Some((content_type, body)) => answer(refusal.status(), content_type, body),
                None => answer(refusal.status(), TEXT, format!("{refusal}\n")),
            },
        })
    }

    /// The evidence kept against logs that misbehaved.
    pub fn evidence(&self) -> Result<Vec<Evidence>> {
        Ok(self.state.evidence(None)?)
    }

    /// The latest checkpoint cosigned for `origin`.
    pub fn latest(&self, origin: &str) -> Result<Option<(u64, String)>> {
        Ok(self.state.latest(origin)?)
    }
}

/// One piece of evidence as a witness serves it at `/evidence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedEvidence {
    pub origin: String,
    pub reason: String,
    /// The add-checkpoint request the log's checkpoint came in.
    pub request: String,
    /// The cosigned checkpoint it contradicts.
    pub contradicts: String,
}

/// The evidence the witness at `url` (its monitoring prefix) serves.
pub fn fetch_evidence(url: &str) -> Result<Vec<ServedEvidence>> {
    let url = format!("{}/evidence", url.trim_end_matches('/'));
    let agent = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(30))
        .build();
    match agent.get(&url).call() {
        Ok(response) => response.into_json().map_err(|e| {
            ServiceError::Unreachable(format!("{url}: not a witness's evidence: {e}"))
        }),
        Err(ureq::Error::Status(status, _)) => Err(ServiceError::Unreachable(format!(
            "{url}: the witness answered {status}"
        ))),
        Err(error) => Err(ServiceError::Unreachable(format!("{url}: {error}"))),
    }
}
