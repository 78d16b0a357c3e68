//! A running server, over its HTTP API: every answer is read into the [`crate::wire`] types
//! the server writes, every refusal into the [`ServiceError`] it was.

use domain::updates::{
    ContractReuse, Deployment, EvidenceRecord, HostingRecord, ModelVersion, Recognition, UsageBatch,
};
use domain::{ContractRecord, KeyRecord, Party};
use serde::de::DeserializeOwned;
use tlog::note::SignerKey;

use crate::access::Credential;
use crate::wire::{
    AddendumText, ContractSummary, DepositReply, EntryView, ErrorBody, GateView, InstanceInfo,
    PartyView, SealedResult, SubmitReply, UsageRecords, paths,
};
use crate::{Instance, Result, ServiceError};

/// How long one request may take.
const REQUEST_SECONDS_MAX: u64 = 60;

/// A server's API.
#[derive(Debug)]
pub struct Remote {
    base: String,
    /// The authority (host and port) as the Host field carries it, and the path prefix.
    authority: String,
    prefix: String,
    agent: ureq::Agent,
}

/// What a request sends.
struct Request<'a> {
    method: &'a str,
    path: String,
    credential: Option<&'a Credential>,
    body: Option<(&'a str, &'a [u8])>,
}

impl Remote {
    /// The server at `url`, `http(s)://HOST[:PORT][/PREFIX]`.
    pub fn new(url: &str) -> Result<Remote> {
        let bad =
            || ServiceError::BadRequest(format!("--server `{url}`: expected http://HOST[:PORT]"));
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        if scheme != "http" && scheme != "https" {
            return Err(bad());
        }
        let (authority, prefix) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(bad());
        }
        let authority = authority.to_ascii_lowercase();
        // The authority as the Host field carries it: no default port.
        let authority = match (scheme, authority.rsplit_once(':')) {
            ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host.to_owned(),
            _ => authority,
        };
        Ok(Remote {
            base: url.trim_end_matches('/').to_owned(),
            authority,
            prefix: prefix.trim_end_matches('/').to_owned(),
            agent: ureq::AgentBuilder::new()
                .timeout(std::time::Duration::from_secs(REQUEST_SECONDS_MAX))
                .build(),
        })
    }

    fn get<T: DeserializeOwned>(&self, path: String) -> Result<T> {
        self.send(Request {
            method: "GET",
            path,
            credential: None,
            body: None,
        })
    }

    fn send<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<T> {
        let url = format!("{}{}", self.base, request.path);
        let mut call = self.agent.request(request.method, &url);
        if let Some(credential) = request.credential {
            for (name, value) in
                self.credential_headers(request.method, &request.path, credential)?
            {
                call = call.set(name, &value);
            }
        }
        let response = match request.body {
            Some((content_type, bytes)) => call.set("Content-Type", content_type).send_bytes(bytes),
            None => call.call(),
        };
        match response {
            Ok(response) => response.into_json().map_err(|e| {
                ServiceError::Unreachable(format!(
                    "{url}: the answer is not what the API sends: {e}"
                ))
            }),
            Err(ureq::Error::Status(status, response)) => Err(refusal(status, response)),
            Err(error) => Err(self.unreachable(&error)),
        }
    }

    /// `Authorization: Bearer`, or an RFC 9421 signature over the method, authority and path
    /// with a fresh nonce.
    fn credential_headers(
        &self,
        method: &str,
        path: &str,
        credential: &Credential,
    ) -> Result<Vec<(&'static str, String)>> {
        use attest::http_signature::{self, Message, Params};
        match credential {
            Credential::Token(token) => Ok(vec![("Authorization", format!("Bearer {token}"))]),
            Credential::Key(key) => {
                let public = attest::PublicKey::parse(&key.verifier().to_text())
                    .map_err(|e| ServiceError::BadRequest(format!("the signing key: {e}")))?;
                let nonce: String = crate::keys::random_bytes()
                    .map_err(|e| ServiceError::internal(e.to_string()))?
                    .iter()
                    .take(16)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let params = Params::new(
                    &["@method", "@authority", "@path"],
                    crate::build::now(),
                    &public.keyid(),
                    Some(public.algorithm()),
                    Some(&nonce),
                );
                let full_path = format!("{}{path}", self.prefix);
                let message = Message {
                    method,
                    authority: &self.authority,
                    path: &full_path,
                    query: None,
                    headers: &[],
                };
                let (input, signature) = http_signature::sign(&message, "concordat", &params, key)
                    .map_err(|e| ServiceError::internal(format!("cannot sign the request: {e}")))?;
                Ok(vec![("Signature-Input", input), ("Signature", signature)])
            }
        }
    }

    /// Says why the server could not be reached, with a hint when its certificate is not
    /// trusted.
    fn unreachable(&self, error: &ureq::Error) -> ServiceError {
        let text = error.to_string();
        let hint = if text.contains("invalid peer certificate") || text.contains("UnknownIssuer") {
            "\n  the server's certificate is not trusted: add its CA to the system's certificate store, or point SSL_CERT_FILE at a PEM file of it"
        } else {
            ""
        };
        ServiceError::Unreachable(format!(
            "cannot reach the server at {}: {text}{hint}",
            self.base
        ))
    }

    fn put(
        &self,
        path: String,
        credential: &Credential,
        content_type: &str,
        body: &[u8],
    ) -> Result<DepositReply> {
        self.send(Request {
            method: "PUT",
            path,
            credential: Some(credential),
            body: Some((content_type, body)),
        })
    }

    fn restricted<T: DeserializeOwned>(&self, path: String, credential: &Credential) -> Result<T> {
        self.send(Request {
            method: "GET",
            path,
            credential: Some(credential),
            body: None,
        })
    }
}

