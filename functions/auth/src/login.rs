use axum::extract::State;
use chrono::Utc;
use nexus_shared::auth::Role;
use nexus_shared::auth::password::Passwords;
use nexus_shared::auth::session::{self, SessionKind};
use nexus_shared::client_ip::ClientIp;
use nexus_shared::config::MfaSettings;
use nexus_shared::extract::Json;
use nexus_shared::secret::Secret;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::mfa::{authenticator, challenge};
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

/// A login answers the tokens, or, for an account with MFA, a token to send with a code.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResponse {
    Tokens(TokenResponse),
    MfaRequired(MfaChallenge),
}

/// The password was right; a code is still due: `POST /api/auth/mfa/verify {mfa_token, code}`.
#[derive(Serialize, ToSchema)]
pub struct MfaChallenge {
    /// Always `true`.
    pub mfa_required: bool,
    /// Single-use, valid for `expires_in` seconds.
    pub mfa_token: String,
    pub expires_in: u64,
}

const BAD_CREDENTIALS: ApiError = ApiError::Unauthorized("The e-mail or password is wrong.");

/// Exchanges e-mail and password for an access token and a refresh token. A wrong e-mail and a
/// wrong password get the same answer in about the same time; after 5 failures for one e-mail,
/// or 50 from one address (API Gateway's source IP) whatever the e-mails, within 15 minutes, 429
/// with `Retry-After`. An account with MFA answers `{mfa_required: true, mfa_token, expires_in}`
/// instead of the tokens (`POST /api/auth/mfa/verify` gives them); an account whose role requires
/// MFA (`NEXUS_MFA_REQUIRED_ROLES`) but has not enrolled gets tokens whose session may only enrol.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in; or, with MFA, the password step passed", body = LoginResponse),
              (status = 401, description = "Wrong e-mail or password", body = nexus_shared::error::Problem),
              (status = 429, description = "Too many failed attempts for this e-mail or from this address", body = nexus_shared::error::Problem,
               headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn login(
    State(state): State<AppState>,
    State(passwords): State<Passwords>,
    State(throttle_limit): State<LoginThrottle>,
    State(mfa): State<MfaSettings>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginRequest>,
) -> ApiResult<axum::Json<LoginResponse>> {
    // Not parsed as an Email: a malformed address is simply a wrong one, and says nothing.
    let email = body.email.trim().to_lowercase();
    if email.len() > 254 || body.password.len() > 1024 {
        return Err(BAD_CREDENTIALS);
    }
    throttle::check(&state.pool, &email, ip, throttle_limit).await?;

    let account: Option<(i64, String, bool, Vec<String>)> = sqlx::query_as(
        "SELECT u.id, u.password_hash, u.active, ARRAY(SELECT role FROM user_roles WHERE user_id = u.id)
         FROM users u WHERE u.email = $1",
    )
    .bind(&email)
    .fetch_optional(&state.pool)
    .await?;
    let password = Secret::new(body.password);
    let mut roles = Vec::new();
    let user_id = match account {
        Some((id, hash, active, held)) => {
            let matches = passwords.verify(password, hash).await?;
            roles = held;
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
    if authenticator::is_confirmed(&mut tx, user_id).await? {
        // The e-mail's failures are kept until the code is right too: with the password alone,
        // one could otherwise reset the count between guesses at the code.
        let mfa_token = challenge::issue(&mut tx, user_id).await?;
        tx.commit().await?;
        let expires_in = challenge::LIFETIME.as_secs();
        return Ok(axum::Json(LoginResponse::MfaRequired(MfaChallenge { mfa_required: true, mfa_token, expires_in })));
    }
    throttle::clear(&mut tx, &email).await?;
    let must_enrol = roles.iter().filter_map(|r| Role::parse(r)).any(|r| mfa.required_roles.contains(&r));
    let kind = if must_enrol { SessionKind::MfaEnrolmentOnly } else { SessionKind::Full };
    let refresh = session::open_as(&mut tx, user_id, Utc::now() + state.tokens.refresh_ttl, kind).await?;
    tx.commit().await?;
    Ok(axum::Json(LoginResponse::Tokens(tokens::pair(&state, user_id, &refresh).await?)))
}
