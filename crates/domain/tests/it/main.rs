//! Entry-kind rules through the public surface: `check(steps, expected)`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod compliance;
mod contract;
mod federation;
mod incidents;
mod updates;

use attest::{PublicKey, Statement, Subject};
use domain::{Entry, KeyStatus, Kind, Role, State, apply, verification_keys};
use serde_json::{Value, json};
use sha2::Digest as _;
use tlog::note::{KeyType, SignerKey};

/// Test keys by name: their C2SP text and key ID.
fn key(name: &str) -> (String, String) {
    let seed: [u8; 32] = sha2::Sha256::digest(name.as_bytes()).into();
    let signer = SignerKey::from_seed("k", KeyType::Ed25519, seed).unwrap();
    let text = signer.verifier().to_text();
    let keyid = PublicKey::parse(&text).unwrap().keyid();
    (text, keyid)
}

fn text(name: &str) -> String {
    key(name).0
}

fn keyid(name: &str) -> String {
    key(name).1
}

/// One entry: its kind, predicate, and the names of the keys whose signatures verified.
struct Step(Kind, Value, &'static [&'static str]);

fn statement(kind: Kind, predicate: Value) -> Statement {
    Statement::new(
        vec![Subject {
            name: "test".into(),
            digest: [("sha256".to_owned(), "00".repeat(32))].into(),
        }],
        &kind.predicate_type(),
        predicate,
    )
}

fn genesis() -> Step {
    Step(
        Kind::PartyRegistered,
        json!({"party": "operator", "name": "Ledger operator", "roles": ["operator"], "keys": [text("op")]}),
        &["op"],
    )
}

fn register(party: &str, role: &str, key_name: &str) -> Step {
    Step(
        Kind::PartyRegistered,
        json!({"party": party, "name": party.to_uppercase(), "roles": [role], "jurisdictions": ["US"], "keys": [text(key_name)]}),
        &["op"],
    )
}

/// Applies the steps in order; the last outcome is compared with `expected`: `Ok` with a
/// check of the final state, or `Err` with a fragment of the rejection.
fn check(steps: Vec<Step>, expected: Result<&dyn Fn(&State), &str>) {
    let mut state = State::default();
    let last = steps.len() - 1;
    for (index, Step(kind, predicate, signers)) in steps.into_iter().enumerate() {
        let statement = statement(kind, predicate);
        let signers: Vec<String> = signers.iter().map(|name| keyid(name)).collect();
        let entry = Entry {
            index: index as u64,
            statement: &statement,
            signers: &signers,
        };
        let outcome = apply(&state, &entry);
        if index < last {
            let changes = outcome.unwrap_or_else(|r| panic!("step {index} rejected: {r}"));
            state.commit(&changes);
            continue;
        }
        match (outcome, expected) {
            (Ok(changes), Ok(check_state)) => {
                state.commit(&changes);
                check_state(&state);
            }
            (Err(rejection), Err(fragment)) => {
                let message = rejection.to_string();
                assert!(message.contains(fragment), "`{message}` lacks `{fragment}`");
            }
            (Ok(_), Err(fragment)) => panic!("accepted, expected a rejection with `{fragment}`"),
            (Err(rejection), Ok(_)) => panic!("rejected: {rejection}"),
        }
    }
}

#[test]
fn genesis_registers_the_operator_with_its_own_key() {
    check(
        vec![genesis()],
        Ok(&|state: &State| {
            let operator = state.party("operator").unwrap();
            assert_eq!(operator.roles, vec![Role::Operator]);
            assert!(state.key(&keyid("op")).unwrap().is_active());
        }),
    );
    check(
        vec![Step(
            Kind::PartyRegistered,
            json!({"party": "operator", "name": "x", "roles": ["vendor"], "keys": [text("op")]}),
            &["op"],
        )],
        Err("rule `genesis`: the first party registered must have the operator role"),
    );
    check(
        vec![Step(
            Kind::PartyRegistered,
            json!({"party": "operator", "name": "x", "roles": ["operator"], "keys": [text("op")]}),
            &["other"],
        )],
        Err("must be signed by one of the keys it registers"),
    );
    check(
        vec![Step(
            Kind::PartyStatement,
            json!({"party": "x", "topic": "t", "text": "t"}),
            &["op"],
        )],
        Err("the first entry of a ledger must register its operator"),
    );
}

