//! Errors as the API shows them: `{"error": {"status", "code", "message"}}`, with a status that
//! says whose fault it was. Internal failures are logged, not shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The rule a rejected entry broke.
    pub rule: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            rule: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }

    /// A failure the client cannot fix: logged with its detail, shown without it.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request; the operator's log has the detail",
        )
    }
}

/// The service's refusals, with the status and code it gives them; internal detail goes to
/// the log only.
impl From<service::ServiceError> for ApiError {
    fn from(error: service::ServiceError) -> Self {
        if let service::ServiceError::Internal(detail) = &error {
            return ApiError::internal(detail);
        }
        let wire = error.to_wire();
        ApiError {
            status: StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: error.code(),
            message: wire.message,
            rule: wire.rule,
        }
    }
}

impl From<store::StoreError> for ApiError {
    fn from(error: store::StoreError) -> Self {
        service::ServiceError::from(error).into()
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        ApiError::bad_request(format!("in the path: {}", rejection.body_text()))
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::bad_request(format!("in the query: {}", rejection.body_text()))
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> Self {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too-large"
        } else {
            "bad-request"
        };
        ApiError::new(status, code, format!("the body: {}", rejection.body_text()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = service::wire::ErrorBody {
            error: service::wire::ErrorDetail {
                status: self.status.as_u16(),
                code: self.code.to_owned(),
                message: self.message,
                rule: self.rule,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

pub async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no such page or route: {} (the API is described at /openapi.json)",
        uri.path()
    ))
}
