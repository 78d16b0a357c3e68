//! The JSON API answers in the `service::wire` types, refuses in `ErrorBody` with the status
//! the service gives, and logs every restricted read before it answers.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use service::wire::{
    AddendumText, DepositReply, EntryView, ErrorBody, GateView, InstanceInfo, PartyView,
    SealedResult, SubmitReply,
};

use crate::support::{Served, wire};

const CONTRACT: &str = "defense-imagery-analysis";

#[test]
fn reads_answer_in_the_wire_types() {
    crate::support::run(async {
        let served = Served::demo();
        let (status, body) = served.get("/api/instance").await;
        assert_eq!(status, StatusCode::OK);
        let info: InstanceInfo = wire(&body);
        assert!(info.simulated_clock);
        assert!(info.size > 20, "{info:?}");

        let (_, body) = served.get("/api/entries/0").await;
        let genesis: EntryView = wire(&body);
        assert_eq!(genesis.kind.as_deref(), Some("party-registered"));
        assert_eq!(genesis.signers[0].party, "operator");

        let (_, body) = served.get("/api/parties/acme-ai").await;
        let vendor: PartyView = wire(&body);
        assert_eq!(vendor.party.name, "Acme AI");
        assert_eq!(vendor.keys.len(), 1);

        let (_, body) = served
            .get(&format!(
                "/api/gate?contract={CONTRACT}&model=vision-analyst@2027.3.0"
            ))
            .await;
        let gate: GateView = wire(&body);
        assert!(!gate.met);
        assert!(gate.gate.unmet().any(|r| r.id == "notice"), "{gate:?}");
    });
}

#[test]
fn refusals_carry_the_status_code_and_rule() {
    crate::support::run(async {
        let served = Served::demo();
        let refusal = |body: &[u8]| wire::<ErrorBody>(body).error;

        let size = wire::<InstanceInfo>(&served.get("/api/instance").await.1).size;
        let (status, body) = served.get(&format!("/api/entries/{size}/proof")).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a proof past the end is not a fault"
        );
        assert_eq!(refusal(&body).code, "not-found");

        let (status, body) = served.get("/api/gate?contract=x&model=no-at-sign").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(refusal(&body).message.contains("LINE@VERSION"));

        let post = crate::support::post_entry;
        let (status, body) = served.send(post(b"{not an envelope".to_vec())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(refusal(&body).code, "invalid-entry");
        for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
            let request = Request::post("/api/entries")
                .header("content-type", content_type)
                .body(Body::from("{}"))
                .unwrap();
            let (status, body) = served.send(request).await;
            assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
            assert_eq!(refusal(&body).code, "unsupported-media-type");
        }

        // The blocked version's approval breaks the gate rule; the body names the rule.
        let key = served.key("defense-agency");
        let approval = domain::VersionApproved {
            approver: "defense-agency".into(),
            contract: CONTRACT.into(),
            model: domain::ModelRef {
                line: "vision-analyst".into(),
                version: "2027.3.0".into(),
            },
            at: domain::updates::time::format_instant(service::build::now()),
        };
        let envelope = service::Draft::new(&approval)
            .unwrap()
            .signed_bytes(&[&key])
            .unwrap();
        let (status, body) = served.send(post(envelope)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let error = refusal(&body);
        assert_eq!(
            (error.code.as_str(), error.rule.as_deref()),
            ("rejected", Some("gate"))
        );
        // Read back by a client, it is the same refusal.
        assert!(matches!(
            service::ServiceError::from_wire(error),
            service::ServiceError::Rejected { rule, .. } if rule == "gate"
        ));

        // An entry the rules allow is accepted with its receipt.
        let statement = domain::PartyStatement {
            party: "defense-agency".into(),
            topic: "disclosure".into(),
            text: "tested as a library".into(),
            cosigners: Vec::new(),
            at: None,
        };
        let envelope = service::Draft::new(&statement)
            .unwrap()
            .signed_bytes(&[&key])
            .unwrap();
        let (status, body) = served.send(post(envelope)).await;
        assert_eq!(status, StatusCode::CREATED);
        let reply: SubmitReply = wire(&body);
        assert_eq!(reply.index, size);
        assert!(
            reply.proof.starts_with("c2sp.org/tlog-proof@v1"),
            "{}",
            reply.proof
        );
    });
}

