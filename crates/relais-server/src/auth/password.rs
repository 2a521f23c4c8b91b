//! Password hashing that a stranger cannot turn into memory or thread exhaustion.
//!
//! argon2id with the library defaults (19 MiB, 2 passes) costs ~19 MiB per hash. Run on
//! tokio's blocking pool, 64 concurrent logins meant up to 64 threads each allocating
//! 19 MiB, and the allocator kept it: 256 wrong passwords took the server to gigabytes.
//! Here a FIXED set of worker threads (at most the number of cores) each owns ONE block
//! buffer, reused for every hash; a bounded queue in front refuses work beyond it. An
//! unknown email is verified against a dummy hash of the same cost, so the answer time
//! does not tell which emails exist.

use argon2::password_hash::{Ident, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// Hashes with a larger memory cost than this (KiB) are refused rather than computed:
/// a stored hash cannot make a worker allocate without bound.
const MAX_M_COST_KIB: u32 = 64 * 1024;

/// Jobs waiting for a worker beyond this are refused (`Busy`).
const QUEUE: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HashError {
    #[error("too many password checks are waiting; try again shortly")]
    Busy,
    #[error("the password hashing workers stopped")]
    Stopped,
    #[error("cannot hash the password: {0}")]
    Failed(String),
}

enum Job {
    Hash(
        String,
        tokio::sync::oneshot::Sender<Result<String, HashError>>,
    ),
    /// `None`: an unknown account, checked against the dummy hash for equal timing.
    Verify(String, Option<String>, tokio::sync::oneshot::Sender<bool>),
}

/// The pool. Cloning shares it.
#[derive(Clone)]
pub struct Passwords {
    jobs: SyncSender<Job>,
}

impl Passwords {
    /// Starts `workers` threads (clamped to 1..=cores).
    pub fn start(workers: usize) -> Passwords {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = workers.clamp(1, cores);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        // The dummy is made once, by the first worker, with the default cost.
        let dummy: Arc<std::sync::OnceLock<String>> = Arc::default();
        for i in 0..workers {
            let (rx, dummy) = (rx.clone(), dummy.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("relais-passwords-{i}"))
                .spawn(move || work(&rx, &dummy));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password worker");
            }
        }
        Passwords { jobs: tx }
    }

    /// A new argon2id PHC string for `password`.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(Job::Hash(password, tx))?;
        rx.await.map_err(|_| HashError::Stopped)?
    }

    /// Whether `password` matches `phc`; with `None`, the same work is done against a
    /// dummy hash and the answer is false.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, HashError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(Job::Verify(password, phc, tx))?;
        rx.await.map_err(|_| HashError::Stopped)
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => HashError::Busy,
            TrySendError::Disconnected(_) => HashError::Stopped,
        })
    }
}

fn work(rx: &Mutex<Receiver<Job>>, dummy: &std::sync::OnceLock<String>) {
    let mut blocks: Vec<Block> = Vec::new();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else {
            return; // the pool was dropped
        };
        match job {
            Job::Hash(password, reply) => {
                let _ = reply.send(hash_with(&mut blocks, password.as_bytes()));
            }
            Job::Verify(password, phc, reply) => {
                let ok = match phc {
                    Some(phc) => verify_with(&mut blocks, password.as_bytes(), &phc),
                    None => {
                        let d = dummy.get_or_init(|| {
                            hash_with(&mut blocks, b"relais dummy password").unwrap_or_default()
                        });
                        verify_with(&mut blocks, password.as_bytes(), d);
                        false
                    }
                };
                let _ = reply.send(ok);
            }
        }
    }
}

/// Makes `blocks` hold at least `params`' block count (grows once, then reused).
fn room(blocks: &mut Vec<Block>, params: &Params) {
    if blocks.len() < params.block_count() {
        blocks.resize(params.block_count(), Block::new());
    }
}

/// argon2id with the library's default cost, into a PHC string.
pub fn hash_with(blocks: &mut Vec<Block>, password: &[u8]) -> Result<String, HashError> {
    let failed = |e: &dyn std::fmt::Display| HashError::Failed(e.to_string());
    let params = Params::default();
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let mut out = [0u8; 32];
    room(blocks, &params);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, &mut blocks[..])
        .map_err(|e| failed(&e))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Ident::new("argon2id").map_err(|e| failed(&e))?,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(Salt::from(&salt)),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against an argon2 PHC string, reusing `blocks`.
pub fn verify_with(blocks: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST_KIB {
        tracing::warn!(
            m_cost = params.m_cost(),
            "a stored password hash asks for more memory than allowed"
        );
        return false;
    }
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    room(blocks, &params);
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..])
        .is_ok()
        && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher;

    #[test]
    fn hashes_verify_only_their_password_and_interoperate_with_the_library() {
        let mut blocks = Vec::new();
        let phc = hash_with(&mut blocks, b"correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_with(&mut blocks, b"correct horse battery", &phc));
        assert!(!verify_with(&mut blocks, b"correct horse batterz", &phc));
        // Hashes made by the library (earlier versions of Relais) still verify.
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let old = Argon2::default()
            .hash_password(b"old password here", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with(&mut blocks, b"old password here", &old));
        assert!(!verify_with(&mut blocks, b"nope", &old));
        assert!(!verify_with(&mut blocks, b"x", "not a hash"));
        assert!(!verify_with(
            &mut blocks,
            b"x",
            "$argon2id$v=19$m=999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
        ));
        // One buffer, reused: it holds exactly the default cost's blocks.
        assert_eq!(blocks.len(), Params::default().block_count());
    }

    #[tokio::test]
    async fn the_pool_answers_and_unknown_accounts_are_false() {
        let pool = Passwords::start(2);
        let phc = pool.hash("a long enough password".into()).await.unwrap();
        assert!(
            pool.verify("a long enough password".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(!pool.verify("wrong".into(), Some(phc)).await.unwrap());
        assert!(!pool.verify("anything".into(), None).await.unwrap());
    }
}
