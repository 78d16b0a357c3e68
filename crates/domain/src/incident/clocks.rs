//! The clocks an incident starts: each duty's deadline from the awareness of the party that
//! owes it, and whether it was met, is due or is overdue.
//!
//! Three sources of duties: the contract's `incident-escalation` steps (hours, exact), every
//! regime the contract names (their rules are versioned data shipped in `regimes/*.toml`, not
//! code: periods in hours, calendar days or working days, counted in the regime's time zone,
//! so a day across a daylight-saving change is 23 or 25 hours), and the `rollback` module's
//! `max_hours` when the incident reaches its trigger severity.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use super::Incident;
use crate::contract::{Module, Regime, RollbackApproval, Severity};
use crate::kinds::Role;
use crate::state::State;

/// A regime's incident-reporting rules, as shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeRules {
    pub regime: Regime,
    /// The version of this data: a new reading of the rules is a new version.
    pub version: String,
    pub title: String,
    pub source: String,
    /// The IANA time zone its days are counted in.
    pub time_zone: String,
    /// Days that are not working days, e.g. `saturday`.
    pub weekend: Vec<String>,
    /// Public holidays, `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    pub duties: Vec<RegimeDuty>,
}

/// One reporting duty of a regime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeDuty {
    pub id: String,
    pub article: String,
    /// The severities it covers (any, when empty).
    #[serde(default)]
    pub severities: Vec<Severity>,
    /// The harms it covers (any, when empty).
    #[serde(default)]
    pub harms: Vec<String>,
    /// The role of the party of the contract that owes it (e.g. the vendor, as provider).
    pub owed_by: Role,
    /// Whom it is owed to, in words.
    pub to: String,
    /// `YYYY-MM-DD`: awareness before this day (in the regime's time zone) starts no clock.
    pub applies_from: String,
    pub within: Within,
}

impl RegimeDuty {
    pub fn covers(&self, severity: Severity, harms: &[String]) -> bool {
        (self.severities.is_empty() || self.severities.contains(&severity))
            && (self.harms.is_empty() || self.harms.iter().any(|h| harms.contains(h)))
    }
}

/// How long a duty allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Within {
    #[serde(default)]
    pub days: u32,
    #[serde(default)]
    pub hours: u32,
    pub count: Count,
    /// A period whose last day is not a working day ends with the next working day.
    #[serde(default)]
    pub end_on_working_day: bool,
}

/// How a period is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Count {
    /// Exactly so many hours from awareness.
    Hours,
    /// Days after the day of awareness, ending with the last hour of the last day.
    CalendarDays,
    /// Working days after the day of awareness, ending with the last hour of the last one.
    WorkingDays,
}

const SHIPPED: [(&str, &str); 5] = [
    (
        "eu-ai-act.toml",
        include_str!("../../regimes/eu-ai-act.toml"),
    ),
    ("india.toml", include_str!("../../regimes/india.toml")),
    ("uk.toml", include_str!("../../regimes/uk.toml")),
    (
        "us-omb-m-25-21.toml",
        include_str!("../../regimes/us-omb-m-25-21.toml"),
    ),
    (
        "us-omb-m-25-22.toml",
        include_str!("../../regimes/us-omb-m-25-22.toml"),
    ),
];

/// The longest a report of an incident of `severity` may take under `regime`, in hours, where
/// its data sets a clock for every incident of that severity (whatever the harm): what
/// `contract check` holds escalation steps to. A period of days counts as that many times 24.
pub fn shortest_hours(regime: Regime, severity: Severity) -> Option<u32> {
    rules_of(regime)
        .ok()?
        .duties
        .iter()
        .filter(|d| d.harms.is_empty() && d.covers(severity, &[]))
        .map(|d| d.within.days * 24 + d.within.hours)
        .min()
}

/// Every regime's rules, read once from the data shipped with the binary.
pub fn regimes() -> Result<&'static [RegimeRules], String> {
    static READ: OnceLock<Result<Vec<RegimeRules>, String>> = OnceLock::new();
    READ.get_or_init(|| {
        SHIPPED
            .iter()
            .map(|(file, text)| {
                let rules: RegimeRules =
                    toml::from_str(text).map_err(|e| format!("regimes/{file}: {e}"))?;
                Calendar::of(&rules).map_err(|e| format!("regimes/{file}: {e}"))?;
                for duty in &rules.duties {
                    parse_date(&duty.applies_from)
                        .map_err(|e| format!("regimes/{file}: duty `{}`: {e}", duty.id))?;
                }
                Ok(rules)
            })
            .collect()
    })
    .as_deref()
    .map_err(Clone::clone)
}

