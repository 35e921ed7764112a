//! Google's JSON error envelope and the plain response type shared by direct calls and
//! batch parts.

use serde_json::json;

/// A response produced by the Calendar API layer, independent of axum so the batch
/// endpoint can serialise it into a multipart part.
#[derive(Debug, Clone)]
pub struct ApiResp {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl ApiResp {
    pub fn json(status: u16, body: String) -> Self {
        ApiResp {
            status,
            headers: vec![("Content-Type", "application/json; charset=UTF-8".into())],
            body,
        }
    }

    pub fn value(status: u16, v: &serde_json::Value) -> Self {
        Self::json(status, v.to_string())
    }

    pub fn empty(status: u16) -> Self {
        ApiResp {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }
}

/// One Google API error: HTTP code, `reason` and human message.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// `location` of the error (e.g. `Authorization` for auth errors).
    pub location: Option<&'static str>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            location: None,
        }
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(400, "badRequest", msg)
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::new(400, "invalid", msg)
    }
    pub fn required(msg: impl Into<String>) -> Self {
        Self::new(400, "required", msg)
    }
    pub fn not_found() -> Self {
        Self::new(404, "notFound", "Not Found")
    }
    pub fn forbidden() -> Self {
        Self::new(403, "forbidden", "Forbidden")
    }
    pub fn duplicate() -> Self {
        Self::new(409, "duplicate", "The requested identifier already exists.")
    }
    pub fn deleted() -> Self {
        Self::new(410, "deleted", "Resource has been deleted")
    }
    pub fn full_sync_required() -> Self {
        Self::new(
            410,
            "fullSyncRequired",
            "Sync token is no longer valid, a full sync is required.",
        )
    }
    pub fn condition_not_met() -> Self {
        Self::new(412, "conditionNotMet", "Precondition Failed")
    }
    pub fn auth_error() -> Self {
        ApiError {
            code: 401,
            reason: "authError",
            message: "Invalid Credentials".into(),
            location: Some("Authorization"),
        }
    }
    pub fn login_required() -> Self {
        ApiError {
            code: 401,
            reason: "required",
            message: "Login Required.".into(),
            location: Some("Authorization"),
        }
    }
    pub fn backend(code: u16) -> Self {
        Self::new(code, "backendError", "Backend Error")
    }
    pub fn rate_limit(code: u16) -> Self {
        Self::new(code, "rateLimitExceeded", "Rate Limit Exceeded")
    }
    pub fn user_rate_limit(code: u16) -> Self {
        Self::new(code, "userRateLimitExceeded", "User Rate Limit Exceeded")
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut item = json!({"domain": "global", "reason": self.reason, "message": self.message});
        if let Some(loc) = self.location {
            item["locationType"] = json!("header");
            item["location"] = json!(loc);
        }
        json!({"error": {"errors": [item], "code": self.code, "message": self.message}})
    }

    pub fn into_resp(self) -> ApiResp {
        let mut r = ApiResp::value(self.code, &self.to_json());
        if self.code == 401 {
            r.headers.push((
                "WWW-Authenticate",
                "Bearer realm=\"https://accounts.google.com/\"".into(),
            ));
        }
        r
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
