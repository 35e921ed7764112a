//! Calendar batch requests: several calls in one `multipart/mixed` POST.
//!
//! Each part of the request holds one HTTP request; each part of the answer holds one full
//! HTTP response, tagged `Content-ID: <response-ID>` for the request part `<ID>`. Parts
//! fail on their own, so the result is one `Result` per call. The answer parser is written
//! for hostile input: it returns `BatchParseError`, never panics, and is fuzzed by a
//! proptest below.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::GoogleError;
use super::types::Event;

/// Google accepts up to 1000 calls per batch but recommends at most 50.
pub const MAX_RECOMMENDED_BATCH: usize = 50;
/// Google's hard limit.
pub(crate) const MAX_BATCH: usize = 1000;

/// What one call in a batch does. The calendar is given once, to `CalendarClient::batch`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchCall {
    pub op: BatchOp,
    /// The event id (`None` only for `Insert`/`Import`, whose id is in the body).
    pub event_id: Option<String>,
    pub if_match: Option<String>,
    pub body: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOp {
    Get,
    Insert,
    Import,
    Patch,
    Update,
    Delete,
}

impl BatchCall {
    pub fn get(event_id: impl Into<String>) -> Self {
        Self {
            op: BatchOp::Get,
            event_id: Some(event_id.into()),
            if_match: None,
            body: None,
        }
    }

    /// Insert with the client-chosen id in `event.id`; `sendUpdates=none`. A batch never
    /// emails anyone and never creates a conference: such a write (`WriteOptions` other than
    /// the default) goes as a request of its own (`sync::writer`).
    pub fn insert(event: &Event) -> Result<Self, GoogleError> {
        Ok(Self {
            op: BatchOp::Insert,
            event_id: None,
            if_match: None,
            body: Some(to_body(event)?),
        })
    }

    pub fn import(event: &Event) -> Result<Self, GoogleError> {
        Ok(Self {
            op: BatchOp::Import,
            event_id: None,
            if_match: None,
            body: Some(to_body(event)?),
        })
    }

    pub fn patch(event_id: impl Into<String>, body: Value, if_match: Option<&str>) -> Self {
        Self {
            op: BatchOp::Patch,
            event_id: Some(event_id.into()),
            if_match: if_match.map(str::to_owned),
            body: Some(body),
        }
    }

    pub fn update(
        event_id: impl Into<String>,
        event: &Event,
        if_match: Option<&str>,
    ) -> Result<Self, GoogleError> {
        Ok(Self {
            op: BatchOp::Update,
            event_id: Some(event_id.into()),
            if_match: if_match.map(str::to_owned),
            body: Some(to_body(event)?),
        })
    }

    pub fn delete(event_id: impl Into<String>, if_match: Option<&str>) -> Self {
        Self {
            op: BatchOp::Delete,
            event_id: Some(event_id.into()),
            if_match: if_match.map(str::to_owned),
            body: None,
        }
    }

    fn method(&self) -> &'static str {
        match self.op {
            BatchOp::Get => "GET",
            BatchOp::Insert | BatchOp::Import => "POST",
            BatchOp::Patch => "PATCH",
            BatchOp::Update => "PUT",
            BatchOp::Delete => "DELETE",
        }
    }

    /// The request path, given the calendar API's path (`/calendar/v3`) and the calendar.
    pub(crate) fn path(&self, api_path: &str, calendar: &str) -> Result<String, GoogleError> {
        let events = format!(
            "{}/calendars/{}/events",
            api_path.trim_end_matches('/'),
            encode_segment(calendar)
        );
        let id = || {
            self.event_id
                .as_deref()
                .filter(|id| !id.is_empty())
                .map(encode_segment)
                .ok_or_else(|| GoogleError::configuration("A batch call needs an event id"))
        };
        Ok(match self.op {
            BatchOp::Insert => format!("{events}?sendUpdates=none"),
            BatchOp::Import => format!("{events}/import"),
            BatchOp::Get => format!("{events}/{}", id()?),
            BatchOp::Patch | BatchOp::Update | BatchOp::Delete => {
                format!("{events}/{}?sendUpdates=none", id()?)
            }
        })
    }
}

