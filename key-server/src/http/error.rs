//! The one error contract of the API: every refusal is
//! `{"error": kind, "message": "a sentence a person can act on", …extra}`
//! with a status that belongs to the kind. The kinds are stable strings: the
//! opener keeps one table of them, so a kind is never renamed.
//!
//! Handlers return [`Refusal`]; the server's own [`crate::Error`] turns into
//! one (internal errors are logged once, here, and the client learns nothing
//! of them). axum's own rejections (malformed JSON, wrong content type, body
//! too big, unknown route, wrong method) get the same shape: [`ApiJson`]
//! for the bodies, [`json_refusals`] for everything else under `/api/`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use crate::Error;

/// Why the API refused a request. `as_str` is the stable `error` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// The request is malformed or a field is out of bounds.
    BadRequest,
    /// Too many attempts; `Retry-After` says when to come back.
    RateLimited,
    /// The password queue is full; `Retry-After` says when to come back.
    Busy,
    /// The message was not sent to this address (or does not exist).
    NotARecipient,
    /// Wrong password.
    WrongPassword,
    /// Wrong one-time passcode.
    WrongPasscode,
    /// No one-time passcode that can still be used (expired, used, replaced).
    PasscodeExpired,
    /// The account is locked after too many wrong passwords.
    Locked,
    /// The remembered browser is no longer (or never was) remembered.
    NotRemembered,
    /// The address is not confirmed yet.
    Unconfirmed,
    /// The account is disabled.
    Disabled,
    /// The password is past its policy's age.
    PasswordExpired,
    /// The message expired or was withdrawn; its key is gone.
    Gone,
    /// The message's sender locked it for now (the key is kept).
    MessageLocked,
    /// No valid sender token.
    Unauthorized,
    /// Not allowed.
    Forbidden,
    /// Exists already.
    Conflict,
    /// No such route or thing.
    NotFound,
    /// The route does not take this method.
    MethodNotAllowed,
    /// The body is larger than the server reads.
    PayloadTooLarge,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// The server failed; it is logged.
    Internal,
}

impl Kind {
    /// The stable name, as the `error` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BadRequest => "bad_request",
            Kind::RateLimited => "rate_limited",
            Kind::Busy => "busy",
            Kind::NotARecipient => "not_a_recipient",
            Kind::WrongPassword => "wrong_password",
            Kind::WrongPasscode => "wrong_passcode",
            Kind::PasscodeExpired => "passcode_expired",
            Kind::Locked => "locked",
            Kind::NotRemembered => "not_remembered",
            Kind::Unconfirmed => "unconfirmed",
            Kind::Disabled => "disabled",
            Kind::PasswordExpired => "password_expired",
            Kind::Gone => "gone",
            Kind::MessageLocked => "message_locked",
            Kind::Unauthorized => "unauthorized",
            Kind::Forbidden => "forbidden",
            Kind::Conflict => "conflict",
            Kind::NotFound => "not_found",
            Kind::MethodNotAllowed => "method_not_allowed",
            Kind::PayloadTooLarge => "payload_too_large",
            Kind::UnsupportedMediaType => "unsupported_media_type",
            Kind::Internal => "internal",
        }
    }

    /// The HTTP status that goes with the kind.
    pub fn status(self) -> StatusCode {
        match self {
            Kind::BadRequest => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Kind::NotARecipient
            | Kind::Unconfirmed
            | Kind::Disabled
            | Kind::PasswordExpired
            | Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::WrongPassword
            | Kind::WrongPasscode
            | Kind::PasscodeExpired
            | Kind::NotRemembered
            | Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Locked | Kind::MessageLocked => StatusCode::LOCKED,
            Kind::Gone => StatusCode::GONE,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The kind that goes with an error status (for responses made by
    /// layers that know only the status).
    fn for_status(status: StatusCode) -> Kind {
        match status {
            StatusCode::NOT_FOUND => Kind::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Kind::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Kind::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Kind::UnsupportedMediaType,
            StatusCode::UNAUTHORIZED => Kind::Unauthorized,
            StatusCode::FORBIDDEN => Kind::Forbidden,
            StatusCode::CONFLICT => Kind::Conflict,
            StatusCode::TOO_MANY_REQUESTS => Kind::RateLimited,
            StatusCode::SERVICE_UNAVAILABLE => Kind::Busy,
            s if s.is_client_error() => Kind::BadRequest,
            _ => Kind::Internal,
        }
    }

    /// The sentence for a kind when nothing more precise is known.
    fn default_message(self) -> &'static str {
        match self {
            Kind::NotFound => "There is nothing at this address. Check the URL.",
            Kind::MethodNotAllowed => "This address does not take this method.",
            Kind::PayloadTooLarge => "The request is too large (at most 64 KiB).",
            Kind::UnsupportedMediaType => {
                "Send the request as JSON, with Content-Type: application/json."
            }
            Kind::Unauthorized => "A valid sender token is required (Authorization: Bearer …).",
            Kind::RateLimited => "Too many attempts. Wait a few minutes and try again.",
            Kind::Busy => "The server is busy. Try again in a moment.",
            Kind::Internal => {
                "The server failed. Try again later; if it persists, tell its administrator."
            }
            _ => "The request was refused.",
        }
    }
}

/// One API refusal: a kind, a sentence, extra fields and maybe a `Retry-After`.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Why.
    pub kind: Kind,
    /// A sentence a person can act on.
    pub message: String,
    extra: Map<String, Value>,
    retry_after: Option<u64>,
}

