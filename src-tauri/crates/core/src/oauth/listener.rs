//! The loopback listener that receives Google's redirect (`http://127.0.0.1:PORT/callback`).
//!
//! Deliberately tiny: tokio's `TcpListener` and a bounded read of the request head, no
//! HTTP framework. Rules:
//! - bound to 127.0.0.1 only, on a port the OS picks, before the browser is opened;
//! - only `GET /callback` counts; `/favicon.ico` and any other path get a 404 and the
//!   listener keeps waiting;
//! - a callback whose `state` is missing or wrong gets a 400 page and is otherwise
//!   ignored — the listener keeps waiting for the real one, so a forged or stale redirect
//!   can neither sign anyone in nor abort the real sign-in (the timeout still bounds it);
//! - `error=access_denied` with the right state ends the wait with `AccessDenied`;
//! - request heads over `MAX_REQUEST_BYTES` get a 431; slow clients are dropped after
//!   `READ_TIMEOUT`, and connections are served concurrently, so a browser's idle
//!   preconnect cannot block the real redirect;
//! - every answer is a small HTML page with `Connection: close`; after the first accepted
//!   callback the socket is closed, so a replayed callback finds nobody listening.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::OAuthError;
use crate::secrets::Secret;

/// The redirect path registered in the authorization request.
pub const CALLBACK_PATH: &str = "/callback";
/// Largest request head accepted; Google's redirect is well under 2 KiB.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long one connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long writing the answer page may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 32;

/// The authorization code from the redirect (redacted in `Debug`).
pub struct CallbackCode(Secret);

impl CallbackCode {
    pub fn new(code: impl Into<String>) -> Self {
        Self(Secret::new(code.into()))
    }

    pub fn into_secret(self) -> Secret {
        self.0
    }
}

impl fmt::Debug for CallbackCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackCode([redacted])")
    }
}

