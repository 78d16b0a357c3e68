//! Notifications as signed webhooks, from a durable outbox.
//!
//! A duty is notified once for each standing an entry finds it in (due, met, met late, overdue),
//! so the same news is never sent twice under two keys.
//!
//! A follower reads each new entry of the log and, for an incident or a designation, writes a
//! notification for every party concerned that has registered an endpoint (`endpoint-
//! registered`) before that entry: to the party that owes each duty the incident gives rise to,
//! and to the designated party and the parties of the contracts a designation reaches. Each is
//! written (and synced) to `outbox/pending/` before the follower's cursor moves past its entry,
//! so a crash loses none; a restart may write one again, which its idempotency key makes
//! harmless. The sender POSTs each as JSON, signed with the operator's key (RFC 9421 over the
//! method, authority, path, `content-digest` (RFC 9530) and `idempotency-key`), until the
//! endpoint answers 2xx, backing off from 2 s to 5 min; every attempt is appended to
//! `outbox/attempts.jsonl`, where the operator sees it (`concordat outbox`). The nodes of an
//! instance on PostgreSQL keep the same outbox as documents in the database, and the one that
//! leads delivers, from where the last leader stopped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tlog::note::SignerKey;

use crate::wire::EntryView;
use crate::{Instance, Result, ServiceError};

/// One notification to one party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The idempotency key: the same notification always carries the same one.
    pub key: String,
    pub party: String,
    pub url: String,
    /// The entry that gave rise to it.
    pub entry: u64,
    pub body: Value,
    pub attempts: u32,
    /// When to try next (unix seconds).
    pub next_at: i64,
}

/// One delivery attempt, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: i64,
    pub key: String,
    pub party: String,
    pub url: String,
    /// The endpoint's status, when it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub delivered: bool,
}

/// The outbox of an instance: its `outbox` directory, or — for an instance whose nodes share
/// a PostgreSQL database — documents there under `outbox/`, so that whichever node leads
/// delivers, from where the last one stopped.
#[derive(Debug, Clone)]
pub struct Outbox {
    root: PathBuf,
    /// The database that keeps it, when not the directory.
    shared: Option<String>,
    /// Whether endpoints on loopback, private or link-local addresses are delivered to.
    to_private: bool,
}

/// The document names of a database-kept outbox.
const CURSOR: &str = "outbox/cursor";
const ATTEMPTS: &str = "outbox/attempts";

fn document(sub: &str, key: &str) -> String {
    format!("outbox/{sub}/{}", file_name(key))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ServiceError + '_ {
    move |e| ServiceError::internal(format!("{}: {e}", path.display()))
}

/// Writes `bytes` to `path` whole: a temporary file, synced, renamed, the directory synced.
fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temporary).map_err(io(&temporary))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io(path))?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io(parent))?;
    }
    Ok(())
}

/// A key as a file name: its characters outside `[a-z0-9-]` as `_`.
fn file_name(key: &str) -> String {
    let name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{name}.json")
}

