//! When a schedule runs: daily, on chosen weekdays, monthly on a day (or the last day), or a
//! cron pattern, at a wall-clock time in an IANA time zone. Every kind is turned into a cron
//! pattern and its occurrences found by `croner` in the zone, so daylight-saving changes
//! follow one rule: a time that does not exist that day (clocks go forward) runs at the
//! first minute after the gap, and a time that happens twice (clocks go back) runs once, the
//! first time.

use chrono::{DateTime, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use croner::{
    Cron,
    parser::{CronParser, Seconds, Year},
};
use serde::{Deserialize, Serialize};

/// The shortest time between two runs a cron pattern may ask for.
pub const MIN_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// How many occurrences of a pattern are checked against [`MIN_INTERVAL`].
const CHECKED_OCCURRENCES: usize = 100;

/// The day of the month a monthly schedule runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonthDay {
    /// 1 to 28: every month has it.
    Day(u8),
    /// The month's last day, whatever its length.
    Last,
}

/// How often a schedule runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "every", rename_all = "snake_case")]
pub enum Recurrence {
    Daily {
        at: NaiveTime,
    },
    Weekly {
        days: Vec<Weekday>,
        at: NaiveTime,
    },
    Monthly {
        day: MonthDay,
        at: NaiveTime,
    },
    /// Five fields (minute hour day-of-month month day-of-week) or a nickname (`@daily`).
    Cron {
        pattern: String,
    },
}

/// A recurrence in a time zone, checked: it runs, and not more often than [`MIN_INTERVAL`].
#[derive(Debug, Clone)]
pub struct Timing {
    recurrence: Recurrence,
    zone: Tz,
    cron: Cron,
}

impl PartialEq for Timing {
    fn eq(&self, other: &Self) -> bool {
        self.recurrence == other.recurrence && self.zone == other.zone
    }
}

impl Timing {
    /// Checks `recurrence` in `zone` (an IANA name such as `Europe/London`); each problem is a
    /// sentence naming what to change.
    pub fn new(recurrence: Recurrence, zone: &str) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let zone = match zone.parse::<Tz>() {
            Ok(zone) => Some(zone),
            Err(_) => {
                problems.push(format!(
                    "\u{201c}{}\u{201d} is not a time zone; choose one such as Europe/London.",
                    zone.chars().take(64).collect::<String>()
                ));
                None
            }
        };
        let pattern = match pattern(&recurrence) {
            Ok(pattern) => Some(pattern),
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        let cron = pattern.and_then(|pattern| match parser().parse(&pattern) {
            Ok(cron) => Some(cron),
            Err(err) => {
                problems.push(format!(
                    "The cron pattern cannot be read ({err}); it has five fields: minute, hour, day of the month, month and day of the week."
                ));
                None
            }
        });
        let (Some(zone), Some(cron)) = (zone, cron) else {
            return Err(problems);
        };
        let timing = Self {
            recurrence,
            zone,
            cron,
        };
        let upcoming = timing.upcoming(Utc::now(), CHECKED_OCCURRENCES);
        if upcoming.is_empty() {
            return Err(vec![
                "The cron pattern never runs; check its day and month.".into(),
            ]);
        }
        if upcoming
            .windows(2)
            .any(|pair| pair[1].signed_duration_since(pair[0]) < MIN_INTERVAL)
        {
            return Err(vec![format!(
                "A schedule runs at most every {} minutes; the cron pattern runs more often.",
                MIN_INTERVAL.num_minutes()
            )]);
        }
        Ok(timing)
    }

    pub fn recurrence(&self) -> &Recurrence {
        &self.recurrence
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first occurrence strictly after `after`, if there is one.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|next| next.with_timezone(&Utc))
    }

    /// The next `count` occurrences after `after`, in the schedule's zone (for a preview).
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        let mut found = Vec::with_capacity(count);
        let mut from = after;
        while found.len() < count {
            let Some(next) = self.next_after(from) else {
                break;
            };
            found.push(next.with_timezone(&self.zone));
            from = next;
        }
        found
    }

    /// In words, for lists: "Weekdays Monday, Wednesday at 09:30 (Europe/London)".
    pub fn describe(&self) -> String {
        let at = |time: &NaiveTime| format!("{:02}:{:02}", time.hour(), time.minute());
        let what = match &self.recurrence {
            Recurrence::Daily { at: time } => format!("Every day at {}", at(time)),
            Recurrence::Weekly { days, at: time } => format!(
                "Every {} at {}",
                days.iter()
                    .map(|day| day_name(*day))
                    .collect::<Vec<_>>()
                    .join(", "),
                at(time)
            ),
            Recurrence::Monthly {
                day: MonthDay::Day(day),
                at: time,
            } => format!("Monthly on day {day} at {}", at(time)),
            Recurrence::Monthly {
                day: MonthDay::Last,
                at: time,
            } => format!("Monthly on the last day at {}", at(time)),
            Recurrence::Cron { pattern } => format!("Cron \u{201c}{pattern}\u{201d}"),
        };
        format!("{what} ({})", self.zone.name())
    }
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// Minutes and hours only: a schedule has no seconds, and no years.
fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

