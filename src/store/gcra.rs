//! The generic cell rate algorithm (GCRA) both stores run: the in-process store with this code,
//! Redis with its twin in Lua (`redis.rs`, on Redis's clock so that every node shares one
//! budget), both from the same `Budget`. The store contract tests hold them to the same answers.

/// A budget of `per_second` requests with bursts of `burst`, in the units the algorithm uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Milliseconds between two requests at the steady rate.
    pub interval_ms: u64,
    /// How many intervals ahead the theoretical arrival time may run (the burst).
    pub burst: u64,
}

impl Budget {
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            interval_ms: u64::from((1000 / per_second.max(1)).max(1)),
            burst: u64::from(burst.max(1)),
        }
    }

    /// One request at `now_ms` against the stored theoretical arrival time: `Ok` with the new
    /// one to store, or `Err` with the wait in milliseconds (nothing to store).
    pub fn admit(self, tat_ms: Option<u64>, now_ms: u64) -> Result<u64, u64> {
        let tat = tat_ms.filter(|tat| *tat > now_ms).unwrap_or(now_ms);
        let next = tat + self.interval_ms;
        let tolerance = self.interval_ms * self.burst;
        if next - now_ms > tolerance {
            return Err(next - now_ms - tolerance);
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_steady_rate() {
        let budget = Budget::new(10, 3);
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(budget.admit(tat, 1_000).unwrap());
        }
        assert_eq!(budget.admit(tat, 1_000), Err(100));
        assert!(budget.admit(tat, 1_100).is_ok(), "one interval later");
    }

    #[test]
    fn zero_rates_are_one_per_second_and_a_burst_of_one() {
        assert_eq!(
            Budget::new(0, 0),
            Budget {
                interval_ms: 1000,
                burst: 1
            }
        );
        assert_eq!(Budget::new(5000, 1).interval_ms, 1);
    }
}
