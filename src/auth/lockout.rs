//! The lockout schedule after failed logins.

const MINUTE_MS: i64 = 60_000;

/// Failures before the first lock.
pub const FAILURES_BEFORE_LOCK: i64 = 5;

/// How long (ms) the account is locked after its `failures`-th consecutive
/// failure: 1 min at the 5th, then 5 min, 15 min, and 1 h for each further
/// failure, until a success or a manager's unlock resets the count.
pub fn lock_duration_ms(failures: i64) -> Option<i64> {
    match failures - FAILURES_BEFORE_LOCK {
        ..0 => None,
        0 => Some(MINUTE_MS),
        1 => Some(5 * MINUTE_MS),
        2 => Some(15 * MINUTE_MS),
        _ => Some(60 * MINUTE_MS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_escalates_then_caps_at_an_hour() {
        let minutes: Vec<Option<i64>> = (1..=9)
            .map(|n| lock_duration_ms(n).map(|ms| ms / MINUTE_MS))
            .collect();
        assert_eq!(
            minutes,
            [
                None,
                None,
                None,
                None,
                Some(1),
                Some(5),
                Some(15),
                Some(60),
                Some(60)
            ]
        );
    }
}
