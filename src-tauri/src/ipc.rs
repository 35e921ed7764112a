//! The window's calls, routed by name to `commands`: the one place a call from the window
//! (`invoke('list_appointments', {query})` in the UI) becomes a Rust function call.
//!
//! The window lives in a process of its own (`window_process`), so Tauri's own command
//! routing, which runs in the webview's process, cannot reach the commands: the window
//! process forwards every call as JSON, and the tray process — which holds the store, the
//! sync loop and the tray — answers it here. Arguments are read as Tauri reads them: each
//! parameter from the camelCase key of the call's object, a missing key as `null` (so an
//! `Option` parameter may be left out). An answer is the command's value, or its
//! `AppError` as `{code, message}`, which the UI's `invoke` rejects with.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tauri::{AppHandle, Manager};

use bookline_core::error::{AppError, ErrorCode};

use crate::commands;
use crate::gui::AppState;

/// One parameter of a route: the tray process's handle, the managed state, or an
/// argument of the call.
macro_rules! param {
    ($app:ident, $args:ident, app) => {
        $app.clone()
    };
    ($app:ident, $args:ident, state) => {
        $app.state::<AppState>()
    };
    ($app:ident, $args:ident, $arg:ident) => {
        match argument(&$args, stringify!($arg)) {
            Ok(value) => value,
            Err(refused) => return Err(refused),
        }
    };
}

/// The routes: each command with its parameters in order. Also gives `ROUTED`, the names,
/// which a test holds against the ones the build script grants the window.
macro_rules! routes {
    ($( $command:ident ( $($param:ident),* ) ),* $(,)?) => {
        /// Every command the window may call.
        pub const ROUTED: &[&str] = &[$(stringify!($command)),*];

        /// Runs the command `name` with `args` (the call's JSON object): its value, or
        /// the error the UI's `invoke` rejects with.
        pub async fn dispatch(app: &AppHandle, name: &str, args: Value) -> Result<Value, Value> {
            match name {
                $( stringify!($command) => {
                    answer(commands::$command($(param!(app, args, $param)),*).await)
                } )*
                unknown => Err(refusal(format!("Bookline has no command {unknown:?}."))),
            }
        }
    };
}

routes! {
    list_appointments(state, query),
    list_shown(app, total),
    week_occurrences(state, from, to),
    get_appointment(state, id),
    create_appointment(state, input, booking),
    update_appointment(state, id, input, booking),
    set_appointment_status(state, id, status),
    delete_appointment(state, id),
    edit_occurrence(state, series_id, original_start, input, scope),
    cancel_occurrence(state, series_id, original_start, scope),
    delete_occurrence(state, series_id, original_start, scope),
    app_status(state),
    tray_word(),
    connect_google(app, state),
    use_google_client(app, state, json),
    about(state),
    diagnostics(state),
    cancel_connect(state),
    disconnect_google(app, state, keep_imported),
    list_calendars(state),
    get_sync_settings(state),
    save_sync_settings(app, state, settings, calendar_choice),
    calendar_change_preview(state, to),
    sync_now(state),
    held_deletes(state),
    resolve_held_deletes(app, state, choice),
    pause_sync(state),
    resume_sync(state),
    backfill_preview(state, direction, since, until),
    backfill_start(app, state, direction, since, until),
    backfill_cancel(state),
    backfill_status(state),
    activity_log(state, limit, before_id),
    transfer_items(state, transfer_id, after_seq),
    open_meet_link(app, link),
    invitation_notice(state, input, booking, id),
    busy_times(state, day, timezone, other_calendars, exclude_appointment),
}

/// The argument `snake` of a call, read from its camelCase key as Tauri names them; a
/// missing key reads as `null`.
fn argument<T: DeserializeOwned>(args: &Value, snake: &str) -> Result<T, Value> {
    let key = camel_case(snake);
    let given = args.get(&key).cloned().unwrap_or(Value::Null);
    serde_json::from_value(given).map_err(|e| {
        refusal(format!(
            "The argument `{key}` is not what Bookline expects: {e}."
        ))
    })
}

fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn answer<T: Serialize>(result: Result<T, AppError>) -> Result<Value, Value> {
    match result {
        Ok(value) => serde_json::to_value(value)
            .map_err(|e| refusal(format!("Bookline could not write its answer: {e}."))),
        Err(error) => Err(error_value(&error)),
    }
}

fn refusal(message: String) -> Value {
    tracing::warn!("a call from the window was refused: {message}");
    error_value(&AppError::new(ErrorCode::Validation, message))
}

fn error_value(error: &AppError) -> Value {
    serde_json::to_value(error).unwrap_or_else(|_| Value::String(error.message.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_from_their_camel_case_keys() {
        assert_eq!(camel_case("query"), "query");
        assert_eq!(camel_case("series_id"), "seriesId");
        assert_eq!(camel_case("exclude_appointment"), "excludeAppointment");
        let args = serde_json::json!({"otherCalendars": true, "beforeId": null});
        assert_eq!(argument::<bool>(&args, "other_calendars"), Ok(true));
        assert_eq!(argument::<Option<i64>>(&args, "before_id"), Ok(None));
        // Left out: an Option is None, anything else is refused with the key's name.
        assert_eq!(argument::<Option<i64>>(&args, "after_seq"), Ok(None));
        let refused = argument::<u32>(&args, "limit").expect_err("limit is required");
        assert!(refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`limit`"));
        assert_eq!(refused["code"], serde_json::json!("validation"));
    }

    /// The build script grants the window each command by name (an `allow-…` permission
    /// per name); a name granted but not routed, or routed but not granted, is a call
    /// that fails only at run time.
    #[test]
    fn every_granted_command_is_routed_and_every_route_granted() {
        let build = include_str!("../build.rs");
        let list = build
            .split_once("const COMMANDS: &[&str] = &[")
            .and_then(|(_, rest)| rest.split_once("];"))
            .map(|(list, _)| list)
            .expect("build.rs lists COMMANDS");
        let mut granted: Vec<&str> = list
            .split(',')
            .map(|item| item.trim().trim_matches('"'))
            .filter(|name| !name.is_empty())
            .collect();
        let mut routed = ROUTED.to_vec();
        granted.sort_unstable();
        routed.sort_unstable();
        assert_eq!(granted, routed);
    }
}
