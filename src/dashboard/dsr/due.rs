//! When an answer is due: pure functions on calendar dates. GDPR art. 12(3) gives one month,
//! counted by the rule of Regulation 1182/71 art. 3(2)(c): the period ends on the same date in
//! the next month, or on that month's last day when the date does not exist there (31 January
//! → 28 or 29 February, 31 March → 30 April). Organisations that promise less configure a
//! number of days. An extension adds one or two months to the first due date, by the same
//! rule, and may only be taken until that date.

use time::{Date, Month};

use crate::config::Deadline;

/// Most months an extension may add (art. 12(3): "by two further months").
pub const MAX_EXTENSION_MONTHS: u8 = 2;

/// `date` moved `months` months on: the same day of the month, or the month's last day when
/// it has no such day.
pub fn add_months(date: Date, months: u8) -> Date {
    let index = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + i32::from(months);
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .unwrap_or(Month::December);
    let last = month.length(year);
    Date::from_calendar_date(year, month, date.day().min(last)).unwrap_or(Date::MAX)
}

/// The first due date of a request received on `received`.
pub fn first_due(received: Date, deadline: Deadline) -> Date {
    match deadline {
        Deadline::OneMonth => add_months(received, 1),
        Deadline::Days(n) => received
            .checked_add(time::Duration::days(i64::from(n)))
            .unwrap_or(Date::MAX),
    }
}

/// Why an extension cannot be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionRefused {
    #[error("an extension adds 1 or 2 months")]
    Months,
    #[error("the first due date has passed: an extension is only possible before it")]
    TooLate,
    #[error("the person must have been told between receipt and the first due date, and not after today")]
    ToldOutsidePeriod,
    #[error("the request was extended already")]
    AlreadyExtended,
}

/// The due date after extending by `months`, if it may be taken `today` with the person told
/// on `told_on`: until (and on) the first due date, told within the first period.
pub fn extended_due(
    received: Date,
    first_due: Date,
    months: u8,
    today: Date,
    told_on: Date,
) -> Result<Date, ExtensionRefused> {
    if !(1..=MAX_EXTENSION_MONTHS).contains(&months) {
        return Err(ExtensionRefused::Months);
    }
    if today > first_due {
        return Err(ExtensionRefused::TooLate);
    }
    if told_on < received || told_on > first_due || told_on > today {
        return Err(ExtensionRefused::ToldOutsidePeriod);
    }
    Ok(add_months(first_due, months))
}

/// Whole days from `today` to `due`: negative when overdue.
pub fn days_left(today: Date, due: Date) -> i64 {
    (due - today).whole_days()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const MONTH: Deadline = Deadline::OneMonth;

    #[test]
    fn one_month_is_the_same_date_next_month_or_its_last_day() {
        assert_eq!(
            first_due(date!(2026 - 01 - 15), MONTH),
            date!(2026 - 02 - 15)
        );
        assert_eq!(
            first_due(date!(2026 - 01 - 31), MONTH),
            date!(2026 - 02 - 28)
        );
        assert_eq!(
            first_due(date!(2028 - 01 - 31), MONTH),
            date!(2028 - 02 - 29)
        );
        assert_eq!(
            first_due(date!(2028 - 01 - 29), MONTH),
            date!(2028 - 02 - 29)
        );
        assert_eq!(
            first_due(date!(2026 - 03 - 31), MONTH),
            date!(2026 - 04 - 30)
        );
        assert_eq!(
            first_due(date!(2026 - 04 - 30), MONTH),
            date!(2026 - 05 - 30)
        );
        assert_eq!(
            first_due(date!(2026 - 12 - 31), MONTH),
            date!(2027 - 01 - 31)
        );
        assert_eq!(
            first_due(date!(2024 - 02 - 29), MONTH),
            date!(2024 - 03 - 29)
        );
        assert_eq!(
            first_due(date!(2100 - 01 - 31), MONTH),
            date!(2100 - 02 - 28)
        );
        assert_eq!(
            first_due(date!(2000 - 01 - 31), MONTH),
            date!(2000 - 02 - 29)
        );
    }

    #[test]
    fn a_number_of_days_counts_calendar_days() {
        assert_eq!(
            first_due(date!(2026 - 02 - 20), Deadline::Days(21)),
            date!(2026 - 03 - 13)
        );
        assert_eq!(
            first_due(date!(2028 - 02 - 20), Deadline::Days(21)),
            date!(2028 - 03 - 12)
        );
        assert_eq!(
            first_due(date!(2026 - 12 - 20), Deadline::Days(28)),
            date!(2027 - 01 - 17)
        );
    }

    #[test]
    fn months_are_added_across_year_ends_and_short_months() {
        assert_eq!(add_months(date!(2026 - 11 - 30), 2), date!(2027 - 01 - 30));
        assert_eq!(add_months(date!(2026 - 12 - 31), 2), date!(2027 - 02 - 28));
        assert_eq!(add_months(date!(2027 - 12 - 31), 2), date!(2028 - 02 - 29));
        assert_eq!(add_months(date!(2026 - 05 - 31), 1), date!(2026 - 06 - 30));
        assert_eq!(add_months(date!(2026 - 05 - 31), 0), date!(2026 - 05 - 31));
    }

    #[test]
    fn an_extension_is_possible_only_until_the_first_due_date() {
        let received = date!(2026 - 01 - 31);
        let due = first_due(received, MONTH);
        assert_eq!(due, date!(2026 - 02 - 28));
        // On the due date itself, the person told the same day: two more months.
        assert_eq!(
            extended_due(received, due, 2, due, due),
            Ok(date!(2026 - 04 - 28))
        );
        assert_eq!(
            extended_due(
                received,
                due,
                1,
                date!(2026 - 02 - 10),
                date!(2026 - 02 - 09)
            ),
            Ok(date!(2026 - 03 - 28))
        );
        assert_eq!(
            extended_due(
                received,
                due,
                2,
                date!(2026 - 03 - 01),
                date!(2026 - 02 - 20)
            ),
            Err(ExtensionRefused::TooLate)
        );
        assert_eq!(
            extended_due(received, due, 3, due, due),
            Err(ExtensionRefused::Months)
        );
        assert_eq!(
            extended_due(received, due, 0, due, due),
            Err(ExtensionRefused::Months)
        );
        assert_eq!(
            extended_due(
                received,
                due,
                1,
                date!(2026 - 02 - 10),
                date!(2026 - 02 - 11)
            ),
            Err(ExtensionRefused::ToldOutsidePeriod)
        );
        assert_eq!(
            extended_due(
                received,
                due,
                1,
                date!(2026 - 02 - 10),
                date!(2026 - 01 - 30)
            ),
            Err(ExtensionRefused::ToldOutsidePeriod)
        );
    }

    #[test]
    fn days_left_are_negative_once_overdue() {
        let due = date!(2026 - 03 - 01);
        assert_eq!(days_left(date!(2026 - 02 - 22), due), 7);
        assert_eq!(days_left(due, due), 0);
        assert_eq!(days_left(date!(2026 - 03 - 03), due), -2);
    }
}
