//! Compliance: the catalogs as shipped (their counts, versions and sources), the crosswalk's
//! integrity, and a contract's coverage — a gap that closes when the entry that meets it is
//! logged, and a requirement that does not apply before its date.

use domain::compliance::{self, Status, catalog, catalogs, coverage, crosswalk};

use super::updates::{CONTRACT, DAY, Ledger, T0};

#[test]
fn each_catalog_carries_its_version_source_and_counts() {
    let catalogs = catalogs().unwrap();
    let ids: Vec<&str> = catalogs.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "nist-ai-rmf",
            "nist-ai-600-1",
            "eu-ai-act",
            "uk-aisi",
            "india-ai-governance",
            "us-omb"
        ]
    );
    for c in catalogs {
        assert!(
            !c.version.is_empty() && c.source.contains("https://"),
            "{}",
            c.id
        );
    }
    let rmf = catalog("nist-ai-rmf").unwrap();
    assert_eq!(
        (
            rmf.count("function"),
            rmf.count("category"),
            rmf.count("subcategory")
        ),
        (4, 19, 72)
    );
    assert_eq!(rmf.version, "1.0");
    for (function, categories, subcategories) in [
        ("GOVERN", 6, 19),
        ("MAP", 5, 18),
        ("MEASURE", 4, 22),
        ("MANAGE", 4, 13),
    ] {
        let of = |kind: &str| {
            rmf.items
                .iter()
                .filter(|i| i.kind == kind && i.id.starts_with(&format!("{function} ")))
                .count()
        };
        assert_eq!(
            (of("category"), of("subcategory")),
            (categories, subcategories),
            "{function}"
        );
    }
    assert!(rmf.item("GOVERN 1.1").is_some() && rmf.item("MANAGE 4.3").is_some());
    let genai = catalog("nist-ai-600-1").unwrap();
    assert_eq!((genai.count("risk"), genai.count("action")), (12, 212));
    for (function, actions) in [("GV", 58), ("MP", 39), ("MS", 72), ("MG", 43)] {
        let under = genai
            .items
            .iter()
            .filter(|i| i.parent.as_deref() == Some(function))
            .count();
        assert_eq!(under, actions, "{function}");
    }
    // Each action sits under one AI RMF subcategory (49 of the 72 have actions) and
    // addresses at least one of the twelve risks.
    let subcategories: std::collections::BTreeSet<&str> = genai
        .items
        .iter()
        .filter(|i| i.kind == "action")
        .map(|i| {
            assert!(!i.addresses.is_empty(), "{}", i.id);
            let under = i
                .under
                .as_deref()
                .unwrap()
                .strip_prefix("nist-ai-rmf/")
                .unwrap();
            assert_eq!(rmf.item(under).unwrap().kind, "subcategory", "{}", i.id);
            under
        })
        .collect();
    assert_eq!(subcategories.len(), 49);
    let action = genai.item("GV-1.3-002").unwrap();
    assert_eq!(action.under.as_deref(), Some("nist-ai-rmf/GOVERN 1.3"));
    assert_eq!(
        action.addresses,
        ["CBRN", "confabulation", "dangerous-violent-hateful-content"]
    );
    let act = catalog("eu-ai-act").unwrap();
    let articles: Vec<&str> = act.requirements().map(|i| i.id.as_str()).collect();
    assert_eq!(
        articles,
        [
            "Art. 9", "Art. 10", "Art. 11", "Art. 12", "Art. 13", "Art. 14", "Art. 15", "Art. 17",
            "Art. 26", "Art. 27", "Art. 49", "Art. 53", "Art. 55", "Art. 72", "Art. 73"
        ]
    );
    assert!(act.requirements().all(|i| i.applies_from.is_some()));
    assert_eq!(
        act.item("Art. 53").unwrap().applies_from.as_deref(),
        Some("2025-08-02")
    );
    let india = catalog("india-ai-governance").unwrap();
    assert_eq!((india.count("principle"), india.count("pillar")), (7, 6));
    assert_eq!(catalog("uk-aisi").unwrap().count("expectation"), 8);
    let omb = catalog("us-omb").unwrap();
    assert_eq!(
        omb.requirements()
            .filter(|i| i.id.starts_with("m-25-21/"))
            .count(),
        8
    );
    assert_eq!(
        omb.requirements()
            .filter(|i| i.id.starts_with("m-25-22/"))
            .count(),
        5
    );
    // The crosswalk maps onto items that exist, from facts the coverage knows.
    let crosswalk = crosswalk().unwrap();
    assert!(crosswalk.maps.len() >= 70);
    assert!(
        crosswalk
            .maps
            .iter()
            .any(|m| m.source.starts_with("nist-ai-rmf/") && m.target.starts_with("eu-ai-act/"))
    );
}

#[test]
fn a_gap_closes_when_the_entry_that_meets_it_is_logged() {
    let mut ledger = Ledger::with_contract("fallback = { rule = \"last-approved\" }");
    let row = |ledger: &Ledger, catalog: &str, id: &str, at: i64| {
        coverage(&ledger.state, CONTRACT, catalog, None, at)
            .unwrap()
            .rows
            .into_iter()
            .find(|r| r.id == id)
            .unwrap()
    };
    // Before 2 August 2026 the Act's high-risk obligations do not apply yet.
    let early = row(&ledger, "eu-ai-act", "Art. 13", T0 - 60 * DAY);
    assert_eq!(early.status, Status::NotApplicable);
    assert_eq!(early.why.as_deref(), Some("it applies from 2026-08-02"));
    // After, Art. 13 (information to deployers) waits for a version's notice.
    let gap = row(&ledger, "eu-ai-act", "Art. 13", T0);
    assert_eq!(gap.status, Status::Gap);
    assert_eq!(gap.missing, ["a `model-version-registered` entry"]);
    let index = ledger.register_version("2026.9.0", 60, T0).unwrap();
    let met = row(&ledger, "eu-ai-act", "Art. 13", T0);
    assert_eq!(met.status, Status::Met, "{met:?}");
    assert_eq!(met.met_by[0].shown[0].entry, Some(index));
    assert_eq!(met.met_by[0].relationship.name(), "intersects");
    // A module meets what it maps to, shown by its file.
    let rollback = row(&ledger, "nist-ai-rmf", "MANAGE 2.4", T0);
    assert_eq!(rollback.status, Status::Met);
    assert_eq!(
        rollback.met_by[0].shown[0].file.as_deref(),
        Some("modules/rollback.toml")
    );
    // What nothing in the ledger answers is a gap that says so.
    let outside = row(&ledger, "nist-ai-rmf", "GOVERN 5.1", T0);
    assert_eq!(outside.status, Status::Gap);
    assert!(outside.missing[0].contains("shown outside Concordat"));
    // Systemic-risk duties do not apply without a designation of the model.
    assert_eq!(
        row(&ledger, "eu-ai-act", "Art. 55", T0).status,
        Status::NotApplicable
    );
    // One memorandum of a shared catalog.
    let m2522 = coverage(&ledger.state, CONTRACT, "us-omb", Some("m-25-22/"), T0).unwrap();
    assert_eq!(m2522.rows.len(), 5);
    assert!(
        compliance::coverage(&ledger.state, "no-such-contract", "eu-ai-act", None, T0).is_err()
    );
}
