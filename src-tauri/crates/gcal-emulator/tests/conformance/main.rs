//! Conformance suite: drives a real emulator over HTTP on 127.0.0.1 with reqwest.

mod batch;
mod booking;
mod calendars;
mod common;
mod events;
mod faults;
mod lists;
mod oauth;
mod recurring;
mod state;
