use axum::extract::State;
use chrono::Utc;
use nexus_shared::auth::session;
use nexus_shared::client_ip::ClientIp;
use nexus_shared::config::MfaSettings;
use nexus_shared::extract::Json;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::mfa::{authenticator, challenge, recovery};
use crate::throttle::{self, LoginThrottle};
use crate::tokens::{self, TokenResponse};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// From the login's answer.
    #[schema(max_length = 100)]
    mfa_token: String,
    /// The authenticator's current 6-digit code, or one of the recovery codes (spent by it).
    #[schema(max_length = 40)]
    code: String,
}

const INVALID_TOKEN: ApiError = ApiError::Unauthorized("The MFA token is invalid, used or expired; sign in again.");
const WRONG_CODE: ApiError = ApiError::Unauthorized("The code is wrong or was already used.");

/// The second step of a login for an account with MFA: the login's `mfa_token` and a code give
/// the token pair. A TOTP code is accepted once (one step either side of now); a recovery code
/// once ever. A wrong code counts as a failed login for the account's e-mail and the caller's
/// address, so the login's 429 applies here too; the `mfa_token` stays good for its five minutes
/// until a code is right.
#[utoipa::path(post, path = "/api/auth/mfa/verify", tag = "auth", request_body = VerifyRequest,
    responses((status = 200, description = "Signed in", body = TokenResponse),
              (status = 401, description = "Unknown, used or expired MFA token; or a wrong or used code", body = nexus_shared::error::Problem),
              (status = 429, description = "Too many failed attempts for this account or from this address", body = nexus_shared::error::Problem,
               headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn verify(
    State(state): State<AppState>,
    State(mfa): State<MfaSettings>,
    State(throttle_limit): State<LoginThrottle>,
    ClientIp(ip): ClientIp,
    Json(body): Json<VerifyRequest>,
) -> ApiResult<axum::Json<TokenResponse>> {
    if body.mfa_token.len() > 100 || body.code.len() > 40 {
        return Err(INVALID_TOKEN);
    }
    let mut tx = state.pool.begin().await?;
    let found = challenge::lock(&mut tx, &body.mfa_token).await?.ok_or(INVALID_TOKEN)?;
    throttle::check(&mut *tx, &found.email, ip, throttle_limit).await?;
    let Some(authenticator) = authenticator::lock(&mut tx, &mfa.key, found.user_id).await?.filter(|a| a.confirmed)
    else {
        // Reset by an admin since the password step: that login no longer needs (or has) a code.
        return Err(INVALID_TOKEN);
    };
    let code = body.code.trim();
    let accepted = match authenticator.secret.verify(code, Utc::now().timestamp(), authenticator.last_step) {
        Some(step) => authenticator::accept_step(&mut tx, found.user_id, step).await?,
        None if code.len() > 6 => recovery::consume(&mut tx, found.user_id, code).await?,
        None => false,
    };
    if !accepted {
        // The transaction's connection goes back first: a request holds one connection at a time.
        tx.rollback().await?;
        throttle::record_failure(&state.pool, &found.email, ip, throttle_limit).await?;
        return Err(WRONG_CODE);
    }
    challenge::spend(&mut tx, found.id).await?;
    throttle::clear(&mut tx, &found.email).await?;
    let refresh = session::open(&mut tx, found.user_id, Utc::now() + state.tokens.refresh_ttl).await?;
    tx.commit().await?;
    Ok(axum::Json(tokens::pair(&state, found.user_id, &refresh).await?))
}
