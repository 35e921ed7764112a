//! What lead details go into the Google event, and reading Bookline's own rendering
//! back so a round trip neither loses the user's text nor stacks lead blocks.
//!
//! The summary is the appointment title passed through a template (`{title}`,
//! `{lead_name}`, `{lead_email}`, `{lead_phone}`). The description is the notes followed
//! by an optional lead block that starts with a fixed marker line; parsing strips a
//! trailing block of exactly that form and nothing else.

use crate::model::Lead;
use serde::{Deserialize, Serialize};

pub const DEFAULT_TITLE_TEMPLATE: &str = "{title}";
/// First line of the lead block Bookline appends to descriptions.
pub const LEAD_BLOCK_MARKER: &str = "--- Bookline lead ---";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacySettings {
    pub title_template: String,
    pub include_lead_name: bool,
    pub include_lead_phone: bool,
    pub include_lead_email: bool,
}

impl Default for PrivacySettings {
    /// Nothing about the lead leaves the CRM unless the user opts in.
    fn default() -> Self {
        Self {
            title_template: DEFAULT_TITLE_TEMPLATE.to_owned(),
            include_lead_name: false,
            include_lead_phone: false,
            include_lead_email: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Title,
    LeadName,
    LeadEmail,
    LeadPhone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Hole(Placeholder),
}

/// Why a title template is refused (shown in the settings dialog).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the title template must contain {{title}} exactly once")]
    TitleCount,
    #[error("unknown placeholder {{{0}}} in the title template (use {{title}}, {{lead_name}}, {{lead_email}} or {{lead_phone}})")]
    Unknown(String),
}

fn parse_template(template: &str) -> Result<Vec<Part>, TemplateError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        literal.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            literal.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let name = &after[..close];
        let hole = match name {
            "title" => Placeholder::Title,
            "lead_name" => Placeholder::LeadName,
            "lead_email" => Placeholder::LeadEmail,
            "lead_phone" => Placeholder::LeadPhone,
            other => return Err(TemplateError::Unknown(other.to_owned())),
        };
        if !literal.is_empty() {
            parts.push(Part::Literal(std::mem::take(&mut literal)));
        }
        parts.push(Part::Hole(hole));
        rest = &after[close + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    let titles = parts
        .iter()
        .filter(|p| **p == Part::Hole(Placeholder::Title))
        .count();
    if titles != 1 {
        return Err(TemplateError::TitleCount);
    }
    Ok(parts)
}

impl PrivacySettings {
    pub fn validate(&self) -> Result<(), TemplateError> {
        parse_template(&self.title_template).map(|_| ())
    }

    /// The template's parts, falling back to `{title}` when the stored template is
    /// invalid (the settings dialog refuses such templates; a hand-edited file must not
    /// leak or break titles).
    fn parts(&self) -> Vec<Part> {
        parse_template(&self.title_template)
            .unwrap_or_else(|_| vec![Part::Hole(Placeholder::Title)])
    }

    /// The summary split around the title: (prefix, suffix) for this lead.
    fn title_frame(&self, lead: &Lead) -> (String, String) {
        let mut parts: Vec<Option<Part>> = self.parts().into_iter().map(Some).collect();
        // A lead placeholder with nothing to show is dropped with the separator that
        // joins it to the rest ("Call — " would look broken).
        for i in 0..parts.len() {
            let Some(Part::Hole(p)) = &parts[i] else {
                continue;
            };
            if *p == Placeholder::Title || !lead_value(lead, *p).is_empty() {
                continue;
            }
            parts[i] = None;
            let is_separator = |part: &Option<Part>| {
                matches!(part, Some(Part::Literal(l))
                    if l.chars().all(|c| c.is_whitespace() || c.is_ascii_punctuation() || "—–·|•".contains(c)))
            };
            if i > 0 && is_separator(&parts[i - 1]) {
                parts[i - 1] = None;
            } else if i + 1 < parts.len() && is_separator(&parts[i + 1]) {
                parts[i + 1] = None;
            }
        }
        let mut prefix = String::new();
        let mut suffix = String::new();
        let mut seen_title = false;
        for part in parts.into_iter().flatten() {
            let out = if seen_title { &mut suffix } else { &mut prefix };
            match part {
                Part::Literal(l) => out.push_str(&l),
                Part::Hole(Placeholder::Title) => seen_title = true,
                Part::Hole(p) => out.push_str(lead_value(lead, p)),
            }
        }
        (prefix, suffix)
    }

    /// The Google summary for an appointment title.
    pub fn render_summary(&self, title: &str, lead: &Lead) -> String {
        let (prefix, suffix) = self.title_frame(lead);
        format!("{prefix}{title}{suffix}")
    }

