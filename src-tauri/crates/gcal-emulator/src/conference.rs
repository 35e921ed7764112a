//! Conference creation (`conferenceData.createRequest` with `conferenceDataVersion=1`), as
//! Google does it for Google Meet.
//!
//! - `conferenceDataVersion` 0 (or absent): the body's `conferenceData` is ignored; an
//!   existing conference stays, an insert gets none.
//! - 1: a `createRequest` (`{requestId, conferenceSolutionKey: {type: "hangoutsMeet"}}`)
//!   makes a conference whose Meet code is derived from calendar id, event id and
//!   requestId (so the same request is idempotent); `conferenceData` without a
//!   `createRequest` is copied as sent; none removes the conference.
//! - The fault plan's `conference` (`success` | `failure` | `pending`) decides how a new
//!   request ends; a pending one completes when the plan is set back to `success`.
//! - `hangoutLink` is Google's: the Meet entry point of a conference that has one.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::errors::{ApiError, ApiResult};

/// How Google answers new conference requests (`POST /_emulator/faults`,
/// `"conference"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConferenceFault {
    /// The conference is created at once (Google's usual answer).
    #[default]
    Success,
    /// `createRequest.status.statusCode: "failure"`, no entry points.
    Failure,
    /// `statusCode: "pending"`, no entry points yet; completed (success) the next time the
    /// fault plan is set with `conference: "success"`.
    Pending,
}

/// What a write asked for and how requests end now.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConferenceCtx {
    /// `conferenceDataVersion`: 0 or 1.
    pub version: u8,
    pub fault: ConferenceFault,
}

const MEET: &str = "hangoutsMeet";
const MEET_ICON: &str = "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png";

/// `conferenceDataVersion` from a query: absent is 0; only 0 and 1 exist.
pub fn parse_version(query: &[(String, String)]) -> ApiResult<u8> {
    match query
        .iter()
        .find(|(k, _)| k == "conferenceDataVersion")
        .map(|(_, v)| v.as_str())
    {
        None | Some("0") => Ok(0),
        Some("1") => Ok(1),
        Some(v) => Err(ApiError::invalid(format!(
            "Invalid value '{v}'. Values must be within the range: [0, 1]"
        ))),
    }
}

/// The Meet code (`abc-defg-hij`) of a conference request, the same for the same
/// calendar, event and requestId.
pub fn meet_code(calendar_id: &str, event_id: &str, request_id: &str) -> String {
    let digest = Sha256::digest(format!("{calendar_id}\n{event_id}\n{request_id}").as_bytes());
    let letters: Vec<char> = digest
        .iter()
        .take(10)
        .map(|b| char::from(b'a' + b % 26))
        .collect();
    let s = |r: std::ops::Range<usize>| letters[r].iter().collect::<String>();
    format!("{}-{}-{}", s(0..3), s(3..7), s(7..10))
}

fn create_request(request_id: &str, status: &str) -> Value {
    json!({
        "requestId": request_id,
        "conferenceSolutionKey": {"type": MEET},
        "status": {"statusCode": status},
    })
}

/// The `conferenceData` of a created Meet conference.
pub fn created(calendar_id: &str, event_id: &str, request_id: &str) -> Value {
    let code = meet_code(calendar_id, event_id, request_id);
    json!({
        "createRequest": create_request(request_id, "success"),
        "entryPoints": [{
            "entryPointType": "video",
            "uri": format!("https://meet.google.com/{code}"),
            "label": format!("meet.google.com/{code}"),
        }],
        "conferenceSolution": {
            "key": {"type": MEET},
            "name": "Google Meet",
            "iconUri": MEET_ICON,
        },
        "conferenceId": code,
    })
}

fn request_id(cd: &Value) -> Option<&str> {
    cd.get("createRequest")?.get("requestId")?.as_str()
}

/// `statusCode` of a conference's create request, if it has one.
pub fn status_code(cd: &Value) -> Option<&str> {
    cd.get("createRequest")?
        .get("status")?
        .get("statusCode")?
        .as_str()
}

