//! The build script lives under src-tauri/ while the package root is the workspace root,
//! so tauri-build is told where the capabilities are, and which app commands exist (each
//! gets an `allow-…` permission that a capability must grant explicitly; a command not
//! granted to a window cannot be called from it).

/// Every `#[tauri::command]` registered in `gui.rs`. A command missing here is rejected at
/// run time with "not allowed", which the e2e test would catch.
const COMMANDS: &[&str] = &[
    "list_appointments",
    "list_shown",
    "week_occurrences",
    "get_appointment",
    "create_appointment",
    "update_appointment",
    "set_appointment_status",
    "delete_appointment",
    "edit_occurrence",
    "cancel_occurrence",
    "delete_occurrence",
    "app_status",
    "tray_word",
    "connect_google",
    "use_google_client",
    "about",
    "diagnostics",
    "cancel_connect",
    "disconnect_google",
    "list_calendars",
    "get_sync_settings",
    "save_sync_settings",
    "calendar_change_preview",
    "sync_now",
    "held_deletes",
    "resolve_held_deletes",
    "pause_sync",
    "resume_sync",
    "backfill_preview",
    "backfill_start",
    "backfill_cancel",
    "backfill_status",
    "activity_log",
    "transfer_items",
    "open_meet_link",
    "invitation_notice",
    "busy_times",
];

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=icons");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        // A build script reports failure by exiting non-zero; the message is what cargo shows.
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