/// The refusal a server answered, from its error body (or its status alone).
fn refusal(status: u16, response: ureq::Response) -> ServiceError {
    match response.into_json::<ErrorBody>() {
        Ok(body) => ServiceError::from_wire(body.error),
        Err(_) => ServiceError::from_wire(crate::wire::ErrorDetail {
            status,
            code: String::new(),
            message: format!("the server refused the request ({status}) and gave no reason"),
            rule: None,
        }),
    }
}

/// Deposits through a server need a credential: the server decides who may deposit.
fn needs(credential: Option<&Credential>) -> Result<&Credential> {
    credential.ok_or_else(|| {
        ServiceError::BadRequest(
            "a server takes deposits from a party: give --key or --token-file".to_owned(),
        )
    })
}

impl Instance for Remote {
    fn name(&self) -> &str {
        &self.base
    }

    fn info(&self) -> Result<InstanceInfo> {
        self.get(paths::INSTANCE.to_owned())
    }

    fn parties(&self) -> Result<Vec<Party>> {
        self.get(paths::PARTIES.to_owned())
    }

    fn party(&self, id: &str) -> Result<PartyView> {
        self.get(paths::party(id))
    }

    fn key(&self, keyid: &str) -> Result<KeyRecord> {
        self.get(paths::key(keyid))
    }

    fn contracts(&self) -> Result<Vec<ContractSummary>> {
        self.get(paths::CONTRACTS.to_owned())
    }

    fn contract(&self, id: &str) -> Result<ContractRecord> {
        self.get(paths::contract(id))
    }

    fn models(&self) -> Result<Vec<ModelVersion>> {
        self.get(paths::MODELS.to_owned())
    }

    fn model(&self, key: &str) -> Result<ModelVersion> {
        self.get(paths::model(key))
    }

    fn evidence(&self, model: Option<&str>) -> Result<Vec<EvidenceRecord>> {
        self.get(paths::with_query(paths::EVIDENCE, &[("model", model)]))
    }

    fn recognitions(&self) -> Result<Vec<Recognition>> {
        self.get(paths::RECOGNITIONS.to_owned())
    }

    fn recognition_report(
        &self,
        contract: Option<&str>,
        at: Option<i64>,
    ) -> Result<Vec<ContractReuse>> {
        let at = at.map(domain::updates::time::format_instant);
        self.get(paths::with_query(
            paths::RECOGNITION_REPORT,
            &[("contract", contract), ("at", at.as_deref())],
        ))
    }

    fn attestations(&self, contract: Option<&str>) -> Result<Vec<HostingRecord>> {
        self.get(paths::with_query(
            paths::ATTESTATIONS,
            &[("contract", contract)],
        ))
    }

    fn deployments(&self) -> Result<Vec<Deployment>> {
        self.get(paths::DEPLOYMENTS.to_owned())
    }

    fn deployment(&self, contract: &str, name: &str) -> Result<Deployment> {
        self.get(paths::deployment(contract, name))
    }

    fn gateway_view(&self, contract: &str, deployment: &str) -> Result<crate::wire::GatewayView> {
        self.get(paths::gateway_view(contract, deployment))
    }

    fn gate(&self, contract: &str, model: &str, at: Option<i64>) -> Result<GateView> {
        let at = at.map(domain::updates::time::format_instant);
        self.get(paths::with_query(
            paths::GATE,
            &[
                ("contract", Some(contract)),
                ("model", Some(model)),
                ("at", at.as_deref()),
            ],
        ))
    }

    fn usage(&self, contract: Option<&str>) -> Result<Vec<UsageBatch>> {
        self.get(paths::with_query(paths::USAGE, &[("contract", contract)]))
    }

    fn designations(&self) -> Result<Vec<domain::designation::Designation>> {
        self.get(paths::DESIGNATIONS.to_owned())
    }

    fn oscal(
        &self,
        contract: &str,
    ) -> Result<std::collections::BTreeMap<String, serde_json::Value>> {
        self.get(paths::with_query(
            paths::OSCAL,
            &[("contract", Some(contract))],
        ))
    }

    fn model_bom(&self, key: &str) -> Result<serde_json::Value> {
        self.get(format!("{}/bom", paths::model(key)))
    }

