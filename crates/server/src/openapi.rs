//! The route table. The router and `/openapi.json` are both built from it, so the document
//! describes exactly the routes served.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use serde_json::{Map, Value, json};

use crate::{Instance, access, api, c2sp, metrics, portal, usage};

/// One route: method, path (axum syntax, `{name}` parameters, `{*name}` for the rest of the
/// path), what it is for, and what it answers with.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub content: &'static str,
    /// Query parameters: name and whether required.
    pub query: &'static [(&'static str, bool)],
}

macro_rules! routes {
    ($( $method:ident $path:literal => $handler:path, $tag:literal, $content:expr, [$(($q:literal, $req:literal)),*], $summary:literal; )*) => {
        /// Every route the server answers.
        pub const ROUTES: &[Route] = &[$(Route {
            method: stringify!($method),
            path: $path,
            tag: $tag,
            summary: $summary,
            content: $content,
            query: &[$(($q, $req)),*],
        },)*];

        pub fn routes() -> Router<Arc<Instance>> {
            Router::new()
                $(.route($path, axum::routing::$method($handler)))*
        }
    };
}

const JSON: &str = "application/json";
const TEXT: &str = "text/plain";
const BYTES: &str = "application/octet-stream";
const HTML: &str = "text/html";
const CYCLONEDX: &str = "application/vnd.cyclonedx+json";

