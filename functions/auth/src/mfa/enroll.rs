use axum::extract::State;
use nexus_shared::auth::AuthOrEnrolling;
use nexus_shared::auth::totp::TotpSecret;
use nexus_shared::config::MfaSettings;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Serialize;
use utoipa::ToSchema;

use crate::mfa::authenticator;

/// A new authenticator's secret: shown this once, never again.
#[derive(Serialize, ToSchema)]
pub struct Enrolment {
    /// The 20-byte secret in base32 (RFC 4648, unpadded), to type into an authenticator app.
    pub secret: String,
    /// The same as a key URI, for a QR code: `otpauth://totp/Nexus:<email>?secret=…&issuer=Nexus&algorithm=SHA1&digits=6&period=30`.
    pub otpauth_uri: String,
}

/// Starts MFA enrolment for the caller: a new TOTP secret (SHA-1, 6 digits, 30 s), shown once;
/// it counts once confirmed with a code (`POST /api/auth/mfa/confirm`). Enrolling again before
/// that replaces the pending secret.
#[utoipa::path(post, path = "/api/auth/mfa/enroll", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The secret, shown only now", body = Enrolment),
              (status = 409, description = "MFA is already confirmed (an admin resets it)", body = nexus_shared::error::Problem)))]
pub async fn enroll(
    State(state): State<AppState>,
    State(mfa): State<MfaSettings>,
    caller: AuthOrEnrolling,
) -> ApiResult<axum::Json<Enrolment>> {
    let secret = TotpSecret::generate()?;
    let sealed = authenticator::seal(&mfa.key, caller.id, &secret)?;
    let written = sqlx::query(
        "INSERT INTO user_mfa (user_id, secret_sealed) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, last_step = NULL, created_at = now()
         WHERE user_mfa.confirmed_at IS NULL",
    )
    .bind(caller.id)
    .bind(sealed)
    .execute(&state.pool)
    .await?;
    if written.rows_affected() == 0 {
        return Err(ApiError::Conflict("MFA is already confirmed for this account; an admin can reset it.".into()));
    }
    Ok(axum::Json(Enrolment { secret: secret.base32(), otpauth_uri: secret.uri("Nexus", &caller.email) }))
}