/// The Meet link of a conference: its video entry point on meet.google.com.
fn meet_link(cd: &Value) -> Option<String> {
    if status_code(cd).is_some_and(|s| s != "success") {
        return None;
    }
    cd.get("entryPoints")?
        .as_array()?
        .iter()
        .find(|e| e.get("entryPointType").and_then(Value::as_str) == Some("video"))?
        .get("uri")?
        .as_str()
        .filter(|u| u.starts_with("https://meet.google.com/"))
        .map(str::to_string)
}

/// Sets `conferenceData` and `hangoutLink` of `new` (the resource about to be stored)
/// from the body (already in `new`), the stored event `old` (None on insert) and `ctx`.
pub fn apply(
    new: &mut Map<String, Value>,
    old: Option<&Map<String, Value>>,
    calendar_id: &str,
    event_id: &str,
    ctx: ConferenceCtx,
) -> ApiResult<()> {
    let old_cd = old.and_then(|o| o.get("conferenceData"));
    let cd = if ctx.version == 0 {
        // Version 0 clients know nothing of conferences: whatever they sent is ignored.
        old_cd.cloned()
    } else {
        match new.get("conferenceData") {
            None | Some(Value::Null) => None,
            Some(cd) if cd.get("createRequest").is_some() => {
                let req = &cd["createRequest"];
                let kind = req
                    .get("conferenceSolutionKey")
                    .and_then(|k| k.get("type"))
                    .and_then(Value::as_str)
                    .unwrap_or(MEET);
                if kind != MEET {
                    return Err(ApiError::invalid("Invalid conference type value."));
                }
                let Some(rid) = req
                    .get("requestId")
                    .and_then(Value::as_str)
                    .filter(|r| !r.is_empty())
                else {
                    return Err(ApiError::invalid("Invalid conference create request."));
                };
                match old_cd {
                    // The same request again: the same conference (Google is idempotent
                    // on requestId), whatever became of it.
                    Some(o) if request_id(o) == Some(rid) => Some(o.clone()),
                    _ => Some(match ctx.fault {
                        ConferenceFault::Success => created(calendar_id, event_id, rid),
                        ConferenceFault::Failure => {
                            json!({"createRequest": create_request(rid, "failure")})
                        }
                        ConferenceFault::Pending => {
                            json!({"createRequest": create_request(rid, "pending")})
                        }
                    }),
                }
            }
            // Version 1 copies conference data as sent.
            Some(cd) => Some(cd.clone()),
        }
    };
    match cd {
        Some(cd) => {
            match meet_link(&cd) {
                Some(link) => new.insert("hangoutLink".into(), json!(link)),
                None => new.remove("hangoutLink"),
            };
            new.insert("conferenceData".into(), cd);
        }
        None => {
            new.remove("conferenceData");
            new.remove("hangoutLink");
        }
    }
    Ok(())
}

