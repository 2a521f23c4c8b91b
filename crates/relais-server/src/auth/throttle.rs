//! Login throttling, pure: what a failed or refused login does to the counters, as a
//! function of the time given. Kept in memory (failed logins no longer write a row each:
//! only the start of a lockout is recorded), bounded in size.
//!
//! - Per account: the first `free_failures` failures cost nothing; each further one
//!   doubles the wait (`base`, 2×`base`, … up to `max`). A success clears the account.
//! - Per address: what counts is how many DIFFERENT accounts failed from it, so a
//!   user mistyping their own password never blocks a colleague behind the same NAT;
//!   beyond `accounts_per_address` distinct accounts, the address waits likewise.
//! - Strikes are forgotten `forget_after` after the last failure.
//!
//! Unknown and known emails are counted alike: the throttle does not reveal which exist.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;

/// Milliseconds of the server's clock.
pub type Millis = i64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub free_failures: u32,
    pub accounts_per_address: u32,
    pub base_ms: Millis,
    pub max_ms: Millis,
    pub forget_after_ms: Millis,
    /// Accounts and addresses tracked at most (each); beyond, the stalest are dropped.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            free_failures: 5,
            accounts_per_address: 5,
            base_ms: 1_000,
            max_ms: 15 * 60_000,
            forget_after_ms: 15 * 60_000,
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Go,
    /// Refused without checking the password: come back after this many ms.
    Wait(Millis),
}

/// What a failure started, for the audit log (one record per lockout, not per try).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lockout {
    Account { wait_ms: Millis },
    Address { wait_ms: Millis, accounts: u32 },
}

#[derive(Debug, Clone, Default)]
struct Strikes {
    failures: u32,
    last: Millis,
    until: Millis,
}

#[derive(Debug, Clone, Default)]
struct AddressStrikes {
    /// Hashes of the distinct accounts that failed from here (at most 64 kept).
    accounts: Vec<u64>,
    last: Millis,
    until: Millis,
}

#[derive(Debug, Default)]
pub struct Throttle {
    limits: Limits,
    accounts: HashMap<String, Strikes>,
    addresses: HashMap<IpAddr, AddressStrikes>,
    hasher: std::collections::hash_map::RandomState,
}

impl Throttle {
    pub fn new(limits: Limits) -> Throttle {
        Throttle {
            limits,
            ..Throttle::default()
        }
    }

    /// Before checking a password: may this try go ahead?
    pub fn check(&self, account: &str, address: IpAddr, now: Millis) -> Verdict {
        let a = self.accounts.get(account).map_or(0, |s| s.until);
        let b = self.addresses.get(&address).map_or(0, |s| s.until);
        let until = a.max(b);
        if until > now {
            Verdict::Wait(until - now)
        } else {
            Verdict::Go
        }
    }

    /// A wrong password (or an unknown email).
    pub fn failed(&mut self, account: &str, address: IpAddr, now: Millis) -> Option<Lockout> {
        self.prune(now);
        let l = self.limits.clone();
        let key = self.hasher.hash_one(account);
        let s = self.accounts.entry(account.to_owned()).or_default();
        if now - s.last > l.forget_after_ms {
            *s = Strikes::default();
        }
        s.failures += 1;
        s.last = now;
        let mut lockout = None;
        if s.failures > l.free_failures {
            let wait = backoff(&l, s.failures - l.free_failures);
            s.until = now + wait;
            lockout = Some(Lockout::Account { wait_ms: wait });
        }
        let a = self.addresses.entry(address).or_default();
        if now - a.last > l.forget_after_ms {
            *a = AddressStrikes::default();
        }
        a.last = now;
        if !a.accounts.contains(&key) && a.accounts.len() < 64 {
            a.accounts.push(key);
        }
        let distinct = a.accounts.len() as u32;
        if distinct > l.accounts_per_address {
            let wait = backoff(&l, distinct - l.accounts_per_address);
            a.until = a.until.max(now + wait);
            lockout = Some(Lockout::Address {
                wait_ms: wait,
                accounts: distinct,
            });
        }
        lockout
    }

    /// The right password: the account starts over (the address keeps its count).
    pub fn succeeded(&mut self, account: &str) {
        self.accounts.remove(account);
    }

    pub fn tracked(&self) -> (usize, usize) {
        (self.accounts.len(), self.addresses.len())
    }

    /// Keeps the maps bounded: forgets stale entries, then, if still full, the oldest.
    fn prune(&mut self, now: Millis) {
        let (max, forget) = (self.limits.max_entries, self.limits.forget_after_ms);
        if self.accounts.len() >= max {
            self.accounts
                .retain(|_, s| s.until > now || now - s.last <= forget);
            drop_oldest(&mut self.accounts, max, |s| s.last);
        }
        if self.addresses.len() >= max {
            self.addresses
                .retain(|_, s| s.until > now || now - s.last <= forget);
            drop_oldest(&mut self.addresses, max, |s| s.last);
        }
    }
}

