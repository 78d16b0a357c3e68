//! `check`: where a package's modules disagree with each other or with the regimes it names.

use semver::{Version, VersionReq};

use super::load::{CONTRACT_FILE, Diagnostic, LoadedModule, Package, Step};
use super::model::*;

/// Every problem in a loaded package, in file order.
pub fn check(package: &Package) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    check_contract(package, &mut found);
    for module in &package.modules {
        check_requires(package, module, &mut found);
        check_addenda(package, module, &mut found);
        match &module.module {
            Module::ModelDelivery(delivery) => {
                check_delivery(package, module, delivery, &mut found)
            }
            Module::Updates(updates) => check_notice(package, module, updates, &mut found),
            Module::TestingProtocol(testing) => check_testing(package, module, testing, &mut found),
            Module::AuditRights(audit) => check_auditors(package, module, audit, &mut found),
            Module::Rollback(rollback) => check_rollback(package, module, rollback, &mut found),
            Module::IncidentEscalation(escalation) => {
                check_escalation(package, module, escalation, &mut found);
            }
            Module::Liability(liability) => {
                check_liability(package, module, liability, &mut found);
                check_allocation(package, module, liability, &mut found);
            }
            Module::DataHandling(data) => check_data(package, module, data, &mut found),
            Module::Hosting(hosting) => check_hosting(package, module, hosting, &mut found),
            Module::ServiceLevels(levels) => {
                check_service_levels(package, module, levels, &mut found)
            }
            Module::UseRestrictions(_) => {}
        }
    }
    found
}

/// Expected SEV-SNP measurements are 96 hex digits, and only mean something when attestation
/// is required.
fn check_hosting(
    package: &Package,
    module: &LoadedModule,
    hosting: &super::model::Hosting,
    found: &mut Vec<Diagnostic>,
) {
    for (index, measurement) in hosting.measurements.iter().enumerate() {
        if let Err(error) = crate::ids::check_measurement(measurement) {
            found.push(package.diagnostic(
                &module.path,
                &[Step::Key("measurements"), Step::Index(index)],
                error.to_string(),
                "a launch measurement is the 48 bytes of the SEV-SNP report's MEASUREMENT field, in hex",
            ));
        }
    }
    if !hosting.measurements.is_empty() && !hosting.attestation_required {
        found.push(package.diagnostic(
            &module.path,
            &[Step::Key("measurements")],
            "measurements are given but `attestation_required` is false, so no gate checks them",
            "set `attestation_required = true`",
        ));
    }
}

fn is_party(package: &Package, id: &str) -> bool {
    package.contract.parties.iter().any(|party| party == id)
}

fn parties_hint(package: &Package) -> String {
    format!(
        "the contract's parties are {}",
        package.contract.parties.join(", ")
    )
}

fn check_contract(package: &Package, found: &mut Vec<Diagnostic>) {
    let contract = &package.contract;
    if Version::parse(&contract.version).is_err() {
        found.push(package.diagnostic(
            CONTRACT_FILE,
            &[Step::Key("version")],
            format!("version `{}` is not a semantic version", contract.version),
            "write MAJOR.MINOR.PATCH, e.g. `1.0.0`",
        ));
    }
    for (key, date) in [
        ("effective_from", Some(&contract.effective_from)),
        ("effective_until", contract.effective_until.as_ref()),
    ] {
        if let Some(date) = date
            && !is_date(date)
        {
            found.push(package.diagnostic(
                CONTRACT_FILE,
                &[Step::Key(key)],
                format!("`{date}` is not a date"),
                "write YYYY-MM-DD, e.g. `2026-12-01`",
            ));
        }
    }
    if contract.parties.len() < 2 {
        found.push(package.diagnostic(
            CONTRACT_FILE,
            &[Step::Key("parties")],
            "a contract needs at least two parties",
            "name the agency and the vendor by their ledger ids",
        ));
    }
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    match parts.as_slice() {
        [year, month, day] => {
            let number =
                |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
            number(year, 4)
                && number(month, 2)
                && number(day, 2)
                && month.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
                && day.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
        }
        _ => false,
    }
}

