//! OAuth 2.0 endpoints: consent page, token, revoke, userinfo.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::api::{parse_query, Shared};
use crate::state::{now_ms, random_token, AuthCode, Data, DEFAULT_SCOPE};

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

fn oauth_error(status: StatusCode, error: &str, desc: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        json!({"error": error, "error_description": desc}).to_string(),
    )
        .into_response()
}

fn record(s: &Shared, method: &str, route: &str, status: StatusCode) {
    s.rt().record(method, route, status.as_u16());
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn error_page(msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html><title>Error</title><h1>Access blocked: Authorization Error</h1><p>{}</p>",
            html_escape(msg)
        )),
    )
        .into_response()
}

/// A loopback redirect URI as Google accepts for desktop clients.
fn loopback_ok(uri: &str) -> bool {
    match url::Url::parse(uri) {
        Ok(u) => {
            u.scheme() == "http"
                && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
                && u.fragment().is_none()
        }
        Err(_) => false,
    }
}

/// Validates the authorization request; the error text for the page when invalid.
fn check_auth_request(data: &Data, q: &[(String, String)]) -> Result<(), String> {
    let client = param(q, "client_id")
        .ok_or("Error 400: invalid_request. Missing required parameter: client_id")?;
    if !data.clients.is_empty() && !data.clients.contains_key(client) {
        return Err("Error 401: invalid_client. The OAuth client was not found.".into());
    }
    let ru = param(q, "redirect_uri")
        .ok_or("Error 400: invalid_request. Missing required parameter: redirect_uri")?;
    if !loopback_ok(ru) {
        return Err(
            "Error 400: redirect_uri_mismatch. Only loopback redirect URIs are allowed.".into(),
        );
    }
    if let Some(m) = param(q, "code_challenge_method") {
        if m != "S256" && m != "plain" {
            return Err("Error 400: invalid_request. Invalid code_challenge_method.".into());
        }
    }
    if param(q, "scope").is_none_or(|s| s.trim().is_empty()) {
        return Err("Error 400: invalid_request. Missing required parameter: scope".into());
    }
    Ok(())
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut u = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return error_page("invalid redirect_uri"),
    };
    {
        let mut qp = u.query_pairs_mut();
        for (k, v) in pairs {
            qp.append_pair(k, v);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, u.to_string())]).into_response()
}

/// What the user grants of what the app `asked` for: with Google's granular consent they
/// may untick scopes (`ticked`; `None` leaves all ticked). Google then still redirects
/// with a code, and the code's `scope` (in the redirect and the token response) lists only
/// what was granted.
fn granted_scope(asked: &str, ticked: Option<&str>) -> String {
    match ticked {
        None => asked.to_string(),
        Some(ticked) => asked
            .split_whitespace()
            .filter(|s| ticked.split_whitespace().any(|t| t == *s))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Completes the consent: redirect with a code (allow) or `access_denied` (deny).
fn decide(s: &Shared, q: &[(String, String)], allow: bool, account: Option<&str>) -> Response {
    let redirect_uri = param(q, "redirect_uri").unwrap_or_default().to_string();
    let state = param(q, "state").unwrap_or_default();
    if !allow {
        let mut pairs = vec![("error", "access_denied")];
        if !state.is_empty() {
            pairs.push(("state", state));
        }
        return redirect_with(&redirect_uri, &pairs);
    }
    if param(q, "response_type") != Some("code") {
        return redirect_with(
            &redirect_uri,
            &[("error", "unsupported_response_type"), ("state", state)],
        );
    }
    let asked = param(q, "scope").unwrap_or(DEFAULT_SCOPE);
    let code = format!("4/emu-{}", random_token(40));
    let scope;
    {
        let mut data = s.write();
        scope = granted_scope(asked, data.consent_scopes.as_deref());
        let email = match account.filter(|a| !a.trim().is_empty()) {
            Some(a) => a.trim().to_string(),
            None => data
                .accounts
                .first()
                .map(|a| a.email.clone())
                .unwrap_or_else(|| "user@example.com".into()),
        };
        data.ensure_account(&email);
        data.codes.insert(
            code.clone(),
            AuthCode {
                email,
                client_id: param(q, "client_id").unwrap_or_default().into(),
                redirect_uri: redirect_uri.clone(),
                scope: scope.clone(),
                code_challenge: param(q, "code_challenge").map(String::from),
                code_challenge_method: param(q, "code_challenge_method").map(String::from),
                expires_at_ms: now_ms() + 600_000,
                used: false,
            },
        );
    }
    let mut pairs = vec![("code", code.as_str()), ("scope", scope.as_str())];
    if !state.is_empty() {
        pairs.push(("state", state));
    }
    redirect_with(&redirect_uri, &pairs)
}

fn consent_page(data: &Data, q: &[(String, String)]) -> Response {
    let hidden: String = q
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                html_escape(k),
                html_escape(v)
            )
        })
        .collect();
    let hint = param(q, "login_hint");
    let mut accounts: String = data
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let checked = if hint == Some(a.email.as_str()) || (hint.is_none() && i == 0) { " checked" } else { "" };
            format!(
                "<label><input type=\"radio\" name=\"account\" value=\"{e}\"{checked}> {e}</label><br>",
                e = html_escape(&a.email)
            )
        })
        .collect();
    let other = hint
        .filter(|h| data.account(h).is_none())
        .or(if data.accounts.is_empty() {
            Some("user@example.com")
        } else {
            None
        })
        .unwrap_or("");
    accounts.push_str(&format!(
        "<label><input type=\"radio\" name=\"account\" value=\"\"{}> another account: <input name=\"new_email\" id=\"new_email\" value=\"{}\"></label>",
        if other.is_empty() { "" } else { " checked" },
        html_escape(other)
    ));
    let scopes: String = param(q, "scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(|s| format!("<li>{}</li>", html_escape(s)))
        .collect();
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in - Google Accounts (emulator)</title></head>\
<body><h1>Choose an account</h1><p>to continue to the application (client {client})</p>\
<form method=\"post\" action=\"/o/oauth2/v2/auth/decide\">{hidden}{accounts}\
<p>The application wants to:</p><ul>{scopes}</ul>\
<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button> \
<button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">Allow</button></form></body></html>",
        client = html_escape(param(q, "client_id").unwrap_or_default()),
    ))
    .into_response()
}

