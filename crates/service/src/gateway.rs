//! What an enforcement gateway reads from an instance, and the API keys it checks.
//!
//! An API key is `cgw-` and 64 random hex digits, shown once to the agency that issues it;
//! the ledger and every gateway hold only its SHA-256 (`sha256:<hex>`), so a key leaks only
//! from where it was handed out.

use domain::State;
use domain::contract::Module;
use domain::updates::deployment_key;

use crate::wire::{ActiveVersion, GatewayView};
use crate::{Result, ServiceError};

/// What every gateway API key starts with, so a key pasted in the wrong place is recognised.
pub const API_KEY_PREFIX: &str = "cgw-";

/// A fresh API key.
pub fn new_api_key() -> Result<String> {
    let random = crate::keys::random_hex(32).map_err(ServiceError::internal)?;
    Ok(format!("{API_KEY_PREFIX}{random}"))
}

/// The hash an API key is known by: `sha256:<hex>` of its text.
pub fn api_key_hash(key: &str) -> String {
    crate::access::sha256_digest(key.as_bytes())
}

/// The gateway's view of `deployment` under `contract` in `state`, the state of a log of
/// `size` entries.
pub fn view(state: &State, size: u64, contract: &str, deployment: &str) -> Result<GatewayView> {
    let record = state
        .contract(contract)
        .ok_or_else(|| ServiceError::NotFound(format!("contract `{contract}` is not published")))?;
    let current = record.current().ok_or_else(|| {
        ServiceError::NotFound(format!("contract `{contract}` has no published version"))
    })?;
    let pinning = state.package(contract).is_some_and(|package| {
        package.modules.iter().any(|loaded| match &loaded.module {
            Module::Updates(updates) => updates.pinning,
            _ => false,
        })
    });
    let active = state
        .deployment(&deployment_key(contract, deployment))
        .and_then(|d| {
            let key = d.active.as_deref()?;
            let model = state.model(key)?;
            let since_entry = d.events.last().map_or(0, |event| event.entry);
            Some(ActiveVersion {
                model: key.to_owned(),
                vendor: model.vendor.clone(),
                api_version: model.api_version.clone(),
                digest: model.digest.clone(),
                since_entry,
            })
        });
    Ok(GatewayView {
        size,
        contract: contract.to_owned(),
        contract_version: current.version.clone(),
        deployment: deployment.to_owned(),
        files: record.files.clone(),
        active,
        pinning,
        credentials: state.credentials(contract).cloned().collect(),
        gateways: state
            .gateways(contract, deployment)
            .map(|grant| grant.gateway.clone())
            .collect(),
    })
}
