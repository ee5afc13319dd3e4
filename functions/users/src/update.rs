//! The body of `PUT /api/users/{id}` and the rules an admin's change must follow.

use nexus_shared::ApiError;
use nexus_shared::auth::Role;
use nexus_shared::user::{Email, User};
use nexus_shared::validate::{self, Validator, nullable};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[schema(format = "email", max_length = 254)]
    email: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    full_name: Option<Option<String>>,
    /// Replaces the user's roles; at least one.
    #[schema(min_items = 1, max_items = 4)]
    roles: Option<Vec<Role>>,
    /// `false` deactivates: no login, sessions revoked.
    active: Option<bool>,
}

impl UserUpdate {
    /// Deactivation, as `DELETE /api/users/{id}` does it.
    pub fn deactivate() -> Self {
        Self { active: Some(false), ..Self::default() }
    }
}

/// The user's account after the change, all valid.
#[derive(Debug)]
pub struct UserChange {
    pub email: Email,
    pub full_name: Option<String>,
    pub roles: Vec<Role>,
    pub active: bool,
}

impl UserChange {
    /// Validates `update` against the stored user. An admin may not lock themselves out: no
    /// removing their own admin role, no deactivating themselves (409).
    pub fn parse(update: UserUpdate, stored: &User, acting_admin: i64) -> Result<UserChange, ApiError> {
        let mut v = Validator::new();
        let email = match update.email {
            Some(raw) => v.field("email", Email::parse(&raw)),
            None => Email::parse(&stored.email).ok(),
        };
        let full_name = match update.full_name {
            None => Some(stored.full_name.clone()),
            Some(name) => v.field("full_name", validate::optional_line(name, 200)),
        };
        let mut roles = update.roles.unwrap_or_else(|| stored.roles.0.clone());
        let given = roles.len();
        roles.sort();
        roles.dedup();
        if roles.is_empty() {
            v.error("roles", "must hold at least one role");
        } else if given > Role::ALL.len() {
            // As the document's maxItems says (found by the contract fuzz: 5 items were taken).
            v.error("roles", format!("must hold at most {} roles", Role::ALL.len()));
        }
        let active = update.active.unwrap_or(stored.active);
        let (Some(email), Some(full_name)) = (email, full_name) else { return Err(v.into_error()) };
        if !v.is_valid() {
            return Err(v.into_error());
        }
        if stored.id == acting_admin && (!active || !roles.contains(&Role::Admin)) {
            return Err(ApiError::Conflict("You cannot deactivate yourself or remove your own admin role.".into()));
        }
        Ok(UserChange { email, full_name, roles, active })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check above uses `Role::ALL.len()`; the attribute needs a literal. Same number.
    #[test]
    fn the_documented_role_limit_is_the_number_of_roles() {
        let schema = serde_json::to_value(<UserUpdate as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["properties"]["roles"]["maxItems"], Role::ALL.len());
    }
}