/// The rules of one regime.
pub fn rules_of(regime: Regime) -> Result<&'static RegimeRules, String> {
    regimes()?
        .iter()
        .find(|r| r.regime == regime)
        .ok_or_else(|| format!("no rules are shipped for regime `{}`", regime.name()))
}

/// Working days and the time zone days are counted in.
#[derive(Debug, Clone)]
pub struct Calendar {
    zone: TimeZone,
    weekend: Vec<Weekday>,
    holidays: BTreeSet<Date>,
}

impl Calendar {
    pub fn of(rules: &RegimeRules) -> Result<Calendar, String> {
        let zone = jiff::tz::db()
            .get(&rules.time_zone)
            .map_err(|_| format!("`{}` is not an IANA time zone", rules.time_zone))?;
        let weekend = rules
            .weekend
            .iter()
            .map(|day| weekday(day))
            .collect::<Result<_, _>>()?;
        let holidays = rules
            .holidays
            .iter()
            .map(|day| parse_date(day))
            .collect::<Result<_, _>>()?;
        Ok(Calendar {
            zone,
            weekend,
            holidays,
        })
    }

    /// Days counted in UTC, every day a working day.
    pub fn utc() -> Calendar {
        Calendar {
            zone: TimeZone::UTC,
            weekend: Vec::new(),
            holidays: BTreeSet::new(),
        }
    }

    fn is_working(&self, day: Date) -> bool {
        !self.weekend.contains(&day.weekday()) && !self.holidays.contains(&day)
    }

    /// The day `seconds` falls in, here.
    fn day_of(&self, seconds: i64) -> Result<Date, String> {
        let at = Timestamp::from_second(seconds).map_err(|e| e.to_string())?;
        Ok(at.to_zoned(self.zone.clone()).date())
    }

    /// The first instant after `day` has ended, here.
    fn end_of(&self, day: Date) -> Result<i64, String> {
        let next = day.checked_add(1.day()).map_err(|e| e.to_string())?;
        next.to_zoned(self.zone.clone())
            .map(|z| z.timestamp().as_second())
            .map_err(|e| e.to_string())
    }
}

fn weekday(name: &str) -> Result<Weekday, String> {
    Ok(match name {
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        "sunday" => Weekday::Sunday,
        other => return Err(format!("`{other}` is not a day of the week")),
    })
}

fn parse_date(text: &str) -> Result<Date, String> {
    text.parse::<Date>()
        .map_err(|_| format!("`{text}` is not a day such as `2027-03-01`"))
}

/// The deadline of a period that starts at `aware` (unix seconds): the first instant at which
/// it has run out.
pub fn deadline(aware: i64, within: &Within, calendar: &Calendar) -> Result<i64, String> {
    const DAYS_MAX: u32 = 3_660;
    if within.days > DAYS_MAX {
        return Err(format!("a period of {} days is too long", within.days));
    }
    let last = match within.count {
        Count::Hours => return Ok(aware + i64::from(within.hours) * 3_600),
        Count::CalendarDays => {
            let start = calendar.day_of(aware)?;
            start
                .checked_add(i64::from(within.days).days())
                .map_err(|e| e.to_string())?
        }
        Count::WorkingDays => {
            let mut day = calendar.day_of(aware)?;
            let mut counted = 0;
            // Bounded: a week has a working day unless every day is a weekend day.
            let mut steps = 0;
            while counted < within.days {
                day = day.checked_add(1.day()).map_err(|e| e.to_string())?;
                steps += 1;
                if steps > DAYS_MAX * 7 {
                    return Err("the calendar has no working days".to_owned());
                }
                if calendar.is_working(day) {
                    counted += 1;
                }
            }
            day
        }
    };
    let mut last = last;
    if within.end_on_working_day {
        let mut steps = 0;
        while !calendar.is_working(last) {
            last = last.checked_add(1.day()).map_err(|e| e.to_string())?;
            steps += 1;
            if steps > 366 {
                return Err("the calendar has no working days".to_owned());
            }
        }
    }
    calendar.end_of(last)
}