impl Refusal {
    /// A refusal of `kind` saying `message`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Refusal {
        Refusal {
            kind,
            message: message.into(),
            extra: Map::new(),
            retry_after: None,
        }
    }

    /// `kind` with its default sentence.
    pub fn of(kind: Kind) -> Refusal {
        Refusal::new(kind, kind.default_message())
    }

    /// Adds a field to the body.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Refusal {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// Adds `Retry-After: seconds`.
    pub fn retry_after(mut self, seconds: u64) -> Refusal {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The stable kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// An extra field of the body (`attempts_left`, `locked_until`).
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.extra.get(name)
    }
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Refusal {
        match error {
            Error::Unauthorized => Refusal::of(Kind::Unauthorized),
            Error::Unprocessable(why) => Refusal::new(Kind::BadRequest, why),
            Error::Conflict(why) => Refusal::new(Kind::Conflict, why),
            Error::Forbidden(why) => Refusal::new(Kind::Forbidden, why),
            Error::Busy => Refusal::of(Kind::Busy).retry_after(1),
            error => {
                // Logged once here; the client learns nothing about the internals.
                tracing::error!(%error, "request failed");
                Refusal::of(Kind::Internal)
            }
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("error".into(), json!(self.kind.as_str()));
        body.insert("message".into(), json!(self.message));
        body.extend(self.extra);
        let mut response = (self.kind.status(), Json(Value::Object(body))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Refusal::from(self).into_response()
    }
}

/// A JSON body whose rejections follow the contract (instead of axum's
/// plain-text ones).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Refusal;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// axum's refusal of a JSON body, in the contract's shape.
pub(crate) fn json_rejection(rejection: JsonRejection) -> Refusal {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Refusal::of(Kind::UnsupportedMediaType),
        JsonRejection::JsonSyntaxError(_) => Refusal::new(
            Kind::BadRequest,
            "The body is not valid JSON. Send a JSON object.",
        ),
        // serde says which field is missing, unknown or of the wrong type:
        // that names the client's mistake and nothing of the server.
        JsonRejection::JsonDataError(error) => Refusal::new(
            Kind::BadRequest,
            format!("The body is refused: {}.", error.body_text()),
        ),
        JsonRejection::BytesRejection(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Refusal::of(Kind::PayloadTooLarge)
        }
        other => Refusal::new(Kind::for_status(other.status()), other.body_text()),
    }
}

/// Middleware: an error answer under `/api/` that is not JSON yet (an
/// unknown route, a wrong method, a body refused by a layer before any
/// handler ran) becomes the contract's JSON for its status.
pub async fn json_refusals(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let kind = Kind::for_status(status);
    let mut refusal = Refusal::of(kind).into_response();
    // Keep the layer's own status and headers (Allow, Retry-After, CORS);
    // a bare 400 is the contract's `bad_request`, 422.
    if status != StatusCode::BAD_REQUEST {
        *refusal.status_mut() = status;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let (_, body) = refusal.into_parts();
    Response::from_parts(parts, body)
}