/// Envelopes are public; none of them can be logged twice. Every entry of the demo — each kind
/// it holds, the usage batch whose counts a replay doubled among them — is posted again, and
/// each is refused with the index it is logged at, leaving the log and the counts as they were.
#[test]
fn a_logged_envelope_posted_again_is_refused_whatever_its_kind() {
    crate::support::run(async {
        let served = Served::demo();
        let size = wire::<InstanceInfo>(&served.get("/api/instance").await.1).size;
        let (status, usage_before) = served.get(&format!("/api/usage?contract={CONTRACT}")).await;
        assert_eq!(status, StatusCode::OK);
        let mut kinds = std::collections::BTreeSet::new();
        for index in 0..size {
            let (_, view) = served.get(&format!("/api/entries/{index}")).await;
            kinds.insert(wire::<EntryView>(&view).kind.unwrap_or_default());
            let (status, envelope) = served.get(&format!("/api/entries/{index}/envelope")).await;
            assert_eq!(status, StatusCode::OK);
            let (status, body) = served.send(crate::support::post_entry(envelope)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "entry {index}");
            let error = wire::<ErrorBody>(&body).error;
            assert_eq!(error.rule.as_deref(), Some("logged-once"), "{error:?}");
            assert!(
                error
                    .message
                    .contains(&format!("already logged as entry {index}:")),
                "{}",
                error.message
            );
        }
        assert!(kinds.len() >= 10, "the demo holds these kinds: {kinds:?}");
        assert!(kinds.contains("usage-recorded"), "{kinds:?}");
        let after = wire::<InstanceInfo>(&served.get("/api/instance").await.1).size;
        assert_eq!(after, size, "nothing was logged");
        let (_, usage_after) = served.get(&format!("/api/usage?contract={CONTRACT}")).await;
        assert_eq!(usage_after, usage_before, "the public counts are unchanged");
    });
}

#[test]
fn restricted_reads_need_a_cleared_credential_and_are_logged_first() {
    crate::support::run(async {
        let served = Served::demo();
        let addendum = format!("/api/contracts/{CONTRACT}/addenda/annex-c");
        let (status, _) = served.get(&addendum).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, body) = served.get_as("cct_not-a-token", &addendum).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{}",
            String::from_utf8_lossy(&body)
        );
        let (status, _) = served.get_as(&served.token("uk-test-lab"), &addendum).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a lab is no party of the contract"
        );

        let (status, body) = served
            .get_as(&served.token("oversight-office"), &addendum)
            .await;
        assert_eq!(status, StatusCode::OK);
        let text: AddendumText = wire(&body);
        assert!(text.text.starts_with("Target-set handling"));
        let (_, body) = served
            .get(&format!("/api/entries/{}", text.read_recorded_at))
            .await;
        let record: EntryView = wire(&body);
        assert_eq!(record.kind.as_deref(), Some("restricted-read"));
        assert_eq!(record.statement.predicate["reader"], "oversight-office");

        // The sealed red-team result: the auditor in scope reads it; the vendor may not.
        let (_, body) = served.get("/api/evidence").await;
        let evidence: Vec<domain::updates::EvidenceRecord> = wire(&body);
        let sealed = evidence
            .iter()
            .find(|e| e.sealed_result.is_some())
            .unwrap()
            .entry;
        let uri = format!("/api/evidence/{sealed}/sealed");
        let (status, _) = served.get_as(&served.token("acme-ai"), &uri).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = served.get_as(&served.token("oversight-office"), &uri).await;
        assert_eq!(status, StatusCode::OK);
        let result: SealedResult = wire(&body);
        assert_eq!(result.metrics["attempts"], 400);
    });
}

#[test]
fn deposits_are_kept_once_and_only_from_whom_they_may_come() {
    crate::support::run(async {
        let served = Served::demo();
        let (_, body) = served.get("/api/usage").await;
        let batches: Vec<domain::updates::UsageBatch> = wire(&body);
        let stored = std::fs::read(
            served
                .layout()
                .usage_records_for(CONTRACT, &batches[0].digest)
                .unwrap(),
        )
        .unwrap();
        let put = |token: String, bytes: Vec<u8>| {
            Request::put(format!("/api/contracts/{CONTRACT}/usage-records"))
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(bytes))
                .unwrap()
        };
        let (status, _) = served
            .send(put(served.token("uk-test-lab"), stored.clone()))
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "only a party of the contract deposits"
        );
        let agency = served.token("defense-agency");
        let (status, body) = served.send(put(agency.clone(), stored.clone())).await;
        assert_eq!(status, StatusCode::OK);
        assert!(wire::<DepositReply>(&body).already_stored);
        // A decision the contract's policies do not give is refused, with its line.
        let text = String::from_utf8(stored).unwrap();
        let forged = text.replacen("\"allowed\":false", "\"allowed\":true", 1);
        let (status, body) = served.send(put(agency.clone(), forged.into_bytes())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let error = wire::<ErrorBody>(&body).error;
        assert_eq!(error.code, "decisions-differ");
        assert!(
            error
                .message
                .contains("records:line 5: request `req-81f6` is recorded as allowed"),
            "{}",
            error.message
        );
        let (status, body) = served.send(put(agency, b"{\"at\": 1}\n".to_vec())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            wire::<ErrorBody>(&body)
                .error
                .message
                .starts_with("records:line 1: column 8"),
            "{}",
            String::from_utf8_lossy(&body)
        );
    });
}

