use axum::extract::State;
use axum::http::StatusCode;
use nexus_shared::audit::{self, Actor};
use nexus_shared::auth::Role;
use nexus_shared::auth::password::Passwords;
use nexus_shared::error::ResultExt;
use nexus_shared::extract::Json;
use nexus_shared::secret::Secret;
use nexus_shared::user::{self, Email, User};
use nexus_shared::validate::{self, Validator};
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    #[schema(required = true, value_type = String, format = "email", max_length = 254)]
    email: Option<String>,
    /// 12–128 characters.
    #[schema(required = true, value_type = String, min_length = 12, max_length = 128)]
    password: Option<String>,
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    full_name: Option<String>,
}

/// Creates an account with the `viewer` role; an admin grants more.
#[utoipa::path(post, path = "/api/auth/signup", tag = "auth", request_body = SignupRequest,
    responses((status = 201, description = "Account created", body = User),
              (status = 409, description = "E-mail already registered", body = nexus_shared::error::Problem)))]
pub async fn signup(
    State(state): State<AppState>,
    State(passwords): State<Passwords>,
    actor: Actor,
    Json(body): Json<SignupRequest>,
) -> ApiResult<(StatusCode, axum::Json<User>)> {
    let mut v = Validator::new();
    let email = v.required("email", body.email).and_then(|e| v.field("email", Email::parse(&e)));
    let password =
        v.required("password", body.password).and_then(|p| v.field("password", user::check_password(&p).map(|_| p)));
    let full_name = v.field("full_name", validate::optional_line(body.full_name, 200));
    let (Some(email), Some(password), Some(full_name)) = (email, password, full_name) else {
        return Err(v.into_error());
    };

    let hash = passwords.hash(Secret::new(password)).await?;
    let created = audit::create(&state.pool, &actor, async |conn| {
        let id: i64 =
            sqlx::query_scalar("INSERT INTO users (email, full_name, password_hash) VALUES ($1, $2, $3) RETURNING id")
                .bind(email.as_str())
                .bind(full_name)
                .bind(hash)
                .fetch_one(&mut *conn)
                .await
                .on_constraint("users_email_key", |_| {
                    ApiError::Conflict("An account with this e-mail already exists.".into())
                })?;
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
            .bind(id)
            .bind(Role::Viewer.as_str())
            .execute(&mut *conn)
            .await?;
        user::find(conn, id).await?.ok_or_else(|| ApiError::internal("user vanished after insert"))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}
