use bookline_core::model::Lead;
use bookline_core::sync::privacy::{
    parse_description, PrivacySettings, TemplateError, LEAD_BLOCK_MARKER,
};
use proptest::prelude::*;

fn ann() -> Lead {
    Lead {
        name: "Ann Smith".into(),
        email: "ann@example.com".into(),
        phone: "+49 30 1234".into(),
    }
}

fn with_template(t: &str) -> PrivacySettings {
    PrivacySettings {
        title_template: t.into(),
        ..PrivacySettings::default()
    }
}

#[test]
fn default_shares_nothing_about_the_lead() {
    let p = PrivacySettings::default();
    assert_eq!(
        p.render("Call", "notes", &ann()),
        ("Call".into(), "notes".into())
    );
}

#[test]
fn title_template() {
    let p = with_template("{title} — {lead_name}");
    assert_eq!(p.render_summary("Call", &ann()), "Call — Ann Smith");
    assert_eq!(p.parse_summary("Call — Ann Smith", &ann()), "Call");
    // No lead name: no dangling separator, and the title reads back.
    assert_eq!(p.render_summary("Call", &Lead::default()), "Call");
    assert_eq!(p.parse_summary("Call", &Lead::default()), "Call");
    // Renamed in Google without the frame: taken as the new title whole.
    assert_eq!(p.parse_summary("Lunch", &ann()), "Lunch");
    let q = with_template("[{lead_phone}] {title}");
    assert_eq!(q.render_summary("Call", &ann()), "[+49 30 1234] Call");
    assert_eq!(q.parse_summary("[+49 30 1234] Call", &ann()), "Call");
}

#[test]
fn template_validation() {
    assert_eq!(
        with_template("{lead_name}").validate(),
        Err(TemplateError::TitleCount)
    );
    assert_eq!(
        with_template("{title}{title}").validate(),
        Err(TemplateError::TitleCount)
    );
    assert_eq!(
        with_template("{title} {x}").validate(),
        Err(TemplateError::Unknown("x".into()))
    );
    assert!(with_template("{title} — {lead_email}").validate().is_ok());
    // An invalid stored template never leaks or breaks the title.
    assert_eq!(
        with_template("{lead_name}").render_summary("Call", &ann()),
        "Call"
    );
}

#[test]
fn lead_block() {
    let p = PrivacySettings {
        include_lead_name: true,
        include_lead_phone: true,
        include_lead_email: false,
        ..PrivacySettings::default()
    };
    let d = p.render_description("Bring slides", &ann());
    assert_eq!(
        d,
        format!("Bring slides\n\n{LEAD_BLOCK_MARKER}\nName: Ann Smith\nPhone: +49 30 1234")
    );
    assert_eq!(parse_description(&d), "Bring slides");
    let only_block = p.render_description("", &ann());
    assert!(only_block.starts_with(LEAD_BLOCK_MARKER));
    assert_eq!(parse_description(&only_block), "");
    // Round trip twice: no stacked blocks.
    let again = p.render_description(&parse_description(&d), &ann());
    assert_eq!(again, d);
    // A user's edit below the block makes it not Bookline's block any more.
    let edited = format!("{d}\nsee you");
    assert_eq!(parse_description(&edited), edited);
}

proptest! {
    #[test]
    fn round_trips(
        title in ".{0,30}",
        notes in ".{0,60}|(.{0,20}\n){0,4}",
        name in "[ A-Za-z\n]{0,12}",
        phone in "[0-9 +]{0,12}",
        flags in any::<(bool, bool, bool)>(),
        template in prop_oneof![Just("{title}"), Just("{title} — {lead_name}"), Just("{lead_name}: {title}"), Just("{title} ({lead_phone}, {lead_email})")],
    ) {
        prop_assume!(!notes.contains(LEAD_BLOCK_MARKER));
        let lead = Lead { name, email: "x@y.z".into(), phone };
        let p = PrivacySettings {
            title_template: template.into(),
            include_lead_name: flags.0,
            include_lead_phone: flags.1,
            include_lead_email: flags.2,
        };
        let (summary, description) = p.render(&title, &notes, &lead);
        prop_assert_eq!(p.parse_summary(&summary, &lead), title);
        prop_assert_eq!(parse_description(&description), notes);
    }
}