/// Rules the CLI checks before it signs hold for entries POSTed directly too: a usage batch is
/// counted only once its records are deposited and give its counts; a contract is amended only
/// if its policies still forbid what every contract must.
#[test]
fn the_write_path_checks_what_the_cli_checks() {
    crate::support::run(async {
        let served = Served::demo();
        let state = served.state();
        let post = crate::support::post_entry;
        let at = |offset: i64| domain::updates::time::format_instant(state.clock() + offset);

        // Usage: records that were never deposited, then counts the records do not give.
        let batch = state.usage(Some(CONTRACT)).next().unwrap().clone();
        let stored = std::fs::read_to_string(
            served
                .layout()
                .usage_records_for(CONTRACT, &batch.digest)
                .unwrap(),
        )
        .unwrap();
        let fewer: String = stored.lines().skip(1).map(|l| format!("{l}\n")).collect();
        let records = policy::usage::read(&fewer).unwrap();
        let summary = policy::usage::summarize(records.iter().map(|(_, r)| r));
        let mut predicate = service::usage::batch(
            "defense-agency",
            CONTRACT,
            &batch.deployment,
            service::access::sha256_digest(fewer.as_bytes()),
            at(60),
            &summary,
        );
        let agency = served.key("defense-agency");
        let sign = |p: &domain::UsageRecorded| {
            service::Draft::new(p)
                .unwrap()
                .signed_bytes(&[&agency])
                .unwrap()
        };
        let refused = |body: &[u8]| wire::<ErrorBody>(body).error;
        let (status, body) = served.send(post(sign(&predicate))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let error = refused(&body);
        assert_eq!(error.rule.as_deref(), Some("usage-records"), "{error:?}");
        assert!(
            error.message.contains("are not deposited"),
            "{}",
            error.message
        );

        let deposit = Request::put(format!("/api/contracts/{CONTRACT}/usage-records"))
            .header(
                "authorization",
                format!("Bearer {}", served.token("defense-agency")),
            )
            .body(Body::from(fewer.clone()))
            .unwrap();
        assert_eq!(served.send(deposit).await.0, StatusCode::OK);
        predicate.allowed += 1;
        predicate.records += 1;
        let (status, body) = served.send(post(sign(&predicate))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let error = refused(&body);
        assert_eq!(error.rule.as_deref(), Some("usage-counts"), "{error:?}");
        assert!(
            error.message.contains(&format!(
                "`records` is {}, the records give {}",
                summary.records + 1,
                summary.records
            )),
            "{}",
            error.message
        );
        predicate.allowed -= 1;
        predicate.records -= 1;
        let (status, body) = served.send(post(sign(&predicate))).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&body)
        );

        // A contract amended to permit what every contract must forbid.
        let envelope = served.amendment(CONTRACT, "9.0.0", |files| {
            let policy_file = files
                .keys()
                .find(|path| path.ends_with(".cedar"))
                .unwrap()
                .clone();
            files.insert(
                policy_file,
                "@id(\"anything-goes\")\npermit(principal, action, resource);\n".to_owned(),
            );
        });
        let (status, body) = served.send(post(envelope)).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            String::from_utf8_lossy(&body)
        );
        let error = refused(&body);
        assert_eq!(error.rule.as_deref(), Some("prohibitions"), "{error:?}");
        assert!(
            error.message.contains("(by `anything-goes`)"),
            "{}",
            error.message
        );
    });
}

#[test]
fn no_response_is_sniffed_and_pages_forbid_framing_and_scripts() {
    crate::support::run(async {
        let served = Served::demo();
        for uri in [
            "/",
            "/contracts",
            "/api/instance",
            "/no/such/page",
            "/checkpoint",
        ] {
            let response = served.response(uri).await;
            let headers = response.headers();
            assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
            let page = headers["content-type"].as_bytes().starts_with(b"text/html");
            assert_eq!(
                page,
                ["/", "/contracts", "/no/such/page"].contains(&uri),
                "{uri}"
            );
            if page {
                assert_eq!(
                    headers["content-security-policy"],
                    server::CONTENT_SECURITY_POLICY,
                    "{uri}"
                );
                assert_eq!(headers["x-frame-options"], "DENY", "{uri}");
            }
        }
    });
}

