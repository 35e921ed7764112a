use super::*;
use proptest::prelude::*;
use uuid::Uuid;

#[test]
fn known_values() {
    assert_eq!(
        ids::event_id_for_uuid(&Uuid::nil()),
        format!("bl{}", "0".repeat(26))
    );
    assert_eq!(
        ids::event_id_for_uuid(&Uuid::max()),
        format!("bl{}s", "v".repeat(25))
    );
    assert_eq!(ids::event_id_for("not a uuid"), None);
    let upper = APPT.to_uppercase();
    assert_eq!(ids::event_id_for(&upper), ids::event_id_for(APPT));
    assert_eq!(
        ids::uuid_from_event_id(&format!("bl{}t", "v".repeat(25))),
        None,
        "non-canonical tail"
    );
    assert_eq!(ids::uuid_from_event_id("blshort"), None);
    assert_eq!(ids::uuid_from_event_id(&"0".repeat(28)), None, "no prefix");
    assert!(!ids::is_valid_event_id("abcd"));
    assert!(!ids::is_valid_event_id("abcdw"));
    assert!(ids::is_valid_event_id("abcde"));
}

proptest! {
    #[test]
    fn valid_stable_and_invertible(bytes in any::<[u8; 16]>()) {
        let u = Uuid::from_bytes(bytes);
        let id = ids::event_id_for_uuid(&u);
        prop_assert!(ids::is_valid_event_id(&id), "{id}");
        prop_assert_eq!(id.len(), 28);
        prop_assert_eq!(&ids::event_id_for_uuid(&u), &id);
        // Invertible, hence injective.
        prop_assert_eq!(ids::uuid_from_event_id(&id), Some(u));
        prop_assert_eq!(ids::appointment_id_from_event_id(&id), Some(u.hyphenated().to_string()));
    }

    #[test]
    fn distinct_uuids_distinct_ids(a in any::<[u8; 16]>(), b in any::<[u8; 16]>()) {
        prop_assume!(a != b);
        prop_assert_ne!(
            ids::event_id_for_uuid(&Uuid::from_bytes(a)),
            ids::event_id_for_uuid(&Uuid::from_bytes(b))
        );
    }

    /// Every case decodes a real derived id (the round trip runs each time), then an id
    /// changed in one place — a character swapped, cut short, grown, upper-cased — or
    /// plain garbage: it decodes to nothing or to the one uuid whose id it is.
    #[test]
    fn decoding_real_and_damaged_ids(
        bytes in any::<[u8; 16]>(),
        at in 0usize..28,
        with in "[a-z0-9A-Z]",
        damage in 0u8..5,
        garbage in "[a-z0-9]{0,40}",
    ) {
        let u = Uuid::from_bytes(bytes);
        let id = ids::event_id_for_uuid(&u);
        prop_assert_eq!(ids::uuid_from_event_id(&id), Some(u));
        let mut chars: Vec<char> = id.chars().collect();
        let damaged: String = match damage {
            0 => {
                chars[at] = with.chars().next().unwrap();
                chars.into_iter().collect()
            }
            1 => chars[..at].iter().collect(),
            2 => format!("{id}{with}"),
            3 => id.to_uppercase(),
            _ => garbage,
        };
        if let Some(back) = ids::uuid_from_event_id(&damaged) {
            prop_assert_eq!(ids::event_id_for_uuid(&back), damaged.to_lowercase());
        }
    }
}