impl Outbox {
    pub fn open(instance_dir: &Path) -> Result<Outbox> {
        let root = instance_dir.join("outbox");
        for dir in [root.join("pending"), root.join("delivered")] {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        Ok(Outbox {
            root,
            shared: None,
            to_private: false,
        })
    }

    /// The outbox of the instance `layout` describes: in its database when its nodes share one.
    pub fn of(layout: &crate::Layout) -> Result<Outbox> {
        match layout.shared_database() {
            Some(url) => Ok(Outbox {
                root: layout.dir().join("outbox"),
                shared: Some(url.to_owned()),
                to_private: false,
            }),
            None => Outbox::open(layout.dir()),
        }
    }

    /// Delivers to endpoints on loopback, private and link-local addresses too (a receiver on
    /// the operator's own network, or the demo's).
    #[must_use]
    pub fn to_private(mut self, allowed: bool) -> Outbox {
        self.to_private = allowed;
        self
    }

    fn cursor_file(&self) -> PathBuf {
        self.root.join("cursor")
    }

    /// The next entry the follower reads.
    pub fn cursor(&self) -> u64 {
        let text = match &self.shared {
            Some(url) => store::pg::document(url, CURSOR)
                .ok()
                .flatten()
                .and_then(|bytes| String::from_utf8(bytes).ok()),
            None => std::fs::read_to_string(self.cursor_file()).ok(),
        };
        text.and_then(|t| t.trim().parse().ok()).unwrap_or(0)
    }

    fn set_cursor(&self, next: u64) -> Result<()> {
        let text = format!("{next}\n");
        match &self.shared {
            Some(url) => Ok(store::pg::change_documents(
                url,
                &[(CURSOR, text.as_bytes())],
                &[],
            )?),
            None => replace(&self.cursor_file(), text.as_bytes()),
        }
    }

    /// Keeps `n` for delivery, unless it is pending or delivered already.
    fn enqueue(&self, n: &Notification) -> Result<()> {
        if let Some(url) = &self.shared {
            let (pending, delivered) = (document("pending", &n.key), document("delivered", &n.key));
            if store::pg::document(url, &delivered)?.is_some()
                || store::pg::document(url, &pending)?.is_some()
            {
                return Ok(());
            }
            let bytes = serde_json::to_vec_pretty(n).map_err(ServiceError::internal)?;
            return Ok(store::pg::change_documents(
                url,
                &[(&pending, &bytes)],
                &[],
            )?);
        }
        let name = file_name(&n.key);
        if self.root.join("delivered").join(&name).exists() {
            return Ok(());
        }
        let path = self.root.join("pending").join(name);
        if path.exists() {
            return Ok(());
        }
        let bytes = serde_json::to_vec_pretty(n).map_err(ServiceError::internal)?;
        replace(&path, &bytes)
    }

    /// The notifications not delivered yet, oldest entry first.
    pub fn pending(&self) -> Vec<Notification> {
        self.read_dir("pending")
    }

    pub fn delivered(&self) -> Vec<Notification> {
        self.read_dir("delivered")
    }

    fn read_dir(&self, sub: &str) -> Vec<Notification> {
        if let Some(url) = &self.shared {
            let mut all: Vec<Notification> =
                store::pg::documents_under(url, &format!("outbox/{sub}/"))
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok())
                    .collect();
            all.sort_by(|a, b| (a.entry, &a.key).cmp(&(b.entry, &b.key)));
            return all;
        }
        let mut all: Vec<Notification> = std::fs::read_dir(self.root.join(sub))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| std::fs::read(p).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        all.sort_by(|a, b| (a.entry, &a.key).cmp(&(b.entry, &b.key)));
        all
    }

    /// Every delivery attempt so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        let text = match &self.shared {
            Some(url) => store::pg::document(url, ATTEMPTS)
                .ok()
                .flatten()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
            None => std::fs::read_to_string(self.root.join("attempts.jsonl")).ok(),
        };
        text.unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn record(&self, attempt: &Attempt) -> Result<()> {
        use std::io::Write;
        let path = self.root.join("attempts.jsonl");
        let mut line = serde_json::to_vec(attempt).map_err(ServiceError::internal)?;
        line.push(b'\n');
        if let Some(url) = &self.shared {
            return store::pg::update_document(url, ATTEMPTS, |kept| {
                let mut all = kept.unwrap_or_default();
                all.extend_from_slice(&line);
                Ok::<_, ServiceError>((all, ()))
            });
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&line).and_then(|()| f.sync_data()))
            .map_err(io(&path))
    }

    fn settle(&self, n: &Notification, delivered: bool) -> Result<()> {
        if let Some(url) = &self.shared {
            let pending = document("pending", &n.key);
            let bytes = serde_json::to_vec_pretty(n).map_err(ServiceError::internal)?;
            let to = document("delivered", &n.key);
            let changed = if delivered {
                store::pg::change_documents(url, &[(&to, &bytes)], &[&pending])
            } else {
                store::pg::change_documents(url, &[(&pending, &bytes)], &[])
            };
            return Ok(changed?);
        }
        let name = file_name(&n.key);
        let pending = self.root.join("pending").join(&name);
        if delivered {
            let to = self.root.join("delivered").join(&name);
            std::fs::rename(&pending, &to).map_err(io(&pending))?;
            std::fs::File::open(self.root.join("delivered"))
                .and_then(|d| d.sync_all())
                .map_err(io(&to))
        } else {
            let bytes = serde_json::to_vec_pretty(n).map_err(ServiceError::internal)?;
            replace(&pending, &bytes)
        }
    }
}

/// The endpoint of `party`, if it registered one before entry `before`.
fn endpoint(instance: &dyn Instance, party: &str, before: u64) -> Option<String> {
    let view = instance.party(party).ok()?;
    view.party
        .endpoint
        .filter(|e| e.entry < before)
        .map(|e| e.url)
}

