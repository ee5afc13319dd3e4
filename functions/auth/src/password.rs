use axum::extract::State;
use axum::http::StatusCode;
use nexus_shared::audit::{self, Action, EntityType};
use nexus_shared::auth::CredentialOwner;
use nexus_shared::auth::password::Passwords;
use nexus_shared::auth::session::{self, RevokeReason};
use nexus_shared::extract::Json;
use nexus_shared::secret::Secret;
use nexus_shared::user;
use nexus_shared::validate::Validator;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(required = true, value_type = String, max_length = 128)]
    current_password: Option<String>,
    /// 12–128 characters, different from the current one.
    #[schema(required = true, value_type = String, min_length = 12, max_length = 128)]
    new_password: Option<String>,
}

/// Changes the caller's password. Every other session of the caller ends at once (a stolen
/// token or refresh token stops working); this one stays signed in.
#[utoipa::path(post, path = "/api/auth/password", tag = "auth", security(("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 204, description = "Changed; other sessions ended"),
              (status = 422, description = "Wrong current password, or a new one that does not qualify",
               body = nexus_shared::error::Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    State(passwords): State<Passwords>,
    CredentialOwner(caller): CredentialOwner,
    Json(body): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    let mut v = Validator::new();
    let current = v.required("current_password", body.current_password);
    let new = v
        .required("new_password", body.new_password)
        .and_then(|p| v.field("new_password", user::check_password(&p).map(|_| p)));
    let (Some(current), Some(new)) = (current, new) else { return Err(v.into_error()) };
    if current == new {
        return Err(ApiError::validation("new_password", "must differ from the current password"));
    }
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(caller.id)
        .fetch_one(&state.pool)
        .await?;
    if !passwords.verify(Secret::new(current), stored).await? {
        return Err(ApiError::validation("current_password", "is not your current password"));
    }
    let hash = passwords.hash(Secret::new(new)).await?;

    let mut tx = state.pool.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $2, must_change_password = false WHERE id = $1")
        .bind(caller.id)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    let ended = session::revoke_others(&mut tx, caller.id, caller.session_id, RevokeReason::PasswordChange).await?;
    // The audit row says that it changed and what it ended, never the hashes.
    let before = serde_json::json!({"password": "previous", "other_sessions": ended});
    let after = serde_json::json!({"password": "changed", "other_sessions": 0});
    audit::record(&mut tx, &caller.actor(), EntityType::User, caller.id, Action::Update, Some(&before), Some(&after))
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
