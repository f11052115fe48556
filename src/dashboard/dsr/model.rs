//! A data-subject request as the register keeps it, and the rules of its life: which status
//! may follow which, when an extension may be taken, when the data may be acted on, how long
//! it is kept. Pure: no store, no clock — callers pass the day.

use serde::{Deserialize, Serialize};
use time::Date;

use super::due::{extended_due, first_due, ExtensionRefused};
use crate::config::Deadline;
use crate::dashboard::audit::AuditEvent;

/// Longest free text a request keeps (contact, notes, reasons), in characters.
pub const MAX_TEXT: usize = 2000;

/// What the person asks for (GDPR art. 15–21, 7(3)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Access,
    Rectification,
    Erasure,
    Restriction,
    Objection,
    Portability,
    /// Withdrawal of consent.
    Withdrawal,
}

/// How the request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Form,
    Email,
    Letter,
    Phone,
    InPerson,
}

/// Where the request stands. Done, refused and withdrawn close it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Received,
    IdentityChecked,
    InProgress,
    Done,
    Refused,
    /// Withdrawn by the person.
    Withdrawn,
}

macro_rules! names {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// Every value, in the order the pages offer them.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// The snake_case name used in storage, forms, exports and message keys.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }

            /// The value called `name` (as in `as_str`).
            pub fn from_name(name: &str) -> Option<$ty> {
                Self::ALL.iter().copied().find(|v| v.as_str() == name)
            }
        }
    };
}

names!(Kind {
    Access => "access",
    Rectification => "rectification",
    Erasure => "erasure",
    Restriction => "restriction",
    Objection => "objection",
    Portability => "portability",
    Withdrawal => "withdrawal",
});
names!(Channel {
    Form => "form",
    Email => "email",
    Letter => "letter",
    Phone => "phone",
    InPerson => "in_person",
});
names!(Status {
    Received => "received",
    IdentityChecked => "identity_checked",
    InProgress => "in_progress",
    Done => "done",
    Refused => "refused",
    Withdrawn => "withdrawn",
});

impl Status {
    /// Done, refused or withdrawn.
    pub fn is_closed(self) -> bool {
        matches!(self, Status::Done | Status::Refused | Status::Withdrawn)
    }

    /// Whether a request in this status may move to `next`: forward only (received →
    /// identity checked → in progress → done), refused or withdrawn from any open status, and
    /// nothing after closing.
    pub fn may_become(self, next: Status) -> bool {
        use Status::*;
        match (self, next) {
            (from, _) if from.is_closed() => false,
            (_, Refused | Withdrawn) => true,
            (Received, IdentityChecked) => true,
            (IdentityChecked, InProgress | Done) => true,
            (InProgress, Done) => true,
            _ => false,
        }
    }

    /// Whether the person's data may be disclosed, changed or erased: only once their
    /// identity was checked, and while the request is open.
    pub fn may_act_on_data(self) -> bool {
        matches!(self, Status::IdentityChecked | Status::InProgress)
    }
}

/// A `time::Date` as `YYYY-MM-DD`.
mod day {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &time::Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<time::Date, D::Error> {
        let text = String::deserialize(d)?;
        crate::forms::validate::parse_date(&text)
            .ok_or_else(|| serde::de::Error::custom("expected a date like 2026-11-22"))
    }
}

/// The deadline rule a request was registered under (kept, so a later change of `dsr.deadline`
/// does not move its due date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    OneMonth,
    Days(u16),
}

impl From<Deadline> for Rule {
    fn from(d: Deadline) -> Rule {
        match d {
            Deadline::OneMonth => Rule::OneMonth,
            Deadline::Days(n) => Rule::Days(n),
        }
    }
}

impl From<Rule> for Deadline {
    fn from(r: Rule) -> Deadline {
        match r {
            Rule::OneMonth => Deadline::OneMonth,
            Rule::Days(n) => Deadline::Days(n),
        }
    }
}

/// The extension of a request's deadline (art. 12(3)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// 1 or 2.
    pub months: u8,
    pub reason: String,
    /// When the person was told of the extension and its reasons.
    #[serde(with = "day")]
    pub told_on: Date,
}