#[test]
fn only_operators_register_parties() {
    check(
        vec![genesis(), register("acme-ai", "vendor", "acme")],
        Ok(&|state: &State| {
            let acme = state.party("acme-ai").unwrap();
            assert_eq!((acme.name.as_str(), acme.registered_at), ("ACME-AI", 1));
            assert_eq!(state.keys_of("acme-ai").count(), 1);
        }),
    );
    let mut by_vendor = register("lab-one", "lab", "lab");
    by_vendor.2 = &["acme"];
    check(
        vec![genesis(), register("acme-ai", "vendor", "acme"), by_vendor],
        Err("rule `signer-authority`: only an operator may register a party"),
    );
    check(
        vec![
            genesis(),
            register("acme-ai", "vendor", "acme"),
            register("acme-ai", "lab", "x"),
        ],
        Err("rule `unique-party`"),
    );
    check(
        vec![
            genesis(),
            register("acme-ai", "vendor", "acme"),
            register("beta", "lab", "acme"),
        ],
        Err("rule `unique-key`"),
    );
    check(
        vec![genesis(), register("Acme AI", "vendor", "acme")],
        Err("rule `party-id`"),
    );
    check(
        vec![
            genesis(),
            Step(
                Kind::PartyRegistered,
                json!({"party": "a", "name": "A", "roles": ["agency"], "jurisdictions": ["usa"], "keys": [text("a")]}),
                &["op"],
            ),
        ],
        Err("jurisdiction `usa` is not an ISO 3166 code"),
    );
    check(
        vec![
            genesis(),
            Step(
                Kind::PartyRegistered,
                json!({"party": "a", "name": "A", "roles": ["king"], "keys": [text("a")]}),
                &["op"],
            ),
        ],
        Err("rule `predicate-schema`: predicate: unknown variant `king`"),
    );
    check(
        vec![
            genesis(),
            Step(
                Kind::PartyRegistered,
                json!({"party": "a", "name": "A", "roles": ["lab"], "keys": [text("a")], "extra": 1}),
                &["op"],
            ),
        ],
        Err("unknown field `extra`"),
    );
    check(
        vec![
            genesis(),
            Step(
                Kind::PartyRegistered,
                json!({"party": "a", "name": "A", "roles": ["lab"], "keys": ["not a key"]}),
                &["op"],
            ),
        ],
        Err("rule `key-format`"),
    );
}

#[test]
fn parties_manage_their_own_keys() {
    let add = |signer: &'static [&'static str]| {
        Step(
            Kind::KeyAdded,
            json!({"party": "acme-ai", "key": text("acme2")}),
            signer,
        )
    };
    check(
        vec![
            genesis(),
            register("acme-ai", "vendor", "acme"),
            add(&["acme"]),
        ],
        Ok(&|state: &State| {
            assert_eq!(state.keys_of("acme-ai").count(), 2);
        }),
    );
    check(
        vec![
            genesis(),
            register("acme-ai", "vendor", "acme"),
            add(&["op"]),
        ],
        Ok(&|_: &State| {}),
    );
    check(
        vec![
            genesis(),
            register("acme-ai", "vendor", "acme"),
            register("lab-one", "lab", "lab"),
            add(&["lab"]),
        ],
        Err("only party `acme-ai` or an operator may sign this entry"),
    );
    check(
        vec![
            genesis(),
            Step(
                Kind::KeyAdded,
                json!({"party": "ghost", "key": text("g")}),
                &["op"],
            ),
        ],
        Err("rule `known-party`: party `ghost` is not registered"),
    );
}

