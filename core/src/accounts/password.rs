//! Password rules and hashing (argon2id with the crate's current recommended parameters).
//!
//! Hashing is deliberately slow (tens of milliseconds, about 19 MB each): requests use
//! [`hash_in`] and [`verify_in`], which run them in the server's bounded pool, never on an
//! async worker thread.

use std::cell::RefCell;

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{Output, ParamsString, SaltString, rand_core::OsRng},
};

use crate::limits::{BlockingPool, PoolError};

/// Shortest password we accept, in characters.
pub const MIN_LEN: usize = 12;
/// Longest password we accept, in characters: hashing cost grows with length.
pub const MAX_LEN: usize = 256;

/// Why a new password is refused, phrased for the person choosing it.
pub fn check_new(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LEN {
        return Err(format!("Use at least {MIN_LEN} characters."));
    }
    if length > MAX_LEN {
        return Err(format!("Use at most {MAX_LEN} characters."));
    }
    if password.trim().is_empty() {
        return Err("A password cannot be only spaces.".to_owned());
    }
    Ok(())
}

thread_local! {
    /// The working memory of the hashes computed on this thread (19 MiB with the default
    /// parameters), kept for the next one. Allocated and freed for each hash instead, it made
    /// the system allocator raise the size it serves from its own heaps to 19 MiB, and keep
    /// everything below that: a flood of sign-ups left the server hundreds of MB larger for
    /// good. Hashing runs on the few threads of the hashing pool ([`hash_in`], [`verify_in`]).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 with `params` into `out`, in this thread's kept memory.
fn compute(
    argon: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    MEMORY.with_borrow_mut(|memory| {
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    })
}

/// Hashes a password into a PHC string (algorithm, parameters and salt included).
pub fn hash(password: &str) -> anyhow::Result<String> {
    let fail = |err: &dyn std::fmt::Display| anyhow::anyhow!("could not hash a password: {err}");
    let salt = SaltString::generate(&mut OsRng);
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt
        .as_salt()
        .decode_b64(&mut raw_salt)
        .map_err(|err| fail(&err))?;
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon, &params, password.as_bytes(), raw_salt, &mut out).map_err(|err| fail(&err))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|err| fail(&err))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|err| fail(&err))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the stored PHC string. A malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    // Parameters far beyond ours are no hash of ours (and would hold their memory here).
    if params.m_cost() > 4 * Params::DEFAULT_M_COST || params.t_cost() > 16 {
        return false;
    }
    let mut raw_salt = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut raw_salt) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    compute(&argon, &params, password.as_bytes(), raw_salt, &mut out).is_ok()
        // Output compares in constant time.
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// Hashes `password` in the bounded `pool` (at most as many at once as it allows; the rest
/// wait briefly, then are refused as busy).
pub async fn hash_in(pool: &BlockingPool, password: String) -> Result<String, PoolError> {
    pool.run(move || hash(&password))
        .await?
        .map_err(|err| PoolError::Failed(err.to_string()))
}

/// Checks `attempt` against the stored hash in the bounded `pool`.
pub async fn verify_in(
    pool: &BlockingPool,
    attempt: String,
    stored: String,
) -> Result<bool, PoolError> {
    pool.run(move || verify(&attempt, &stored)).await
}

/// A valid hash of no one's password (a random one, thrown away): verifying against it when
/// an account does not exist takes as long as for a real account, so timing does not reveal
/// which emails are registered.
pub fn decoy_hash() -> &'static str {
    DECOY
}

const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$m1KZ6xXA9PlcMF3TAlqaiQ$wGYVBi+CqPNaSjAaL5AvFGi/9yc+2B7gvjEg02MzXn0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_blank_passwords_are_refused() {
        assert!(check_new("elevenchars").is_err());
        assert!(check_new("twelve chars").is_ok());
        assert!(check_new(&"x".repeat(MAX_LEN + 1)).is_err());
        assert!(check_new(&" ".repeat(20)).is_err());
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse battery!", &stored));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_and_the_decoy_is_one() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify("correct horse battery", &theirs));
        assert!(!verify("correct horse batterz", &theirs));
        let ours = hash("correct horse battery").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert_eq!(parsed.params, PasswordHash::new(&theirs).unwrap().params);
        // The decoy is a hash with today's parameters, and verifying against it costs the same.
        let decoy = PasswordHash::new(decoy_hash()).unwrap();
        assert_eq!(decoy.params, parsed.params);
        assert!(!verify("", decoy_hash()));
        eprintln!(
            "a fresh decoy: {}",
            hash(&uuid::Uuid::new_v4().to_string()).unwrap()
        );
    }

    #[test]
    fn hashes_from_elsewhere_with_outlandish_costs_never_match() {
        let huge = "$argon2id$v=19$m=4000000,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!verify("anything", huge));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        assert_ne!(
            hash("same password 1").unwrap(),
            hash("same password 1").unwrap()
        );
    }
}