routes! {
    get "/checkpoint" => c2sp::checkpoint, "c2sp", TEXT, [], "The latest signed checkpoint (C2SP tlog-checkpoint).";
    get "/tile/{*path}" => c2sp::tile, "c2sp", BYTES, [], "A hash tile `<L>/<N>[.p/<W>]` or entry bundle `entries/<N>[.p/<W>]` (C2SP tlog-tiles); full tiles are immutable.";
    get "/healthz" => api::healthz, "operations", JSON, [], "Liveness: the origin and log size.";
    get "/metrics" => metrics::metrics, "operations", TEXT, [], "Prometheus metrics.";
    get "/openapi.json" => openapi, "operations", JSON, [], "This document.";
    get "/api/instance" => api::instance, "api", JSON, [], "The instance: origin, log verifier key, size, latest checkpoint.";
    get "/api/consistency" => api::consistency, "api", JSON, [("old", true), ("new", false)], "A consistency proof from tree size `old` (a checkpoint you saw) to `new` (a size the log signed; the latest when absent), with the checkpoint signed at `new`: proof that the log only grew.";
    post "/api/entries" => api::submit, "api", JSON, [], "Submit an entry: a DSSE envelope of a Concordat statement. Answers 201 with its index and tlog-proof, or the rule it breaks.";
    get "/api/entries/{index}" => api::entry, "api", JSON, [], "An entry: kind, statement, signers.";
    get "/api/entries/{index}/envelope" => api::envelope, "api", JSON, [], "The exact bytes logged for an entry (its DSSE envelope), for offline verification.";
    get "/api/entries/{index}/proof" => api::proof, "api", TEXT, [], "An entry's tlog-proof against the latest checkpoint, for offline verification.";
    get "/api/parties" => api::parties, "api", JSON, [], "The registered parties.";
    get "/api/parties/{id}" => api::party, "api", JSON, [], "A party and its keys.";
    get "/api/contracts" => api::contracts, "api", JSON, [], "The published contracts.";
    get "/api/contracts/{contract}/addenda/{id}" => access::addendum, "restricted", JSON, [], "A sealed addendum's text, for a party cleared for it (bearer token or signed request). Each read is recorded in the ledger first.";
    put "/api/contracts/{contract}/addenda/{id}" => access::deposit_addendum, "restricted", JSON, [], "A party of the contract deposits a sealed addendum's text (TOML: id, salt, text, optionally cleared); kept only if it opens the public commitment.";
    get "/api/contracts/{id}" => api::contract, "api", JSON, [], "A contract: public files, versions, sealed addenda (as commitments).";
    get "/api/models" => api::models, "api", JSON, [], "Model versions and their standing under each contract.";
    get "/api/models/{key}" => api::model, "api", JSON, [], "A model version (`LINE@VERSION`).";
    get "/api/models/{key}/bom" => api::model_bom, "api", CYCLONEDX, [], "A model version as a CycloneDX 1.6 ML-BOM: its digest, the upstream models and datasets its vendor declared, a model card whose performance metrics are the recorded evidence, and its standing under each contract.";
    get "/api/evidence" => api::evidence, "api", JSON, [("model", false)], "Evidence, all or about one model version.";
    get "/api/evidence/{index}/sealed" => access::sealed_result, "restricted", JSON, [], "A sealed evaluation result, for the lab that produced it and auditors whose scope includes `evaluation-evidence` (bearer token or signed request). Each read is recorded in the ledger first.";
    get "/api/usage" => usage::batches, "api", JSON, [("contract", false)], "Usage batches: per deployment and period, decisions allowed and denied and by which clauses, and the digest of the records.";
    get "/api/usage/{index}/records" => usage::records, "restricted", JSON, [], "A usage batch's records, for auditors whose audit rights include usage records and for the party that recorded them (bearer token or signed request). Each read is recorded in the ledger first.";
    put "/api/contracts/{contract}/usage-records" => usage::deposit, "restricted", JSON, [], "A party of the contract deposits a usage batch's records (JSON Lines, at most 16 MiB) before the entry that counts them; each decision is decided again by the contract's policies, and the records are kept by their SHA-256.";
    put "/api/evidence/{index}/sealed" => access::deposit_result, "restricted", JSON, [], "The lab deposits a sealed evaluation result (TOML: id, salt, text); kept only if it opens the entry's commitment.";
    get "/api/recognitions" => api::recognitions, "api", JSON, [], "Which labs each jurisdiction recognises.";
    get "/api/recognitions/report" => api::recognition_report, "api", JSON, [("contract", false), ("at", false)], "Per contract: evaluation requirements met, and how many by evidence produced for another jurisdiction or logged by another instance of the coalition (duplicate tests avoided).";
    get "/api/keys/{keyid}" => api::key, "api", JSON, [], "A registered key: its party, algorithm, public key and status.";
    get "/api/attestations" => api::attestations, "api", JSON, [("contract", false)], "Vendors' attestations of the hosting environments contracts require.";
    get "/api/deployments" => api::deployments, "api", JSON, [], "Deployments and their histories.";
    get "/api/deployments/{contract}/{name}" => api::deployment, "api", JSON, [], "A deployment's history.";
    get "/api/contracts/{contract}/deployments/{name}/gateway" => api::gateway_view, "api", JSON, [], "What a gateway enforces for a deployment, as of one log size: the contract's public files, the version in service and its API id, the credentials issued (by hash) and the gateways authorized.";
    get "/api/incidents" => api::incidents, "api", JSON, [("contract", false), ("at", false)], "Incidents and their duties: each notification the contract's escalation steps and its regimes require, and the rollback it promises, as met (by which entry, how early), due (time left) or overdue (by how much) at `at` (default now).";
    get "/api/compliance" => api::compliance, "api", JSON, [("contract", true), ("regime", false), ("at", false)], "A contract's coverage of each regime or catalog named in `regime` (comma-separated; default the NIST AI RMF and every regime the contract names): per requirement met (by which module or entries, with the crosswalk's relationship), a gap (what is missing) or not applicable (why).";
    get "/api/compliance/oscal" => api::oscal, "api", JSON, [("contract", true)], "A contract's compliance as OSCAL 1.2 documents, by file name: every catalog, a component definition (one component per capability module), assessment results (evidence, gates, findings), a POA&M (the gaps), a profile and system security plan (sealed addenda only as commitment and label) and the crosswalk as a mapping collection, citing ledger entries with their inclusion proofs; the same log gives the same bytes.";
    get "/api/coalition" => api::coalition, "api", JSON, [], "The coalition an operator named: each member's log key and witness policy (null before one was named).";
    get "/api/designations" => api::designations, "api", JSON, [], "Supply-chain-risk designations: subject, grounds, scope, appeal window, appeal, decision, lifting, and the deployments each suspended or rolled back.";
    get "/api/gate" => api::gate, "api", JSON, [("contract", true), ("model", true), ("at", false)], "The gate of a model version under a contract: each requirement met or unmet.";
    get "/" => portal::home, "portal", HTML, [], "The portal: what the register holds now, in sentences, and how to verify it.";
    get "/contracts" => portal::contracts, "portal", HTML, [("format", false)], "Contracts (`format=csv|json` downloads the listing).";
    get "/contracts/{id}" => portal::contract, "portal", HTML, [], "A contract in words: who is bound, what it forbids and permits, its terms by module, addenda, versions, deployments, usage, history.";
    get "/contracts/{id}/compliance" => portal::compliance, "portal", HTML, [], "A contract's compliance with each regime it names and the NIST AI RMF: each requirement met, a gap or not applicable.";
    get "/models" => portal::models, "portal", HTML, [("format", false)], "Model versions and their standing (`format=csv|json` downloads the listing).";
    get "/models/{key}" => portal::model, "portal", HTML, [], "A model version: its gate when approved and today, and the evidence behind it.";
    get "/deployments/{contract}/{name}" => portal::deployment, "portal", HTML, [], "A deployment: its timeline by date, incidents and their duties, service levels, usage.";
    get "/deployments/{contract}/{name}/usage" => portal::deployment_usage, "portal", HTML, [("format", false)], "A deployment's usage in words, over time and batch by batch (`format=csv|json` downloads the batches).";
    get "/usage" => portal::usage, "portal", HTML, [("format", false)], "Usage across the register (`format=csv|json` downloads every batch).";
    get "/designations" => portal::designations, "portal", HTML, [], "Supply-chain-risk designations and their histories.";
    get "/parties" => portal::parties, "portal", HTML, [("format", false)], "Parties (`format=csv|json` downloads the listing).";
    get "/parties/{id}" => portal::party, "portal", HTML, [], "A party: roles, jurisdictions, contact, key fingerprints, contracts, versions, evidence.";
    get "/log" => portal::log, "portal", HTML, [("before", false), ("kind", false), ("party", false), ("contract", false), ("model", false), ("q", false), ("format", false)], "The log, newest entries first, filtered by kind, party, contract or model and searched by index, id or digest (`format=csv|json` downloads it).";
    get "/log/{index}" => portal::entry, "portal", HTML, [], "An entry with every name linked and its inclusion proof checked.";
}

