//! `Auth<P>`: the caller, authenticated against a live session and authorised by policy `P`.
//! A handler's signature says who may call it: `Auth<Admin>`, `Auth<Staff>`, `Auth` (any role).

use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::{header, request::Parts};

use crate::auth::role::Role;
use crate::auth::session;
use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub session_id: i64,
    pub email: String,
    pub roles: Vec<Role>,
    /// The request id, carried so audit rows can point back to the request's log lines.
    pub request_id: Option<String>,
}

impl AuthUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.roles.iter().any(|r| roles.contains(r))
    }
}

/// Which roles may pass.
pub trait Policy: Send + Sync + 'static {
    const ALLOWED: &'static [Role];
}

/// Any signed-in user with at least one role.
pub struct AnyRole;
impl Policy for AnyRole {
    const ALLOWED: &'static [Role] = Role::ALL;
}

/// Admins and supervisors: the people who run the estate.
pub struct Staff;
impl Policy for Staff {
    const ALLOWED: &'static [Role] = &[Role::Admin, Role::Supervisor];
}

/// Those who work tickets: planners and technicians (not viewers).
pub struct Worker;
impl Policy for Worker {
    const ALLOWED: &'static [Role] = &[Role::Admin, Role::Supervisor, Role::Technician];
}

pub struct Admin;
impl Policy for Admin {
    const ALLOWED: &'static [Role] = &[Role::Admin];
}

pub struct Auth<P: Policy = AnyRole>(pub AuthUser, PhantomData<P>);

impl<P: Policy> Deref for Auth<P> {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Any state that holds the core (pool and signing keys) authenticates.
impl<P: Policy, S: Send + Sync> FromRequestParts<S> for Auth<P>
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (user, limits) = authenticate(parts, &AppState::from_ref(state)).await?;
        if limits.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        if limits.mfa_enrolment_only {
            return Err(ApiError::MfaEnrollmentRequired);
        }
        if !user.has_any(P::ALLOWED) {
            return Err(ApiError::Forbidden);
        }
        Ok(Auth(user, PhantomData))
    }
}

/// The caller, any role, let through while their session may only enrol in MFA (their role
/// requires it and they have not enrolled). Only the MFA enrolment routes, "who am I" and
/// logout take it; every other route takes [`Auth`], which answers such a caller 403
/// `/problems/mfa-enrollment-required`. A password someone else chose is still changed first.
pub struct AuthOrEnrolling(pub AuthUser, bool);

impl Deref for AuthOrEnrolling {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

impl AuthOrEnrolling {
    /// Whether the session may only enrol (it ends once MFA is confirmed).
    pub fn enrolment_only(&self) -> bool {
        self.1
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthOrEnrolling
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (user, limits) = authenticate(parts, &AppState::from_ref(state)).await?;
        if limits.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        if !user.has_any(AnyRole::ALLOWED) {
            return Err(ApiError::Forbidden);
        }
        Ok(AuthOrEnrolling(user, limits.mfa_enrolment_only))
    }
}

/// The caller as the owner of their credentials: signed in, any role, and let through even
/// while they must change a password someone else chose, or may only enrol in MFA (a first
/// admin must do both, and the password comes first). Only the password change takes it;
/// every other route takes [`Auth`], which answers such a caller 403
/// `/problems/password-change-required`.
pub struct CredentialOwner(pub AuthUser);

impl<S: Send + Sync> FromRequestParts<S> for CredentialOwner
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (user, _) = authenticate(parts, &AppState::from_ref(state)).await?;
        Ok(CredentialOwner(user))
    }
}

/// What a live session may not do yet.
struct Limits {
    must_change_password: bool,
    mfa_enrolment_only: bool,
}

/// The caller, and what they must do before anything else.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<(AuthUser, Limits), ApiError> {
    let token =
        bearer_token(parts).ok_or(ApiError::Unauthorized("Send an access token: Authorization: Bearer <token>."))?;
    let claims = state.tokens.verify_access(token).await?;
    let user_id: i64 =
        claims.sub.parse().map_err(|_| ApiError::Unauthorized("The access token is invalid or expired."))?;
    let principal = session::principal(&state.pool, claims.sid, user_id)
        .await?
        .ok_or(ApiError::Unauthorized("The session has ended; sign in again."))?;
    let user = AuthUser {
        id: principal.id,
        session_id: claims.sid,
        email: principal.email,
        roles: principal.roles,
        request_id: parts.headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned),
    };
    let limits = Limits {
        must_change_password: principal.must_change_password,
        mfa_enrolment_only: principal.mfa_enrolment_only,
    };
    Ok((user, limits))
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}
