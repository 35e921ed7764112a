use super::*;
use bookline_core::google::Event;
use bookline_core::model::Lead;
use bookline_core::sync::mapping::{google_side, MappingContext};
use bookline_core::sync::privacy::PrivacySettings;

/// The lead was renamed in the CRM after Bookline wrote "Call — Ann" to Google: the
/// event must still read as title "Call", not as a title edit "Call — Ann".
#[test]
fn renamed_lead_does_not_read_as_a_title_edit() {
    let p = PrivacySettings {
        title_template: "{title} — {lead_name}".into(),
        ..PrivacySettings::default()
    };
    assert!(p.is_framed_title("Call — Ann", "Call"));
    assert!(p.is_framed_title("Call — Follow-up — Ann", "Call — Follow-up"));
    assert!(p.is_framed_title("Call", "Call"));
    assert!(!p.is_framed_title("Lunch — Ann", "Call"));
    assert!(!p.is_framed_title("Call — ", "Call"));

    let new_lead = Lead {
        name: "Anne Miller".into(),
        ..Lead::default()
    };
    let ctx = MappingContext {
        calendar_timezone: "UTC",
        privacy: &p,
        lead: &new_lead,
    };
    let known = fields("Call");
    let event: Event = serde_json::from_value(serde_json::json!({
        "id": "e1", "summary": "Call — Ann",
        "start": {"dateTime": "2026-05-02T09:00:00Z"}, "end": {"dateTime": "2026-05-02T10:00:00Z"}
    }))
    .unwrap();
    assert_eq!(
        google_side(&event, &ctx, Some(&known))
            .unwrap()
            .fields
            .title,
        "Call"
    );
    // A real edit in Google still reads as one.
    let edited: Event = serde_json::from_value(serde_json::json!({
        "id": "e1", "summary": "Lunch",
        "start": {"dateTime": "2026-05-02T09:00:00Z"}, "end": {"dateTime": "2026-05-02T10:00:00Z"}
    }))
    .unwrap();
    assert_eq!(
        google_side(&edited, &ctx, Some(&known))
            .unwrap()
            .fields
            .title,
        "Lunch"
    );
}