/// A form entry a request concerns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntryRef {
    pub form: String,
    pub id: String,
}

impl EntryRef {
    /// `<form>/<entry id>`, as the audit log names an entry.
    pub fn object(&self) -> String {
        format!("{}/{}", self.form, self.id)
    }
}

/// One data-subject request. Stored sealed as a whole (contact, notes and reasons are
/// personal data), with its id, version and due day beside it in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// 12 lowercase hex characters, random.
    pub id: String,
    pub kind: Kind,
    #[serde(with = "day")]
    pub received: Date,
    pub channel: Channel,
    /// How to reach the person (name, address, e-mail, phone), as the operator wrote it.
    pub contact: String,
    pub rule: Rule,
    pub status: Status,
    /// How the identity was checked: a note, never a copy of an identity document.
    #[serde(default)]
    pub identity_note: Option<String>,
    /// Why it was refused, or what the person said when withdrawing.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub extension: Option<Extension>,
    /// Entries and consent ids it concerns (found and attached by an operator).
    #[serde(default)]
    pub entries: Vec<EntryRef>,
    #[serde(default)]
    pub consents: Vec<String>,
    /// Every change and action, oldest first: the same events the audit log holds.
    #[serde(default)]
    pub history: Vec<AuditEvent>,
    /// When it was registered and, once closed, when; unix seconds.
    pub registered: u64,
    #[serde(default)]
    pub closed: Option<u64>,
}

/// Why a change to a request is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a request in this status cannot change to that status")]
    Transition,
    #[error("checking the identity needs a note on how it was checked")]
    NoteNeeded,
    #[error("refusing or withdrawing needs a reason")]
    ReasonNeeded,
    #[error(transparent)]
    Extension(#[from] ExtensionRefused),
    #[error("the request is closed")]
    Closed,
    #[error("the person's data can be acted on only after their identity was checked, while the request is open")]
    IdentityFirst,
    #[error("a text is empty or longer than {MAX_TEXT} characters")]
    Text,
    #[error("the date received cannot be after today")]
    ReceivedLater,
    #[error("that entry or consent record is not attached to this request")]
    NotAttached,
    #[error("the entry no longer exists (handled, erased or past its retention)")]
    EntryGone,
    #[error("the entry cannot be decrypted")]
    EntryUnreadable,
    #[error("the entry's form has no such field")]
    UnknownField,
    #[error("the new value fails the field's check")]
    ValueRejected,
    #[error("no consent record with that id")]
    ConsentNotFound,
    #[error("nothing was chosen")]
    NothingChosen,
    #[error("what the request concerns changed since the confirmation; confirm again")]
    CountChanged,
    #[error("the search needs an e-mail address, a name or a phone number")]
    Query,
}

impl Refusal {
    /// The message key the pages show it with.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Transition => "dsr_refused_transition",
            Refusal::NoteNeeded => "dsr_refused_note",
            Refusal::ReasonNeeded => "dsr_refused_reason",
            Refusal::Extension(ExtensionRefused::Months) => "dsr_refused_months",
            Refusal::Extension(ExtensionRefused::TooLate) => "dsr_refused_too_late",
            Refusal::Extension(ExtensionRefused::ToldOutsidePeriod) => "dsr_refused_told",
            Refusal::Extension(ExtensionRefused::AlreadyExtended) => "dsr_refused_extended",
            Refusal::Closed => "dsr_refused_closed",
            Refusal::IdentityFirst => "dsr_refused_identity",
            Refusal::Text => "dsr_refused_text",
            Refusal::ReceivedLater => "dsr_refused_received",
            Refusal::NotAttached => "dsr_refused_not_attached",
            Refusal::EntryGone => "dsr_refused_entry_gone",
            Refusal::EntryUnreadable => "dsr_refused_unreadable",
            Refusal::UnknownField => "dsr_refused_field",
            Refusal::ValueRejected => "dsr_refused_value",
            Refusal::ConsentNotFound => "dsr_refused_consent",
            Refusal::NothingChosen => "dsr_refused_nothing",
            Refusal::CountChanged => "dsr_refused_count",
            Refusal::Query => "dsr_refused_query",
        }
    }

    /// Every refusal (the message tables must word each).
    pub const ALL: [Refusal; 20] = [
        Refusal::Transition,
        Refusal::NoteNeeded,
        Refusal::ReasonNeeded,
        Refusal::Extension(ExtensionRefused::Months),
        Refusal::Extension(ExtensionRefused::TooLate),
        Refusal::Extension(ExtensionRefused::ToldOutsidePeriod),
        Refusal::Extension(ExtensionRefused::AlreadyExtended),
        Refusal::Closed,
        Refusal::IdentityFirst,
        Refusal::Text,
        Refusal::ReceivedLater,
        Refusal::NotAttached,
        Refusal::EntryGone,
        Refusal::EntryUnreadable,
        Refusal::UnknownField,
        Refusal::ValueRejected,
        Refusal::ConsentNotFound,
        Refusal::NothingChosen,
        Refusal::CountChanged,
        Refusal::Query,
    ];
}

