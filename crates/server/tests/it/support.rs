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

    /// A bearer token for `party`.
    pub fn token(&self, party: &str) -> String {
        service::access::issue_token(&self.layout(), party, "test", "2026-11-30T00:00:00Z")
            .unwrap()
            .1
    }
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
