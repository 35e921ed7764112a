//! What differs between the desktops Bookline runs on, as plain functions of the OS, so
//! every OS's answer is unit-tested on the one CI runs (Linux).

/// A desktop OS Bookline is built for. Anything else Unix-like counts as `Linux` (the
/// BSDs share its desktops, Secret Service and tray conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
    MacOs,
}

impl Os {
    /// The OS this build runs on.
    pub const fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "macos") {
            Self::MacOs
        } else {
            Self::Linux
        }
    }
}

/// What the place of the status icon is called where the user looks for it: macOS has a
/// menu bar (its users never say "tray"); Windows and the Linux desktops say tray.
pub fn tray_word(os: Os) -> &'static str {
    match os {
        Os::MacOs => "menu bar",
        Os::Linux | Os::Windows => "tray",
    }
}

/// Whether a left click (or double click) on the status icon opens the window: the
/// Windows convention, where the menu belongs to the right click. On macOS a click opens
/// the menu; on Linux the panels do not even pass clicks on (every action is in the menu).
pub fn click_opens_window(os: Os) -> bool {
    matches!(os, Os::Windows)
}

/// The OS's own name for the store the Google sign-in lives in, as its settings and help
/// pages call it, so a user can find it when the keyring fails.
pub fn keyring_store_name(os: Os) -> &'static str {
    match os {
        Os::Linux => "the Secret Service (GNOME Keyring or KWallet)",
        Os::Windows => "Windows Credential Manager",
        Os::MacOs => "the macOS Keychain (Keychain Access)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icon_lives_in_the_menu_bar_on_macos_and_in_the_tray_elsewhere() {
        assert_eq!(tray_word(Os::MacOs), "menu bar");
        assert_eq!(tray_word(Os::Windows), "tray");
        assert_eq!(tray_word(Os::Linux), "tray");
    }

    #[test]
    fn only_windows_opens_the_window_on_a_click_on_the_icon() {
        assert!(click_opens_window(Os::Windows));
        assert!(!click_opens_window(Os::MacOs));
        assert!(!click_opens_window(Os::Linux));
    }

    #[test]
    fn each_os_names_its_own_keyring() {
        assert!(keyring_store_name(Os::Windows).contains("Credential Manager"));
        assert!(keyring_store_name(Os::MacOs).contains("Keychain Access"));
        assert!(keyring_store_name(Os::Linux).contains("GNOME Keyring"));
        for os in [Os::Linux, Os::Windows, Os::MacOs] {
            let others = [Os::Linux, Os::Windows, Os::MacOs]
                .into_iter()
                .filter(|o| *o != os);
            for other in others {
                assert_ne!(keyring_store_name(os), keyring_store_name(other));
            }
        }
    }

    #[test]
    fn this_build_knows_its_os() {
        assert_eq!(Os::current() == Os::Windows, cfg!(windows));
        assert_eq!(Os::current() == Os::MacOs, cfg!(target_os = "macos"));
    }
}
