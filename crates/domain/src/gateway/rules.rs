//! The rules of the gateway kinds: who may issue and revoke credentials and name gateways.

use super::{
    Credential, CredentialIssued, CredentialRevoked, GatewayAuthorized, GatewayGrant, Revocation,
    grant_key,
};
use crate::apply::{Entry, Rejection, check_party_id, is_sha256_digest, known_contract, reject};
use crate::kinds::Role;
use crate::state::{Change, KeyRecord, State};
use crate::updates::{clock_of, require_party_signer};

/// The longest role name a credential may carry.
const ROLE_BYTES_MAX: usize = 63;

/// `party` is an agency of `contract`, and signed.
fn contract_agency(
    state: &State,
    signers: &[&KeyRecord],
    contract: &str,
    party: &str,
) -> Result<(), Rejection> {
    let record = known_contract(state, contract)?;
    let is_agency = state
        .party(party)
        .is_some_and(|p| p.roles.contains(&Role::Agency));
    if !record.parties.iter().any(|p| p == party) || !is_agency {
        return Err(reject(
            "contract-party",
            format!("`{party}` is not an agency of contract `{contract}`"),
        ));
    }
    require_party_signer(signers, party)
}

pub(crate) fn credential_issued(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: CredentialIssued,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    contract_agency(state, signers, &p.contract, &p.party)?;
    check_party_id(&p.user).map_err(|_| {
        reject(
            "credential",
            format!(
                "user `{}` must be lowercase letters, digits and `-` (a pseudonym will do)",
                p.user
            ),
        )
    })?;
    if p.role.is_empty()
        || p.role.len() > ROLE_BYTES_MAX
        || !p
            .role
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(reject(
            "credential",
            format!(
                "role `{}` must be lowercase letters, digits and `-`",
                p.role
            ),
        ));
    }
    if !is_sha256_digest(&p.credential) {
        return Err(reject(
            "credential",
            "`credential` must be `sha256:` and 64 lowercase hex digits: the key's hash, never the key",
        ));
    }
    if let Some(existing) = state.credential(&p.credential) {
        return Err(reject(
            "credential-once",
            format!(
                "this credential was already issued, in entry {}: issue a new key",
                existing.entry
            ),
        ));
    }
    changes.push(Change::PutCredential(Box::new(Credential {
        credential: p.credential,
        entry: entry.index,
        agency: p.party,
        contract: p.contract,
        user: p.user,
        role: p.role,
        clearance: p.clearance,
        issued_at: at,
        revoked: None,
    })));
    Ok(changes)
}

pub(crate) fn credential_revoked(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: CredentialRevoked,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    let Some(existing) = state.credential(&p.credential) else {
        return Err(reject(
            "credential",
            format!("no credential {} was issued", p.credential),
        ));
    };
    if existing.agency != p.party {
        return Err(reject(
            "signer-authority",
            format!(
                "credential {} was issued by `{}`: only it revokes it",
                p.credential, existing.agency
            ),
        ));
    }
    require_party_signer(signers, &p.party)?;
    if let Some(revoked) = &existing.revoked {
        return Err(reject(
            "credential",
            format!(
                "credential {} is already revoked, in entry {}",
                p.credential, revoked.entry
            ),
        ));
    }
    let mut credential = existing.clone();
    credential.revoked = Some(Revocation {
        entry: entry.index,
        at,
        reason: p.reason,
    });
    changes.push(Change::PutCredential(Box::new(credential)));
    Ok(changes)
}

pub(crate) fn gateway_authorized(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: GatewayAuthorized,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    contract_agency(state, signers, &p.contract, &p.party)?;
    crate::apply::check_id("deployment", "deployment name", &p.deployment)?;
    let is_gateway = state
        .party(&p.gateway)
        .is_some_and(|g| g.roles.contains(&Role::Gateway));
    if !is_gateway {
        return Err(reject(
            "gateway",
            format!(
                "`{}` is not a registered party with the `gateway` role (an operator registers it)",
                p.gateway
            ),
        ));
    }
    let key = grant_key(&p.contract, &p.deployment, &p.gateway);
    if let Some(existing) = state.gateway_grant(&key) {
        return Err(reject(
            "gateway",
            format!(
                "`{}` already enforces `{}` of `{}`, since entry {}",
                p.gateway, p.deployment, p.contract, existing.entry
            ),
        ));
    }
    changes.push(Change::PutGatewayGrant(Box::new(GatewayGrant {
        entry: entry.index,
        contract: p.contract,
        deployment: p.deployment,
        gateway: p.gateway,
        agency: p.party,
        at,
    })));
    Ok(changes)
}