fn to_body(event: &Event) -> Result<Value, GoogleError> {
    serde_json::to_value(event)
        .map_err(|e| GoogleError::configuration(format!("Cannot encode the event: {e}")))
}

/// Percent-encodes one path segment (calendar ids contain `@` and `#`).
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Builds the multipart body; part `i` carries `Content-ID: <item-i>`.
pub fn build_batch_body(
    boundary: &str,
    api_path: &str,
    calendar: &str,
    calls: &[BatchCall],
) -> Result<Vec<u8>, GoogleError> {
    let mut out = String::new();
    for (index, call) in calls.iter().enumerate() {
        out.push_str(&format!("--{boundary}\r\n"));
        out.push_str("Content-Type: application/http\r\n");
        out.push_str("Content-Transfer-Encoding: binary\r\n");
        out.push_str(&format!("Content-ID: <item-{index}>\r\n\r\n"));
        out.push_str(&format!(
            "{} {} HTTP/1.1\r\n",
            call.method(),
            call.path(api_path, calendar)?
        ));
        if let Some(etag) = &call.if_match {
            if etag.contains(['\r', '\n']) {
                return Err(GoogleError::configuration(
                    "An etag cannot contain a line break",
                ));
            }
            out.push_str(&format!("If-Match: {etag}\r\n"));
        }
        match &call.body {
            Some(body) => {
                let json = serde_json::to_string(body).map_err(|e| {
                    GoogleError::configuration(format!("Cannot encode a batch body: {e}"))
                })?;
                out.push_str("Content-Type: application/json; charset=UTF-8\r\n");
                out.push_str(&format!("Content-Length: {}\r\n\r\n", json.len()));
                out.push_str(&json);
                out.push_str("\r\n");
            }
            None => out.push_str("\r\n"),
        }
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    Ok(out.into_bytes())
}

/// One part of a batch answer.
#[derive(Clone, PartialEq, Eq)]
pub struct BatchResponse {
    /// The part's `Content-ID` without `<>`, e.g. `response-item-3`.
    pub content_id: Option<String>,
    pub status: u16,
    /// The inner response's headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl fmt::Debug for BatchResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchResponse")
            .field("content_id", &self.content_id)
            .field("status", &self.status)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

impl BatchResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, GoogleError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            GoogleError::invalid_response(format!(
                "A part of Google's batch answer could not be read: {e}"
            ))
        })
    }

    /// The body as an event (insert, import, get, patch, update answers).
    pub fn event(&self) -> Result<Event, GoogleError> {
        self.json()
    }

    /// The index of the request part this answers, from `Content-ID: <response-item-N>`.
    pub(crate) fn call_index(&self) -> Option<usize> {
        let id = self.content_id.as_deref()?;
        let id = id.strip_prefix("response-").unwrap_or(id);
        id.strip_prefix("item-")?.parse().ok()
    }
}

/// One call's outcome: its answer when 2xx, else the classified error.
pub type BatchResult = Result<BatchResponse, GoogleError>;

/// Why a batch answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchParseError {
    /// The answer's `Content-Type` has no multipart boundary.
    MissingBoundary,
    /// No closing delimiter; the answer was cut off.
    Truncated,
    /// Part `index` (0-based) is not an HTTP response.
    MalformedPart { index: usize, what: String },
}

impl fmt::Display for BatchParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingBoundary => f.write_str("the batch answer has no multipart boundary"),
            Self::Truncated => f.write_str("the batch answer was cut off"),
            Self::MalformedPart { index, what } => {
                write!(
                    f,
                    "part {} of the batch answer is malformed: {what}",
                    index + 1
                )
            }
        }
    }
}

impl std::error::Error for BatchParseError {}

impl From<BatchParseError> for GoogleError {
    fn from(error: BatchParseError) -> Self {
        GoogleError::invalid_response(format!("Google's batch answer could not be read: {error}"))
    }
}

