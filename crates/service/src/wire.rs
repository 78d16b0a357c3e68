//! What the server sends and its clients read, in one set of types: a field renamed on one
//! side breaks the build, not a user.

use attest::Statement;
use domain::updates::Gate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The body of every refusal: `{"error": {"status", "code", "message"}}`, plus the rule a
/// rejected entry broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub status: u16,
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// An entry the ledger accepted: its index and its tlog-proof against the checkpoint that
/// includes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitReply {
    pub index: u64,
    pub checkpoint_size: u64,
    /// A C2SP tlog-proof file.
    pub proof: String,
}

impl From<&ledger::Receipt> for SubmitReply {
    fn from(receipt: &ledger::Receipt) -> SubmitReply {
        SubmitReply {
            index: receipt.index,
            checkpoint_size: receipt.checkpoint.size,
            proof: receipt.proof_file().to_text(),
        }
    }
}

/// The instance: its log's origin and key, and its latest checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    pub origin: String,
    pub verifier_key: String,
    pub size: u64,
    pub checkpoint: String,
    pub simulated_clock: bool,
}

/// A registered key whose signature on an entry verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    pub party: String,
    pub keyid: String,
    pub algorithm: String,
}

/// A logged entry: its kind, statement and the parties whose keys signed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryView {
    pub index: u64,
    pub kind: Option<String>,
    pub statement: Statement,
    pub signers: Vec<Signer>,
}

/// A party with every key it has held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyView {
    pub party: domain::Party,
    pub keys: Vec<domain::KeyRecord>,
}

/// A contract in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractSummary {
    pub id: String,
    pub title: String,
    pub parties: Vec<String>,
    pub version: Option<String>,
    pub addenda: usize,
}

/// A gate with whether it is met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateView {
    #[serde(flatten)]
    pub gate: Gate,
    pub met: bool,
}

impl From<Gate> for GateView {
    fn from(gate: Gate) -> GateView {
        GateView {
            met: gate.met(),
            gate,
        }
    }
}

/// What a deposit did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositReply {
    /// What was deposited, e.g. `contract/defense-imagery-analysis/addendum/annex-c`.
    pub resource: String,
    pub stored: bool,
    /// The same bytes were there already.
    pub already_stored: bool,
}

/// A consistency proof between two sizes of the log, and the signed checkpoint at the newer:
/// what a client that saw a checkpoint of size `old` needs to prove the log only grew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyView {
    pub old: u64,
    pub new: u64,
    /// RFC 6962 consistency proof, base64 hashes.
    pub proof: Vec<String>,
    /// The checkpoint the log signed at `new` (a C2SP signed note).
    pub checkpoint: String,
}

/// A sealed addendum's text, read by a party cleared for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddendumText {
    pub contract: String,
    pub id: String,
    pub title: String,
    pub classification: String,
    pub commitment: String,
    pub salt: String,
    pub text: String,
    /// The `restricted-read` entry that recorded this read.
    pub read_recorded_at: u64,
}

impl AddendumText {
    /// The sealed half, to check against the public commitment and keep.
    pub fn sealed(&self) -> domain::contract::Sealed {
        domain::contract::Sealed {
            id: self.id.clone(),
            salt: self.salt.clone(),
            text: self.text.clone(),
        }
    }
}

/// A sealed evaluation result, read by its lab or an auditor in scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealedResult {
    pub entry: u64,
    pub lab: String,
    pub model: String,
    pub suite: String,
    pub id: String,
    pub commitment: String,
    pub salt: String,
    pub text: String,
    /// The result's metrics, when its text is JSON.
    pub metrics: Value,
    pub read_recorded_at: u64,
    /// `"lab"`, or `{"auditor_under": [contracts]}`.
    pub cleared_as: Value,
}

impl SealedResult {
    /// The sealed half, to check against the entry's commitment and keep.
    pub fn sealed(&self) -> domain::contract::Sealed {
        domain::contract::Sealed {
            id: self.id.clone(),
            salt: self.salt.clone(),
            text: self.text.clone(),
        }
    }
}

/// A usage batch's records, read by an auditor in scope or the party that recorded them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRecords {
    pub entry: u64,
    pub contract: String,
    pub deployment: String,
    pub digest: String,
    pub records: Vec<Value>,
    /// The records file exactly as deposited.
    pub jsonl: String,
    pub read_recorded_at: u64,
}

/// An incident and its duties as they stand at `as_of`: each met (by which entry, how early
/// or late), due (time left), overdue (by how much), not started or not applicable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: domain::incident::Incident,
    pub duties: Vec<domain::incident::clocks::Duty>,
    /// Who pays what, once a finding allocates the damages.
    #[serde(default)]
    pub liability: Option<domain::incident::liability::Allocation>,
    /// Why a finding's damages cannot be allocated (e.g. the contract says nothing of it).
    #[serde(default)]
    pub liability_problem: Option<String>,
    /// The time the duties are reckoned at (unix seconds).
    pub as_of: i64,
}