/// The cron pattern of `recurrence`, or why it has none.
fn pattern(recurrence: &Recurrence) -> Result<String, String> {
    let minute_hour = |at: &NaiveTime| format!("{} {}", at.minute(), at.hour());
    Ok(match recurrence {
        Recurrence::Daily { at } => format!("{} * * *", minute_hour(at)),
        Recurrence::Weekly { days, at } => {
            if days.is_empty() {
                return Err("Choose at least one day of the week.".into());
            }
            let mut numbers: Vec<u32> = days.iter().map(Weekday::num_days_from_sunday).collect();
            numbers.sort_unstable();
            numbers.dedup();
            let numbers: Vec<String> = numbers.iter().map(ToString::to_string).collect();
            format!("{} * * {}", minute_hour(at), numbers.join(","))
        }
        Recurrence::Monthly {
            day: MonthDay::Day(day),
            at,
        } => {
            if !(1..=28).contains(day) {
                return Err(
                    "Choose a day of the month from 1 to 28, or the last day of the month.".into(),
                );
            }
            format!("{} {day} * *", minute_hour(at))
        }
        Recurrence::Monthly {
            day: MonthDay::Last,
            at,
        } => format!("{} L * *", minute_hour(at)),
        Recurrence::Cron { pattern } => {
            let pattern = pattern.trim();
            let fields = pattern.split_whitespace().count();
            if pattern.len() > 200 || !(fields == 5 || (fields == 1 && pattern.starts_with('@'))) {
                return Err("A cron pattern has five fields: minute, hour, day of the month, month and day of the week.".into());
            }
            pattern.to_owned()
        }
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// The next `count` occurrences after `after`, as local RFC 3339 text.
    fn next(timing: &Timing, after: &str, count: usize) -> Vec<String> {
        timing
            .upcoming(utc(after), count)
            .iter()
            .map(|time| time.to_rfc3339())
            .collect()
    }

    #[test]
    fn a_daily_time_keeps_its_wall_clock_across_the_spring_and_autumn_changes_in_london() {
        let timing = Timing::new(Recurrence::Daily { at: at(9, 0) }, "Europe/London").unwrap();
        // Clocks go forward on 2026-03-29: 09:00 is GMT before and BST after.
        assert_eq!(
            next(&timing, "2026-03-27T12:00:00Z", 3),
            [
                "2026-03-28T09:00:00+00:00",
                "2026-03-29T09:00:00+01:00",
                "2026-03-30T09:00:00+01:00"
            ]
        );
        // And back on 2026-10-25.
        assert_eq!(
            next(&timing, "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T09:00:00+00:00", "2026-10-26T09:00:00+00:00"]
        );
    }

    #[test]
    fn a_time_in_the_spring_gap_runs_after_it_and_a_doubled_time_runs_once() {
        // New York: 02:30 does not exist on 2026-03-08 (02:00 -> 03:00); 01:30 happens twice
        // on 2026-11-01.
        let gap = Timing::new(Recurrence::Daily { at: at(2, 30) }, "America/New_York").unwrap();
        assert_eq!(
            next(&gap, "2026-03-07T12:00:00Z", 3),
            [
                "2026-03-08T03:00:00-04:00",
                "2026-03-09T02:30:00-04:00",
                "2026-03-10T02:30:00-04:00"
            ]
        );
        let doubled = Timing::new(Recurrence::Daily { at: at(1, 30) }, "America/New_York").unwrap();
        assert_eq!(
            next(&doubled, "2026-10-31T12:00:00Z", 2),
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
        );
    }

    #[test]
    fn weekly_runs_on_the_chosen_days_and_monthly_on_the_day_or_the_last_day() {
        let weekly = Timing::new(
            Recurrence::Weekly {
                days: vec![Weekday::Wed, Weekday::Mon, Weekday::Mon],
                at: at(7, 45),
            },
            "Australia/Sydney",
        )
        .unwrap();
        // 2026-12-07 is a Monday.
        assert_eq!(
            next(&weekly, "2026-12-06T00:00:00Z", 3),
            [
                "2026-12-07T07:45:00+11:00",
                "2026-12-09T07:45:00+11:00",
                "2026-12-14T07:45:00+11:00"
            ]
        );
        let last = Timing::new(
            Recurrence::Monthly {
                day: MonthDay::Last,
                at: at(17, 0),
            },
            "UTC",
        )
        .unwrap();
        assert_eq!(
            next(&last, "2027-01-31T18:00:00Z", 3),
            [
                "2027-02-28T17:00:00+00:00",
                "2027-03-31T17:00:00+00:00",
                "2027-04-30T17:00:00+00:00"
            ]
        );
        let fifth = Timing::new(
            Recurrence::Monthly {
                day: MonthDay::Day(5),
                at: at(8, 0),
            },
            "Europe/Berlin",
        )
        .unwrap();
        assert_eq!(
            next(&fifth, "2026-12-05T08:00:00+01:00", 2),
            ["2027-01-05T08:00:00+01:00", "2027-02-05T08:00:00+01:00"]
        );
    }

    #[test]
    fn cron_patterns_run_in_the_zone_and_keep_their_local_time_over_a_change() {
        // 08:15 on weekdays in Berlin, across the change of 2027-03-28 (a Sunday).
        let cron = Timing::new(
            Recurrence::Cron {
                pattern: "15 8 * * 1-5".into(),
            },
            "Europe/Berlin",
        )
        .unwrap();
        assert_eq!(
            next(&cron, "2027-03-25T12:00:00Z", 3),
            [
                "2027-03-26T08:15:00+01:00",
                "2027-03-29T08:15:00+02:00",
                "2027-03-30T08:15:00+02:00"
            ]
        );
        let nickname = Timing::new(
            Recurrence::Cron {
                pattern: "@weekly".into(),
            },
            "UTC",
        )
        .unwrap();
        assert_eq!(
            nickname.next_after(utc("2026-12-07T00:00:00Z")),
            Some(Utc.with_ymd_and_hms(2026, 12, 13, 0, 0, 0).unwrap())
        );
    }

    #[test]
    fn what_cannot_run_or_runs_too_often_is_refused_with_the_reason() {
        let refused = |recurrence: Recurrence, zone: &str| {
            Timing::new(recurrence, zone).unwrap_err().join(" ")
        };
        let cron = |pattern: &str| Recurrence::Cron {
            pattern: pattern.into(),
        };
        assert_eq!(
            refused(Recurrence::Daily { at: at(9, 0) }, "Mars/Olympus"),
            "\u{201c}Mars/Olympus\u{201d} is not a time zone; choose one such as Europe/London."
        );
        assert!(refused(cron("*/5 * * * *"), "UTC").contains("at most every 15 minutes"));
        assert!(refused(cron("* * * * *"), "UTC").contains("at most every 15 minutes"));
        assert!(refused(cron("0 0 30 2 *"), "UTC").contains("never runs"));
        // Seconds and years are not schedules' business.
        assert!(refused(cron("0 0 9 * * *"), "UTC").contains("five fields"));
        assert!(refused(cron("0 9 * *"), "UTC").contains("five fields"));
        assert!(refused(cron("61 9 * * *"), "UTC").contains("cannot be read"));
        assert!(
            refused(
                Recurrence::Weekly {
                    days: Vec::new(),
                    at: at(9, 0)
                },
                "UTC"
            )
            .contains("at least one day")
        );
        assert!(
            refused(
                Recurrence::Monthly {
                    day: MonthDay::Day(31),
                    at: at(9, 0)
                },
                "UTC"
            )
            .contains("from 1 to 28")
        );
        // Every quarter of an hour is allowed.
        assert!(Timing::new(cron("*/15 * * * *"), "UTC").is_ok());
    }

    #[test]
    fn a_recurrence_is_stored_as_tagged_json() {
        let weekly = Recurrence::Weekly {
            days: vec![Weekday::Mon, Weekday::Fri],
            at: at(9, 30),
        };
        let json = serde_json::to_value(&weekly).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"every": "weekly", "days": ["Mon", "Fri"], "at": "09:30:00"})
        );
        assert_eq!(serde_json::from_value::<Recurrence>(json).unwrap(), weekly);
        let monthly = serde_json::to_value(Recurrence::Monthly {
            day: MonthDay::Last,
            at: at(9, 30),
        })
        .unwrap();
        assert_eq!(monthly["day"], "last");
        assert_eq!(
            Timing::new(weekly, "Europe/London").unwrap().describe(),
            "Every Monday, Friday at 09:30 (Europe/London)"
        );
    }
}
