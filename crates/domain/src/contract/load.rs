//! Loading a contract package from its files' text, with every problem located.

use std::fmt;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

use super::model::*;
use crate::ids::{check_id, check_package_path};

/// A file of the package: its path relative to the package directory, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub path: String,
    pub text: String,
}

/// A problem, where it is, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at byte `offset` of `file`, whose text is `text`; an empty hint is none.
    pub fn at(
        file: &str,
        text: &str,
        offset: usize,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Diagnostic {
        at(file, text, offset, message, hint)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// The first three problems, joined with `; `: what a refusal quotes of a longer list.
pub fn first_problems(problems: &[Diagnostic]) -> String {
    problems
        .iter()
        .take(3)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A step in a path to a value: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// A loaded module and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedModule {
    pub path: String,
    pub header: ModuleHeader,
    pub module: Module,
}

/// A parsed package.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    pub contract: ContractFile,
    pub modules: Vec<LoadedModule>,
    sources: Vec<Source>,
}

pub const CONTRACT_FILE: &str = "contract.toml";

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The byte offset of the value at `path` in a TOML document, or of the deepest part of the
/// path that exists.
fn offset_of(text: &str, path: &[Step<'_>]) -> usize {
    let Ok(document) = DeTable::parse(text) else {
        return 0;
    };
    let mut offset = 0;
    let mut table: &DeTable<'_> = document.get_ref();
    let mut value: Option<&toml::Spanned<DeValue<'_>>> = None;
    for step in path {
        let next = match (step, value.map(toml::Spanned::get_ref)) {
            (Step::Key(key), None) => table.get(*key),
            (Step::Key(key), Some(DeValue::Table(inner))) => {
                table = inner;
                inner.get(*key)
            }
            (Step::Index(index), Some(DeValue::Array(items))) => items.get(*index),
            _ => None,
        };
        match next {
            Some(found) => {
                offset = found.span().start;
                if let DeValue::Table(inner) = found.get_ref() {
                    table = inner;
                }
                value = Some(found);
            }
            None => break,
        }
    }
    offset
}

impl Package {
    /// A diagnostic at the value `path` leads to in the file `file`.
    pub fn diagnostic(
        &self,
        file: &str,
        path: &[Step<'_>],
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Diagnostic {
        let text = self
            .sources
            .iter()
            .find(|source| source.path == file)
            .map_or("", |source| source.text.as_str());
        at(file, text, offset_of(text, path), message, hint)
    }

    /// The text of one of the package's files.
    pub fn source(&self, path: &str) -> Option<&str> {
        self.sources
            .iter()
            .find(|source| source.path == path)
            .map(|source| source.text.as_str())
    }

    /// The purposes its use-restrictions modules declare.
    pub fn purposes(&self) -> Vec<String> {
        self.modules
            .iter()
            .filter_map(|m| match &m.module {
                Module::UseRestrictions(restrictions) => Some(restrictions.purposes.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The SEV-SNP launch measurements its hosting modules name.
    pub fn measurements(&self) -> Vec<String> {
        self.modules
            .iter()
            .filter_map(|m| match &m.module {
                Module::Hosting(hosting) => Some(hosting.measurements.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    pub fn module(&self, id: &str) -> Option<&LoadedModule> {
        self.modules.iter().find(|m| m.header.id == id)
    }

    /// Whether `party` is an auditor of this contract allowed to read usage records.
    pub fn reads_usage(&self, party: &str) -> bool {
        self.modules.iter().any(|m| match &m.module {
            Module::AuditRights(rights) => rights
                .auditors
                .iter()
                .any(|a| a.party == party && a.usage_records),
            _ => false,
        })
    }

    /// Whether `party` is an auditor of this contract whose scope includes `scope`
    /// (`evaluation-evidence`, `usage-records`, ...).
    pub fn audits(&self, party: &str, scope: &str) -> bool {
        self.modules.iter().any(|m| match &m.module {
            Module::AuditRights(rights) => rights
                .auditors
                .iter()
                .any(|a| a.party == party && a.scopes.iter().any(|s| s == scope)),
            _ => false,
        })
    }
}

fn at(
    file: &str,
    text: &str,
    offset: usize,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> Diagnostic {
    let (line, column) = line_column(text, offset);
    let hint = hint.into();
    Diagnostic {
        path: file.to_owned(),
        line,
        column,
        message: message.into(),
        hint: (!hint.is_empty()).then_some(hint),
    }
}

fn parse<T: DeserializeOwned>(source: &Source, hint: &str) -> Result<T, Diagnostic> {
    toml::from_str(&source.text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        let message = error.message().trim().to_owned();
        at(&source.path, &source.text, offset, message, hint)
    })
}

fn parse_module(source: &Source) -> Result<(ModuleHeader, Module), Diagnostic> {
    let schema_hint = |kind: &str| {
        format!("`concordat contract schema {kind}` prints the fields this kind of module holds")
    };
    let header: ModuleHeader = parse(
        source,
        "a module file starts with `id`, `kind` and `version`",
    )?;
    let hint = schema_hint(&header.kind);
    let module = match header.kind.as_str() {
        "model-delivery" => Module::ModelDelivery(parse(source, &hint)?),
        "hosting" => Module::Hosting(parse(source, &hint)?),
        "updates" => Module::Updates(parse(source, &hint)?),
        "testing-protocol" => Module::TestingProtocol(parse(source, &hint)?),
        "audit-rights" => Module::AuditRights(parse(source, &hint)?),
        "rollback" => Module::Rollback(parse(source, &hint)?),
        "incident-escalation" => Module::IncidentEscalation(parse(source, &hint)?),
        "liability" => Module::Liability(parse(source, &hint)?),
        "use-restrictions" => Module::UseRestrictions(parse(source, &hint)?),
        "data-handling" => Module::DataHandling(parse(source, &hint)?),
        "service-levels" => Module::ServiceLevels(parse(source, &hint)?),
        other => {
            let kinds: Vec<&str> = MODULE_KINDS.iter().map(|(kind, _)| *kind).collect();
            return Err(at(
                &source.path,
                &source.text,
                offset_of(&source.text, &[Step::Key("kind")]),
                format!("unknown module kind `{other}`"),
                format!("kinds are {}", kinds.join(", ")),
            ));
        }
    };
    Ok((header, module))
}

/// Every name in contract.toml that breaks the grammar of [`crate::ids`], and every file of the
/// package whose path does: ids become file names and URL segments, so none passes unchecked.
fn names_of(package: &Package) -> Vec<Diagnostic> {
    const HINT: &str =
        "ids are lowercase letters, digits and `-` (see `concordat contract schema contract`)";
    let contract = &package.contract;
    let mut problems = Vec::new();
    if let Err(error) = check_id("contract id", &contract.id) {
        problems.push(package.diagnostic(
            CONTRACT_FILE,
            &[Step::Key("id")],
            error.to_string(),
            HINT,
        ));
    }
    for (index, pin) in contract.modules.iter().enumerate() {
        if let Err(error) = check_id("module id", &pin.id) {
            problems.push(package.diagnostic(
                CONTRACT_FILE,
                &[Step::Key("modules"), Step::Index(index), Step::Key("id")],
                error.to_string(),
                HINT,
            ));
        }
    }
    for (index, addendum) in contract.addenda.iter().enumerate() {
        if let Err(error) = check_id("addendum id", &addendum.id) {
            problems.push(package.diagnostic(
                CONTRACT_FILE,
                &[Step::Key("addenda"), Step::Index(index), Step::Key("id")],
                error.to_string(),
                HINT,
            ));
        }
    }
    for (index, party) in contract.parties.iter().enumerate() {
        if let Err(error) = check_id("party id", party) {
            problems.push(package.diagnostic(
                CONTRACT_FILE,
                &[Step::Key("parties"), Step::Index(index)],
                error.to_string(),
                HINT,
            ));
        }
    }
    for source in &package.sources {
        if let Err(error) = check_package_path("package file", &source.path) {
            problems.push(at(
                &source.path,
                "",
                0,
                error.to_string(),
                "a package holds contract.toml, modules/*.toml and the policy files its modules name",
            ));
        }
    }
    problems
}

/// The policy files a use-restrictions module names that are not paths inside the package.
fn policy_paths(package: &Package, path: &str, module: &Module) -> Vec<Diagnostic> {
    let Module::UseRestrictions(restrictions) = module else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    if restrictions.purposes.is_empty() {
        problems.push(package.diagnostic(
            path,
            &[Step::Key("policies")],
            "the module declares no purposes: a contract names every purpose a request may state",
            "add `purposes = [\"imagery-analysis\", ...]`, the prohibited purposes included; a request for any other purpose is refused",
        ));
    }
    for (index, purpose) in restrictions.purposes.iter().enumerate() {
        if let Err(error) = check_id("purpose", purpose) {
            problems.push(package.diagnostic(
                path,
                &[Step::Key("purposes"), Step::Index(index)],
                error.to_string(),
                "purposes are lowercase words joined by `-`, e.g. `imagery-analysis`",
            ));
        }
    }
    for (index, file) in restrictions.policies.iter().enumerate() {
        if let Err(error) = check_package_path("policy file", file) {
            problems.push(package.diagnostic(
                path,
                &[Step::Key("policies"), Step::Index(index)],
                error.to_string(),
                "name the file relative to the package directory, e.g. `policies/restrictions.cedar`",
            ));
        }
    }
    problems
}

/// A package's files (path → text) as sources to load.
pub fn sources(files: &std::collections::BTreeMap<String, String>) -> Vec<Source> {
    files
        .iter()
        .map(|(path, text)| Source {
            path: path.clone(),
            text: text.clone(),
        })
        .collect()
}

/// Parses a package. Stops at problems that leave nothing to check (an unreadable
/// `contract.toml`); otherwise collects every problem it finds.
pub fn load(sources: Vec<Source>) -> Result<Package, Vec<Diagnostic>> {
    let Some(contract_source) = sources.iter().find(|s| s.path == CONTRACT_FILE) else {
        return Err(vec![at(
            CONTRACT_FILE,
            "",
            0,
            "the package has no contract.toml",
            "`concordat contract new --template NAME DIR` starts a package",
        )]);
    };
    let contract: ContractFile = parse(
        contract_source,
        "`concordat contract schema contract` prints what contract.toml holds",
    )
    .map_err(|d| vec![d])?;
    let mut package = Package {
        contract,
        modules: Vec::new(),
        sources: sources.clone(),
    };
    let mut problems = names_of(&package);
    for (index, pin) in package.contract.modules.clone().iter().enumerate() {
        if check_id("module id", &pin.id).is_err() {
            continue; // named by `names_of`; it names no file.
        }
        let path = format!("modules/{}.toml", pin.id);
        let Some(source) = sources.iter().find(|s| s.path == path) else {
            problems.push(package.diagnostic(
                CONTRACT_FILE,
                &[Step::Key("modules"), Step::Index(index), Step::Key("id")],
                format!("module `{}` is pinned but `{path}` is missing", pin.id),
                format!("add `{path}` or remove the pin"),
            ));
            continue;
        };
        match parse_module(source) {
            Ok((header, module)) => {
                problems.extend(policy_paths(&package, &path, &module));
                if header.id != pin.id {
                    problems.push(package.diagnostic(
                        &path,
                        &[Step::Key("id")],
                        format!(
                            "module id is `{}`, but contract.toml pins it as `{}`",
                            header.id, pin.id
                        ),
                        "a module file is named after its id",
                    ));
                }
                if header.version != pin.version {
                    problems.push(package.diagnostic(
                        &path,
                        &[Step::Key("version")],
                        format!(
                            "module `{}` is version {}, but contract.toml pins {}",
                            pin.id, header.version, pin.version
                        ),
                        "pin the version the module file has, or amend the module",
                    ));
                }
                package.modules.push(LoadedModule {
                    path,
                    header,
                    module,
                });
            }
            Err(problem) => problems.push(problem),
        }
    }
    for source in &sources {
        let pinned = package
            .contract
            .modules
            .iter()
            .any(|pin| source.path == format!("modules/{}.toml", pin.id));
        if source.path.starts_with("modules/") && source.path.ends_with(".toml") && !pinned {
            problems.push(at(
                &source.path,
                &source.text,
                0,
                "this module is not pinned by contract.toml",
                "pin it under `modules` in contract.toml, or delete the file",
            ));
        }
    }
    if problems.is_empty() {
        Ok(package)
    } else {
        Err(problems)
    }
}