/// `base × 2^(n-1)`, capped at `max`.
fn backoff(l: &Limits, n: u32) -> Millis {
    let factor = 1i64 << (n.saturating_sub(1)).min(40);
    l.base_ms.saturating_mul(factor).min(l.max_ms)
}

/// Drops the oldest half when `map` is still at `max` after pruning.
fn drop_oldest<K: Hash + Eq + Clone, V>(
    map: &mut HashMap<K, V>,
    max: usize,
    last: fn(&V) -> Millis,
) {
    if map.len() < max || map.is_empty() {
        return;
    }
    let mut ages: Vec<Millis> = map.values().map(last).collect();
    ages.sort_unstable();
    let cut = ages[ages.len() / 2];
    map.retain(|_, v| last(v) > cut);
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const ELSEWHERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn an_account_waits_twice_as_long_after_each_failure_beyond_the_free_ones() {
        let mut t = Throttle::new(limits());
        let mut now = 0;
        for _ in 0..5 {
            assert_eq!(t.check("a@x.io", HOME, now), Verdict::Go);
            assert_eq!(t.failed("a@x.io", HOME, now), None);
        }
        let mut waits = Vec::new();
        for _ in 0..12 {
            match t.failed("a@x.io", HOME, now) {
                Some(Lockout::Account { wait_ms }) => waits.push(wait_ms),
                other => panic!("expected an account lockout, got {other:?}"),
            }
            assert_eq!(
                t.check("a@x.io", HOME, now),
                Verdict::Wait(*waits.last().unwrap())
            );
            // From another address too: the lock is the account's.
            assert!(matches!(
                t.check("a@x.io", ELSEWHERE, now),
                Verdict::Wait(_)
            ));
            now += waits.last().unwrap();
            assert_eq!(t.check("a@x.io", HOME, now), Verdict::Go);
        }
        assert_eq!(&waits[..5], &[1_000, 2_000, 4_000, 8_000, 16_000]);
        assert_eq!(*waits.last().unwrap(), 15 * 60_000, "capped");
    }

    #[test]
    fn one_account_failing_never_blocks_another_account_from_the_same_address() {
        let mut t = Throttle::new(limits());
        for i in 0..60 {
            t.failed("mistyped@x.io", HOME, i);
        }
        assert!(matches!(
            t.check("mistyped@x.io", HOME, 60),
            Verdict::Wait(_)
        ));
        assert_eq!(t.check("colleague@x.io", HOME, 60), Verdict::Go);
    }

    #[test]
    fn an_address_spraying_many_accounts_waits() {
        let mut t = Throttle::new(limits());
        for i in 0..5 {
            assert_eq!(t.failed(&format!("u{i}@x.io"), HOME, 0), None);
        }
        assert_eq!(
            t.failed("u5@x.io", HOME, 0),
            Some(Lockout::Address {
                wait_ms: 1_000,
                accounts: 6
            })
        );
        assert_eq!(t.check("fresh@x.io", HOME, 10), Verdict::Wait(990));
        assert_eq!(t.check("fresh@x.io", ELSEWHERE, 10), Verdict::Go);
        // Failing again on an account already counted keeps the wait, not doubles it.
        t.failed("u0@x.io", HOME, 2_000);
        assert_eq!(t.check("fresh@x.io", HOME, 2_000), Verdict::Wait(1_000));
        t.failed("u6@x.io", HOME, 3_000);
        assert_eq!(t.check("fresh@x.io", HOME, 3_000), Verdict::Wait(2_000));
    }

    #[test]
    fn success_clears_the_account_and_strikes_are_forgotten() {
        let mut t = Throttle::new(limits());
        for i in 0..5 {
            t.failed("a@x.io", HOME, i);
        }
        t.succeeded("a@x.io");
        assert_eq!(t.failed("a@x.io", HOME, 10), None, "counting starts over");
        for i in 0..5 {
            t.failed("b@x.io", HOME, i);
        }
        let later = 16 * 60_000;
        assert_eq!(
            t.failed("b@x.io", HOME, later),
            None,
            "forgotten after 15 min"
        );
    }

    #[test]
    fn memory_stays_bounded() {
        let mut t = Throttle::new(Limits {
            max_entries: 100,
            accounts_per_address: 1_000,
            ..limits()
        });
        for i in 0..10_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(i));
            t.failed(&format!("u{i}@x.io"), ip, i64::from(i));
        }
        let (a, b) = t.tracked();
        assert!(a <= 100 && b <= 100, "{a} accounts, {b} addresses tracked");
    }
}