#[test]
fn rotated_and_revoked_keys_stop_signing_but_their_past_stands() {
    let rotate = Step(
        Kind::KeyRotated,
        json!({"party": "acme-ai", "old_keyid": keyid("acme"), "new_key": text("acme2")}),
        &["acme"],
    );
    let statement = |signer: &'static [&'static str]| {
        Step(
            Kind::PartyStatement,
            json!({"party": "acme-ai", "topic": "disclosure", "text": "model card updated"}),
            signer,
        )
    };
    check(
        vec![
            genesis(),
            register("acme-ai", "vendor", "acme"),
            statement(&["acme"]),
            rotate,
        ],
        Ok(&|state: &State| {
            let old = state.key(&keyid("acme")).unwrap();
            assert_eq!(
                old.status,
                KeyStatus::Rotated {
                    at: 3,
                    replaced_by: keyid("acme2")
                }
            );
            assert!(state.key(&keyid("acme2")).unwrap().is_active());
        }),
    );
    let rotate = Step(
        Kind::KeyRotated,
        json!({"party": "acme-ai", "old_keyid": keyid("acme"), "new_key": text("acme2")}),
        &["acme"],
    );
    check(
        vec![
            genesis(),
            register("acme-ai", "vendor", "acme"),
            rotate,
            statement(&["acme"]),
        ],
        Err("rule `rotated-key`"),
    );
    let rotate = Step(
        Kind::KeyRotated,
        json!({"party": "acme-ai", "old_keyid": keyid("acme"), "new_key": text("acme2")}),
        &["acme"],
    );
    check(
        vec![
            genesis(),
            register("acme-ai", "vendor", "acme"),
            rotate,
            statement(&["acme2"]),
        ],
        Ok(&|_: &State| {}),
    );

    let revoke = Step(
        Kind::KeyRevoked,
        json!({"party": "acme-ai", "keyid": keyid("acme"), "reason": "laptop stolen"}),
        &["op"],
    );
    check(
        vec![
            genesis(),
            register("acme-ai", "vendor", "acme"),
            revoke,
            statement(&["acme"]),
        ],
        Err("was revoked at entry 2 (laptop stolen); entries it signs are rejected"),
    );
    let revoke_twice = Step(
        Kind::KeyRevoked,
        json!({"party": "acme-ai", "keyid": keyid("acme"), "reason": "again"}),
        &["op"],
    );
    let revoke = Step(
        Kind::KeyRevoked,
        json!({"party": "acme-ai", "keyid": keyid("acme"), "reason": "laptop stolen"}),
        &["op"],
    );
    check(
        vec![
            genesis(),
            register("acme-ai", "vendor", "acme"),
            revoke,
            revoke_twice,
        ],
        Err("already revoked at entry 2"),
    );
    let no_reason = Step(
        Kind::KeyRevoked,
        json!({"party": "acme-ai", "keyid": keyid("acme"), "reason": " "}),
        &["op"],
    );
    check(
        vec![genesis(), register("acme-ai", "vendor", "acme"), no_reason],
        Err("rule `revocation-reason`"),
    );
}

#[test]
fn multi_party_statements_need_every_party() {
    let joint = |signers: &'static [&'static str]| {
        Step(
            Kind::PartyStatement,
            json!({"party": "agency-a", "topic": "supply-chain-designation", "text": "joint notice", "cosigners": ["acme-ai"]}),
            signers,
        )
    };
    let parties = || {
        vec![
            genesis(),
            register("agency-a", "agency", "agency"),
            register("acme-ai", "vendor", "acme"),
        ]
    };
    let mut two = parties();
    two.push(joint(&["agency", "acme"]));
    check(two, Ok(&|_: &State| {}));
    let mut one = parties();
    one.push(joint(&["agency"]));
    check(
        one,
        Err("rule `required-signatures`: 1 of 2 required parties signed; missing: `acme-ai`"),
    );
}

