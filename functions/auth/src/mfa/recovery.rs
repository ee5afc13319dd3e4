//! Recovery codes: ten per confirmed enrolment, each 80 random bits written as four groups of
//! four base32 characters, shown once, stored as SHA-256 (enough for random codes of that
//! size), and good once each.

use nexus_shared::ApiError;
use nexus_shared::auth::totp;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

pub const COUNT: usize = 10;
const CODE_BYTES: usize = 10;

/// Ten fresh codes, replacing any the user had; answers them as shown to the user.
pub async fn replace(conn: &mut PgConnection, user_id: i64) -> Result<Vec<String>, ApiError> {
    let mut codes = Vec::with_capacity(COUNT);
    for _ in 0..COUNT {
        let mut bytes = [0u8; CODE_BYTES];
        getrandom::fill(&mut bytes).map_err(|_| ApiError::internal("no randomness for a recovery code"))?;
        let plain = totp::base32(&bytes);
        codes.push(
            plain
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("-"),
        );
    }
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| hash(c)).collect();
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    sqlx::query("INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])")
        .bind(user_id)
        .bind(&hashes)
        .execute(conn)
        .await?;
    Ok(codes)
}

/// Spends the code if it is one of the user's unused ones. Dashes, spaces and case do not
/// matter.
pub async fn consume(conn: &mut PgConnection, user_id: i64, code: &str) -> Result<bool, ApiError> {
    let done = sqlx::query(
        "UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(hash(code))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn hash(code: &str) -> Vec<u8> {
    let normalised: String = code.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_uppercase()).collect();
    Sha256::digest(normalised.as_bytes()).to_vec()
}