fn notification(key: String, party: &str, url: String, entry: u64, body: Value) -> Notification {
    Notification {
        key,
        party: party.to_owned(),
        url,
        entry,
        body,
        attempts: 0,
        next_at: 0,
    }
}

/// The notifications entry `view` gives rise to, reckoned at `now`.
pub fn notifications_of(
    instance: &dyn Instance,
    view: &EntryView,
    now: i64,
) -> Result<Vec<Notification>> {
    let predicate = &view.statement.predicate;
    let text = |field: &str| predicate[field].as_str().unwrap_or_default().to_owned();
    let mut out = Vec::new();
    match view.kind.as_deref() {
        Some(
            "incident-reported" | "incident-updated" | "incident-notified" | "incident-closed",
        ) => {
            let contract = text("contract");
            let ids: Vec<String> = match predicate["incidents"].as_array() {
                Some(ids) => ids
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                None => vec![text("incident")],
            };
            for incident in instance
                .incidents(Some(&contract), Some(now))?
                .into_iter()
                .filter(|i| ids.contains(&i.incident.id))
            {
                for duty in &incident.duties {
                    let Some(party) = duty.owed_by.as_deref() else {
                        continue;
                    };
                    let Some(url) = endpoint(instance, party, view.index) else {
                        continue;
                    };
                    let body = json!({
                        "type": "incident-duty", "entry": view.index, "kind": view.kind,
                        "contract": contract, "incident": incident.incident.id,
                        "summary": incident.incident.summary, "duty": duty,
                    });
                    // One notification a duty and a standing: an entry that changes nothing
                    // about a duty (another party's notice, a note) sends nothing again.
                    let standing = serde_json::to_value(&duty.status)
                        .ok()
                        .and_then(|s| s["status"].as_str().map(str::to_owned))
                        .unwrap_or_default();
                    let key = format!(
                        "{contract}-{}-{}-{party}-{standing}",
                        incident.incident.id, duty.id
                    );
                    out.push(notification(key, party, url, view.index, body));
                }
            }
        }
        Some(kind) if kind.starts_with("designation-") => {
            let id = text("designation");
            let Some(designation) = instance.designations()?.into_iter().find(|d| d.id == id)
            else {
                return Ok(out);
            };
            let mut parties: Vec<String> = Vec::new();
            if let domain::designation::Subject::Party { id } = &designation.subject {
                parties.push(id.clone());
            }
            for contract in instance.contracts()? {
                let record = instance.contract(&contract.id)?;
                let in_scope = domain::contract::load(domain::contract::sources(&record.files))
                    .is_ok_and(|p| designation.covers(&p.contract.jurisdictions));
                if in_scope {
                    parties.extend(record.parties);
                }
            }
            parties.sort();
            parties.dedup();
            for party in parties {
                let Some(url) = endpoint(instance, &party, view.index) else {
                    continue;
                };
                let body = json!({
                    "type": "designation", "entry": view.index, "kind": kind,
                    "designation": designation,
                });
                let key = format!("{}-{}-{party}", view.index, designation.id);
                out.push(notification(key, &party, url, view.index, body));
            }
        }
        _ => {}
    }
    Ok(out)
}

/// Whether `ip` is inside a network rather than on the internet.
fn is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(v4.into()))
        }
    }
}