    /// The appointment title in a Google summary: the summary without the template's
    /// frame when it has it, otherwise the summary as the user wrote it in Google.
    pub fn parse_summary(&self, summary: &str, lead: &Lead) -> String {
        let (prefix, suffix) = self.title_frame(lead);
        if summary.len() >= prefix.len() + suffix.len() {
            if let Some(inner) = summary
                .strip_prefix(prefix.as_str())
                .and_then(|s| s.strip_suffix(suffix.as_str()))
            {
                return inner.to_owned();
            }
        }
        summary.to_owned()
    }

    /// Whether `summary` is `title` in this template's frame for *some* lead. Used when
    /// the exact frame for the current lead does not match — the lead's details changed
    /// in the CRM after the summary was written — to recognise an unchanged title
    /// instead of reading the old frame as a title edit made in Google.
    pub fn is_framed_title(&self, summary: &str, title: &str) -> bool {
        if summary == title {
            return true;
        }
        // Summaries are short; the cap keeps the backtracking below trivially bounded.
        if summary.len() > 1024 {
            return false;
        }
        let pattern: Vec<Pattern> = self
            .parts()
            .into_iter()
            .map(|part| match part {
                Part::Literal(l) => Pattern::Text(l),
                Part::Hole(Placeholder::Title) => Pattern::Text(title.to_owned()),
                Part::Hole(_) => Pattern::Any,
            })
            .collect();
        matches_pattern(&pattern, summary)
    }

    /// The lead block for the description, or `None` when nothing is to be shown.
    fn lead_block(&self, lead: &Lead) -> Option<String> {
        let mut lines = Vec::new();
        if self.include_lead_name && !lead.name.trim().is_empty() {
            lines.push(format!("Name: {}", one_line(&lead.name)));
        }
        if self.include_lead_phone && !lead.phone.trim().is_empty() {
            lines.push(format!("Phone: {}", one_line(&lead.phone)));
        }
        if self.include_lead_email && !lead.email.trim().is_empty() {
            lines.push(format!("Email: {}", one_line(&lead.email)));
        }
        (!lines.is_empty()).then(|| format!("{LEAD_BLOCK_MARKER}\n{}", lines.join("\n")))
    }

    /// The Google description: the notes, then the lead block after a blank line.
    pub fn render_description(&self, notes: &str, lead: &Lead) -> String {
        match (self.lead_block(lead), notes.is_empty()) {
            (None, _) => notes.to_owned(),
            (Some(block), true) => block,
            (Some(block), false) => format!("{notes}\n\n{block}"),
        }
    }

    /// Summary and description for an appointment.
    pub fn render(&self, title: &str, notes: &str, lead: &Lead) -> (String, String) {
        (
            self.render_summary(title, lead),
            self.render_description(notes, lead),
        )
    }
}

/// The notes in a description: a trailing lead block Bookline wrote is removed (whatever
/// the privacy settings are now, so a changed setting never leaves an old block behind
/// as "notes").
pub fn parse_description(description: &str) -> String {
    // The block Bookline writes is always last, so the last marker is the one to try.
    let (before, block) = if let Some(pos) = description.rfind(&format!("\n\n{LEAD_BLOCK_MARKER}"))
    {
        (
            &description[..pos],
            &description[pos + 2 + LEAD_BLOCK_MARKER.len()..],
        )
    } else if let Some(rest) = description.strip_prefix(LEAD_BLOCK_MARKER) {
        ("", rest)
    } else {
        return description.to_owned();
    };
    let is_block = block.starts_with('\n')
        && block[1..].lines().all(|l| {
            l.starts_with("Name: ") || l.starts_with("Phone: ") || l.starts_with("Email: ")
        })
        && !block[1..].is_empty()
        && !block.ends_with('\n');
    if is_block {
        before.to_owned()
    } else {
        description.to_owned()
    }
}

fn lead_value(lead: &Lead, p: Placeholder) -> &str {
    match p {
        Placeholder::Title => "",
        Placeholder::LeadName => lead.name.trim(),
        Placeholder::LeadEmail => lead.email.trim(),
        Placeholder::LeadPhone => lead.phone.trim(),
    }
}

/// Lead values are shown on one line each; a newline inside one would break parsing.
fn one_line(s: &str) -> String {
    s.trim().replace(['\r', '\n'], " ")
}

/// A title template with the title filled in and lead placeholders left open.
enum Pattern {
    Text(String),
    /// A lead value: any non-empty text.
    Any,
}

fn matches_pattern(pattern: &[Pattern], s: &str) -> bool {
    match pattern.split_first() {
        None => s.is_empty(),
        Some((Pattern::Text(t), rest)) => s
            .strip_prefix(t.as_str())
            .is_some_and(|tail| matches_pattern(rest, tail)),
        Some((Pattern::Any, rest)) => s
            .char_indices()
            .skip(1)
            .map(|(i, _)| i)
            .chain(std::iter::once(s.len()))
            .filter(|i| *i > 0)
            .any(|i| matches_pattern(rest, &s[i..])),
    }
}
