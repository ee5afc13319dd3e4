//! The users and user_roles tables, as administration sees them.

use nexus_shared::ApiError;
use nexus_shared::auth::Role;
use nexus_shared::auth::session::{self, RevokeReason};
use nexus_shared::db::like_pattern;
use nexus_shared::error::ResultExt;
use nexus_shared::pagination::{Page, PageRequest, SortKey};
use nexus_shared::user::{self, USER_COLUMNS, User};
use sqlx::{PgConnection, PgPool};

use crate::update::UserChange;

pub const SORTS: [SortKey; 2] = [
    SortKey { name: "email", column: "u.email", cast: "text" },
    SortKey { name: "created_at", column: "u.created_at", cast: "timestamptz" },
];

pub struct Filter {
    pub q: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

pub async fn list(pool: &PgPool, filter: &Filter, page: &PageRequest) -> Result<Page<User>, ApiError> {
    let mut qb = page.query(USER_COLUMNS, "users u");
    if let Some(q) = &filter.q {
        qb.push(" AND (u.email ILIKE ").push_bind(like_pattern(q));
        qb.push(" OR u.full_name ILIKE ").push_bind(like_pattern(q)).push(")");
    }
    if let Some(role) = filter.role {
        qb.push(" AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role = ")
            .push_bind(role.as_str())
            .push(")");
    }
    if let Some(active) = filter.active {
        qb.push(" AND u.active = ").push_bind(active);
    }
    page.fetch(qb, pool).await
}

/// The user, with the row locked until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: i64) -> Result<Option<User>, ApiError> {
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut *conn).await?;
    match locked {
        Some(id) => user::find(conn, id).await,
        None => Ok(None),
    }
}

/// Writes the change; a deactivation also revokes every session of the user.
pub async fn apply(conn: &mut PgConnection, id: i64, change: &UserChange) -> Result<User, ApiError> {
    sqlx::query("UPDATE users SET email = $2, full_name = $3, active = $4 WHERE id = $1")
        .bind(id)
        .bind(change.email.as_str())
        .bind(&change.full_name)
        .bind(change.active)
        .execute(&mut *conn)
        .await
        .on_constraint("users_email_key", |_| ApiError::Conflict("Another account already uses this e-mail.".into()))?;
    let roles: Vec<&str> = change.roles.iter().map(|r| r.as_str()).collect();
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role <> ALL($2)")
        .bind(id)
        .bind(&roles)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO user_roles (user_id, role) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING")
        .bind(id)
        .bind(&roles)
        .execute(&mut *conn)
        .await?;
    if !change.active {
        session::revoke_all_of_user(conn, id, RevokeReason::UserDeactivated).await?;
    }
    user::find(conn, id).await?.ok_or(ApiError::NotFound)
}
