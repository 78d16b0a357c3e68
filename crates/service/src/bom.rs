//! A model version as a CycloneDX 1.6 ML-BOM: the model (the BOM's subject, in its metadata)
//! with its digest, the upstream models and datasets its vendor declared as its components, a model card whose quantitative analysis is the
//! recorded evidence, and its standing under each contract — all read from the ledger, so the
//! same log gives the same bytes.

use domain::UpstreamKind;
use domain::updates::{ModelVersion, time};
use serde_json::{Value, json};

use crate::build::name_uuid as uuid_of;

fn supplier(state: &domain::State, who: &str) -> Value {
    let name = state.party(who).map_or(who, |p| p.name.as_str());
    json!({"name": name})
}

fn hashes(digest: &str) -> Value {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    json!([{"alg": "SHA-256", "content": hex}])
}

fn upstream_ref(u: &domain::Upstream) -> String {
    format!(
        "upstream-{}:{}{}",
        u.kind.name(),
        u.name,
        u.version
            .as_deref()
            .map(|v| format!("@{v}"))
            .unwrap_or_default()
    )
}

/// The model component's properties: the vendor, the notice, and its standing under each
/// contract with the entries that approved it.
fn properties(m: &ModelVersion) -> Vec<Value> {
    let mut properties = vec![
        json!({"name": "concordat:vendor", "value": m.vendor}),
        json!({"name": "concordat:notice-entry", "value": m.registered_at.to_string()}),
        json!({"name": "concordat:service-from", "value": m.service_from}),
    ];
    if let Some(api) = &m.api_version {
        properties.push(json!({"name": "concordat:api-version", "value": api}));
    }
    for offer in m.offers.values() {
        properties.push(json!({"name": format!("concordat:contract:{}:status", offer.contract), "value": offer.status.name()}));
        if !offer.approvals.is_empty() {
            let entries: Vec<String> = offer
                .approvals
                .iter()
                .map(|a| format!("{} (entry {})", a.party, a.entry))
                .collect();
            properties.push(json!({"name": format!("concordat:contract:{}:approved-by", offer.contract), "value": entries.join(", ")}));
        }
    }
    properties
}

/// The BOM of model version `key` (`LINE@VERSION`), or `None` when it is not registered.
pub fn model_bom(state: &domain::State, key: &str) -> Option<Value> {
    let m = state.model(key)?;
    let model_ref = format!("model:{key}");
    let evidence = state.evidence_for(key);
    let metrics: Vec<Value> = evidence
        .iter()
        .flat_map(|e| {
            e.metrics.iter().map(move |(metric, value)| {
                json!({
                    "type": metric,
                    "value": value.to_string(),
                    "slice": format!("{} by {} for {}, evaluated {} ({}; entry {})", e.suite, e.lab, e.produced_for, time::format_day(e.evaluated_at), e.assurance.name(), e.entry),
                })
            })
        })
        .collect();
    let datasets: Vec<Value> = m
        .upstream
        .iter()
        .filter(|u| u.kind == UpstreamKind::Dataset)
        .map(|u| json!({"ref": upstream_ref(u)}))
        .collect();
    let mut card = serde_json::Map::new();
    card.insert("bom-ref".to_owned(), json!(format!("model-card:{key}")));
    if !datasets.is_empty() {
        card.insert("modelParameters".to_owned(), json!({"datasets": datasets}));
    }
    if !metrics.is_empty() {
        card.insert(
            "quantitativeAnalysis".to_owned(),
            json!({"performanceMetrics": metrics}),
        );
    }
    let mut model = json!({
        "type": "machine-learning-model",
        "bom-ref": model_ref,
        "name": m.line,
        "version": m.version,
        "supplier": supplier(state, &m.vendor),
        "hashes": hashes(&m.digest),
        "modelCard": card,
        "properties": properties(m),
    });
    if !m.release_notes.is_empty() {
        model["description"] = json!(m.release_notes);
    }
    let mut components = Vec::new();
    for u in &m.upstream {
        let mut component = json!({
            "type": match u.kind { UpstreamKind::Model => "machine-learning-model", UpstreamKind::Dataset => "data" },
            "bom-ref": upstream_ref(u),
            "name": u.name,
        });
        if let Some(version) = &u.version {
            component["version"] = json!(version);
        }
        if let Some(digest) = &u.digest {
            component["hashes"] = hashes(digest);
        }
        if let Some(who) = &u.supplier {
            component["supplier"] = supplier(state, who);
        }
        if u.kind == UpstreamKind::Dataset {
            component["data"] = json!([{"type": "dataset", "name": u.name}]);
        }
        components.push(component);
    }
    let mut dependencies = vec![
        json!({"ref": model_ref, "dependsOn": m.upstream.iter().map(upstream_ref).collect::<Vec<_>>()}),
    ];
    dependencies.extend(m.upstream.iter().map(|u| json!({"ref": upstream_ref(u)})));
    // The BOM's time is the latest the ledger says about the version.
    let latest = m
        .offers
        .values()
        .flat_map(|o| std::iter::once(o.notice_given).chain(o.approvals.iter().map(|a| a.at)))
        .chain(evidence.iter().map(|e| e.evaluated_at))
        .max()
        .unwrap_or(0);
    let mut bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "timestamp": time::format_instant(latest),
            "tools": {"components": [{"type": "application", "name": "concordat", "version": env!("CARGO_PKG_VERSION")}]},
            "component": model,
        },
        "components": components,
        "dependencies": dependencies,
    });
    let serial = format!("urn:uuid:{}", uuid_of(&bom.to_string()));
    bom["serialNumber"] = json!(serial);
    Some(bom)
}