/// A free text as kept: trimmed, 1–[`MAX_TEXT`] characters.
pub fn text(value: &str) -> Result<String, Refusal> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT {
        return Err(Refusal::Text);
    }
    Ok(t.to_owned())
}

impl Request {
    /// The due date before any extension.
    pub fn first_due(&self) -> Date {
        first_due(self.received, self.rule.into())
    }

    /// The due date now in force.
    pub fn due(&self) -> Date {
        match &self.extension {
            Some(e) => super::due::add_months(self.first_due(), e.months),
            None => self.first_due(),
        }
    }

    pub fn is_open(&self) -> bool {
        !self.status.is_closed()
    }

    /// Move to `next` (`note`: how the identity was checked, or the reason for refusing or
    /// withdrawing); `now` in unix seconds.
    pub fn change_status(&mut self, next: Status, note: &str, now: u64) -> Result<(), Refusal> {
        if !self.status.may_become(next) {
            return Err(if self.status.is_closed() {
                Refusal::Closed
            } else {
                Refusal::Transition
            });
        }
        match next {
            Status::IdentityChecked => {
                self.identity_note = Some(text(note).map_err(|_| Refusal::NoteNeeded)?);
            }
            Status::Refused | Status::Withdrawn => {
                self.reason = Some(text(note).map_err(|_| Refusal::ReasonNeeded)?);
            }
            _ => {}
        }
        self.status = next;
        if next.is_closed() {
            self.closed = Some(now);
        }
        Ok(())
    }

    /// Extend the deadline by `months` (1 or 2), once, until the first due date; the person
    /// was told on `told_on`.
    pub fn extend(
        &mut self,
        months: u8,
        reason: &str,
        told_on: Date,
        today: Date,
    ) -> Result<Date, Refusal> {
        if self.status.is_closed() {
            return Err(Refusal::Closed);
        }
        if self.extension.is_some() {
            return Err(ExtensionRefused::AlreadyExtended.into());
        }
        let due = extended_due(self.received, self.first_due(), months, today, told_on)?;
        self.extension = Some(Extension {
            months,
            reason: text(reason).map_err(|_| Refusal::ReasonNeeded)?,
            told_on,
        });
        Ok(due)
    }

    /// Whether the person's data may be acted on now.
    pub fn check_may_act(&self) -> Result<(), Refusal> {
        if self.status.may_act_on_data() {
            Ok(())
        } else if self.status.is_closed() {
            Err(Refusal::Closed)
        } else {
            Err(Refusal::IdentityFirst)
        }
    }

