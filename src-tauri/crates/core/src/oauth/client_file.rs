//! Where Bookline's Google OAuth client comes from, and the client file a user brings.
//!
//! Three sources, first one set wins: the runtime environment
//! (`BOOKLINE_GOOGLE_CLIENT_ID`/`_SECRET`), `google-client.json` in the data dir (what
//! **Use my own Google client…** saves), and the client a publisher built into the binary
//! (the same two variables set at *build* time, read with `option_env!`). A salesperson
//! with a published package needs none of them set: the built-in client connects.

use std::fmt;
use std::io::Write;
use std::path::Path;

use serde_json::Value;

use super::{OAuthClientConfig, OAuthError, CLIENT_FILE, CLIENT_ID_ENV, CLIENT_SECRET_ENV};

/// The client a publisher built in: `BOOKLINE_GOOGLE_CLIENT_ID` and
/// `BOOKLINE_GOOGLE_CLIENT_SECRET` in the environment of `cargo build` (or `make package`).
pub fn built_in() -> Option<OAuthClientConfig> {
    client_from_pair(
        option_env!("BOOKLINE_GOOGLE_CLIENT_ID"),
        option_env!("BOOKLINE_GOOGLE_CLIENT_SECRET"),
    )
}

fn client_from_pair(id: Option<&str>, secret: Option<&str>) -> Option<OAuthClientConfig> {
    let id = id.map(str::trim).filter(|s| !s.is_empty())?;
    let secret = secret.map(str::trim).filter(|s| !s.is_empty())?;
    Some(OAuthClientConfig::new(id, secret))
}

/// Which source `choose` took the client from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSource {
    Environment,
    File,
    BuiltIn,
}

/// What the data dir holds: no file, a file that could not be read, or its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedFile {
    Missing,
    Unreadable(String),
    Text(String),
}

/// The precedence, as a pure function: the environment, then the saved file, then the
/// built-in client. A half-set environment and a broken file are errors rather than a
/// silent fall-through: the user set them on purpose and would not know why another
/// client signs them in.
pub fn choose(
    env_id: Option<&str>,
    env_secret: Option<&str>,
    file: SavedFile,
    built_in: Option<OAuthClientConfig>,
    file_path: &Path,
) -> Result<(OAuthClientConfig, ClientSource), OAuthError> {
    let env_id = env_id.map(str::trim).filter(|s| !s.is_empty());
    let env_secret = env_secret.map(str::trim).filter(|s| !s.is_empty());
    match (env_id, env_secret) {
        (Some(id), Some(secret)) => {
            return Ok((
                OAuthClientConfig::new(id, secret),
                ClientSource::Environment,
            ))
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(OAuthError::NotConfigured(format!(
                "Only one of {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} is set; set both."
            )))
        }
        (None, None) => {}
    }
    match file {
        SavedFile::Text(text) => parse(&text)
            .map(|client| (client, ClientSource::File))
            .map_err(|e| OAuthError::NotConfigured(format!("{}: {e}", file_path.display()))),
        SavedFile::Unreadable(e) => Err(OAuthError::NotConfigured(format!(
            "Cannot read {}: {e}",
            file_path.display()
        ))),
        SavedFile::Missing => built_in
            .map(|client| (client, ClientSource::BuiltIn))
            .ok_or_else(|| {
                OAuthError::NotConfigured(format!(
                    "This copy of Bookline has no Google client built in. Use your own: \
                         create an OAuth client of type \"Desktop app\" in Google Cloud's \
                         console, download its JSON and choose it with Use my own Google \
                         client… in the window (or save it as {}, or set {CLIENT_ID_ENV} and \
                         {CLIENT_SECRET_ENV}) — or try `bookline demo`.",
                    file_path.display()
                ))
            }),
    }
}

/// Reads `google-client.json` from the data dir for `choose`.
pub fn read_saved(data_dir: &Path) -> SavedFile {
    match std::fs::read_to_string(data_dir.join(CLIENT_FILE)) {
        Ok(text) => SavedFile::Text(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => SavedFile::Missing,
        Err(e) => SavedFile::Unreadable(e.to_string()),
    }
}

/// Why a client file was refused; each is the sentence the user reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFileError {
    NotJson,
    WebClient,
    NotAClient,
    MissingClientId,
    MissingClientSecret,
    Save(String),
}