/// Where a duty stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum DutyStatus {
    /// Met in time, by an entry, so many seconds before the deadline.
    Met { entry: u64, at: i64, early_by: i64 },
    /// Met after the deadline, by so many seconds.
    MetLate { entry: u64, at: i64, late_by: i64 },
    /// Not met yet; so many seconds left.
    Due { left: i64 },
    /// Not met, and the deadline has passed by so many seconds.
    Overdue { by: i64 },
    /// The party that owes it is not aware of the incident yet: no clock runs.
    NotStarted,
    /// Why it does not apply.
    NotApplicable { why: String },
}

/// One duty an incident gives rise to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duty {
    /// `step/<party>`, `<regime>/<duty>` or `rollback`.
    pub id: String,
    /// What must be done, in words.
    pub what: String,
    /// The party that owes it (none when nobody of the contract has the role).
    pub owed_by: Option<String>,
    pub to: String,
    /// Where the duty comes from: the contract's module, or the regime's article and data.
    pub source: String,
    /// When its clock started (unix seconds).
    pub starts: Option<i64>,
    pub due: Option<i64>,
    #[serde(flatten)]
    pub status: DutyStatus,
}

/// Every duty of `incident` as it stands at `now` (unix seconds).
pub fn duties(state: &State, incident: &Incident, now: i64) -> Vec<Duty> {
    let mut duties = Vec::new();
    let Some(package) = state.package(&incident.contract) else {
        return duties;
    };
    let mut regimes: Vec<Regime> = package.contract.regimes.clone();
    for loaded in &package.modules {
        match &loaded.module {
            Module::IncidentEscalation(escalation) => {
                regimes.extend(escalation.regimes.iter().copied());
                let owed_by = incident.reporter().unwrap_or_default();
                for step in escalation
                    .steps
                    .iter()
                    .filter(|s| s.severity == incident.severity)
                {
                    let within = Within {
                        days: 0,
                        hours: step.within_hours,
                        count: Count::Hours,
                        end_on_working_day: false,
                    };
                    for to in step.notify.iter().filter(|p| *p != owed_by) {
                        let source = format!(
                            "contract `{}`, module `{}`: {} incidents within {} hours",
                            incident.contract,
                            escalation.id,
                            step.severity.name(),
                            step.within_hours
                        );
                        duties.push(notification(
                            incident,
                            format!("step/{to}"),
                            Some(owed_by.to_owned()),
                            to,
                            source,
                            &within,
                            &Calendar::utc(),
                            None,
                            now,
                        ));
                    }
                }
            }
            Module::Rollback(rollback) => {
                if let Some(duty) = rollback_duty(state, incident, rollback, now) {
                    duties.push(duty);
                }
            }
            _ => {}
        }
    }
    regimes.sort();
    regimes.dedup();
    for regime in regimes {
        duties.extend(regime_duties(state, incident, regime, now));
    }
    duties
}

fn regime_duties(state: &State, incident: &Incident, regime: Regime, now: i64) -> Vec<Duty> {
    let rules = match rules_of(regime) {
        Ok(rules) => rules,
        Err(why) => {
            return vec![Duty {
                id: regime.name().to_owned(),
                what: "report under the regime".to_owned(),
                owed_by: None,
                to: String::new(),
                source: regime.name().to_owned(),
                starts: None,
                due: None,
                status: DutyStatus::NotApplicable { why },
            }];
        }
    };
    let Ok(calendar) = Calendar::of(rules) else {
        return Vec::new(); // `regimes` checked every shipped calendar.
    };
    let parties = state
        .contract(&incident.contract)
        .map(|c| c.parties.clone())
        .unwrap_or_default();
    rules
        .duties
        .iter()
        .filter(|duty| duty.covers(incident.severity, &incident.harms))
        .map(|duty| {
            let owed_by = parties
                .iter()
                .find(|p| {
                    state
                        .party(p)
                        .is_some_and(|party| party.roles.contains(&duty.owed_by))
                })
                .cloned();
            let source = format!(
                "{}, {} (rules {})",
                rules.title, duty.article, rules.version
            );
            let id = format!("{}/{}", regime.name(), duty.id);
            let applies_from = parse_date(&duty.applies_from).ok();
            notification(
                incident,
                id.clone(),
                owed_by,
                &id,
                source,
                &duty.within,
                &calendar,
                applies_from.map(|day| (day, duty.to.as_str())),
                now,
            )
        })
        .collect()
}