/// Refuses an endpoint that resolves inside a network, unless the operator allows it.
fn reachable(
    authority: &str,
    scheme_port: u16,
    to_private: bool,
) -> std::result::Result<(), String> {
    use std::net::ToSocketAddrs as _;
    if to_private {
        return Ok(());
    }
    let target = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        && !authority.ends_with(']')
    {
        authority.to_owned()
    } else {
        format!("{authority}:{scheme_port}")
    };
    let addresses: Vec<std::net::SocketAddr> = target
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{authority}`: {e}"))?
        .collect();
    if addresses.iter().any(|a| is_private(a.ip())) {
        return Err(format!(
            "refused: `{authority}` resolves to a loopback, private or link-local address (the server delivers there only with --webhooks-to-private)"
        ));
    }
    Ok(())
}

/// Signs and POSTs one notification; the endpoint's status, or why it was not reached.
fn post(n: &Notification, key: &SignerKey, to_private: bool) -> std::result::Result<u16, String> {
    use attest::http_signature::{Message, Params, sign};
    use base64::Engine as _;
    let body = serde_json::to_vec(&n.body).map_err(|e| e.to_string())?;
    let digest = format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD
            .encode(<sha2::Sha256 as sha2::Digest>::digest(&body))
    );
    let rest = n.url.split_once("://").map_or("", |(_, r)| r);
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (path, query) = target
        .split_once('?')
        .map_or((target, None), |(p, q)| (p, Some(q)));
    let default_port = if n.url.starts_with("https://") {
        443
    } else {
        80
    };
    reachable(authority, default_port, to_private)?;
    let public = attest::PublicKey::parse(&key.verifier().to_text()).map_err(|e| e.to_string())?;
    let nonce: String = crate::keys::random_bytes()
        .map_err(|e| e.to_string())?
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let params = Params::new(
        &[
            "@method",
            "@authority",
            "@path",
            "content-digest",
            "idempotency-key",
        ],
        crate::build::now(),
        &public.keyid(),
        Some(public.algorithm()),
        Some(&nonce),
    );
    let headers = [
        ("content-digest", digest.as_str()),
        ("idempotency-key", n.key.as_str()),
    ];
    let message = Message {
        method: "POST",
        authority,
        path: if path.is_empty() { "/" } else { path },
        query,
        headers: &headers,
    };
    let (input, signature) =
        sign(&message, "concordat", &params, key).map_err(|e| e.to_string())?;
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let sent = agent
        .post(&n.url)
        .set("content-type", "application/json")
        .set("content-digest", &digest)
        .set("idempotency-key", &n.key)
        .set("signature-input", &input)
        .set("signature", &signature)
        .send_bytes(&body);
    match sent {
        Ok(response) => Ok(response.status()),
        Err(ureq::Error::Status(status, _)) => Ok(status),
        Err(error) => Err(error.to_string()),
    }
}

/// Reads the entries past the cursor and keeps their notifications; then moves the cursor.
pub fn follow(instance: &dyn Instance, outbox: &Outbox) -> Result<usize> {
    let size = instance.info()?.size;
    let mut kept = 0;
    let now = crate::build::now();
    for index in outbox.cursor()..size {
        let view = instance.entry(index)?;
        for n in notifications_of(instance, &view, now)? {
            outbox.enqueue(&n)?;
            kept += 1;
        }
        outbox.set_cursor(index + 1)?;
    }
    Ok(kept)
}

/// Tries every pending notification that is due: delivered on a 2xx, else backed off.
pub fn deliver(outbox: &Outbox, key: &SignerKey) -> Result<()> {
    let now = crate::build::now();
    for mut n in outbox.pending().into_iter().filter(|n| n.next_at <= now) {
        let outcome = post(&n, key, outbox.to_private);
        let delivered = matches!(outcome, Ok(200..=299));
        outbox.record(&Attempt {
            at: crate::build::now(),
            key: n.key.clone(),
            party: n.party.clone(),
            url: n.url.clone(),
            status: outcome.as_ref().ok().copied(),
            error: outcome.err(),
            delivered,
        })?;
        if !delivered {
            n.attempts += 1;
            n.next_at = now + (1_i64 << n.attempts.min(8)).min(300);
        }
        outbox.settle(&n, delivered)?;
    }
    Ok(())
}

/// Follows the log and delivers until `stop`, every `interval`; `warn` hears of what failed
/// (to be tried again on the next round).
/// `active` says whether this process delivers this round (on several nodes, the one that
/// leads).
pub fn run(
    instance: &dyn Instance,
    outbox: &Outbox,
    key: &SignerKey,
    interval: Duration,
    stop: &AtomicBool,
    active: &dyn Fn() -> bool,
    warn: &dyn Fn(&str, &ServiceError),
) {
    while !stop.load(Ordering::Acquire) {
        if active() {
            if let Err(error) = follow(instance, outbox) {
                warn("the outbox could not follow the log", &error);
            }
            if let Err(error) = deliver(outbox, key) {
                warn("the outbox could not deliver", &error);
            }
        }
        let mut slept = Duration::ZERO;
        while slept < interval && !stop.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(50));
            slept += Duration::from_millis(50);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_inside_a_network_are_refused_unless_the_operator_allows_them() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "2001:4860:4860::8888", "100.128.0.1"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
        let refused = reachable("127.0.0.1:8080", 80, false).unwrap_err();
        assert!(refused.contains("--webhooks-to-private"), "{refused}");
        assert!(reachable("[::1]", 443, false).is_err());
        assert!(reachable("127.0.0.1:8080", 80, true).is_ok());
    }
}