/// The `boundary` parameter of a `multipart/*` content type.
pub(crate) fn boundary_of(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty() && value.len() <= 200).then(|| value.to_owned())
    })
}

/// Parses a `multipart/mixed` batch answer into its parts, in answer order.
pub fn parse_batch_response(
    content_type: &str,
    body: &[u8],
) -> Result<Vec<BatchResponse>, BatchParseError> {
    let boundary = boundary_of(content_type).ok_or(BatchParseError::MissingBoundary)?;
    let delimiter = format!("--{boundary}").into_bytes();

    // Delimiters count only at the start of a line (RFC 2046 §5.1.1).
    let mut starts = Vec::new();
    let mut from = 0;
    while let Some(found) = find(&body[from..], &delimiter) {
        let at = from + found;
        if at == 0 || body[at - 1] == b'\n' {
            starts.push(at);
        }
        from = at + delimiter.len();
    }

    let mut parts = Vec::new();
    let mut closed = false;
    for (n, &start) in starts.iter().enumerate() {
        let after = start + delimiter.len();
        if body[after..].starts_with(b"--") {
            closed = true;
            break;
        }
        // The rest of the delimiter line (transport padding) is ignored.
        let content_start = match find(&body[after..], b"\n") {
            Some(eol) => after + eol + 1,
            None => return Err(BatchParseError::Truncated),
        };
        let Some(&next) = starts.get(n + 1) else {
            return Err(BatchParseError::Truncated);
        };
        // The line break before the next delimiter belongs to the delimiter.
        let mut content_end = next;
        if content_end > content_start && body[content_end - 1] == b'\n' {
            content_end -= 1;
            if content_end > content_start && body[content_end - 1] == b'\r' {
                content_end -= 1;
            }
        }
        let content = &body[content_start..content_end.max(content_start)];
        parts.push(parse_part(parts.len(), content)?);
    }
    if !closed {
        return Err(BatchParseError::Truncated);
    }
    Ok(parts)
}

fn parse_part(index: usize, content: &[u8]) -> Result<BatchResponse, BatchParseError> {
    let malformed = |what: &str| BatchParseError::MalformedPart {
        index,
        what: what.to_owned(),
    };
    let (outer_headers, inner) =
        split_head(content).ok_or_else(|| malformed("no blank line after the part headers"))?;
    let outer = parse_headers(outer_headers);
    let content_id = outer.iter().find(|(n, _)| n == "content-id").map(|(_, v)| {
        v.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned()
    });

    // An inner response without a body may also lack the blank line.
    let (inner_head, inner_body) = split_head(inner).unwrap_or((inner, &[][..]));
    let head = String::from_utf8_lossy(inner_head);
    let mut lines = head.lines();
    let status_line = lines
        .by_ref()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or_else(|| malformed("no HTTP status line"))?;
    let mut words = status_line.split_whitespace();
    let version = words.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Err(malformed("the status line does not start with HTTP/"));
    }
    let status = words
        .next()
        .and_then(|code| (code.len() == 3).then_some(code))
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|code| (100..=599).contains(code))
        .ok_or_else(|| malformed("the status code is not a number from 100 to 599"))?;
    let rest: Vec<&str> = lines.collect();
    let headers = parse_headers(rest.join("\n").as_bytes());
    Ok(BatchResponse {
        content_id,
        status,
        headers,
        body: inner_body.to_vec(),
    })
}

/// Splits at the first blank line (CRLF or LF style): (head, rest).
fn split_head(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let crlf = find(bytes, b"\r\n\r\n").map(|i| (i, 4));
    let lf = find(bytes, b"\n\n").map(|i| (i, 2));
    let (at, len) = match (crlf, lf) {
        (Some(a), Some(b)) => {
            if a.0 <= b.0 {
                a
            } else {
                b
            }
        }
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => return None,
    };
    Some((&bytes[..at], &bytes[at + len..]))
}