/// The request bodies of the routes that take one: method, path, content type, what it is.
pub const BODIES: &[(&str, &str, &str, &str)] = &[
    (
        "post",
        "/api/entries",
        JSON,
        "A DSSE envelope of an in-toto Statement whose predicateType is a Concordat kind (`concordat kinds`).",
    ),
    (
        "put",
        "/api/contracts/{contract}/addenda/{id}",
        "application/toml",
        "The sealed half: `id`, `salt`, `text`, and optionally `cleared`, the parties of the contract who may read it.",
    ),
    (
        "put",
        "/api/evidence/{index}/sealed",
        "application/toml",
        "The sealed result as `concordat evidence import --seal` wrote it: `id`, `salt`, `text`.",
    ),
    (
        "put",
        "/api/contracts/{contract}/usage-records",
        "application/jsonl",
        "The records, one decision a line; the usage entry that counts them names their SHA-256.",
    ),
];

/// A route's path, as the document names it, and its operation.
fn operation(route: &Route) -> (String, Value) {
    let path = route.path.replace("{*", "{");
    let mut parameters: Vec<Value> = path
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .map(|name| {
            let schema = if name == "index" {
                index_schema()
            } else {
                json!({"type": "string", "minLength": 1, "maxLength": crate::PATH_BYTES_MAX})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    parameters.extend(route.query.iter().map(|(name, required)| {
        let schema = if ["old", "new"].contains(name) {
            index_schema()
        } else {
            json!({"type": "string", "minLength": 1, "maxLength": crate::QUERY_BYTES_MAX})
        };
        json!({"name": name, "in": "query", "required": required, "schema": schema})
    }));
    let ok = if route.method == "post" { "201" } else { "200" };
    let operation = json!({
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": parameters,
        "responses": {
            ok: {"description": "success", "content": {route.content: {}}},
            "4XX": {"description": "the request cannot be answered; the reason is in words", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "5XX": {"description": "the server failed; the detail is in the operator's log", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
    });
    let mut operation = operation;
    if let Some(object) = operation.as_object_mut() {
        if let Some((_, _, content, description)) = BODIES
            .iter()
            .find(|(method, path, _, _)| *method == route.method && *path == route.path)
        {
            let schema = if *content == JSON {
                json!({"$ref": "#/components/schemas/Envelope"})
            } else {
                json!({"type": "string", "contentMediaType": content, "maxLength": body_bytes_max(&path)})
            };
            object.insert(
                "requestBody".to_owned(),
                json!({"required": true, "description": description, "content": {*content: {"schema": schema}}}),
            );
        }
        if route.tag == "restricted" {
            object.insert(
                "security".to_owned(),
                json!([{"bearer": []}, {"httpSignature": []}]),
            );
        }
    }
    (path, operation)
}

/// The OpenAPI 3.1 document of [`ROUTES`].
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let (path, operation) = operation(route);
        let item = paths.entry(path).or_insert_with(|| json!({}));
        if let Some(item) = item.as_object_mut() {
            item.insert(route.method.to_owned(), operation);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Concordat", "version": env!("CARGO_PKG_VERSION"), "description": "A Concordat instance: its transparency log (C2SP), its ledger's state, and its public portal."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A token bound to a party, from `concordat token issue`; only its SHA-256 is stored."},
                "httpSignature": {"type": "apiKey", "in": "header", "name": "Signature", "description": "An HTTP message signature (RFC 9421) by one of the party's active keys, with `Signature-Input` covering @method, @authority and @path (and @query), `created` within 300 seconds of the server's clock, `keyid` the key's Concordat key ID and a `nonce` never used before."}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["status", "code", "message"], "properties": {
                        "status": {"type": "integer"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "rule": {"type": "string", "description": "For a refused entry: the ledger rule it breaks."}
                    }}}
                },
                "Envelope": {
                    "type": "object",
                    "description": "A DSSE envelope of an in-toto Statement v1 whose predicateType is a Concordat entry kind (`concordat kinds`).",
                    "required": ["payloadType", "payload", "signatures"],
                    "properties": {
                        "payloadType": {"const": attest::statement::PAYLOAD_TYPE},
                        "payload": {"type": "string", "contentEncoding": "base64"},
                        "signatures": {"type": "array", "minItems": 1, "items": {
                            "type": "object",
                            "required": ["sig"],
                            "properties": {
                                "keyid": {"type": "string", "description": "A hint: the hex SHA-256 of the key's SPKI DER."},
                                "sig": {"type": "string", "contentEncoding": "base64"}
                            }
                        }}
                    },
                    "maxProperties": 3
                }
            }
        }
    })
}