impl fmt::Display for ClientFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotJson => {
                "This file is not a Google client file: it is not JSON. Choose the .json file \
                 that Google Cloud's console downloads for an OAuth client."
            }
            Self::WebClient => {
                "This is the file of a \"Web application\" client, which cannot sign in from a \
                 desktop app. In Google Cloud's console, create an OAuth client ID of type \
                 \"Desktop app\" and choose its downloaded JSON."
            }
            Self::NotAClient => {
                "This JSON file is not a Google OAuth client: it has no \"installed\" section. \
                 Download the JSON of a \"Desktop app\" OAuth client from Google Cloud's \
                 console."
            }
            Self::MissingClientId => {
                "This client file has no client_id. Download the JSON of your \"Desktop app\" \
                 OAuth client again from Google Cloud's console."
            }
            Self::MissingClientSecret => {
                "This client file has no client_secret. Download the JSON of your \"Desktop \
                 app\" OAuth client again from Google Cloud's console."
            }
            Self::Save(e) => return write!(f, "Bookline could not save the client file: {e}"),
        })
    }
}

impl std::error::Error for ClientFileError {}

/// Reads a client file: the `{"installed": {…}}` JSON Google Cloud's console downloads
/// for a Desktop app client, or the short `{"client_id", "client_secret"}` form.
pub fn parse(text: &str) -> Result<OAuthClientConfig, ClientFileError> {
    let value: Value = serde_json::from_str(text).map_err(|_| ClientFileError::NotJson)?;
    let Value::Object(top) = &value else {
        return Err(ClientFileError::NotAClient);
    };
    let client = match (top.get("installed"), top.get("web")) {
        (Some(installed), _) => installed,
        (None, Some(_)) => return Err(ClientFileError::WebClient),
        (None, None) if top.contains_key("client_id") => &value,
        (None, None) => return Err(ClientFileError::NotAClient),
    };
    let field = |name: &str| {
        client
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let id = field("client_id").ok_or(ClientFileError::MissingClientId)?;
    let secret = field("client_secret").ok_or(ClientFileError::MissingClientSecret)?;
    Ok(OAuthClientConfig::new(id, secret))
}

/// **Use my own Google client…**: checks `text` and, only when it is a Desktop client,
/// saves it as `google-client.json` in the data dir (written to a temporary file and
/// renamed, so a failed write never leaves half a file; readable by the user only).
pub fn save(data_dir: &Path, text: &str) -> Result<OAuthClientConfig, ClientFileError> {
    let client = parse(text)?;
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(data_dir)?;
        let partial = data_dir.join(format!(".{CLIENT_FILE}.partial"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = options.open(&partial).and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        });
        match written.and_then(|()| std::fs::rename(&partial, data_dir.join(CLIENT_FILE))) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(e)
            }
        }
    };
    write().map_err(|e| ClientFileError::Save(e.to_string()))?;
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESKTOP: &str = r#"{"installed":{"client_id":"123-abc.apps.googleusercontent.com","project_id":"p","auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token","client_secret":"GOCSPX-x","redirect_uris":["http://localhost"]}}"#;

    fn client(id: &str) -> OAuthClientConfig {
        OAuthClientConfig::new(id, "s")
    }

    fn pick(
        env: (Option<&str>, Option<&str>),
        file: SavedFile,
        built_in: Option<OAuthClientConfig>,
    ) -> Result<(OAuthClientConfig, ClientSource), OAuthError> {
        choose(
            env.0,
            env.1,
            file,
            built_in,
            Path::new("/d/google-client.json"),
        )
    }

    #[test]
    fn the_environment_wins_then_the_file_then_the_built_in_client() {
        let file = || SavedFile::Text(r#"{"client_id":"file","client_secret":"s"}"#.to_owned());
        let built = || Some(client("built"));
        assert_eq!(
            pick((Some("env"), Some("s")), file(), built()).unwrap(),
            (client("env"), ClientSource::Environment)
        );
        assert_eq!(
            pick((None, None), file(), built()).unwrap(),
            (client("file"), ClientSource::File)
        );
        assert_eq!(
            pick((Some(" "), None), SavedFile::Missing, built()).unwrap(),
            (client("built"), ClientSource::BuiltIn)
        );
    }

    #[test]
    fn nothing_configured_says_what_to_do() {
        let e = pick((None, None), SavedFile::Missing, None).unwrap_err();
        assert!(e.to_string().contains("Use my own Google client"), "{e}");
    }

    #[test]
    fn a_half_set_environment_or_a_broken_file_is_not_passed_over() {
        let built = || Some(client("built"));
        let half = pick((Some("id"), None), SavedFile::Missing, built()).unwrap_err();
        assert!(half.to_string().contains("set both"));
        let broken = pick((None, None), SavedFile::Text("{".to_owned()), built()).unwrap_err();
        assert!(
            broken.to_string().contains("/d/google-client.json"),
            "{broken}"
        );
        assert!(broken.to_string().contains("not JSON"), "{broken}");
        let unreadable = pick(
            (None, None),
            SavedFile::Unreadable("denied".into()),
            built(),
        )
        .unwrap_err();
        assert!(unreadable.to_string().contains("denied"));
    }

    #[test]
    fn the_built_in_client_needs_both_halves() {
        assert_eq!(client_from_pair(Some("i"), Some("s")), Some(client("i")));
        assert_eq!(client_from_pair(Some("i"), None), None);
        assert_eq!(client_from_pair(Some(""), Some("s")), None);
    }

    #[test]
    fn google_consoles_desktop_download_is_accepted() {
        let c = parse(DESKTOP).unwrap();
        assert_eq!(c.client_id, "123-abc.apps.googleusercontent.com");
        assert_eq!(c.client_secret, "GOCSPX-x");
        assert_eq!(
            parse(r#"{"client_id":" i ","client_secret":"s"}"#).unwrap(),
            client("i")
        );
    }

    #[test]
    fn each_wrong_file_gets_its_own_sentence() {
        let web = r#"{"web":{"client_id":"i","client_secret":"s","redirect_uris":["https://x"]}}"#;
        assert_eq!(parse(web), Err(ClientFileError::WebClient));
        assert_eq!(parse("client_id=x"), Err(ClientFileError::NotJson));
        assert_eq!(parse("[1]"), Err(ClientFileError::NotAClient));
        assert_eq!(parse(r#"{"name":"x"}"#), Err(ClientFileError::NotAClient));
        assert_eq!(
            parse(r#"{"installed":{"client_secret":"s"}}"#),
            Err(ClientFileError::MissingClientId)
        );
        assert_eq!(
            parse(r#"{"installed":{"client_id":"i"}}"#),
            Err(ClientFileError::MissingClientSecret)
        );
        for e in [
            ClientFileError::NotJson,
            ClientFileError::WebClient,
            ClientFileError::MissingClientId,
        ] {
            let sentence = e.to_string();
            assert!(sentence.ends_with('.'), "{sentence}");
            assert!(sentence.contains("Google Cloud's console"), "{sentence}");
        }
    }

    #[test]
    fn only_a_valid_file_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let web = r#"{"web":{"client_id":"i","client_secret":"s"}}"#;
        assert_eq!(save(dir.path(), web), Err(ClientFileError::WebClient));
        assert_eq!(save(dir.path(), "nope"), Err(ClientFileError::NotJson));
        assert!(!dir.path().join(CLIENT_FILE).exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let saved = save(dir.path(), DESKTOP).unwrap();
        assert_eq!(saved.client_id, "123-abc.apps.googleusercontent.com");
        assert_eq!(read_saved(dir.path()), SavedFile::Text(DESKTOP.to_owned()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(CLIENT_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A wrong file later leaves the good one in place.
        assert!(save(dir.path(), web).is_err());
        assert_eq!(read_saved(dir.path()), SavedFile::Text(DESKTOP.to_owned()));
    }
}
