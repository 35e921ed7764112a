//! The "would have emailed" record: which successful event writes Google would have mailed
//! to whom, so a test can prove that nothing reached a lead without consent.
//!
//! Google emails attendees when a write carries `sendUpdates=all` (every guest but the
//! organizer) or `externalOnly` (guests outside the organizer's domain); `none` and a
//! missing parameter mail nobody (the deprecated `sendNotifications=true` counts as
//! `all`). `events.import` never mails. The decision is a pure function of the event before
//! and after the write, so it is unit-tested here without a server.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What Google would have sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailKind {
    /// The recipient was not a guest of the event before this write.
    Invitation,
    /// The recipient was a guest already and the event changed.
    Update,
    /// The event was deleted or cancelled, or the recipient was removed from it.
    Cancellation,
}

/// One mail Google would have sent for one event write (`GET /_emulator/stats` →
/// `mail_outbox`, `Emulator::mail_outbox()`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WouldBeMail {
    /// `insert`, `update`, `patch`, `delete` or `move`.
    pub method: String,
    /// The calendar the event is in after the write (`primary` resolved to the email; for
    /// a move, the destination).
    pub calendar_id: String,
    pub event_id: String,
    /// Attendee emails as the event spells them, in the event's order.
    pub recipients: Vec<String>,
    pub kind: MailKind,
    /// The write's `sendUpdates`: `all` or `externalOnly`.
    pub send_updates: String,
}

/// The `sendUpdates` that mails someone, from a write's query, or `None` when the write
/// mails nobody (`none`, missing, or `sendNotifications` other than true).
pub fn mailing_mode(query: &[(String, String)]) -> Option<&'static str> {
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match param("sendUpdates") {
        Some("all") => Some("all"),
        Some("externalOnly") => Some("externalOnly"),
        Some(_) => None,
        // Deprecated, but still honoured by Google: `sendNotifications=true` is `all`.
        None => (param("sendNotifications") == Some("true")).then_some("all"),
    }
}

fn domain(email: &str) -> String {
    email
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}

fn cancelled(ev: &Value) -> bool {
    ev.get("status").and_then(Value::as_str) == Some("cancelled")
}

/// The guests of `ev` Google would mail: not the organizer (nor the user's own entry),
/// not rooms/resources; with `externalOnly` only those outside the organizer's domain.
fn mailable(ev: &Value, organizer: &str, external_only: bool) -> Vec<String> {
    let Some(list) = ev.get("attendees").and_then(Value::as_array) else {
        return Vec::new();
    };
    let flag = |a: &Value, k: &str| a.get(k).and_then(Value::as_bool) == Some(true);
    let org_domain = domain(organizer);
    let mut out: Vec<String> = Vec::new();
    for a in list {
        let Some(email) = a.get("email").and_then(Value::as_str) else {
            continue;
        };
        if flag(a, "self")
            || flag(a, "organizer")
            || flag(a, "resource")
            || email.eq_ignore_ascii_case(organizer)
            || (external_only && domain(email) == org_domain)
            || out.iter().any(|o| o.eq_ignore_ascii_case(email))
        {
            continue;
        }
        out.push(email.to_string());
    }
    out
}

fn contains(list: &[String], email: &str) -> bool {
    list.iter().any(|e| e.eq_ignore_ascii_case(email))
}