pub async fn auth_get(State(s): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let q = parse_query(raw.as_deref().unwrap_or(""));
    let (check, auto) = {
        let data = s.read();
        (check_auth_request(&data, &q), data.consent_auto.clone())
    };
    let resp = match check {
        Err(msg) => error_page(&msg),
        Ok(()) => match auto.as_deref() {
            Some("allow") => decide(&s, &q, true, param(&q, "login_hint")),
            Some("deny") => decide(&s, &q, false, None),
            _ => consent_page(&s.read(), &q),
        },
    };
    record(&s, "GET", "oauth.authorize", resp.status());
    resp
}

pub async fn auth_decide(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let q = parse_query(&String::from_utf8_lossy(&body));
    let check = check_auth_request(&s.read(), &q);
    let resp = match check {
        Err(msg) => error_page(&msg),
        Ok(()) => {
            let allow = param(&q, "decision") == Some("allow");
            let account = param(&q, "account")
                .filter(|a| !a.is_empty())
                .or_else(|| param(&q, "new_email"))
                .map(String::from);
            let mut r = decide(&s, &q, allow, account.as_deref());
            if r.status() == StatusCode::FOUND {
                *r.status_mut() = StatusCode::SEE_OTHER;
            }
            r
        }
    };
    record(&s, "POST", "oauth.authorize", resp.status());
    resp
}

