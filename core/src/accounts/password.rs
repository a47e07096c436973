//! Password rules and hashing (argon2id with the crate's current recommended parameters).
//!
//! Hashing is deliberately slow (tens of milliseconds, about 19 MB each): requests use
//! [`hash_in`] and [`verify_in`], which run them in the server's bounded pool, never on an
//! async worker thread.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
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

/// Hashes a password into a PHC string (algorithm, parameters and salt included).
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("could not hash a password: {err}"))
}

/// Whether `password` matches the stored PHC string. A malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
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

/// A valid hash of no one's password: verifying against it when an account does not exist
/// takes as long as for a real account, so timing does not reveal which emails are registered.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy password, never used").unwrap_or_default())
}

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
    fn the_same_password_hashes_differently_each_time() {
        assert_ne!(
            hash("same password 1").unwrap(),
            hash("same password 1").unwrap()
        );
    }
}