/// A listener on 127.0.0.1 waiting for one OAuth redirect.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl LoopbackListener {
    /// Binds 127.0.0.1 on a free port. Call before opening the browser.
    pub async fn bind() -> Result<Self, OAuthError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| OAuthError::Listener(format!("cannot listen on 127.0.0.1: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| OAuthError::Listener(format!("cannot read the listening port: {e}")))?;
        Ok(Self { listener, addr })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT/callback` — the `redirect_uri` to send to Google.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.addr.port())
    }

    /// Waits for the redirect carrying `expected_state`, at most `timeout`, until `cancel`.
    /// Consumes the listener: whatever the outcome, the port is closed afterwards.
    pub async fn wait_for_code(
        self,
        expected_state: &str,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Result<CallbackCode, OAuthError> {
        let expected = digest(expected_state);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let (heads_tx, mut heads_rx) = mpsc::channel::<(TcpStream, Head)>(MAX_CONNECTIONS);
        let mut readers = JoinSet::new();

        loop {
            while readers.try_join_next().is_some() {}
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(OAuthError::Cancelled),
                _ = &mut deadline => return Err(OAuthError::Timeout),
                Some((mut stream, head)) = heads_rx.recv() => {
                    let verdict = judge(&head, &expected);
                    respond(&mut stream, verdict.status, &verdict.page).await;
                    if let Some(outcome) = verdict.outcome {
                        return outcome;
                    }
                }
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        if readers.len() >= MAX_CONNECTIONS {
                            drop(stream);
                            continue;
                        }
                        let tx = heads_tx.clone();
                        readers.spawn(async move {
                            let mut stream = stream;
                            let head = read_head(&mut stream).await;
                            // A closed channel means the wait is over; drop the connection.
                            let _ = tx.send((stream, head)).await;
                        });
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly instead
                        // of spinning; the deadline still ends the wait.
                        tracing::warn!("OAuth listener accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
    }
}

/// What a connection sent, as far as the listener cares.
enum Head {
    Request {
        method: String,
        target: String,
    },
    TooLarge,
    /// Not HTTP, cut off, or too slow.
    Unreadable,
}

async fn read_head(stream: &mut TcpStream) -> Head {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let read = async {
        loop {
            if let Some(end) = find_head_end(&buf) {
                return parse_request_line(&buf[..end]);
            }
            if buf.len() > MAX_REQUEST_BYTES {
                return Head::TooLarge;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return Head::Unreadable,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .unwrap_or(Head::Unreadable)
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n"))
}

fn parse_request_line(head: &[u8]) -> Head {
    if head.len() > MAX_REQUEST_BYTES {
        return Head::TooLarge;
    }
    let Ok(text) = std::str::from_utf8(head) else {
        return Head::Unreadable;
    };
    let line = text.lines().next().unwrap_or_default();
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some(method), Some(target), Some(version), None) if version.starts_with("HTTP/1.") => {
            Head::Request {
                method: method.to_owned(),
                target: target.to_owned(),
            }
        }
        _ => Head::Unreadable,
    }
}

struct Verdict {
    status: u16,
    page: String,
    /// `Some` ends the wait.
    outcome: Option<Result<CallbackCode, OAuthError>>,
}

fn keep_waiting(status: u16, title: &str, text: &str) -> Verdict {
    Verdict {
        status,
        page: page(title, text),
        outcome: None,
    }
}

fn judge(head: &Head, expected_state: &[u8; 32]) -> Verdict {
    let (method, target) = match head {
        Head::Request { method, target } => (method, target),
        Head::TooLarge => {
            return keep_waiting(431, "Request too large", "This request is too large.")
        }
        Head::Unreadable => {
            return keep_waiting(
                400,
                "Bad request",
                "This is not a request Bookline understands.",
            )
        }
    };
    if !target.starts_with('/') {
        return keep_waiting(
            400,
            "Bad request",
            "This is not a request Bookline understands.",
        );
    }
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
        return keep_waiting(
            400,
            "Bad request",
            "This is not a request Bookline understands.",
        );
    };
    if url.path() != CALLBACK_PATH {
        // `/favicon.ico`, probes, and anything else: not ours.
        return keep_waiting(404, "Not found", "Nothing here.");
    }
    if method != "GET" {
        return keep_waiting(
            405,
            "Method not allowed",
            "Only the browser's redirect is expected here.",
        );
    }

    let mut state = Vec::new();
    let mut code = Vec::new();
    let mut error = Vec::new();
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "state" => state.push(value.into_owned()),
            "code" => code.push(value.into_owned()),
            "error" => error.push(value.into_owned()),
            _ => {}
        }
    }
    // Exactly one state, equal to ours (compared as digests, so timing says nothing about
    // how much of it matched). Repeated parameters are a tampering sign.
    let state_ok = state.len() == 1 && digest(&state[0]) == *expected_state;
    if !state_ok || code.len() > 1 || error.len() > 1 {
        tracing::warn!("OAuth callback with a missing or wrong state was ignored");
        return keep_waiting(
            400,
            "Bookline did not accept this sign-in",
            "This sign-in answer does not belong to the sign-in Bookline is waiting for. \
             Go back to Bookline and connect again if needed.",
        );
    }
    if let Some(error) = error.first() {
        let outcome = if error == "access_denied" {
            OAuthError::AccessDenied
        } else {
            OAuthError::AuthorizationFailed(sanitize(error))
        };
        let text = outcome.to_string();
        return Verdict {
            status: 200,
            page: page(
                "Bookline is not connected",
                &format!("{text} You can close this tab."),
            ),
            outcome: Some(Err(outcome)),
        };
    }
    match code.first().filter(|c| !c.is_empty()) {
        Some(code) => Verdict {
            status: 200,
            page: page(
                "Bookline is connected",
                "Bookline is connected — you can close this tab.",
            ),
            outcome: Some(Ok(CallbackCode::new(code.clone()))),
        },
        None => keep_waiting(
            400,
            "Bookline did not accept this sign-in",
            "Google's answer carried no authorization code.",
        ),
    }
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// Error codes from the URL are shown to the user: keep them short and plain.
fn sanitize(error: &str) -> String {
    let clean: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    if clean.is_empty() {
        "unknown error".to_owned()
    } else {
        clean
    }
}

fn page(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{text}</p></body></html>",
        title = escape(title),
        text = escape(text)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn respond(stream: &mut TcpStream, status: u16, page: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    // no-referrer: the page's URL holds the authorization code.
    let answer = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\
         Referrer-Policy: no-referrer\r\n\r\n{page}",
        page.len()
    );
    let write = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.flush().await?;
        stream.shutdown().await
    };
    // The browser may already be gone; the wait's outcome does not depend on the page.
    let _ = tokio::time::timeout(WRITE_TIMEOUT, write).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(target: &str) -> Head {
        Head::Request {
            method: "GET".into(),
            target: target.into(),
        }
    }

    #[test]
    fn judge_rules() {
        let state = digest("s1");
        let ok = judge(&head("/callback?state=s1&code=c1&scope=x"), &state);
        assert_eq!(ok.status, 200);
        assert!(matches!(ok.outcome, Some(Ok(_))));
        assert!(ok
            .page
            .contains("Bookline is connected — you can close this tab"));

        for target in [
            "/callback?state=s2&code=c",
            "/callback?code=c",
            "/callback?state=s1&state=s1&code=c",
            "/callback?state=s1&code=a&code=b",
            "/callback?state=s2&error=access_denied",
        ] {
            let v = judge(&head(target), &state);
            assert_eq!(v.status, 400, "{target}");
            assert!(v.outcome.is_none(), "{target}");
        }
        assert_eq!(judge(&head("/favicon.ico"), &state).status, 404);
        assert_eq!(judge(&head("/other?state=s1&code=c"), &state).status, 404);
        assert_eq!(judge(&head("http://evil/callback"), &state).status, 400);
        assert_eq!(judge(&Head::TooLarge, &state).status, 431);
        let post = Head::Request {
            method: "POST".into(),
            target: "/callback?state=s1&code=c".into(),
        };
        assert_eq!(judge(&post, &state).status, 405);

        let denied = judge(&head("/callback?state=s1&error=access_denied"), &state);
        assert!(matches!(
            denied.outcome,
            Some(Err(OAuthError::AccessDenied))
        ));
        let other = judge(&head("/callback?state=s1&error=%3Cscript%3E"), &state);
        assert!(
            matches!(other.outcome, Some(Err(OAuthError::AuthorizationFailed(ref e))) if e == "script")
        );
        assert!(!other.page.contains("<script>"));
        assert_eq!(judge(&head("/callback?state=s1&code="), &state).status, 400);
    }

    #[test]
    fn request_line_parsing() {
        assert!(matches!(
            parse_request_line(b"GET /callback?a=b HTTP/1.1\r\nHost: x"),
            Head::Request { .. }
        ));
        assert!(matches!(parse_request_line(b"GARBAGE"), Head::Unreadable));
        assert!(matches!(
            parse_request_line(b"GET / HTTP/2 extra"),
            Head::Unreadable
        ));
        assert!(matches!(
            parse_request_line(&[0xff, 0xfe]),
            Head::Unreadable
        ));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\n"), Some(14));
    }

    #[test]
    fn callback_code_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", CallbackCode::new("4/0abc")),
            "CallbackCode([redacted])"
        );
    }
}
