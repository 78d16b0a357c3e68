//! The contract's capacity terms (`service-levels` module): requests per user and per agency
//! per minute and per day, tokens per day. Counted in fixed windows (the clock's minute and
//! UTC day) by each replica; a deployment served by `replicas` gateways gives each its share
//! of every limit, so together they hold the contract's figure.

use std::collections::HashMap;
use std::sync::Mutex;

use domain::contract::Capacity;

/// Counts in the current minute and day of one user or agency.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    minute: i64,
    minute_requests: u64,
    day: i64,
    day_requests: u64,
    day_tokens: u64,
}

impl Window {
    fn roll(&mut self, now: i64) {
        let (minute, day) = (now.div_euclid(60), now.div_euclid(86_400));
        if self.minute != minute {
            self.minute = minute;
            self.minute_requests = 0;
        }
        if self.day != day {
            self.day = day;
            self.day_requests = 0;
            self.day_tokens = 0;
        }
    }
}

/// A refusal for capacity: which term, and when to try again (seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverCapacity {
    pub term: &'static str,
    pub limit: u64,
    pub retry_after: u64,
}

/// Every user's and agency's windows on this replica.
#[derive(Debug, Default)]
pub struct Quotas {
    windows: Mutex<HashMap<String, Window>>,
}

/// A limit shared among `replicas`: each holds its share, at least 1.
fn share(limit: Option<u64>, replicas: u64) -> Option<u64> {
    limit.map(|l| l.div_ceil(replicas.max(1)).max(1))
}

impl Quotas {
    /// Counts one request of `user` of `agency` at `now` (unix seconds), unless a term is
    /// reached: then nothing is counted and the term is named.
    pub fn admit(
        &self,
        capacity: &Capacity,
        replicas: u64,
        user: &str,
        agency: &str,
        now: i64,
    ) -> Result<(), OverCapacity> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let user_key = format!("user/{user}");
        let agency_key = format!("agency/{agency}");
        let minute_left = 60 - now.rem_euclid(60);
        let day_left = 86_400 - now.rem_euclid(86_400);
        let checks = [
            (
                &user_key,
                "requests_per_user_per_minute",
                capacity.requests_per_user_per_minute,
                Field::MinuteRequests,
                minute_left,
            ),
            (
                &user_key,
                "requests_per_user_per_day",
                capacity.requests_per_user_per_day,
                Field::DayRequests,
                day_left,
            ),
            (
                &user_key,
                "tokens_per_user_per_day",
                capacity.tokens_per_user_per_day,
                Field::DayTokens,
                day_left,
            ),
            (
                &agency_key,
                "requests_per_agency_per_minute",
                capacity.requests_per_agency_per_minute,
                Field::MinuteRequests,
                minute_left,
            ),
            (
                &agency_key,
                "requests_per_agency_per_day",
                capacity.requests_per_agency_per_day,
                Field::DayRequests,
                day_left,
            ),
            (
                &agency_key,
                "tokens_per_agency_per_day",
                capacity.tokens_per_agency_per_day,
                Field::DayTokens,
                day_left,
            ),
        ];
        for (key, term, limit, field, left) in checks {
            let Some(limit) = share(limit, replicas) else {
                continue;
            };
            let window = windows.entry(key.clone()).or_default();
            window.roll(now);
            if field.of(window) >= limit {
                return Err(OverCapacity {
                    term,
                    limit,
                    retry_after: u64::try_from(left).unwrap_or(60),
                });
            }
        }
        for key in [user_key, agency_key] {
            let window = windows.entry(key).or_default();
            window.roll(now);
            window.minute_requests += 1;
            window.day_requests += 1;
        }
        Ok(())
    }

    /// Adds the tokens an answered call used.
    pub fn spend(&self, user: &str, agency: &str, tokens: u64, now: i64) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        for key in [format!("user/{user}"), format!("agency/{agency}")] {
            let window = windows.entry(key).or_default();
            window.roll(now);
            window.day_tokens += tokens;
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Field {
    MinuteRequests,
    DayRequests,
    DayTokens,
}

impl Field {
    fn of(self, window: &Window) -> u64 {
        match self {
            Field::MinuteRequests => window.minute_requests,
            Field::DayRequests => window.day_requests,
            Field::DayTokens => window.day_tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_per_window_and_are_shared_among_replicas() {
        let capacity = Capacity {
            requests_per_user_per_minute: Some(3),
            tokens_per_agency_per_day: Some(100),
            ..Capacity::default()
        };
        let quotas = Quotas::default();
        let t = 1_800_000_000; // a minute boundary
        for _ in 0..3 {
            assert!(quotas.admit(&capacity, 1, "a", "x", t).is_ok());
        }
        let over = quotas.admit(&capacity, 1, "a", "x", t + 10).unwrap_err();
        assert_eq!(
            (over.term, over.limit, over.retry_after),
            ("requests_per_user_per_minute", 3, 50)
        );
        assert!(
            quotas.admit(&capacity, 1, "b", "x", t + 10).is_ok(),
            "another user has their own"
        );
        assert!(
            quotas.admit(&capacity, 1, "a", "x", t + 60).is_ok(),
            "a new minute"
        );
        quotas.spend("b", "x", 100, t + 61);
        assert_eq!(
            quotas
                .admit(&capacity, 1, "c", "x", t + 62)
                .unwrap_err()
                .term,
            "tokens_per_agency_per_day"
        );
        // Two replicas hold 2 each of 3 (rounded up): the user's fourth request is refused on
        // this one after two.
        let shared = Quotas::default();
        assert!(shared.admit(&capacity, 2, "a", "x", t).is_ok());
        assert!(shared.admit(&capacity, 2, "a", "x", t).is_ok());
        assert!(shared.admit(&capacity, 2, "a", "x", t).is_err());
    }
}
