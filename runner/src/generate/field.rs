//! The demo's field work (the demo preset only): an "ATM preventive visit" checklist, and one
//! closed ticket that shows everything a technician leaves behind — the checklist answered, a
//! check-in and check-out at the site, before/after photos and a signature, stored as the
//! `files` function stores confirmed uploads. [`upload_photos`] puts the images in the bucket
//! when the runner serves, so their download links work.

use nexus_shared::ApiError;
use nexus_shared::storage::ObjectStore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

pub const CHECKLIST: &str = "ATM preventive visit";

const PHOTO: &[u8] = include_bytes!("demo-photo.png");
const SIGNATURE: &[u8] = include_bytes!("demo-signature.png");

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The checklist (if missing) and the finished ticket (if no ticket carries the checklist yet).
pub async fn create(conn: &mut PgConnection) -> Result<u64, ApiError> {
    let items = json!([
        {"key": "safe_door_locked", "label": "Safe door locked after service", "type": "check", "required": true},
        {"key": "cash_cassettes", "label": "Cash cassettes seated and sensed", "type": "pass_fail_na", "required": true,
         "on_fail": {"create_cm": {"priority": "high"}}},
        {"key": "cabinet_temperature", "label": "Cabinet temperature", "type": "number", "required": true,
         "min": 10, "max": 45, "unit": "°C"},
        {"key": "printer_paper", "label": "Receipt paper left", "type": "select", "required": false,
         "options": ["full", "half", "low", "empty"]},
        {"key": "remarks", "label": "Remarks", "type": "text", "required": false, "max_length": 500},
        {"key": "before_photo", "label": "Photo before the work", "type": "photo", "required": true, "min_count": 1},
        {"key": "after_photo", "label": "Photo after the work", "type": "photo", "required": true, "min_count": 1},
        {"key": "customer_signature", "label": "Branch officer's signature", "type": "signature", "required": true},
    ]);
    let checklist = sqlx::query(
        "WITH c AS (INSERT INTO checklists (name, created_by)
                    SELECT $1, (SELECT min(id) FROM users WHERE email = 'supervisor@example.com')
                    WHERE NOT EXISTS (SELECT 1 FROM checklists WHERE name = $1) RETURNING id, created_by)
         INSERT INTO checklist_versions (checklist_id, version, name, items, created_by)
         SELECT id, 1, $1, $2, created_by FROM c",
    )
    .bind(CHECKLIST)
    .bind(&items)
    .execute(&mut *conn)
    .await?;

    // The earliest closed demo ticket at a site with coordinates, worked by the technician.
    let ticket: Option<(i64, f64, f64, i64)> = sqlx::query_as(
        "SELECT t.id, l.latitude, l.longitude, t.assigned_to FROM tickets t JOIN locations l ON l.id = t.location_id
         WHERE t.status = 'closed' AND l.latitude IS NOT NULL AND t.assigned_to IS NOT NULL AND t.pm_plan_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM tickets x JOIN checklists c ON c.id = x.checklist_id WHERE c.name = $1)
         ORDER BY t.id LIMIT 1",
    )
    .bind(CHECKLIST)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((ticket, lat, lng, technician)) = ticket else { return Ok(checklist.rows_affected()) };
    sqlx::query(
        "UPDATE tickets SET checklist_id = c.id, checklist_version = c.version, checklist_revision = 1
         FROM checklists c WHERE c.name = $2 AND tickets.id = $1",
    )
    .bind(ticket)
    .bind(CHECKLIST)
    .execute(&mut *conn)
    .await?;
    // Answered between the response and the resolution, as the work went.
    let answers = [
        ("safe_door_locked", json!(true)),
        ("cash_cassettes", json!("pass")),
        ("cabinet_temperature", json!(31.5)),
        ("printer_paper", json!("half")),
        ("remarks", json!("Cleaned the note path; replaced the receipt paper roll.")),
    ];
    for (i, (key, value)) in answers.iter().enumerate() {
        sqlx::query(
            "INSERT INTO checklist_answers (ticket_id, key, value, answered_by, occurred_at, received_at)
             SELECT id, $2, $3, $4, responded_at + (resolved_at - responded_at) * $5 / 8,
                    responded_at + (resolved_at - responded_at) * $5 / 8
             FROM tickets WHERE id = $1",
        )
        .bind(ticket)
        .bind(key)
        .bind(value)
        .bind(technician)
        .bind(i as f64 + 1.0)
        .execute(&mut *conn)
        .await?;
    }
    // Checked in 35 m from the site's point (inside its 200 m), out as the work was resolved.
    sqlx::query(
        "INSERT INTO visits (ticket_id, technician_id, checked_in_at, received_at, lat, lng, accuracy_m, distance_m, result,
                             checked_out_at, checkout_received_at, checkout_lat, checkout_lng, checkout_accuracy_m,
                             checkout_distance_m, checkout_result)
         SELECT id, $2, responded_at, responded_at, $3 + 0.000315, $4, 12, 35.0, 'inside',
                resolved_at, resolved_at, $3, $4 + 0.00018, 9, 19.9, 'inside'
         FROM tickets WHERE id = $1",
    )
    .bind(ticket)
    .bind(technician)
    .bind(lat)
    .bind(lng)
    .execute(&mut *conn)
    .await?;
    for (kind, key, bytes) in [
        ("before", "before_photo", PHOTO),
        ("after", "after_photo", PHOTO),
        ("signature", "customer_signature", SIGNATURE),
    ] {
        sqlx::query(
            "WITH a AS (SELECT nextval(pg_get_serial_sequence('attachments', 'id')) AS id)
             INSERT INTO attachments (id, ticket_id, kind, checklist_key, content_type, size_bytes, sha256, status,
                                      object_key, uploaded_by, created_at, stored_at)
             OVERRIDING SYSTEM VALUE
             SELECT a.id, t.id, $2, $3, 'image/png', $4, $5, 'stored', 'attachments/' || t.id || '/' || a.id || '.png',
                    $6, t.resolved_at, t.resolved_at
             FROM a, tickets t WHERE t.id = $1",
        )
        .bind(ticket)
        .bind(kind)
        .bind(key)
        .bind(bytes.len() as i64)
        .bind(sha256_hex(bytes))
        .bind(technician)
        .execute(&mut *conn)
        .await?;
    }
    Ok(checklist.rows_affected() + 1)
}

/// Puts the demo's photos and signature in the bucket under their attachments' keys (each if
/// missing), so the local runner serves their download links.
pub async fn upload_photos(pool: &PgPool, store: &impl ObjectStore) -> Result<usize, ApiError> {
    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.object_key, a.kind FROM attachments a JOIN tickets t ON t.id = a.ticket_id
         JOIN checklists c ON c.id = t.checklist_id WHERE c.name = $1 AND a.status = 'stored' ORDER BY a.id",
    )
    .bind(CHECKLIST)
    .fetch_all(pool)
    .await?;
    let mut uploaded = 0;
    for (key, kind) in keys {
        if !store.exists(&key).await? {
            let bytes = if kind == "signature" { SIGNATURE } else { PHOTO };
            store.put(&key, bytes.to_vec(), "image/png").await?;
            uploaded += 1;
        }
    }
    Ok(uploaded)
}