/// Client id and secret from the form or from HTTP Basic authentication.
fn client_credentials(
    headers: &HeaderMap,
    q: &[(String, String)],
) -> (Option<String>, Option<String>) {
    if let Some(b) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b.trim()) {
            let raw = String::from_utf8_lossy(&raw).into_owned();
            if let Some((id, secret)) = raw.split_once(':') {
                let dec = |x: &str| {
                    url::form_urlencoded::parse(format!("a={x}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                return (Some(dec(id)), Some(dec(secret)));
            }
        }
    }
    (
        param(q, "client_id").map(String::from),
        param(q, "client_secret").map(String::from),
    )
}

fn id_token(data: &Data, email: &str, client_id: &str) -> String {
    let sub = data
        .account(email)
        .map(|a| a.sub.clone())
        .unwrap_or_default();
    let now = now_ms() / 1000;
    let head =
        B64URL.encode(json!({"alg": "RS256", "kid": "gcal-emulator", "typ": "JWT"}).to_string());
    let body = B64URL.encode(
        json!({
            "iss": "https://accounts.google.com", "aud": client_id, "azp": client_id,
            "sub": sub, "email": email, "email_verified": true, "iat": now, "exp": now + 3600
        })
        .to_string(),
    );
    // Unsigned: the emulator has no Google key; clients must not rely on verifying it.
    format!("{head}.{body}.{}", B64URL.encode("gcal-emulator-unsigned"))
}

fn token_inner(s: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    let q = parse_query(&String::from_utf8_lossy(body));
    let (client_id, secret) = client_credentials(headers, &q);
    let mut data = s.write();
    if !data.clients.is_empty() {
        let Some(cid) = client_id.as_deref() else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: client_id",
            );
        };
        let Some(expected) = data.clients.get(cid) else {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The OAuth client was not found.",
            );
        };
        match secret.as_deref() {
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "client_secret is missing.",
                )
            }
            Some(sec) if sec != expected => {
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized")
            }
            Some(_) => {}
        }
    }
    let client_id = client_id.unwrap_or_default();
    match param(&q, "grant_type") {
        Some("authorization_code") => {
            let Some(code) = param(&q, "code") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter: code",
                );
            };
            let Some(c) = data.codes.get(code).cloned() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Malformed auth code.",
                );
            };
            if c.used || c.expires_at_ms <= now_ms() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
            }
            if !c.client_id.is_empty() && c.client_id != client_id {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
            }
            if param(&q, "redirect_uri") != Some(c.redirect_uri.as_str()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "redirect_uri_mismatch",
                    "Bad Request",
                );
            }
            if let Some(challenge) = &c.code_challenge {
                let Some(verifier) = param(&q, "code_verifier") else {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Missing code verifier.",
                    );
                };
                let computed = match c.code_challenge_method.as_deref() {
                    Some("plain") => verifier.to_string(),
                    _ => B64URL.encode(Sha256::digest(verifier.as_bytes())),
                };
                if &computed != challenge {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Invalid code verifier.",
                    );
                }
            }
            if let Some(cm) = data.codes.get_mut(code) {
                cm.used = true;
            }
            data.ensure_account(&c.email);
            let t = data.issue_grant(&c.email, &c.client_id, &c.scope);
            let mut out = json!({
                "access_token": t.access_token, "expires_in": t.expires_in,
                "refresh_token": t.refresh_token, "scope": t.scope, "token_type": "Bearer",
            });
            if c.scope.split_whitespace().any(|x| x == "openid") {
                out["id_token"] = Value::String(id_token(&data, &c.email, &c.client_id));
            }
            json_ok(&out)
        }
        Some("refresh_token") => {
            let Some(rt) = param(&q, "refresh_token") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter: refresh_token",
                );
            };
            let Some(g) = data.grants.get(rt).cloned() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token has been expired or revoked.",
                );
            };
            if g.revoked {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token has been expired or revoked.",
                );
            }
            if !g.client_id.is_empty() && !client_id.is_empty() && g.client_id != client_id {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    "Unauthorized",
                );
            }
            let access = data.issue_access(&g.email, rt);
            let mut out = json!({
                "access_token": access, "expires_in": data.access_ttl_secs,
                "scope": g.scope, "token_type": "Bearer",
            });
            if g.scope.split_whitespace().any(|x| x == "openid") {
                out["id_token"] = Value::String(id_token(&data, &g.email, &g.client_id));
            }
            json_ok(&out)
        }
        Some(other) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {other}"),
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type: ",
        ),
    }
}

fn json_ok(v: &Value) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (
                header::CACHE_CONTROL,
                "no-cache, no-store, max-age=0, must-revalidate",
            ),
        ],
        v.to_string(),
    )
        .into_response()
}

pub async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let r = token_inner(&s, &headers, &body);
    record(&s, "POST", "oauth.token", r.status());
    r
}

pub async fn revoke(
    State(s): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let mut q = parse_query(&String::from_utf8_lossy(&body));
    q.extend(parse_query(raw.as_deref().unwrap_or("")));
    let r = {
        let mut data = s.write();
        let tok = param(&q, "token").unwrap_or_default().to_string();
        let grant = if data.grants.get(&tok).is_some_and(|g| !g.revoked) {
            Some(tok)
        } else {
            data.access_tokens.get(&tok).map(|t| t.grant.clone())
        };
        match grant {
            Some(g) => {
                data.revoke_grant(&g);
                json_ok(&json!({}))
            }
            None => oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "Token expired or revoked",
            ),
        }
    };
    record(&s, "POST", "oauth.revoke", r.status());
    r
}

pub async fn userinfo(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = parse_query(raw.as_deref().unwrap_or(""));
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let r = {
        let data = s.read();
        match crate::api::authenticate(&data, auth, &q) {
            Ok(email) => {
                let a = data.account(&email);
                json_ok(&json!({
                    "sub": a.map(|a| a.sub.clone()).unwrap_or_default(),
                    "email": email,
                    "email_verified": true,
                    "name": a.map(|a| a.name.clone()).unwrap_or_default(),
                }))
            }
            Err(_) => {
                let mut r = oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request",
                    "Invalid Credentials",
                );
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
                r
            }
        }
    };
    record(&s, "GET", "oauth.userinfo", r.status());
    r
}