fn check_requires(package: &Package, module: &LoadedModule, found: &mut Vec<Diagnostic>) {
    for (other, requirement) in &module.header.requires {
        let path = [Step::Key("requires"), Step::Key(other.as_str())];
        let Ok(requirement_parsed) = VersionReq::parse(requirement) else {
            found.push(package.diagnostic(
                &module.path,
                &path,
                format!("`{requirement}` is not a version requirement"),
                "write e.g. `^1.2` or `>=1.0, <2.0`",
            ));
            continue;
        };
        match package.module(other) {
            None => found.push(package.diagnostic(
                &module.path,
                &path,
                format!(
                    "module `{}` requires module `{other}`, which the contract does not pin",
                    module.header.id
                ),
                "pin the required module in contract.toml",
            )),
            Some(required) => {
                let version = Version::parse(&required.header.version);
                if !version.is_ok_and(|v| requirement_parsed.matches(&v)) {
                    found.push(package.diagnostic(
                        &module.path,
                        &path,
                        format!(
                            "module `{}` requires `{other}` {requirement}, but the contract pins {}",
                            module.header.id, required.header.version
                        ),
                        "pin a version that meets the requirement, or relax it",
                    ));
                }
            }
        }
    }
}

fn check_addenda(package: &Package, module: &LoadedModule, found: &mut Vec<Diagnostic>) {
    for (index, addendum) in module.header.addenda.iter().enumerate() {
        if !package.contract.addenda.iter().any(|a| &a.id == addendum) {
            found.push(package.diagnostic(
                &module.path,
                &[Step::Key("addenda"), Step::Index(index)],
                format!("refers to sealed addendum `{addendum}`, which the package lacks"),
                "seal it with `concordat addendum seal` and list it under `addenda` in contract.toml",
            ));
        }
    }
}

/// A half-open range of versions.
#[derive(Debug, Clone)]
struct Range {
    from: Version,
    until: Version,
}