impl IncidentView {
    pub fn of(
        state: &domain::State,
        incident: &domain::incident::Incident,
        at: i64,
    ) -> IncidentView {
        let allocation = incident
            .finding
            .as_ref()
            .map(|_| domain::incident::liability::allocate(state, incident));
        IncidentView {
            incident: incident.clone(),
            duties: domain::incident::clocks::duties(state, incident, at),
            liability: allocation.clone().and_then(Result::ok),
            liability_problem: allocation.and_then(|a| a.err()).map(|e| e.to_string()),
            as_of: at,
        }
    }
}

/// What a gateway needs to enforce a deployment's contract, as of one size of the log: the
/// contract's public files (its policies among them), the version in service, the
/// credentials issued under the contract and the gateways authorized for the deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayView {
    /// The size of the log this is the state of.
    pub size: u64,
    pub contract: String,
    /// The contract's current version.
    pub contract_version: String,
    pub deployment: String,
    /// The contract's public files, by path.
    pub files: std::collections::BTreeMap<String, String>,
    /// The version in service, if any.
    pub active: Option<ActiveVersion>,
    /// Whether the contract pins versions (`updates.pinning`): an answer from another model is
    /// then refused, not only recorded.
    pub pinning: bool,
    pub credentials: Vec<domain::gateway::Credential>,
    /// The gateways authorized for the deployment, by party id.
    pub gateways: Vec<String>,
}

/// The version in service in a deployment, as a gateway calls it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveVersion {
    /// `LINE@VERSION`.
    pub model: String,
    pub vendor: String,
    /// The provider's identifier of the version: what the upstream API is asked for.
    pub api_version: Option<String>,
    pub digest: String,
    /// The ledger entry that put it in service.
    pub since_entry: u64,
}

/// The API's paths, built in one place for the clients (the server's route table has the
/// patterns they fill in).
pub mod paths {
    /// Percent-encodes one path segment or query value.
    pub fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    /// `path` with the query pairs whose value is given.
    pub fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
        let query: Vec<String> = pairs
            .iter()
            .filter_map(|(name, value)| value.map(|v| format!("{name}={}", encode(v))))
            .collect();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", query.join("&"))
        }
    }

    pub const INSTANCE: &str = "/api/instance";
    pub const CONSISTENCY: &str = "/api/consistency";
    pub const ENTRIES: &str = "/api/entries";
    pub const PARTIES: &str = "/api/parties";
    pub const CONTRACTS: &str = "/api/contracts";
    pub const MODELS: &str = "/api/models";
    pub const EVIDENCE: &str = "/api/evidence";
    pub const RECOGNITIONS: &str = "/api/recognitions";
    pub const RECOGNITION_REPORT: &str = "/api/recognitions/report";
    pub const ATTESTATIONS: &str = "/api/attestations";
    pub const DEPLOYMENTS: &str = "/api/deployments";
    pub const GATE: &str = "/api/gate";
    pub const INCIDENTS: &str = "/api/incidents";
    pub const COMPLIANCE: &str = "/api/compliance";
    pub const OSCAL: &str = "/api/compliance/oscal";
    pub const DESIGNATIONS: &str = "/api/designations";
    pub const COALITION: &str = "/api/coalition";
    pub const USAGE: &str = "/api/usage";

    pub fn entry(index: u64) -> String {
        format!("{ENTRIES}/{index}")
    }
    pub fn envelope(index: u64) -> String {
        format!("{ENTRIES}/{index}/envelope")
    }
    pub fn proof(index: u64) -> String {
        format!("{ENTRIES}/{index}/proof")
    }
    pub fn party(id: &str) -> String {
        format!("{PARTIES}/{}", encode(id))
    }
    pub fn key(keyid: &str) -> String {
        format!("/api/keys/{}", encode(keyid))
    }
    pub fn contract(id: &str) -> String {
        format!("{CONTRACTS}/{}", encode(id))
    }
    pub fn addendum(contract: &str, id: &str) -> String {
        format!("{CONTRACTS}/{}/addenda/{}", encode(contract), encode(id))
    }
    pub fn model(key: &str) -> String {
        format!("{MODELS}/{}", encode(key))
    }
    pub fn sealed_result(entry: u64) -> String {
        format!("{EVIDENCE}/{entry}/sealed")
    }
    pub fn deployment(contract: &str, name: &str) -> String {
        format!("{DEPLOYMENTS}/{}/{}", encode(contract), encode(name))
    }
    pub fn usage_records(entry: u64) -> String {
        format!("{USAGE}/{entry}/records")
    }
    pub fn gateway_view(contract: &str, deployment: &str) -> String {
        format!(
            "{CONTRACTS}/{}/deployments/{}/gateway",
            encode(contract),
            encode(deployment)
        )
    }
    pub fn usage_deposit(contract: &str) -> String {
        format!("{CONTRACTS}/{}/usage-records", encode(contract))
    }
}
