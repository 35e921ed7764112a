use gcal_emulator::{Emulator, EmulatorOptions};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct Ctx {
    pub emu: Option<Emulator>,
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub refresh: String,
}

pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// `error.errors[0].reason` of a Google error envelope.
    pub fn reason(&self) -> &str {
        self.body["error"]["errors"][0]["reason"]
            .as_str()
            .unwrap_or("")
    }
}

pub async fn ctx() -> Ctx {
    ctx_with(EmulatorOptions::default()).await
}

pub async fn ctx_with(opts: EmulatorOptions) -> Ctx {
    let emu = Emulator::start(opts).await.expect("emulator starts");
    let base = emu.base_url().to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut c = Ctx {
        emu: Some(emu),
        base,
        http,
        token: String::new(),
        refresh: String::new(),
    };
    // Most tests make many calls: lift the per-minute quota unless a test sets it.
    c.control(
        "quota",
        json!({"per_user_per_minute": 0, "per_project_per_minute": 0, "window_ms": 60000}),
    )
    .await;
    let a = c
        .control("accounts", json!({"email": "sam@example.com"}))
        .await;
    c.token = a["access_token"].as_str().unwrap().to_string();
    c.refresh = a["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(a["calendar_id"], "sam@example.com");
    c
}

impl Ctx {
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/_emulator/{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "control {path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/_emulator/stats", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.call_with(method, path, body, &self.token, None).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: &str,
        if_match: Option<&str>,
    ) -> Resp {
        let mut rb = self
            .http
            .request(method, format!("{}/calendar/v3/{path}", self.base));
        if !token.is_empty() {
            rb = rb.bearer_auth(token);
        }
        if let Some(m) = if_match {
            rb = rb.header("If-Match", m);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, body, text }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    pub async fn insert(&self, cal: &str, ev: Value) -> Resp {
        self.call(Method::POST, &format!("calendars/{cal}/events"), Some(ev))
            .await
    }

    pub async fn shutdown(mut self) {
        if let Some(e) = self.emu.take() {
            e.shutdown().await;
        }
    }
}

pub fn timed(summary: &str, start: &str, end: &str) -> Value {
    json!({"summary": summary, "start": {"dateTime": start}, "end": {"dateTime": end}})
}

/// A valid base32hex event id with a numeric suffix.
pub fn eid(n: usize) -> String {
    format!("bkl{n:05}a")
}

/// Lists all pages; returns (items, number of requests, last response body).
pub async fn list_all(c: &Ctx, cal: &str, query: &str) -> (Vec<Value>, usize, Value) {
    let mut items = Vec::new();
    let mut page: Option<String> = None;
    let mut n = 0;
    loop {
        let mut q = query.to_string();
        if let Some(p) = &page {
            q.push_str(&format!("&pageToken={p}"));
        }
        let r = c.get(&format!("calendars/{cal}/events?{q}")).await;
        n += 1;
        assert_eq!(r.status, 200, "{}", r.text);
        items.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["nextPageToken"].as_str() {
            Some(p) => {
                assert!(
                    r.body.get("nextSyncToken").is_none(),
                    "sync token only on the last page"
                );
                page = Some(p.to_string());
            }
            None => return (items, n, r.body),
        }
    }
}