/// Parses a range, reporting a bad one at `path`.
fn range(
    package: &Package,
    module: &LoadedModule,
    path: &[Step<'_>],
    versions: &VersionRange,
    found: &mut Vec<Diagnostic>,
) -> Option<Range> {
    let parsed = (
        Version::parse(&versions.from),
        Version::parse(&versions.until),
    );
    match parsed {
        (Ok(from), Ok(until)) if from < until => Some(Range { from, until }),
        (Ok(_), Ok(_)) => {
            found.push(package.diagnostic(
                &module.path,
                path,
                format!(
                    "version range {}..{} is empty",
                    versions.from, versions.until
                ),
                "`from` is the first version included, `until` the first one excluded",
            ));
            None
        }
        _ => {
            found.push(package.diagnostic(
                &module.path,
                path,
                format!(
                    "`{}`..`{}` are not semantic versions",
                    versions.from, versions.until
                ),
                "write versions as MAJOR.MINOR.PATCH, e.g. `2026.11.0`",
            ));
            None
        }
    }
}

/// The versions of `range` no range of `covering` includes, as the first gap found.
fn first_gap(range: &Range, covering: &[Range]) -> Option<(Version, Version)> {
    let mut sorted: Vec<&Range> = covering.iter().collect();
    sorted.sort_by(|a, b| a.from.cmp(&b.from));
    let mut reached = range.from.clone();
    for cover in sorted {
        if cover.from > reached {
            break;
        }
        if cover.until > reached {
            reached = cover.until.clone();
        }
        if reached >= range.until {
            return None;
        }
    }
    let gap_end = covering
        .iter()
        .filter(|c| c.from > reached)
        .map(|c| c.from.clone())
        .min()
        .unwrap_or_else(|| range.until.clone())
        .min(range.until.clone());
    Some((reached, gap_end))
}

fn testing_ranges(package: &Package, line: &str) -> Option<Vec<Range>> {
    let testing = package.modules.iter().find_map(|m| match &m.module {
        Module::TestingProtocol(testing) => Some(testing),
        _ => None,
    })?;
    Some(
        testing
            .covers
            .iter()
            .filter(|c| c.line == line)
            .filter_map(|c| {
                Some(Range {
                    from: Version::parse(&c.versions.from).ok()?,
                    until: Version::parse(&c.versions.until).ok()?,
                })
            })
            .collect(),
    )
}

fn delivered_ranges(package: &Package, line: &str) -> Vec<Range> {
    package
        .modules
        .iter()
        .filter_map(|m| match &m.module {
            Module::ModelDelivery(delivery) => Some(delivery),
            _ => None,
        })
        .flat_map(|delivery| delivery.lines.iter().filter(|l| l.line == line))
        .filter_map(|l| {
            Some(Range {
                from: Version::parse(&l.versions.from).ok()?,
                until: Version::parse(&l.versions.until).ok()?,
            })
        })
        .collect()
}

fn check_delivery(
    package: &Package,
    module: &LoadedModule,
    delivery: &ModelDelivery,
    found: &mut Vec<Diagnostic>,
) {
    for (index, line) in delivery.lines.iter().enumerate() {
        let path = [
            Step::Key("lines"),
            Step::Index(index),
            Step::Key("versions"),
        ];
        let Some(delivered) = range(package, module, &path, &line.versions, found) else {
            continue;
        };
        let Some(covered) = testing_ranges(package, &line.line) else {
            found.push(package.diagnostic(
                &module.path,
                &path,
                format!(
                    "model line `{}` is delivered but the contract has no testing protocol",
                    line.line
                ),
                "pin a testing-protocol module that covers the delivered versions",
            ));
            continue;
        };
        if let Some((gap_from, gap_until)) = first_gap(&delivered, &covered) {
            found.push(package.diagnostic(
                &module.path,
                &path,
                format!(
                    "versions {gap_from}..{gap_until} of `{}` are delivered but the testing protocol does not cover them",
                    line.line
                ),
                "extend the testing protocol's `covers`, or narrow the delivered range",
            ));
        }
    }
}

fn check_notice(
    package: &Package,
    module: &LoadedModule,
    updates: &Updates,
    found: &mut Vec<Diagnostic>,
) {
    if let Some(minimum) = package.contract.minimum_notice_days
        && updates.notice_days < minimum
    {
        found.push(package.diagnostic(
            &module.path,
            &[Step::Key("notice_days")],
            format!(
                "notice of {} days before a new version is shorter than the contract's minimum of {minimum} days",
                updates.notice_days
            ),
            "raise `notice_days`, or amend the contract's `minimum_notice_days`",
        ));
    }
}

fn check_testing(
    package: &Package,
    module: &LoadedModule,
    testing: &TestingProtocol,
    found: &mut Vec<Diagnostic>,
) {
    for (index, approver) in testing.approvers.iter().enumerate() {
        if !is_party(package, approver) {
            found.push(package.diagnostic(
                &module.path,
                &[Step::Key("approvers"), Step::Index(index)],
                format!("approver `{approver}` is not a party of the contract"),
                parties_hint(package),
            ));
        }
    }
    let approvers = u32::try_from(testing.approvers.len()).unwrap_or(u32::MAX);
    if testing.approvals_required == 0 || testing.approvals_required > approvers {
        found.push(package.diagnostic(
            &module.path,
            &[Step::Key("approvals_required")],
            format!(
                "{} approvals required of {approvers} approvers",
                testing.approvals_required
            ),
            "require at least one approval and no more than there are approvers",
        ));
    }
    for (index, cover) in testing.covers.iter().enumerate() {
        range(
            package,
            module,
            &[
                Step::Key("covers"),
                Step::Index(index),
                Step::Key("versions"),
            ],
            &cover.versions,
            found,
        );
    }
}

fn check_auditors(
    package: &Package,
    module: &LoadedModule,
    audit: &AuditRights,
    found: &mut Vec<Diagnostic>,
) {
    for (index, auditor) in audit.auditors.iter().enumerate() {
        if !is_party(package, &auditor.party) {
            found.push(package.diagnostic(
                &module.path,
                &[
                    Step::Key("auditors"),
                    Step::Index(index),
                    Step::Key("party"),
                ],
                format!("auditor `{}` is not a party of the contract", auditor.party),
                parties_hint(package),
            ));
        }
    }
}

fn check_rollback(
    package: &Package,
    module: &LoadedModule,
    rollback: &Rollback,
    found: &mut Vec<Diagnostic>,
) {
    if let RollbackApproval::Approver { party } = &rollback.approval
        && !is_party(package, party)
    {
        found.push(package.diagnostic(
            &module.path,
            &[Step::Key("approval"), Step::Key("party")],
            format!("rollback approver `{party}` is not a party of the contract"),
            parties_hint(package),
        ));
    }
    if rollback.approval != RollbackApproval::Automatic && rollback.trigger_severity.is_none() {
        found.push(package.diagnostic(
            &module.path,
            &[Step::Key("approval")],
            "an approver for incident rollbacks, but no `trigger_severity` that calls for one",
            "add `trigger_severity = \"serious\"` (or the severity that should roll back)",
        ));
    }
    let Fallback::Pinned { line, version } = &rollback.fallback else {
        return;
    };
    let path = [Step::Key("fallback"), Step::Key("version")];
    let Ok(pinned) = Version::parse(version) else {
        found.push(package.diagnostic(
            &module.path,
            &path,
            format!("`{version}` is not a semantic version"),
            "write MAJOR.MINOR.PATCH",
        ));
        return;
    };
    let within = |ranges: &[Range]| ranges.iter().any(|r| r.from <= pinned && pinned < r.until);
    if !within(&delivered_ranges(package, line)) {
        found.push(package.diagnostic(
            &module.path,
            &path,
            format!("the rollback fallback `{line}` {version} is outside the delivered versions"),
            "fall back to a delivered version, or use `rule = \"last-approved\"`",
        ));
    } else if !testing_ranges(package, line).is_some_and(|ranges| within(&ranges)) {
        found.push(package.diagnostic(
            &module.path,
            &path,
            format!("the rollback fallback `{line}` {version} is outside the versions the testing protocol covers"),
            "fall back to a tested version, or use `rule = \"last-approved\"`",
        ));
    }
}

fn check_escalation(
    package: &Package,
    module: &LoadedModule,
    escalation: &IncidentEscalation,
    found: &mut Vec<Diagnostic>,
) {
    let mut regimes: Vec<Regime> = package.contract.regimes.clone();
    regimes.extend(escalation.regimes.iter().copied());
    regimes.sort();
    regimes.dedup();
    for (index, step) in escalation.steps.iter().enumerate() {
        for (party_index, party) in step.notify.iter().enumerate() {
            if !is_party(package, party) {
                found.push(package.diagnostic(
                    &module.path,
                    &[
                        Step::Key("steps"),
                        Step::Index(index),
                        Step::Key("notify"),
                        Step::Index(party_index),
                    ],
                    format!(
                        "escalation step notifies `{party}`, which is not a party of the contract"
                    ),
                    parties_hint(package),
                ));
            }
        }
        for regime in &regimes {
            if let Some(limit) = crate::incident::clocks::shortest_hours(*regime, step.severity)
                && step.within_hours > limit
            {
                found.push(package.diagnostic(
                    &module.path,
                    &[Step::Key("steps"), Step::Index(index), Step::Key("within_hours")],
                    format!(
                        "a {} incident is escalated within {} hours, longer than {} allows ({limit} hours)",
                        serde_json::to_value(step.severity).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                        step.within_hours,
                        regime.name()
                    ),
                    "shorten `within_hours` to the regime's deadline or less",
                ));
            }
        }
    }
}

fn check_liability(
    package: &Package,
    module: &LoadedModule,
    liability: &Liability,
    found: &mut Vec<Diagnostic>,
) {
    for (index, category) in liability.categories.iter().enumerate() {
        let total: u32 = category.shares.values().sum();
        if total != 100 {
            found.push(package.diagnostic(
                &module.path,
                &[
                    Step::Key("categories"),
                    Step::Index(index),
                    Step::Key("shares"),
                ],
                format!(
                    "liability shares for `{}` sum to {total} %, not 100 %",
                    category.harm
                ),
                "make the parties' shares add up to 100",
            ));
        }
        for party in category.shares.keys() {
            if !is_party(package, party) {
                found.push(package.diagnostic(
                    &module.path,
                    &[
                        Step::Key("categories"),
                        Step::Index(index),
                        Step::Key("shares"),
                        Step::Key(party.as_str()),
                    ],
                    format!("liability share for `{party}`, which is not a party of the contract"),
                    parties_hint(package),
                ));
            }
        }
    }
}

/// The computable allocation: components known, shares of 100 to parties or their suppliers,
/// suppliers supplying a party, one currency for the caps, findings by parties.
fn check_allocation(
    package: &Package,
    module: &LoadedModule,
    liability: &Liability,
    found: &mut Vec<Diagnostic>,
) {
    let supplier = |p: &str| liability.suppliers.iter().any(|s| s.party == p);
    for (component, shares) in &liability.components {
        let at = [Step::Key("components"), Step::Key(component.as_str())];
        if !COMPONENTS.contains(&component.as_str()) {
            found.push(package.diagnostic(
                &module.path,
                &at,
                format!("`{component}` is not a component a root cause is found in"),
                format!("use one of {}", COMPONENTS.join(", ")),
            ));
        }
        let total: u32 = shares.values().sum();
        if total != 100 {
            found.push(package.diagnostic(
                &module.path,
                &at,
                format!("the shares of a fault in `{component}` sum to {total} %, not 100 %"),
                "make the parties' shares add up to 100",
            ));
        }
        for party in shares.keys() {
            if !is_party(package, party) && !supplier(party) {
                found.push(package.diagnostic(
                    &module.path,
                    &[
                        Step::Key("components"),
                        Step::Key(component.as_str()),
                        Step::Key(party.as_str()),
                    ],
                    format!("`{party}` is neither a party of the contract nor a supplier the module names"),
                    parties_hint(package),
                ));
            }
        }
    }
    for (index, s) in liability.suppliers.iter().enumerate() {
        if !is_party(package, &s.through) {
            found.push(package.diagnostic(
                &module.path,
                &[
                    Step::Key("suppliers"),
                    Step::Index(index),
                    Step::Key("through"),
                ],
                format!(
                    "supplier `{}` supplies `{}`, which is not a party of the contract",
                    s.party, s.through
                ),
                parties_hint(package),
            ));
        }
    }
    let mut currencies: Vec<&str> = liability
        .caps
        .values()
        .map(|c| c.currency.as_str())
        .collect();
    currencies.sort_unstable();
    currencies.dedup();
    if currencies.len() > 1 {
        found.push(package.diagnostic(
            &module.path,
            &[Step::Key("caps")],
            format!(
                "the caps are in {} currencies ({})",
                currencies.len(),
                currencies.join(", ")
            ),
            "state every cap in one currency",
        ));
    }
    for (index, party) in liability.findings_by.iter().enumerate() {
        if !is_party(package, party) {
            found.push(package.diagnostic(
                &module.path,
                &[Step::Key("findings_by"), Step::Index(index)],
                format!("`{party}` makes findings but is not a party of the contract"),
                parties_hint(package),
            ));
        }
    }
}

fn check_data(
    package: &Package,
    module: &LoadedModule,
    data: &DataHandling,
    found: &mut Vec<Diagnostic>,
) {
    let Some(hosting) = package.modules.iter().find_map(|m| match &m.module {
        Module::Hosting(hosting) => Some(hosting),
        _ => None,
    }) else {
        return;
    };
    for (index, level) in data.classifications.iter().enumerate() {
        if *level > hosting.max_classification {
            let name = |c: Classification| {
                serde_json::to_value(c)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            found.push(package.diagnostic(
                &module.path,
                &[Step::Key("classifications"), Step::Index(index)],
                format!(
                    "data classified `{}` is allowed, but the hosting environment holds at most `{}`",
                    name(*level),
                    name(hosting.max_classification)
                ),
                "host in an environment accredited for it, or disallow the classification",
            ));
        }
    }
}

/// Capacity terms are positive; targets are percentages, ordered percentiles and a window.
fn check_service_levels(
    package: &Package,
    module: &LoadedModule,
    levels: &ServiceLevels,
    found: &mut Vec<Diagnostic>,
) {
    let capacity = &levels.capacity;
    let terms = [
        (
            "requests_per_user_per_minute",
            capacity.requests_per_user_per_minute,
        ),
        (
            "requests_per_user_per_day",
            capacity.requests_per_user_per_day,
        ),
        ("tokens_per_user_per_day", capacity.tokens_per_user_per_day),
        (
            "requests_per_agency_per_minute",
            capacity.requests_per_agency_per_minute,
        ),
        (
            "requests_per_agency_per_day",
            capacity.requests_per_agency_per_day,
        ),
        (
            "tokens_per_agency_per_day",
            capacity.tokens_per_agency_per_day,
        ),
    ];
    for (term, value) in terms {
        if value == Some(0) {
            found.push(package.diagnostic(
                &module.path,
                &[Step::Key("capacity"), Step::Key(term)],
                format!("`{term}` is 0: no request could ever be served"),
                "leave the term out for no limit",
            ));
        }
    }
    let Some(targets) = &levels.targets else {
        return;
    };
    if !(targets.availability_percent > 0.0 && targets.availability_percent <= 100.0) {
        found.push(package.diagnostic(
            &module.path,
            &[Step::Key("targets"), Step::Key("availability_percent")],
            format!(
                "availability of {}% is not a percentage",
                targets.availability_percent
            ),
            "e.g. 99.5",
        ));
    }
    if targets.p50_ms > targets.p99_ms {
        found.push(package.diagnostic(
            &module.path,
            &[Step::Key("targets"), Step::Key("p50_ms")],
            format!(
                "the median ({} ms) is above the 99th percentile ({} ms)",
                targets.p50_ms, targets.p99_ms
            ),
            "the 99th percentile is the slower figure",
        ));
    }
    if targets.window_days == 0 {
        found.push(package.diagnostic(
            &module.path,
            &[Step::Key("targets"), Step::Key("window_days")],
            "the targets are measured over a window of 0 days".to_owned(),
            "e.g. 30",
        ));
    }
}
