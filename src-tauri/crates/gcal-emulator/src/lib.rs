//! gcal-emulator: a local stand-in for Google OAuth 2.0 and Calendar API v3.