/// What one successful write would have mailed. `before`: the event as it was (None when
/// it did not exist); `after`: as it is now (None when deleted). `organizer`: the email of
/// the calendar's owner, who never mails themself.
pub fn would_be_mails(
    method: &str,
    send_updates: &str,
    organizer: &str,
    calendar_id: &str,
    event_id: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Vec<WouldBeMail> {
    let external_only = send_updates == "externalOnly";
    let live_before = before.filter(|b| !cancelled(b));
    let old = live_before
        .map(|b| mailable(b, organizer, external_only))
        .unwrap_or_default();
    let (invitations, updates, cancellations) = match after {
        // Deleting (or cancelling) tells every guest it is off; an event that was already
        // cancelled tells nobody again.
        None => (Vec::new(), Vec::new(), old),
        Some(a) if cancelled(a) => (Vec::new(), Vec::new(), old),
        Some(a) => {
            let new = mailable(a, organizer, external_only);
            let (updates, invitations): (Vec<String>, Vec<String>) =
                new.iter().cloned().partition(|e| contains(&old, e));
            let removed = old.into_iter().filter(|e| !contains(&new, e)).collect();
            (invitations, updates, removed)
        }
    };
    [
        (MailKind::Invitation, invitations),
        (MailKind::Update, updates),
        (MailKind::Cancellation, cancellations),
    ]
    .into_iter()
    .filter(|(_, r)| !r.is_empty())
    .map(|(kind, recipients)| WouldBeMail {
        method: method.to_string(),
        calendar_id: calendar_id.to_string(),
        event_id: event_id.to_string(),
        recipients,
        kind,
        send_updates: send_updates.to_string(),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(attendees: Value) -> Value {
        json!({"status": "confirmed", "attendees": attendees})
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_all_external_only_and_send_notifications_mail() {
        assert_eq!(mailing_mode(&q(&[("sendUpdates", "all")])), Some("all"));
        assert_eq!(
            mailing_mode(&q(&[("sendUpdates", "externalOnly")])),
            Some("externalOnly")
        );
        assert_eq!(mailing_mode(&q(&[("sendUpdates", "none")])), None);
        assert_eq!(mailing_mode(&q(&[])), None);
        assert_eq!(
            mailing_mode(&q(&[("sendNotifications", "true")])),
            Some("all")
        );
        assert_eq!(mailing_mode(&q(&[("sendNotifications", "false")])), None);
        // sendUpdates wins over the deprecated parameter.
        assert_eq!(
            mailing_mode(&q(&[
                ("sendUpdates", "none"),
                ("sendNotifications", "true")
            ])),
            None
        );
    }

    #[test]
    fn insert_invites_every_guest_but_the_organizer() {
        let after = ev(json!([
            {"email": "sam@example.com", "organizer": true, "self": true},
            {"email": "ada@lead.com"},
            {"email": "SAM@example.com"},
            {"email": "room@resource.calendar.google.com", "resource": true},
            {"email": "bob@example.com"},
        ]));
        let m = would_be_mails(
            "insert",
            "all",
            "sam@example.com",
            "sam@example.com",
            "e1",
            None,
            Some(&after),
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].kind, MailKind::Invitation);
        assert_eq!(m[0].recipients, vec!["ada@lead.com", "bob@example.com"]);
        assert_eq!(m[0].method, "insert");
        // externalOnly leaves out the organizer's own domain.
        let m = would_be_mails(
            "insert",
            "externalOnly",
            "sam@example.com",
            "c",
            "e1",
            None,
            Some(&after),
        );
        assert_eq!(m[0].recipients, vec!["ada@lead.com"]);
    }

    #[test]
    fn no_guests_no_mail() {
        let m = would_be_mails(
            "insert",
            "all",
            "sam@example.com",
            "c",
            "e",
            None,
            Some(&json!({"status": "confirmed"})),
        );
        assert!(m.is_empty());
        let only_me = ev(json!([{"email": "sam@example.com"}]));
        assert!(would_be_mails(
            "patch",
            "all",
            "sam@example.com",
            "c",
            "e",
            None,
            Some(&only_me)
        )
        .is_empty());
    }

    #[test]
    fn edits_update_known_guests_invite_new_ones_and_cancel_removed_ones() {
        let before = ev(json!([{"email": "ada@lead.com"}, {"email": "cy@lead.com"}]));
        let after = ev(json!([{"email": "Ada@lead.com"}, {"email": "dee@lead.com"}]));
        let m = would_be_mails(
            "update",
            "all",
            "sam@example.com",
            "c",
            "e",
            Some(&before),
            Some(&after),
        );
        let kinds: Vec<(MailKind, Vec<String>)> =
            m.into_iter().map(|x| (x.kind, x.recipients)).collect();
        assert_eq!(
            kinds,
            vec![
                (MailKind::Invitation, vec!["dee@lead.com".to_string()]),
                (MailKind::Update, vec!["Ada@lead.com".to_string()]),
                (MailKind::Cancellation, vec!["cy@lead.com".to_string()]),
            ]
        );
    }

    #[test]
    fn delete_and_cancel_send_cancellations_once() {
        let before = ev(json!([{"email": "ada@lead.com"}]));
        let m = would_be_mails(
            "delete",
            "all",
            "sam@example.com",
            "c",
            "e",
            Some(&before),
            None,
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].kind, MailKind::Cancellation);
        let mut cancelled = before.clone();
        cancelled["status"] = json!("cancelled");
        let m = would_be_mails(
            "patch",
            "all",
            "sam@example.com",
            "c",
            "e",
            Some(&before),
            Some(&cancelled),
        );
        assert_eq!(m[0].kind, MailKind::Cancellation);
        // Already cancelled: nobody hears of it again.
        let m = would_be_mails(
            "patch",
            "all",
            "sam@example.com",
            "c",
            "e",
            Some(&cancelled),
            Some(&cancelled),
        );
        assert!(m.is_empty());
        // A cancelled event brought back invites its guests anew.
        let m = would_be_mails(
            "patch",
            "all",
            "sam@example.com",
            "c",
            "e",
            Some(&cancelled),
            Some(&before),
        );
        assert_eq!(m[0].kind, MailKind::Invitation);
    }
}