/// Completes a pending conference of `res` (the plan went back to `success`); false when
/// it has none pending.
pub fn complete_pending(res: &mut Map<String, Value>, calendar_id: &str) -> bool {
    let Some(cd) = res.get("conferenceData") else {
        return false;
    };
    if status_code(cd) != Some("pending") {
        return false;
    }
    let Some(rid) = request_id(cd).map(str::to_string) else {
        return false;
    };
    let event_id = res
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let done = created(calendar_id, &event_id, &rid);
    if let Some(link) = meet_link(&done) {
        res.insert("hangoutLink".into(), json!(link));
    }
    res.insert("conferenceData".into(), done);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(cd: Value) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("conferenceData".into(), cd);
        m
    }

    fn meet_request(rid: &str) -> Value {
        json!({"createRequest": {"requestId": rid, "conferenceSolutionKey": {"type": "hangoutsMeet"}}})
    }

    const V1: ConferenceCtx = ConferenceCtx {
        version: 1,
        fault: ConferenceFault::Success,
    };

    #[test]
    fn meet_codes_are_three_four_three_lowercase_and_deterministic() {
        let a = meet_code("sam@example.com", "ev1", "req-1");
        assert_eq!(a, meet_code("sam@example.com", "ev1", "req-1"));
        assert_ne!(a, meet_code("sam@example.com", "ev1", "req-2"));
        assert_ne!(a, meet_code("sam@example.com", "ev2", "req-1"));
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [3, 4, 3]);
        assert!(parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_lowercase())));
    }

    #[test]
    fn version_1_creates_a_meet_conference_and_link() {
        let mut new = body(meet_request("r1"));
        apply(&mut new, None, "cal", "ev", V1).unwrap();
        let code = meet_code("cal", "ev", "r1");
        assert_eq!(
            new["hangoutLink"],
            format!("https://meet.google.com/{code}")
        );
        assert_eq!(new["conferenceData"], created("cal", "ev", "r1"));
        assert_eq!(
            new["conferenceData"]["createRequest"]["status"]["statusCode"],
            "success"
        );
    }

    #[test]
    fn version_0_ignores_the_body_and_keeps_what_is_stored() {
        let mut new = body(meet_request("r1"));
        apply(&mut new, None, "cal", "ev", ConferenceCtx::default()).unwrap();
        assert!(new.get("conferenceData").is_none());
        assert!(new.get("hangoutLink").is_none());
        let mut old = Map::new();
        old.insert("conferenceData".into(), created("cal", "ev", "r0"));
        let mut new = Map::new();
        apply(&mut new, Some(&old), "cal", "ev", ConferenceCtx::default()).unwrap();
        assert_eq!(new["conferenceData"], old["conferenceData"]);
        assert!(new["hangoutLink"]
            .as_str()
            .unwrap()
            .starts_with("https://meet.google.com/"));
    }

    #[test]
    fn same_request_id_is_idempotent_and_a_new_one_makes_a_new_conference() {
        let mut old = Map::new();
        old.insert("conferenceData".into(), created("cal", "ev", "r1"));
        let mut again = body(meet_request("r1"));
        apply(&mut again, Some(&old), "cal", "ev", V1).unwrap();
        assert_eq!(again["conferenceData"], old["conferenceData"]);
        let mut other = body(meet_request("r2"));
        apply(&mut other, Some(&old), "cal", "ev", V1).unwrap();
        assert_eq!(other["conferenceData"], created("cal", "ev", "r2"));
        // Version 1 without conferenceData removes the conference.
        let mut none = Map::new();
        apply(&mut none, Some(&old), "cal", "ev", V1).unwrap();
        assert!(none.get("conferenceData").is_none() && none.get("hangoutLink").is_none());
    }

    #[test]
    fn failure_and_pending_have_no_link_and_pending_completes() {
        for (fault, code) in [
            (ConferenceFault::Failure, "failure"),
            (ConferenceFault::Pending, "pending"),
        ] {
            let mut new = body(meet_request("r1"));
            let ctx = ConferenceCtx { version: 1, fault };
            apply(&mut new, None, "cal", "ev", ctx).unwrap();
            assert_eq!(status_code(&new["conferenceData"]), Some(code));
            assert!(new["conferenceData"].get("entryPoints").is_none());
            assert!(new.get("hangoutLink").is_none());
        }
        let mut res = body(json!({"createRequest": create_request("r1", "pending")}));
        res.insert("id".into(), json!("ev"));
        assert!(complete_pending(&mut res, "cal"));
        assert_eq!(res["conferenceData"], created("cal", "ev", "r1"));
        assert!(res.contains_key("hangoutLink"));
        assert!(!complete_pending(&mut res, "cal"));
    }

    #[test]
    fn unknown_solution_types_and_bad_versions_are_refused() {
        let mut new = body(
            json!({"createRequest": {"requestId": "r", "conferenceSolutionKey": {"type": "zoom"}}}),
        );
        let e = apply(&mut new, None, "cal", "ev", V1).unwrap_err();
        assert_eq!((e.code, e.reason), (400, "invalid"));
        assert_eq!(e.message, "Invalid conference type value.");
        let q = |v: &str| vec![("conferenceDataVersion".to_string(), v.to_string())];
        assert_eq!(parse_version(&q("1")).unwrap(), 1);
        assert_eq!(parse_version(&[]).unwrap(), 0);
        assert_eq!(parse_version(&q("2")).unwrap_err().reason, "invalid");
        assert_eq!(parse_version(&q("-1")).unwrap_err().code, 400);
    }
}