fn parse_headers(bytes: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            let name = name.trim();
            (!name.is_empty()).then(|| (name.to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Puts the parts in call order: by `Content-ID` when every part names a distinct known
/// call, else by position. Calls without an answer get an error of their own.
pub(crate) fn match_to_calls(parts: Vec<BatchResponse>, calls: usize) -> Vec<BatchResult> {
    let mut slots: Vec<Option<BatchResponse>> = (0..calls).map(|_| None).collect();
    let by_id: Option<Vec<usize>> = parts.iter().map(BatchResponse::call_index).collect();
    let ids_usable = by_id.as_ref().is_some_and(|ids| {
        let mut seen = vec![false; calls];
        ids.iter()
            .all(|&i| i < calls && !std::mem::replace(&mut seen[i], true))
    });
    match (ids_usable, by_id) {
        (true, Some(ids)) => {
            for (part, index) in parts.into_iter().zip(ids) {
                slots[index] = Some(part);
            }
        }
        _ => {
            for (slot, part) in slots.iter_mut().zip(parts) {
                *slot = Some(part);
            }
        }
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(index, slot)| match slot {
            Some(part) if (200..300).contains(&part.status) => Ok(part),
            Some(part) => Err(GoogleError::from_response(part.status, &part.body, None)),
            None => Err(GoogleError::invalid_response(format!(
                "Google's batch answer has no part for call {}",
                index + 1
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const CT: &str = "multipart/mixed; boundary=batch_abc";

    fn answer(parts: &[(&str, u16, &str)], eol: &str) -> Vec<u8> {
        let mut s = String::new();
        for (id, status, body) in parts {
            s.push_str(&format!(
                "--batch_abc{eol}Content-Type: application/http{eol}"
            ));
            s.push_str(&format!("Content-ID: <{id}>{eol}{eol}"));
            s.push_str(&format!(
                "HTTP/1.1 {status} X{eol}Content-Type: application/json; charset=UTF-8{eol}"
            ));
            s.push_str(&format!("ETag: \"e{status}\"{eol}{eol}{body}{eol}"));
        }
        s.push_str(&format!("--batch_abc--{eol}"));
        s.into_bytes()
    }

    #[test]
    fn builds_parts_with_paths_and_if_match() {
        let calls = vec![
            BatchCall::patch("ev1", json!({"summary": "x"}), Some("\"etag1\"")),
            BatchCall::delete("ev2", None),
            BatchCall::get("ev3"),
        ];
        let body = build_batch_body("b0", "/calendar/v3", "me@example.com", &calls).unwrap();
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("Content-ID: <item-0>\r\n\r\nPATCH /calendar/v3/calendars/me@example.com/events/ev1?sendUpdates=none HTTP/1.1\r\nIf-Match: \"etag1\"\r\n"));
        assert!(text.contains(
            "DELETE /calendar/v3/calendars/me@example.com/events/ev2?sendUpdates=none HTTP/1.1"
        ));
        assert!(text.contains("GET /calendar/v3/calendars/me@example.com/events/ev3 HTTP/1.1"));
        assert!(text.ends_with("--b0--\r\n"));
        assert!(BatchCall::delete("", None).path("/c", "p").is_err());
        assert_eq!(encode_segment("a b#c@d"), "a%20b%23c@d");
    }

    #[test]
    fn parses_mixed_results_in_both_line_styles() {
        for eol in ["\r\n", "\n"] {
            let body = answer(
                &[
                    ("response-item-0", 200, r#"{"id":"a"}"#),
                    (
                        "response-item-1",
                        412,
                        r#"{"error":{"errors":[{"reason":"conditionNotMet"}],"code":412,"message":"Precondition Failed"}}"#,
                    ),
                    ("response-item-2", 204, ""),
                ],
                eol,
            );
            let parts = parse_batch_response(CT, &body).unwrap();
            assert_eq!(parts.len(), 3);
            assert_eq!(parts[0].status, 200);
            assert_eq!(parts[0].header("etag"), Some("\"e200\""));
            assert_eq!(parts[0].body, br#"{"id":"a"}"#);
            assert_eq!(parts[2].body, b"");
            let results = match_to_calls(parts, 3);
            assert_eq!(
                results[0].as_ref().unwrap().event().unwrap().id.as_deref(),
                Some("a")
            );
            assert!(results[1].as_ref().unwrap_err().is_precondition_failed());
            assert!(results[2].is_ok());
        }
    }

    #[test]
    fn reorders_by_content_id_and_flags_missing_parts() {
        let body = answer(
            &[
                ("response-item-2", 200, "{}"),
                ("response-item-0", 404, "{}"),
            ],
            "\r\n",
        );
        let results = match_to_calls(parse_batch_response(CT, &body).unwrap(), 3);
        assert!(results[0].as_ref().unwrap_err().is_not_found());
        assert!(results[1]
            .as_ref()
            .unwrap_err()
            .message
            .contains("no part for call 2"));
        assert!(results[2].is_ok());
    }

    #[test]
    fn quoted_boundary_and_missing_boundary() {
        let body = answer(&[("response-item-0", 200, "{}")], "\r\n");
        assert_eq!(
            parse_batch_response("multipart/mixed; charset=x; boundary=\"batch_abc\"", &body)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            parse_batch_response("application/json", &body),
            Err(BatchParseError::MissingBoundary)
        );
    }

    #[test]
    fn malformed_answers_are_errors() {
        let truncated = answer(&[("response-item-0", 200, "{}")], "\r\n");
        let cut = &truncated[..truncated.len() - 20];
        assert_eq!(
            parse_batch_response(CT, cut),
            Err(BatchParseError::Truncated)
        );
        let bad_status = b"--batch_abc\r\nContent-ID: <response-item-0>\r\n\r\nHTTP/1.1 OK fine\r\n\r\n{}\r\n--batch_abc--\r\n";
        assert!(matches!(
            parse_batch_response(CT, bad_status),
            Err(BatchParseError::MalformedPart { index: 0, .. })
        ));
        let no_http = b"--batch_abc\r\nContent-ID: <x>\r\n\r\n<html>\r\n--batch_abc--\r\n";
        assert!(parse_batch_response(CT, no_http).is_err());
        assert_eq!(
            parse_batch_response(CT, b""),
            Err(BatchParseError::Truncated)
        );
        let err: GoogleError = BatchParseError::Truncated.into();
        assert!(err.message.contains("cut off"));
    }

    proptest! {
        #[test]
        fn parser_never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..600), ct in ".{0,60}") {
            let _ = parse_batch_response(&ct, &body);
            let _ = parse_batch_response(CT, &body);
        }

        #[test]
        fn parser_never_panics_on_mutated_answers(
            cut in 0usize..400,
            flip in proptest::collection::vec((0usize..400, any::<u8>()), 0..6),
        ) {
            let mut body = answer(&[("response-item-0", 200, r#"{"id":"a"}"#), ("response-item-1", 500, "x")], "\r\n");
            for (at, byte) in flip {
                if at < body.len() { body[at] = byte; }
            }
            body.truncate(cut.min(body.len()));
            let _ = parse_batch_response(CT, &body);
        }

        #[test]
        fn generated_answers_round_trip(
            parts in proptest::collection::vec((100u16..600, "[a-zA-Z0-9 {}\":,]{0,40}"), 0..8),
            crlf in any::<bool>(),
        ) {
            let ids: Vec<String> = (0..parts.len()).map(|i| format!("response-item-{i}")).collect();
            let spec: Vec<(&str, u16, &str)> = parts.iter().zip(&ids).map(|((s, b), id)| (id.as_str(), *s, b.as_str())).collect();
            let body = answer(&spec, if crlf { "\r\n" } else { "\n" });
            let parsed = parse_batch_response(CT, &body).unwrap();
            prop_assert_eq!(parsed.len(), parts.len());
            for (got, (status, text)) in parsed.iter().zip(&parts) {
                prop_assert_eq!(got.status, *status);
                prop_assert_eq!(&got.body, text.as_bytes());
            }
        }
    }
}