#[test]
fn unknown_kinds_and_unsigned_entries_are_refused() {
    let statement = Statement::new(
        vec![Subject {
            name: "x".into(),
            digest: [("sha256".to_owned(), "00".into())].into(),
        }],
        "https://example.com/other/v1",
        json!({}),
    );
    let mut state = State::default();
    let genesis_statement = self::statement(Kind::PartyRegistered, genesis().1);
    // The first entry is verified against the keys it registers.
    assert_eq!(verification_keys(&state, &genesis_statement).len(), 1);
    let signers = vec![keyid("op")];
    let changes = apply(
        &state,
        &Entry {
            index: 0,
            statement: &genesis_statement,
            signers: &signers,
        },
    )
    .unwrap();
    state.commit(&changes);
    let rejection = apply(
        &state,
        &Entry {
            index: 1,
            statement: &statement,
            signers: &signers,
        },
    )
    .unwrap_err();
    assert_eq!(rejection.rule, "known-kind");
    let unsigned = self::statement(
        Kind::PartyStatement,
        json!({"party": "operator", "topic": "t", "text": "x"}),
    );
    let rejection = apply(
        &state,
        &Entry {
            index: 1,
            statement: &unsigned,
            signers: &[],
        },
    )
    .unwrap_err();
    assert_eq!(
        rejection.to_string(),
        "rejected by rule `registered-signer`: no signature by a registered key of any party"
    );
}

#[test]
fn every_kind_has_a_schema_and_a_versioned_predicate_type() {
    for kind in Kind::ALL {
        assert!(
            kind.predicate_type()
                .starts_with("https://concordat.dev/entry/")
        );
        assert!(kind.predicate_type().ends_with("/v1"));
        assert_eq!(
            Kind::from_predicate_type(&kind.predicate_type()),
            Some(kind)
        );
        let schema = kind.schema();
        assert_eq!(schema["type"], "object", "{}", kind.name());
        assert!(
            schema["properties"]
                .as_object()
                .is_some_and(|p| !p.is_empty()),
            "{}",
            kind.name()
        );
    }
}

#[test]
fn state_rows_round_trip() {
    let mut state = State::default();
    let steps = vec![genesis(), register("acme-ai", "vendor", "acme")];
    for (index, Step(kind, predicate, signers)) in steps.into_iter().enumerate() {
        let statement = statement(kind, predicate);
        let signers: Vec<String> = signers.iter().map(|n| keyid(n)).collect();
        let changes = apply(
            &state,
            &Entry {
                index: index as u64,
                statement: &statement,
                signers: &signers,
            },
        )
        .unwrap();
        state.commit(&changes);
    }
    let rows = |state: &State| -> Vec<(String, String, Vec<u8>)> {
        state
            .rows()
            .into_iter()
            .map(|r| (r.space.to_owned(), r.key, r.value))
            .collect()
    };
    assert_eq!(rows(&State::from_rows(rows(&state)).unwrap()), rows(&state));
}

#[test]
fn a_party_holds_a_bounded_number_of_keys() {
    let mut steps = vec![genesis(), register("acme-ai", "vendor", "acme")];
    let names: Vec<&'static str> = (1..domain::KEYS_PER_PARTY_MAX)
        .map(|i| &*Box::leak(format!("extra-{i}").into_boxed_str()))
        .collect();
    for name in &names {
        steps.push(Step(
            Kind::KeyAdded,
            json!({"party": "acme-ai", "key": text(name)}),
            &["op"],
        ));
    }
    steps.push(Step(
        Kind::KeyAdded,
        json!({"party": "acme-ai", "key": text("one-too-many")}),
        &["op"],
    ));
    check(
        steps,
        Err("rule `keys-per-party`: party `acme-ai` already holds 32 keys"),
    );
}

