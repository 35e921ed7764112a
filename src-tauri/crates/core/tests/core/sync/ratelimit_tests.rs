use bookline_core::ratelimit::{Backoff, RateLimiter, RetryClass, TokenBucket};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

#[test]
fn bucket_refills_at_its_rate() {
    let mut b = TokenBucket::new(3.0, 2.0, Duration::ZERO);
    for _ in 0..3 {
        assert_eq!(b.try_acquire(1, Duration::ZERO), Ok(()));
    }
    let wait = b.try_acquire(1, Duration::ZERO).unwrap_err();
    assert_eq!(wait, Duration::from_millis(500));
    assert!(b.try_acquire(1, Duration::from_millis(499)).is_err());
    assert_eq!(b.try_acquire(1, Duration::from_millis(500)), Ok(()));
    // Idle time fills the bucket up to its capacity, not beyond.
    let later = Duration::from_secs(100);
    for _ in 0..3 {
        assert_eq!(b.try_acquire(1, later), Ok(()));
    }
    assert!(b.try_acquire(1, later).is_err());
}

#[test]
fn batches_larger_than_the_bucket_pass_and_pay_later() {
    let mut b = TokenBucket::new(10.0, 10.0, Duration::ZERO);
    assert_eq!(b.try_acquire(50, Duration::ZERO), Ok(()));
    // 40 tokens of debt plus one: 4.1 s at 10/s.
    assert_eq!(
        b.try_acquire(1, Duration::ZERO),
        Err(Duration::from_millis(4100))
    );
}

/// Simulate a greedy client and count requests in every window: never over quota,
/// and the steady rate is the safety share of it.
#[test]
fn quota_sizing_never_exceeds_any_window() {
    let window = Duration::from_secs(60);
    let mut b = TokenBucket::for_quota(600, window, 0.9, Duration::ZERO);
    assert_eq!(b.capacity(), 60.0);
    assert!((b.refill_per_sec() - 9.0).abs() < 1e-9);
    let mut now = Duration::ZERO;
    let mut sent = Vec::new();
    while now < Duration::from_secs(300) {
        match b.try_acquire(1, now) {
            Ok(()) => sent.push(now),
            Err(wait) => now += wait,
        }
    }
    let max_in_window = sent
        .iter()
        .map(|start| {
            sent.iter()
                .filter(|t| **t >= *start && **t < *start + window)
                .count()
        })
        .max()
        .unwrap();
    assert!(max_in_window <= 600, "{max_in_window}");
    // Over five minutes: burst + 9/s.
    assert!(sent.len() >= 60 + 9 * 299, "{}", sent.len());
}

#[tokio::test(start_paused = true)]
async fn async_limiter_sleeps() {
    // tokio's paused clock: the limiter's sleeps advance it exactly, so the bound holds
    // on a busy machine too. Burst 100, then 100/s for the other 50: the 150th call
    // waits until 500 ms.
    let limiter = RateLimiter::for_quota(200, Duration::from_secs(1), 0.5);
    let start = tokio::time::Instant::now();
    let mut after_burst = None;
    for i in 0..150 {
        limiter.acquire(1).await;
        if i == 99 {
            after_burst = Some(start.elapsed());
        }
    }
    let took = start.elapsed();
    assert_eq!(after_burst, Some(Duration::ZERO), "the burst does not wait");
    assert!(
        took >= Duration::from_millis(490) && took <= Duration::from_millis(515),
        "{took:?}"
    );
}

#[test]
fn backoff_bounds_growth_cap_and_attempts() {
    let p = Backoff {
        base: Duration::from_millis(100),
        rate_limit_base: Duration::from_secs(1),
        cap: Duration::from_secs(10),
        max_retries: 8,
    };
    let server = RetryClass::ServerError;
    let limited = RetryClass::RateLimited { retry_after: None };
    let ceilings: Vec<_> = (0..8).map(|k| p.ceiling(k, server)).collect();
    assert_eq!(ceilings[0], Duration::from_millis(100));
    assert_eq!(ceilings[3], Duration::from_millis(800));
    assert_eq!(ceilings[7], Duration::from_secs(10), "capped");
    assert!(ceilings.windows(2).all(|w| w[0] <= w[1]));
    assert!(p.ceiling(0, limited) > p.ceiling(0, server));
    assert_eq!(p.ceiling(1000, server), Duration::from_secs(10));

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for k in 0..8 {
        for class in [server, limited, RetryClass::Network] {
            let d = p.delay(k, class, &mut rng).unwrap();
            assert!(d <= p.ceiling(k, class), "{k} {d:?}");
        }
    }
    assert_eq!(p.delay(8, server, &mut rng), None);
    let after = RetryClass::RateLimited {
        retry_after: Some(Duration::from_secs(5)),
    };
    assert!(p.delay(0, after, &mut rng).unwrap() >= Duration::from_secs(5));
}

#[test]
fn backoff_is_jittered_and_deterministic_per_seed() {
    let p = Backoff::default();
    let draw = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..6)
            .map(|k| p.delay(k, RetryClass::ServerError, &mut rng).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(1), draw(1));
    assert_ne!(draw(1), draw(2));
    // Full jitter spreads over the whole range: the mean of many draws at retry 5
    // is near half the ceiling, and later retries wait longer on average.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mean = |k: u32, rng: &mut ChaCha8Rng| {
        (0..2000)
            .map(|_| {
                p.delay(k, RetryClass::ServerError, rng)
                    .unwrap()
                    .as_secs_f64()
            })
            .sum::<f64>()
            / 2000.0
    };
    let m0 = mean(0, &mut rng);
    let m5 = mean(5, &mut rng);
    let half = p.ceiling(5, RetryClass::ServerError).as_secs_f64() / 2.0;
    assert!((m5 - half).abs() < half * 0.1, "{m5} vs {half}");
    assert!(m5 > m0 * 8.0);
}