    /// How long the store keeps it from `now` (unix s): a closed request `retention` after it
    /// closed; an open one until `retention` after its due date (an overdue request nobody
    /// touches for that long is gone too).
    pub fn keep_for(&self, retention: std::time::Duration, now: u64) -> std::time::Duration {
        let from = match self.closed {
            Some(closed) => closed,
            None => crate::clock::unix_midnight(self.due()) + 86_400,
        };
        let until = from.saturating_add(retention.as_secs());
        std::time::Duration::from_secs(until.saturating_sub(now).max(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    pub(crate) fn request() -> Request {
        Request {
            id: "0123456789ab".into(),
            kind: Kind::Access,
            received: date!(2026 - 01 - 31),
            channel: Channel::Email,
            contact: "Anouk Visser, anouk@example.nl".into(),
            rule: Rule::OneMonth,
            status: Status::Received,
            identity_note: None,
            reason: None,
            extension: None,
            entries: Vec::new(),
            consents: Vec::new(),
            history: Vec::new(),
            registered: 1_769_817_600,
            closed: None,
        }
    }

    #[test]
    fn statuses_move_forward_and_close_for_good() {
        use Status::*;
        assert!(Received.may_become(IdentityChecked));
        assert!(!Received.may_become(InProgress));
        assert!(!Received.may_become(Done));
        assert!(IdentityChecked.may_become(InProgress));
        assert!(IdentityChecked.may_become(Done));
        assert!(InProgress.may_become(Done));
        assert!(!InProgress.may_become(Received));
        for open in [Received, IdentityChecked, InProgress] {
            assert!(open.may_become(Refused) && open.may_become(Withdrawn));
            assert!(!open.is_closed());
        }
        for closed in [Done, Refused, Withdrawn] {
            assert!(closed.is_closed());
            assert!(Status::ALL.iter().all(|s| !closed.may_become(*s)));
        }
    }

    #[test]
    fn identity_checks_need_a_note_and_refusals_a_reason() {
        let mut r = request();
        assert_eq!(
            r.change_status(Status::IdentityChecked, "  ", 10),
            Err(Refusal::NoteNeeded)
        );
        assert_eq!(r.check_may_act(), Err(Refusal::IdentityFirst));
        r.change_status(
            Status::IdentityChecked,
            "Called back on the known number",
            10,
        )
        .unwrap();
        assert_eq!(r.check_may_act(), Ok(()));
        assert_eq!(
            r.change_status(Status::Refused, "", 11),
            Err(Refusal::ReasonNeeded)
        );
        r.change_status(Status::Refused, "Manifestly unfounded", 12)
            .unwrap();
        assert_eq!(r.closed, Some(12));
        assert_eq!(r.check_may_act(), Err(Refusal::Closed));
        assert_eq!(
            r.change_status(Status::InProgress, "", 13),
            Err(Refusal::Closed)
        );
    }

    #[test]
    fn an_extension_moves_the_due_date_once() {
        let mut r = request();
        assert_eq!(r.due(), date!(2026 - 02 - 28));
        let today = date!(2026 - 02 - 20);
        assert_eq!(
            r.extend(2, "Many records in several systems", today, today),
            Ok(date!(2026 - 04 - 28))
        );
        assert_eq!(r.due(), date!(2026 - 04 - 28));
        assert_eq!(
            r.extend(1, "again", today, today),
            Err(Refusal::Extension(ExtensionRefused::AlreadyExtended))
        );
        let mut late = request();
        let after = date!(2026 - 03 - 01);
        assert_eq!(
            late.extend(1, "too late", date!(2026 - 02 - 27), after),
            Err(Refusal::Extension(ExtensionRefused::TooLate))
        );
        assert_eq!(late.extension, None);
    }

    #[test]
    fn closed_requests_are_kept_for_the_retention_open_ones_past_their_due_date() {
        let year = std::time::Duration::from_secs(365 * 86_400);
        let mut r = request();
        let now = 1_770_000_000;
        let due_end = crate::clock::unix_midnight(r.due()) + 86_400;
        assert_eq!(
            r.keep_for(year, now).as_secs(),
            due_end + year.as_secs() - now
        );
        r.change_status(Status::Withdrawn, "Person called", now)
            .unwrap();
        assert_eq!(r.keep_for(year, now), year);
    }

    #[test]
    fn names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.as_str()), Some(*k));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::from_name(c.as_str()), Some(*c));
        }
        for s in Status::ALL {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        let r = request();
        let back: Request = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