/// A duty to notify `to`, owed by `owed_by`, met by its first `incident-notified` to `to`.
#[allow(clippy::too_many_arguments)]
fn notification(
    incident: &Incident,
    id: String,
    owed_by: Option<String>,
    to: &str,
    source: String,
    within: &Within,
    calendar: &Calendar,
    regime: Option<(Date, &str)>,
    now: i64,
) -> Duty {
    let what = match regime {
        Some((_, authority)) => format!("report the incident to {authority}"),
        None => format!("notify `{to}` of the incident"),
    };
    let mut duty = Duty {
        id,
        what,
        owed_by: owed_by.clone(),
        to: to.to_owned(),
        source,
        starts: None,
        due: None,
        status: DutyStatus::NotStarted,
    };
    let Some(owed_by) = owed_by else {
        duty.status = DutyStatus::NotApplicable {
            why: "no party of the contract has the role that owes it".to_owned(),
        };
        return duty;
    };
    let Some(aware) = incident.aware(&owed_by) else {
        return duty;
    };
    duty.starts = Some(aware);
    if let Some((applies_from, _)) = regime
        && calendar.day_of(aware).is_ok_and(|day| day < applies_from)
    {
        duty.status = DutyStatus::NotApplicable {
            why: format!("`{owed_by}` became aware before the rule applied ({applies_from})"),
        };
        return duty;
    }
    let due = match deadline(aware, within, calendar) {
        Ok(due) => due,
        Err(why) => {
            duty.status = DutyStatus::NotApplicable { why };
            return duty;
        }
    };
    duty.due = Some(due);
    let met = incident
        .notices
        .iter()
        .filter(|n| n.party == owed_by && n.to == to)
        .min_by_key(|n| n.at)
        .map(|n| (n.entry, n.at));
    duty.status = status(met, due, now);
    duty
}

fn status(met: Option<(u64, i64)>, due: i64, now: i64) -> DutyStatus {
    match met {
        Some((entry, at)) if at <= due => DutyStatus::Met {
            entry,
            at,
            early_by: due - at,
        },
        Some((entry, at)) => DutyStatus::MetLate {
            entry,
            at,
            late_by: at - due,
        },
        None if now < due => DutyStatus::Due { left: due - now },
        None => DutyStatus::Overdue { by: now - due },
    }
}