/// The fixture package's public files, with one replacement.
fn package_files(from: &str, to: &str) -> std::collections::BTreeMap<String, String> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/imagery-assistant"
    );
    let mut files = std::collections::BTreeMap::new();
    for folder in ["", "modules/", "policies/"] {
        for entry in std::fs::read_dir(format!("{dir}/{folder}")).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let name = format!("{folder}{}", path.file_name().unwrap().to_str().unwrap());
                files.insert(
                    name,
                    std::fs::read_to_string(&path)
                        .unwrap()
                        .replacen(from, to, 1),
                );
            }
        }
    }
    files
}

fn publication(
    kind: Kind,
    from: &str,
    to: &str,
    version: &str,
    signers: &'static [&'static str],
) -> Step {
    let files = package_files(from, to);
    let digest = domain::contract::package_digest(&files);
    Step(
        kind,
        json!({"contract": "imagery-assistant", "version": version, "digest": digest, "files": files}),
        signers,
    )
}

fn contract_parties() -> Vec<Step> {
    vec![
        genesis(),
        register("agency-x", "agency", "agency"),
        register("acme-ai", "vendor", "acme"),
        register("auditor-y", "auditor", "auditor"),
    ]
}

#[test]
fn a_contract_is_published_only_when_every_party_signed() {
    let mut steps = contract_parties();
    steps.push(publication(
        Kind::ContractPublished,
        "",
        "",
        "1.0.0",
        &["agency", "acme"],
    ));
    check(
        steps,
        Err(
            "rule `required-signatures`: 2 of 3 parties of the contract signed; not yet signed by `auditor-y`",
        ),
    );

    let mut steps = contract_parties();
    steps.push(publication(
        Kind::ContractPublished,
        "",
        "",
        "1.0.0",
        &["agency", "acme", "auditor"],
    ));
    check(
        steps,
        Ok(&|state: &State| {
            let record = state.contract("imagery-assistant").unwrap();
            assert_eq!(record.versions.len(), 1);
            assert_eq!(record.versions[0].entry, 4);
            assert_eq!(record.addenda[0].id, "annex-c");
            assert!(record.files.contains_key("policies/use.cedar"));
        }),
    );

    // A package that does not check is refused, with the problem located.
    let mut steps = contract_parties();
    steps.push(publication(
        Kind::ContractPublished,
        "notice_days = 45",
        "notice_days = 14",
        "1.0.0",
        &["agency", "acme", "auditor"],
    ));
    check(
        steps,
        Err("rule `contract-check`: modules/updates.toml:5:15: notice of 14 days"),
    );

    // Files that do not hash to the stated digest are refused.
    let mut steps = contract_parties();
    let mut tampered = publication(
        Kind::ContractPublished,
        "",
        "",
        "1.0.0",
        &["agency", "acme", "auditor"],
    );
    tampered.1["files"]["contract.toml"] = json!("id = \"x\"");
    steps.push(tampered);
    check(steps, Err("rule `package-digest`"));

    // A file published from outside the package — an absolute path, or through `..` — is
    // refused whoever built the entry: its name never reaches the ledger's `files`.
    for outside in ["/abs/outside.cedar", "../../outside.cedar"] {
        let mut steps = contract_parties();
        let mut files = package_files(
            "policies = [\"policies/use.cedar\"]",
            &format!("policies = [\"policies/use.cedar\", \"{outside}\"]"),
        );
        files.insert(
            outside.to_owned(),
            "forbid(principal, action, resource);".to_owned(),
        );
        let digest = domain::contract::package_digest(&files);
        steps.push(Step(
            Kind::ContractPublished,
            json!({"contract": "imagery-assistant", "version": "1.0.0", "digest": digest, "files": files}),
            &["agency", "acme", "auditor"],
        ));
        check(
            steps,
            Err(&format!(
                "rule `contract-check`: {outside}:1:1: package file `{outside}` must be a path inside the package"
            )),
        );
    }
    let mut steps = contract_parties();
    steps.push(publication(
        Kind::ContractPublished,
        "id = \"imagery-assistant\"",
        "id = \"../../evilc\"",
        "1.0.0",
        &["agency", "acme", "auditor"],
    ));
    check(steps, Err("contract id `../../evilc` must be 1 to 63"));
}