    fn compliance(
        &self,
        contract: &str,
        regimes: &[String],
        at: Option<i64>,
    ) -> Result<Vec<domain::compliance::Coverage>> {
        let at = at.map(domain::updates::time::format_instant);
        let regimes = regimes.join(",");
        self.get(paths::with_query(
            paths::COMPLIANCE,
            &[
                ("contract", Some(contract)),
                ("regime", (!regimes.is_empty()).then_some(regimes.as_str())),
                ("at", at.as_deref()),
            ],
        ))
    }

    fn incidents(
        &self,
        contract: Option<&str>,
        at: Option<i64>,
    ) -> Result<Vec<crate::wire::IncidentView>> {
        let at = at.map(domain::updates::time::format_instant);
        self.get(paths::with_query(
            paths::INCIDENTS,
            &[("contract", contract), ("at", at.as_deref())],
        ))
    }

    fn entry(&self, index: u64) -> Result<EntryView> {
        self.get(paths::entry(index))
    }

    fn envelope(&self, index: u64) -> Result<Vec<u8>> {
        let url = format!("{}{}", self.base, paths::envelope(index));
        match self.agent.get(&url).call() {
            Ok(response) => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(
                        response.into_reader(),
                        attest::dsse::ENVELOPE_BYTES_MAX as u64 + 1,
                    ),
                    &mut bytes,
                )
                .map_err(|e| ServiceError::Unreachable(format!("{url}: {e}")))?;
                if bytes.len() > attest::dsse::ENVELOPE_BYTES_MAX {
                    return Err(ServiceError::Unverified(format!(
                        "{url}: the entry is larger than an envelope may be"
                    )));
                }
                Ok(bytes)
            }
            Err(ureq::Error::Status(status, response)) => Err(refusal(status, response)),
            Err(error) => Err(self.unreachable(&error)),
        }
    }

    fn coalition(&self) -> Result<Option<domain::federation::Coalition>> {
        self.get(paths::COALITION.to_owned())
    }

    fn proof(&self, index: u64) -> Result<String> {
        let url = format!("{}{}", self.base, paths::proof(index));
        match self.agent.get(&url).call() {
            Ok(response) => response.into_string().map_err(|e| {
                ServiceError::Unreachable(format!("{url}: the answer is not text: {e}"))
            }),
            Err(ureq::Error::Status(status, response)) => Err(refusal(status, response)),
            Err(error) => Err(self.unreachable(&error)),
        }
    }

    fn consistency(&self, old: u64, new: Option<u64>) -> Result<crate::wire::ConsistencyView> {
        let old = old.to_string();
        let new = new.map(|n| n.to_string());
        self.get(paths::with_query(
            paths::CONSISTENCY,
            &[("old", Some(&old)), ("new", new.as_deref())],
        ))
    }

    fn submit(&self, envelope: Vec<u8>) -> Result<SubmitReply> {
        self.send(Request {
            method: "POST",
            path: paths::ENTRIES.to_owned(),
            credential: None,
            body: Some(("application/json", &envelope)),
        })
    }

    fn submit_each(
        &self,
        envelopes: &mut dyn Iterator<Item = Result<Vec<u8>>>,
        reply: &mut dyn FnMut(Result<SubmitReply>) -> Result<()>,
    ) -> Result<()> {
        for envelope in envelopes {
            let answer = self.submit(envelope?);
            // A server that cannot be reached refuses nothing: stop rather than report each.
            if let Err(unreachable @ ServiceError::Unreachable(_)) = answer {
                return Err(unreachable);
            }
            reply(answer)?;
        }
        Ok(())
    }

    fn deposit_addendum(
        &self,
        credential: Option<&Credential>,
        contract: &str,
        id: &str,
        body: &[u8],
    ) -> Result<DepositReply> {
        self.put(
            paths::addendum(contract, id),
            needs(credential)?,
            "application/toml",
            body,
        )
    }

    fn deposit_result(
        &self,
        credential: Option<&Credential>,
        entry: u64,
        body: &[u8],
    ) -> Result<DepositReply> {
        self.put(
            paths::sealed_result(entry),
            needs(credential)?,
            "application/toml",
            body,
        )
    }

    fn deposit_usage(
        &self,
        credential: Option<&Credential>,
        contract: &str,
        body: &[u8],
    ) -> Result<DepositReply> {
        self.put(
            paths::usage_deposit(contract),
            needs(credential)?,
            "application/jsonl",
            body,
        )
    }

    fn read_addendum(
        &self,
        credential: &Credential,
        contract: &str,
        id: &str,
    ) -> Result<AddendumText> {
        self.restricted(paths::addendum(contract, id), credential)
    }

    fn read_result(&self, credential: &Credential, entry: u64) -> Result<SealedResult> {
        self.restricted(paths::sealed_result(entry), credential)
    }

    fn read_usage(&self, credential: &Credential, entry: u64) -> Result<UsageRecords> {
        self.restricted(paths::usage_records(entry), credential)
    }

    fn operator_key(&self) -> Option<SignerKey> {
        None
    }

    fn close(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}
