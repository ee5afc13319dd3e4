use axum::extract::State;
use chrono::Utc;
use nexus_shared::auth::password::Passwords;
use nexus_shared::auth::session;
use nexus_shared::client_ip::ClientIp;
use nexus_shared::extract::Json;
use nexus_shared::secret::Secret;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::throttle::{self, LoginThrottle};
use crate::tokens::{self, TokenResponse};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(max_length = 254)]
    email: String,
    #[schema(max_length = 1024)]
    password: String,
}

const BAD_CREDENTIALS: ApiError = ApiError::Unauthorized("The e-mail or password is wrong.");

/// Exchanges e-mail and password for an access token and a refresh token. A wrong e-mail and a
/// wrong password get the same answer in about the same time; after 5 failures for one e-mail,
/// or 50 from one address (API Gateway's source IP) whatever the e-mails, within 15 minutes, 429
/// with `Retry-After`.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = TokenResponse),
              (status = 401, description = "Wrong e-mail or password", body = nexus_shared::error::Problem),
              (status = 429, description = "Too many failed attempts for this e-mail or from this address", body = nexus_shared::error::Problem,
               headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn login(
    State(state): State<AppState>,
    State(passwords): State<Passwords>,
    State(throttle_limit): State<LoginThrottle>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginRequest>,
) -> ApiResult<axum::Json<TokenResponse>> {
    // Not parsed as an Email: a malformed address is simply a wrong one, and says nothing.
    let email = body.email.trim().to_lowercase();
    if email.len() > 254 || body.password.len() > 1024 {
        return Err(BAD_CREDENTIALS);
    }
    throttle::check(&state.pool, &email, ip, throttle_limit).await?;

    let account: Option<(i64, String, bool)> =
        sqlx::query_as("SELECT id, password_hash, active FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(&state.pool)
            .await?;
    let password = Secret::new(body.password);
    let user_id = match account {
        Some((id, hash, active)) => {
            let matches = passwords.verify(password, hash).await?;
            (matches && active).then_some(id)
        }
        None => {
            passwords.verify_decoy(password).await?;
            None
        }
    };
    let Some(user_id) = user_id else {
        throttle::record_failure(&state.pool, &email, ip, throttle_limit).await?;
        return Err(BAD_CREDENTIALS);
    };

    let mut tx = state.pool.begin().await?;
    throttle::clear(&mut tx, &email).await?;
    let expires_at = Utc::now() + state.tokens.refresh_ttl;
    let refresh = session::open(&mut tx, user_id, expires_at).await?;
    tx.commit().await?;
    Ok(axum::Json(tokens::pair(&state, user_id, &refresh)?))
}