#[test]
fn amendments_record_what_changed() {
    let amended_contract = |version: &str, signers: &'static [&'static str]| {
        let mut files = package_files("notice_days = 45", "notice_days = 60");
        let contract = files.get_mut("contract.toml").unwrap();
        *contract = contract.replacen(
            "version = \"1.0.0\"",
            &format!("version = \"{version}\""),
            1,
        );
        let digest = domain::contract::package_digest(&files);
        Step(
            Kind::ContractAmended,
            json!({"contract": "imagery-assistant", "version": version, "digest": digest, "files": files}),
            signers,
        )
    };
    let mut steps = contract_parties();
    steps.push(publication(
        Kind::ContractPublished,
        "",
        "",
        "1.0.0",
        &["agency", "acme", "auditor"],
    ));
    steps.push(amended_contract("1.1.0", &["agency", "acme", "auditor"]));
    check(
        steps,
        Ok(&|state: &State| {
            let record = state.contract("imagery-assistant").unwrap();
            assert_eq!(record.versions.len(), 2);
            assert_eq!(
                record.versions[1].diff,
                "changed contract.toml\n  - version = \"1.0.0\"\n  + version = \"1.1.0\"\nchanged modules/updates.toml\n  - notice_days = 45\n  + notice_days = 60\n"
            );
        }),
    );
    let mut steps = contract_parties();
    steps.push(publication(
        Kind::ContractPublished,
        "",
        "",
        "1.0.0",
        &["agency", "acme", "auditor"],
    ));
    steps.push(amended_contract("1.0.0", &["agency", "acme", "auditor"]));
    check(
        steps,
        Err("rule `version-order`: an amendment's version must be above the current 1.0.0"),
    );
    let mut steps = contract_parties();
    steps.push(publication(
        Kind::ContractPublished,
        "",
        "",
        "1.0.0",
        &["agency", "acme", "auditor"],
    ));
    steps.push(amended_contract("1.1.0", &["agency"]));
    check(steps, Err("not yet signed by `acme-ai`, `auditor-y`"));
}

#[test]
fn addenda_are_sealed_and_disclosed_against_their_commitments() {
    let salt = [9u8; 32];
    let text = "Annex D: escalation contacts.";
    let commitment = domain::contract::commitment(&salt, text);
    let published = || {
        let mut steps = contract_parties();
        steps.push(publication(
            Kind::ContractPublished,
            "",
            "",
            "1.0.0",
            &["agency", "acme", "auditor"],
        ));
        steps.push(Step(Kind::AddendumSealed, json!({"contract": "imagery-assistant", "id": "annex-d", "title": "Contacts", "classification": "CUI", "commitment": commitment}), &["agency"]));
        steps
    };
    let disclose = |text: &str, signers: &'static [&'static str]| {
        Step(
            Kind::AddendumDisclosed,
            json!({"contract": "imagery-assistant", "id": "annex-d", "salt": "09".repeat(32), "text": text}),
            signers,
        )
    };
    let mut steps = published();
    steps.push(disclose(text, &["acme"]));
    check(
        steps,
        Ok(&|state: &State| {
            let record = state.contract("imagery-assistant").unwrap();
            assert_eq!(record.addenda[1].disclosed_at, Some(6));
            assert_eq!(record.addenda[0].disclosed_at, None);
        }),
    );
    let mut steps = published();
    steps.push(disclose("Annex D: other contacts.", &["acme"]));
    check(
        steps,
        Err(
            "rule `commitment`: the text and salt of addendum `annex-d` do not match the commitment",
        ),
    );
    let mut steps = published();
    steps.push(disclose(text, &["op"]));
    check(
        steps,
        Err(
            "rule `signer-authority`: only a party of contract `imagery-assistant` may sign this entry",
        ),
    );
}