/// Hosting attestation that proves something: a SEV-SNP report is logged only if it verifies
/// against AMD's chain; once the contract names launch measurements, the gate is met only by a
/// verified report with one of them — not by the vendor's word, nor by another measurement.
#[test]
fn hosting_attestation_is_verified_in_hardware_where_the_contract_asks() {
    use base64::Engine as _;
    crate::support::run(async {
        let served = Served::demo();
        let state = served.state();
        let post = crate::support::post_entry;
        let mut at = state.clock();
        let mut attest = |evidence: Option<domain::HostingEvidence>, report: String| {
            at += 60;
            let predicate = domain::HostingAttested {
                party: "acme-ai".into(),
                contract: CONTRACT.into(),
                environment: domain::contract::Environment::GovernmentCloud,
                report,
                description: "confidential VM".into(),
                at: domain::updates::time::format_instant(at),
                evidence,
            };
            service::Draft::new(&predicate)
                .unwrap()
                .signed_bytes(&[&served.key("acme-ai")])
                .unwrap()
        };
        let report_hex = include_bytes!("../../../service/tests/fixtures/sev-snp/report_milan.hex");
        let vcek = include_bytes!("../../../service/tests/fixtures/sev-snp/vcek_milan.der");
        let (evidence, verified) = service::snp::evidence("milan", report_hex, vcek).unwrap();

        // A changed report is refused, with what failed.
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut bytes = b64.decode(&evidence.report).unwrap();
        bytes[0x90] ^= 1;
        let mut forged = evidence.clone();
        forged.report = b64.encode(&bytes);
        let digest = service::access::sha256_digest(&bytes);
        let (status, body) = served.send(post(attest(Some(forged), digest))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let error = wire::<ErrorBody>(&body).error;
        assert_eq!(error.rule.as_deref(), Some("hosting-evidence"), "{error:?}");
        assert!(
            error.message.contains("signature does not verify"),
            "{}",
            error.message
        );

        // The contract is amended to name a launch measurement other than this report's.
        let other = "ab".repeat(48);
        let envelope = served.amendment(CONTRACT, "9.0.0", |files| {
            files
                .get_mut("modules/hosting.toml")
                .unwrap()
                .push_str(&format!("measurements = [\"{other}\"]\n"));
        });
        let (status, body) = served.send(post(envelope)).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&body)
        );

        // The vendor's earlier word no longer meets the gate; a genuine report of another
        // measurement is refused.
        let gate_uri = format!("/api/gate?contract={CONTRACT}&model=vision-analyst@2027.1.0");
        let (_, body) = served.get(&gate_uri).await;
        let gate: GateView = wire(&body);
        let hosting = gate
            .gate
            .requirements
            .iter()
            .find(|r| r.id == "hosting-attestation")
            .unwrap();
        assert!(!hosting.met, "{hosting:?}");
        assert!(
            hosting.detail.contains("the vendor's word"),
            "{}",
            hosting.detail
        );
        let (status, body) = served
            .send(post(attest(
                Some(evidence.clone()),
                verified.report_digest.clone(),
            )))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let error = wire::<ErrorBody>(&body).error;
        assert_eq!(
            error.rule.as_deref(),
            Some("hosting-measurement"),
            "{error:?}"
        );
        assert!(error.message.contains(&verified.measurement));

        // Named by the contract, the genuine report is logged and meets the gate.
        let envelope = served.amendment(CONTRACT, "9.1.0", |files| {
            let hosting_toml = files.get_mut("modules/hosting.toml").unwrap();
            *hosting_toml = hosting_toml.replace(&other, &verified.measurement);
        });
        assert_eq!(served.send(post(envelope)).await.0, StatusCode::CREATED);
        let (status, body) = served
            .send(post(attest(Some(evidence), verified.report_digest.clone())))
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&body)
        );
        let (_, body) = served.get(&gate_uri).await;
        let gate: GateView = wire(&body);
        let hosting = gate
            .gate
            .requirements
            .iter()
            .find(|r| r.id == "hosting-attestation")
            .unwrap();
        assert!(hosting.met, "{hosting:?}");
        assert!(
            hosting.detail.contains("verified against AMD's chain"),
            "{}",
            hosting.detail
        );
    });
}
