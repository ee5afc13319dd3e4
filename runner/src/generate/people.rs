//! Accounts: the four demo logins always (the README's, `scripts/run` prints them), and for a
//! fleet its technicians, supervisors (one per ten technicians) and a few viewers. Every account
//! has the demo password, hashed once.

use nexus_shared::ApiError;
use nexus_shared::auth::Role;
use nexus_shared::auth::password::Passwords;
use nexus_shared::secret::Secret;
use sqlx::PgConnection;

use super::Preset;

pub const PASSWORD: &str = "nexus-demo-pass";

pub const USERS: [(&str, Role); 4] = [
    ("admin@example.com", Role::Admin),
    ("supervisor@example.com", Role::Supervisor),
    ("technician@example.com", Role::Technician),
    ("viewer@example.com", Role::Viewer),
];

pub async fn create(conn: &mut PgConnection, passwords: &Passwords, preset: &Preset) -> Result<u64, ApiError> {
    let mut accounts: Vec<(Role, String, String)> =
        USERS.iter().map(|(email, role)| (*role, email.to_string(), format!("Demo {role}"))).collect();
    let t = preset.technicians;
    for (role, count) in
        [(Role::Technician, t), (Role::Supervisor, if t > 0 { t / 10 + 1 } else { 0 }), (Role::Viewer, t.min(5))]
    {
        accounts.extend((1..=count).map(|i| {
            (role, format!("{role}-{i:04}@fleet.example.com"), format!("{} {i:04}", capitalised(role.as_str())))
        }));
    }
    let emails: Vec<&str> = accounts.iter().map(|(_, email, _)| email.as_str()).collect();
    let missing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unnest($1::text[]) e WHERE NOT EXISTS (SELECT 1 FROM users WHERE email = e)",
    )
    .bind(&emails)
    .fetch_one(&mut *conn)
    .await?;
    if missing == 0 {
        return Ok(0); // a rerun: no hash to pay for
    }
    let hash = passwords.hash(Secret::new(PASSWORD.into())).await?;
    let roles: Vec<&str> = accounts.iter().map(|(role, ..)| role.as_str()).collect();
    let names: Vec<&str> = accounts.iter().map(|(_, _, name)| name.as_str()).collect();
    let inserted = sqlx::query(
        "WITH account AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS a (email, full_name, role)),
              new AS (
                  INSERT INTO users (email, full_name, password_hash)
                  SELECT email, full_name, $4 FROM account
                  ON CONFLICT (email) DO NOTHING RETURNING id, email
              )
         INSERT INTO user_roles (user_id, role) SELECT new.id, account.role FROM new JOIN account USING (email)",
    )
    .bind(&emails)
    .bind(&names)
    .bind(&roles)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected())
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
