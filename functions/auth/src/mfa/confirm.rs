use axum::extract::State;
use chrono::Utc;
use nexus_shared::audit::{self, Action};
use nexus_shared::auth::AuthOrEnrolling;
use nexus_shared::auth::session::{self, RevokeReason};
use nexus_shared::config::MfaSettings;
use nexus_shared::extract::Json;
use nexus_shared::user;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::mfa::{authenticator, recovery};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// The authenticator's current 6-digit code.
    #[schema(min_length = 6, max_length = 6, pattern = "^[0-9]{6}$")]
    code: String,
}

/// What confirming answers, once.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes (`XXXX-XXXX-XXXX-XXXX`), each taken instead of a TOTP code at
    /// `POST /api/auth/mfa/verify` once: shown only now.
    pub recovery_codes: Vec<String>,
}

/// Confirms the caller's pending enrolment with a current code and answers ten recovery codes,
/// shown once. From then on a login asks for a code. Every other session of the caller ends
/// (none of them passed the second factor), and so does this one when it was opened only to
/// enrol: sign in again, with the code.
#[utoipa::path(post, path = "/api/auth/mfa/confirm", tag = "auth", security(("bearer" = [])),
    request_body = ConfirmRequest,
    responses((status = 200, description = "Confirmed; the recovery codes, shown only now", body = RecoveryCodes),
              (status = 409, description = "Nothing to confirm (enrol first) or already confirmed", body = nexus_shared::error::Problem)))]
pub async fn confirm(
    State(state): State<AppState>,
    State(mfa): State<MfaSettings>,
    caller: AuthOrEnrolling,
    Json(body): Json<ConfirmRequest>,
) -> ApiResult<axum::Json<RecoveryCodes>> {
    let mut codes = Vec::new();
    audit::update(&state.pool, &caller.actor(), Action::Update, caller.id, user::find, async |conn, _| {
        let Some(pending) = authenticator::lock(conn, &mfa.key, caller.id).await? else {
            return Err(ApiError::Conflict(
                "There is no enrolment to confirm: POST /api/auth/mfa/enroll first.".into(),
            ));
        };
        if pending.confirmed {
            return Err(ApiError::Conflict("MFA is already confirmed for this account.".into()));
        }
        let step = pending
            .secret
            .verify(&body.code, Utc::now().timestamp(), None)
            .ok_or_else(|| ApiError::validation("code", "is not the authenticator's current code"))?;
        sqlx::query("UPDATE user_mfa SET confirmed_at = now(), last_step = $2 WHERE user_id = $1")
            .bind(caller.id)
            .bind(step)
            .execute(&mut *conn)
            .await?;
        codes = recovery::replace(conn, caller.id).await?;
        session::revoke_others(conn, caller.id, caller.session_id, RevokeReason::MfaEnrolled).await?;
        if caller.enrolment_only() {
            session::revoke(conn, caller.session_id, RevokeReason::MfaEnrolled).await?;
        }
        user::find(conn, caller.id).await?.ok_or(ApiError::NotFound)
    })
    .await?;
    Ok(axum::Json(RecoveryCodes { recovery_codes: codes }))
}
