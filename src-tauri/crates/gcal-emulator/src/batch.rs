//! `POST /batch/calendar/v3`: multipart/mixed of `application/http` parts, each one
//! Calendar API call run (and counted, and quota-checked) on its own.

use crate::api::{self, Call, Shared};
use crate::errors::{ApiError, ApiResp};
use crate::state::random_token;

pub const MAX_PARTS: usize = 1000;

/// Boundary parameter of a `multipart/mixed` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/mixed") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Splits headers from body at the first empty line (CRLF or LF).
fn split_head(s: &str) -> (&str, &str) {
    let crlf = s.find("\r\n\r\n").map(|i| (i, 4));
    let lf = s.find("\n\n").map(|i| (i, 2));
    let best = match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match best {
        Some((i, n)) => (&s[..i], &s[i + n..]),
        None => (s, ""),
    }
}

fn headers(block: &str) -> Vec<(String, String)> {
    block
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

pub struct Part {
    pub content_id: Option<String>,
    pub method: String,
    /// Path below `/calendar/v3/` (or the full path if it is not under it).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Parses the multipart body; an error message when it is not a valid batch.
pub fn parse(body: &str, boundary: &str) -> Result<Vec<Part>, String> {
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut chunks = body.split(delim.as_str());
    chunks.next(); // preamble
    for chunk in chunks {
        if chunk.starts_with("--") {
            break;
        }
        let chunk = chunk
            .strip_prefix("\r\n")
            .or_else(|| chunk.strip_prefix('\n'))
            .unwrap_or(chunk);
        let chunk = chunk
            .strip_suffix("\r\n")
            .or_else(|| chunk.strip_suffix('\n'))
            .unwrap_or(chunk);
        if chunk.trim().is_empty() {
            continue;
        }
        let (mime_head, http) = split_head(chunk);
        let mh = headers(mime_head);
        let content_id = header(&mh, "content-id").map(String::from);
        let http = http.trim_start_matches(['\r', '\n']);
        let (req_head, req_body) = split_head(http);
        let mut lines = req_head.lines();
        let request_line = lines.next().ok_or("empty part")?;
        let mut it = request_line.split_whitespace();
        let method = it.next().ok_or("missing method")?.to_ascii_uppercase();
        let mut target = it.next().ok_or("missing request target")?.to_string();
        if let Some(rest) = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))
        {
            target = rest
                .find('/')
                .map(|i| rest[i..].to_string())
                .unwrap_or_else(|| "/".into());
        }
        let hs = headers(&lines.collect::<Vec<_>>().join("\n"));
        parts.push(Part {
            content_id,
            method,
            target,
            headers: hs,
            body: req_body.to_string(),
        });
    }
    Ok(parts)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Runs a parsed batch; returns the multipart response body and its boundary.
pub fn run(shared: &Shared, parts: &[Part], outer_auth: Option<&str>) -> (String, String) {
    let b = format!("batch_{}", random_token(24).replace(['-', '_'], "x"));
    let mut out = String::new();
    for p in parts {
        let (path, query) = p.target.split_once('?').unwrap_or((p.target.as_str(), ""));
        let auth = header(&p.headers, "authorization").or(outer_auth);
        let (route, resp) = match path.strip_prefix("/calendar/v3/") {
            Some(rest) => {
                let call = Call {
                    method: &p.method,
                    path: rest,
                    query,
                    auth,
                    if_match: header(&p.headers, "if-match"),
                    body: p.body.as_bytes(),
                };
                let o = api::handle(shared, &call, true);
                (o.route, o.resp)
            }
            None => ("unknown", ApiError::not_found().into_resp()),
        };
        shared.rt().record(&p.method, route, resp.status);
        write_part(&mut out, &b, p.content_id.as_deref(), &resp);
    }
    out.push_str(&format!("--{b}--\r\n"));
    (out, b)
}

fn write_part(out: &mut String, b: &str, cid: Option<&str>, resp: &ApiResp) {
    out.push_str(&format!("--{b}\r\nContent-Type: application/http\r\n"));
    if let Some(cid) = cid {
        // Google answers `<response-ID>` for a request part `<ID>`.
        let inner = cid.trim().trim_start_matches('<').trim_end_matches('>');
        out.push_str(&format!("Content-ID: <response-{inner}>\r\n"));
    }
    out.push_str(&format!(
        "\r\nHTTP/1.1 {} {}\r\n",
        resp.status,
        reason(resp.status)
    ));
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !resp
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        out.push_str("Content-Type: application/json; charset=UTF-8\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {}\r\n\r\n{}\r\n",
        resp.body.len(),
        resp.body
    ));
}