/// A log index or tree size: what a signed 64-bit integer holds.
fn index_schema() -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": i64::MAX})
}

/// The largest body a route reads.
fn body_bytes_max(path: &str) -> usize {
    if path.ends_with("usage-records") {
        service::access::USAGE_BYTES_MAX
    } else {
        crate::BODY_BYTES_MAX
    }
}

async fn openapi() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_describes_every_route_and_its_parameters() {
        let document = document();
        let paths = document["paths"].as_object().unwrap();
        assert_eq!(
            ROUTES
                .iter()
                .map(|r| (r.path.replace("{*", "{"), r.method))
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            ROUTES.len(),
            "a route is listed twice"
        );
        for route in ROUTES {
            let path = route.path.replace("{*", "{");
            let operation = &paths[&path][route.method];
            assert!(
                operation.is_object(),
                "{} {path} is not described",
                route.method
            );
            let parameters: Vec<&str> = operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            for name in path
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}'))
                .map(|(n, _)| n)
            {
                assert!(parameters.contains(&name), "{path} lacks parameter {name}");
            }
        }
        assert_eq!(
            paths.len(),
            ROUTES
                .iter()
                .map(|r| r.path)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        );
    }

    #[test]
    fn every_route_that_takes_a_body_describes_it_and_restricted_routes_name_the_credentials() {
        let document = document();
        for route in ROUTES {
            let operation = &document["paths"][route.path.replace("{*", "{")][route.method];
            let takes_body = route.method == "post" || route.method == "put";
            assert_eq!(
                operation["requestBody"]["content"].is_object(),
                takes_body,
                "{} {}",
                route.method,
                route.path
            );
            assert_eq!(
                operation["security"].is_array(),
                route.tag == "restricted",
                "{} {}",
                route.method,
                route.path
            );
        }
        for (method, path, _, _) in BODIES {
            assert!(
                ROUTES
                    .iter()
                    .any(|r| r.method == *method && r.path == *path),
                "{method} {path} is not a route"
            );
        }
        let entries = &document["paths"]["/api/entries"]["post"]["requestBody"]["content"];
        assert_eq!(
            entries[JSON]["schema"]["$ref"],
            "#/components/schemas/Envelope"
        );
        let index = &document["paths"]["/api/entries/{index}"]["get"]["parameters"][0]["schema"];
        assert_eq!(index["maximum"], i64::MAX);
        let schemes = &document["components"]["securitySchemes"];
        assert!(schemes["bearer"].is_object() && schemes["httpSignature"].is_object());
    }
}