/// The rollback the contract promises for an incident at or above its trigger severity.
fn rollback_duty(
    state: &State,
    incident: &Incident,
    rollback: &crate::contract::Rollback,
    now: i64,
) -> Option<Duty> {
    let trigger = rollback.trigger_severity?;
    if incident.severity.rank() < trigger.rank() {
        return None;
    }
    let (owed_by, what) = match &rollback.approval {
        RollbackApproval::Automatic => (
            incident.reporter().map(str::to_owned),
            "roll the deployment back (automatically, on the report)".to_owned(),
        ),
        RollbackApproval::Approver { party } => (
            Some(party.clone()),
            format!("roll the deployment back (by `{party}`)"),
        ),
    };
    let mut duty = Duty {
        id: "rollback".to_owned(),
        what,
        owed_by,
        to: incident.deployment.clone(),
        source: format!(
            "contract `{}`, module `rollback`: {} or worse within {} hours",
            incident.contract,
            trigger.name(),
            rollback.max_hours
        ),
        starts: incident.reports.first().map(|r| r.aware_at),
        due: None,
        status: DutyStatus::NotStarted,
    };
    let aware = duty.starts?;
    let due = aware + i64::from(rollback.max_hours) * 3_600;
    duty.due = Some(due);
    if let Some(step) = &incident.rollback {
        duty.status = status(Some((step.entry, step.at)), due, now);
        return Some(duty);
    }
    let deployment = state.deployment(&crate::updates::deployment_key(
        &incident.contract,
        &incident.deployment,
    ));
    let in_service = deployment.and_then(|d| d.active.as_deref());
    if incident
        .model
        .as_deref()
        .is_some_and(|model| in_service != Some(model))
    {
        duty.status = DutyStatus::NotApplicable {
            why: format!(
                "`{}` is no longer in service",
                incident.model.as_deref().unwrap_or_default()
            ),
        };
        return Some(duty);
    }
    duty.status = status(None, due, now);
    Some(duty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::updates::time::{format_instant, parse_instant};

    fn eu() -> Calendar {
        Calendar::of(rules_of(Regime::EuAiAct).unwrap()).unwrap()
    }

    fn due(aware: &str, within: Within, calendar: &Calendar) -> String {
        format_instant(deadline(parse_instant("aware", aware).unwrap(), &within, calendar).unwrap())
    }

    const fn days(days: u32, count: Count, end_on_working_day: bool) -> Within {
        Within {
            days,
            hours: 0,
            count,
            end_on_working_day,
        }
    }

    #[test]
    fn the_shipped_regimes_read_and_the_eu_clocks_are_art_73s() {
        let all = regimes().unwrap();
        assert_eq!(all.len(), 5);
        let eu = rules_of(Regime::EuAiAct).unwrap();
        let by_severity = |severity| {
            eu.duties
                .iter()
                .find(|d| d.covers(severity, &[]))
                .map(|d| d.within.days)
        };
        assert_eq!(by_severity(Severity::Serious), Some(15));
        assert_eq!(by_severity(Severity::Death), Some(10));
        assert_eq!(by_severity(Severity::CriticalInfrastructure), Some(2));
        assert_eq!(by_severity(Severity::WidespreadInfringement), Some(2));
        assert_eq!(by_severity(Severity::Minor), None);
    }

    #[test]
    fn the_contract_checks_limits_come_from_the_data() {
        assert_eq!(
            shortest_hours(Regime::EuAiAct, Severity::Serious),
            Some(15 * 24)
        );
        assert_eq!(
            shortest_hours(Regime::EuAiAct, Severity::Death),
            Some(10 * 24)
        );
        assert_eq!(
            shortest_hours(Regime::EuAiAct, Severity::WidespreadInfringement),
            Some(2 * 24)
        );
        assert_eq!(shortest_hours(Regime::EuAiAct, Severity::Minor), None);
        // A clock for one harm only (CERT-In's) is no limit on every step.
        assert_eq!(
            shortest_hours(Regime::India, Severity::CriticalInfrastructure),
            None
        );
    }

    #[test]
    fn deadlines_are_counted_as_the_regimes_count_them() {
        let eu = eu();
        // (awareness, period, deadline): the first instant after the period has run out.
        let cases = [
            // 15 calendar days: the day of awareness does not count; the period ends with
            // the last hour of its 15th day in Brussels (CET, UTC+1).
            (
                "2027-03-10T10:00:00Z",
                days(15, Count::CalendarDays, true),
                "2027-03-25T23:00:00Z",
            ),
            // Across the change to summer time (28 March 2027): the end is midnight CEST.
            (
                "2027-03-20T12:00:00Z",
                days(10, Count::CalendarDays, true),
                "2027-03-30T22:00:00Z",
            ),
            // A last day on a Saturday moves to the end of Monday.
            (
                "2027-03-11T09:00:00Z",
                days(2, Count::CalendarDays, true),
                "2027-03-15T23:00:00Z",
            ),
            // ...unless the regime's data says days are days.
            (
                "2027-03-11T09:00:00Z",
                days(2, Count::CalendarDays, false),
                "2027-03-13T23:00:00Z",
            ),
            // Awareness at 22:30 UTC is already the next day in Brussels (CEST).
            (
                "2027-06-01T22:30:00Z",
                days(2, Count::CalendarDays, false),
                "2027-06-04T22:00:00Z",
            ),
            // 5 working days from a Friday, across the end of summer time (31 October 2027).
            (
                "2027-10-29T15:00:00Z",
                days(5, Count::WorkingDays, false),
                "2027-11-05T23:00:00Z",
            ),
            // Hours are hours, whatever the zone and the day.
            (
                "2027-03-27T20:00:00Z",
                Within {
                    days: 0,
                    hours: 72,
                    count: Count::Hours,
                    end_on_working_day: false,
                },
                "2027-03-30T20:00:00Z",
            ),
        ];
        for (aware, within, expected) in cases {
            assert_eq!(due(aware, within, &eu), expected, "{aware} {within:?}");
        }
        // In UTC with no weekend, 2 calendar days from a Thursday end on Saturday night.
        assert_eq!(
            due(
                "2027-03-11T09:00:00Z",
                days(2, Count::CalendarDays, true),
                &Calendar::utc()
            ),
            "2027-03-14T00:00:00Z"
        );
        // A public holiday in the data counts as a non-working day.
        let mut rules = rules_of(Regime::EuAiAct).unwrap().clone();
        rules.holidays = vec!["2027-03-15".to_owned()];
        let with_holiday = Calendar::of(&rules).unwrap();
        assert_eq!(
            due(
                "2027-03-11T09:00:00Z",
                days(2, Count::CalendarDays, true),
                &with_holiday
            ),
            "2027-03-16T23:00:00Z"
        );
    }
}
