//! A served instance seeded with the demo engagement, and one request at a time to its router.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

/// The demo engagement, opened for serving in a temporary directory.
pub struct Served {
    pub dir: tempfile::TempDir,
    pub instance: Arc<server::Instance>,
}

impl Served {
    pub fn demo() -> Served {
        let dir = tempfile::tempdir().unwrap();
        service::demo::seed(dir.path()).unwrap();
        let instance = Arc::new(server::Instance::open(dir.path(), 2).unwrap());
        Served { dir, instance }
    }

    pub fn layout(&self) -> service::Layout {
        service::Layout::new(self.dir.path())
    }

    /// Sends one request; its status and body.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = server::router(Arc::clone(&self.instance))
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, body.to_vec())
    }

    /// The whole response to a GET, headers and all.
    pub async fn response(&self, uri: &str) -> axum::response::Response {
        server::router(Arc::clone(&self.instance))
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Vec<u8>) {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// GETs `uri` as `party`'s bearer token would.
    pub async fn get_as(&self, token: &str, uri: &str) -> (StatusCode, Vec<u8>) {
        let request = Request::get(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// The demo party's signer key.
    pub fn key(&self, party: &str) -> tlog::note::SignerKey {
        service::keys::read_signer(&self.layout().keys_dir().join(format!("{party}.key"))).unwrap()
    }

    /// The ledger's state as of now, read beside the server.
    pub fn state(&self) -> std::sync::Arc<domain::State> {
        service::Local::open(self.dir.path())
            .unwrap()
            .state()
            .unwrap()
    }

    /// An amendment of `contract` to `version`, its files changed by `change`, signed by every
    /// party of the contract.
    pub fn amendment(
        &self,
        contract: &str,
        version: &str,
        change: impl FnOnce(&mut std::collections::BTreeMap<String, String>),
    ) -> Vec<u8> {
        let state = self.state();
        let record = state.contract(contract).unwrap();
        let mut files = record.files.clone();
        let current = &record.current().unwrap().version;
        let contract_toml = files.get_mut("contract.toml").unwrap();
        *contract_toml = contract_toml.replacen(
            &format!("version = \"{current}\""),
            &format!("version = \"{version}\""),
            1,
        );
        change(&mut files);
        let amendment = domain::ContractPublished {
            contract: contract.into(),
            version: version.into(),
            digest: domain::contract::package_digest(&files),
            files,
        };
        let keys: Vec<_> = record.parties.iter().map(|p| self.key(p)).collect();
        service::Draft::of_kind(domain::Kind::ContractAmended, &amendment, Vec::new())
            .unwrap()
            .signed_bytes(&keys.iter().collect::<Vec<_>>())
            .unwrap()
    }

    /// A bearer token for `party`.
    pub fn token(&self, party: &str) -> String {
        service::access::issue_token(&self.layout(), party, "test", "2026-11-30T00:00:00Z")
            .unwrap()
            .1
    }
}

/// `POST /api/entries` with an envelope.
pub fn post_entry(envelope: Vec<u8>) -> Request<Body> {
    Request::post("/api/entries")
        .header("content-type", "application/json")
        .body(Body::from(envelope))
        .unwrap()
}

/// Reads a body as the wire type the clients read it as.
pub fn wire<T: serde::de::DeserializeOwned>(body: &[u8]) -> T {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

/// Runs a test's requests on a runtime of its own.
pub fn run<F: std::future::Future>(test: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(test)
}
