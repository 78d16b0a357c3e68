//! The C2SP tlog-tiles read endpoints. Full tiles never change: they are served immutable.
//! Partial tiles and the checkpoint change as the log grows.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tlog::tile::{TilePath, parse_path};

use crate::{ApiError, Instance};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=1";

pub async fn checkpoint(State(instance): State<Arc<Instance>>) -> Result<Response, ApiError> {
    let checkpoint = instance.read(|r| r.latest_checkpoint())?;
    let Some(witnessed) = &instance.witnessed else {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            checkpoint.note,
        )
            .into_response());
    };
    match witnessed.published(checkpoint.size, checkpoint.note) {
        crate::witnessed::Published::Note(note, how) => Ok((
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
                (
                    header::HeaderName::from_static(crate::witnessed::HEADER),
                    how,
                ),
            ],
            note,
        )
            .into_response()),
        crate::witnessed::Published::Waiting(why) => Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            &why,
        )),
    }
}

pub async fn tile(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let Path(rest) = path?;
    let path = format!("tile/{rest}");
    let parsed = parse_path(&path).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (bytes, full) = match parsed {
        TilePath::Hashes(tile) => (instance.read(|r| r.tile(tile))?, tile.is_full()),
        TilePath::Entries(tile) => (instance.read(|r| r.entry_bundle(tile))?, tile.is_full()),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, if full { IMMUTABLE } else { SHORT }),
        ],
        bytes,
    )
        .into_response())
}
