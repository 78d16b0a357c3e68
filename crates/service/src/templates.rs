//! The module library and the contract templates built from it, shipped inside the binary.

/// Standard modules shared by the templates: rights in data aside, the clause types most AI
/// procurements need (notice of model changes, audit, rollback, incident reporting, liability,
/// capacity and service levels).
const LIBRARY: [(&str, &str); 6] = [
    (
        "modules/updates.toml",
        include_str!("../templates/library/updates.toml"),
    ),
    (
        "modules/audit.toml",
        include_str!("../templates/library/audit.toml"),
    ),
    (
        "modules/rollback.toml",
        include_str!("../templates/library/rollback.toml"),
    ),
    (
        "modules/escalation.toml",
        include_str!("../templates/library/escalation.toml"),
    ),
    (
        "modules/liability.toml",
        include_str!("../templates/library/liability.toml"),
    ),
    (
        "modules/service.toml",
        include_str!("../templates/library/service.toml"),
    ),
];

macro_rules! template_files {
    ($dir:literal) => {
        [
            (
                "contract.toml",
                include_str!(concat!("../templates/", $dir, "/contract.toml")),
            ),
            (
                "modules/delivery.toml",
                include_str!(concat!("../templates/", $dir, "/modules/delivery.toml")),
            ),
            (
                "modules/hosting.toml",
                include_str!(concat!("../templates/", $dir, "/modules/hosting.toml")),
            ),
            (
                "modules/testing.toml",
                include_str!(concat!("../templates/", $dir, "/modules/testing.toml")),
            ),
            (
                "modules/data.toml",
                include_str!(concat!("../templates/", $dir, "/modules/data.toml")),
            ),
            (
                "modules/restrictions.toml",
                include_str!(concat!("../templates/", $dir, "/modules/restrictions.toml")),
            ),
            (
                "policies/use.cedar",
                include_str!(concat!("../templates/", $dir, "/policies/use.cedar")),
            ),
        ]
    };
}

/// A contract template.
#[derive(Debug)]
pub struct Template {
    pub name: &'static str,
    pub description: &'static str,
    own: [(&'static str, &'static str); 7],
}

pub const TEMPLATES: [Template; 3] = [
    Template {
        name: "defense-imagery-analysis",
        description: "a hosted assistant for defense imagery analysts (US, OMB M-25-21/22)",
        own: template_files!("defense-imagery-analysis"),
    },
    Template {
        name: "border-services-assistant",
        description: "a traveller information chat assistant on open weights (EU AI Act)",
        own: template_files!("border-services-assistant"),
    },
    Template {
        name: "health-resource-allocation",
        description: "allocation recommendations for a health ministry (India)",
        own: template_files!("health-resource-allocation"),
    },
];

/// The parties a template is written for, by ledger id.
#[derive(Debug, Clone)]
pub struct Parties {
    pub agency: String,
    pub vendor: String,
    pub auditor: String,
}

impl Template {
    /// Every file of the package, with the parties filled in.
    pub fn files(&self, parties: &Parties) -> Vec<(&'static str, String)> {
        self.own
            .iter()
            .chain(LIBRARY.iter())
            .map(|(path, text)| {
                let text = text
                    .replace("{{agency}}", &parties.agency)
                    .replace("{{vendor}}", &parties.vendor)
                    .replace("{{auditor}}", &parties.auditor);
                (*path, text)
            })
            .collect()
    }
}

pub fn find(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}
