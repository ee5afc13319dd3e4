//! Which required items of a ticket's checklist are not met yet: the gate a ticket passes
//! before it can be resolved, and the `met` flag each item shows.

use std::collections::{HashMap, HashSet};

use sqlx::PgConnection;

use super::item::{Item, ItemType};
use crate::error::{ApiError, FieldError};

/// What meets a ticket's items: its answers (by key), its stored attachments carrying a
/// checklist key (counted by key), and its stored signatures (by the key they carry, if any).
#[derive(Debug, Default, Clone)]
pub struct Evidence {
    pub answered: HashSet<String>,
    pub photos: HashMap<String, i64>,
    /// The `checklist_key` of each stored signature attachment (`None`: it names no item).
    pub signatures: HashSet<Option<String>>,
}

impl Evidence {
    pub async fn load(conn: &mut PgConnection, ticket_id: i64) -> Result<Evidence, ApiError> {
        let answered: Vec<String> = sqlx::query_scalar("SELECT key FROM checklist_answers WHERE ticket_id = $1")
            .bind(ticket_id)
            .fetch_all(&mut *conn)
            .await?;
        // Served by attachments_checklist_idx (ticket_id, checklist_key) WHERE status = 'stored'.
        let stored: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT kind, checklist_key, count(*) FROM attachments
             WHERE ticket_id = $1 AND status = 'stored' AND (checklist_key IS NOT NULL OR kind = 'signature')
             GROUP BY kind, checklist_key",
        )
        .bind(ticket_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut evidence = Evidence { answered: answered.into_iter().collect(), ..Evidence::default() };
        for (kind, key, count) in stored {
            if let Some(key) = &key {
                *evidence.photos.entry(key.clone()).or_default() += count;
            }
            if kind == "signature" {
                evidence.signatures.insert(key);
            }
        }
        Ok(evidence)
    }

    /// Why `item` is not met, or `None` when it is. An answer of any value (`"na"` included)
    /// meets a value item; a photo item needs `min_count` stored attachments carrying its key; a
    /// signature item a stored signature carrying its key or no key at all.
    pub fn shortfall(&self, item: &Item) -> Option<String> {
        match item.item_type {
            ItemType::Photo => {
                let (needed, has) = (i64::from(item.min_count.unwrap_or(1)), self.photos.get(&item.key).copied());
                let has = has.unwrap_or(0);
                (has < needed)
                    .then(|| format!("needs {needed} stored photo(s) with checklist_key {:?}; has {has}", item.key))
            }
            ItemType::Signature => {
                let signed = self.signatures.contains(&None) || self.signatures.contains(&Some(item.key.clone()));
                (!signed).then(|| "needs a stored attachment of kind signature".to_string())
            }
            _ => (!self.answered.contains(&item.key)).then(|| "is required".to_string()),
        }
    }

    pub fn meets(&self, item: &Item) -> bool {
        self.shortfall(item).is_none()
    }
}

/// Each required item not met, as `checklist.<key>`, in the checklist's order.
pub fn unmet(items: &[Item], evidence: &Evidence) -> Vec<FieldError> {
    (items.iter().filter(|item| item.required))
        .filter_map(|item| evidence.shortfall(item).map(|why| FieldError::new(format!("checklist.{}", item.key), why)))
        .collect()
}

/// For the ticket's checklist version, each required item not met (see [`Evidence::shortfall`])
/// as a `checklist.<key>` error; empty when the ticket has no checklist. 404 if there is no
/// such ticket. Call it on the transaction that holds the ticket's lock (resolving).
pub async fn unmet_required(conn: &mut PgConnection, ticket_id: i64) -> Result<Vec<FieldError>, ApiError> {
    let attached: Option<(Option<i64>, Option<i32>)> =
        sqlx::query_as("SELECT checklist_id, checklist_version FROM tickets WHERE id = $1")
            .bind(ticket_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((checklist_id, version)) = attached else { return Err(ApiError::NotFound) };
    let (Some(checklist_id), Some(version)) = (checklist_id, version) else { return Ok(Vec::new()) };
    let version = super::load_version(conn, checklist_id, version)
        .await?
        .ok_or_else(|| ApiError::internal("a ticket's checklist version is missing"))?;
    let evidence = Evidence::load(conn, ticket_id).await?;
    Ok(unmet(&version.items, &evidence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::item::{ItemBody, parse_items};
    use serde_json::json;

    fn items() -> Vec<Item> {
        let bodies: Vec<ItemBody> = serde_json::from_value(json!([
            {"key": "door", "label": "Door", "type": "check", "required": true},
            {"key": "cash_out", "label": "Cash out", "type": "pass_fail_na", "required": true},
            {"key": "remarks", "label": "Remarks", "type": "text", "required": false},
            {"key": "fascia", "label": "Fascia", "type": "photo", "required": true, "min_count": 2},
            {"key": "inside", "label": "Inside", "type": "photo", "required": true},
            {"key": "customer", "label": "Customer", "type": "signature", "required": true},
            {"key": "optional_photo", "label": "Extra", "type": "photo", "required": false},
        ]))
        .unwrap();
        parse_items("items", bodies).unwrap()
    }

    fn fields(evidence: &Evidence) -> Vec<String> {
        unmet(&items(), evidence).into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn nothing_done_lists_every_required_item_in_order() {
        assert_eq!(
            fields(&Evidence::default()),
            ["checklist.door", "checklist.cash_out", "checklist.fascia", "checklist.inside", "checklist.customer"]
        );
    }

    #[test]
    fn each_kind_of_item_is_met_by_its_own_evidence() {
        let cases: Vec<(Evidence, Vec<&str>)> = vec![
            (
                Evidence {
                    answered: ["door", "cash_out"].map(String::from).into(),
                    photos: [("fascia".to_string(), 2), ("inside".to_string(), 1)].into(),
                    signatures: [None].into(),
                },
                vec![],
            ),
            // One photo of two; a signature for another item does not count for this one.
            (
                Evidence {
                    answered: ["door", "cash_out", "remarks"].map(String::from).into(),
                    photos: [("fascia".to_string(), 1), ("inside".to_string(), 3)].into(),
                    signatures: [Some("technician".to_string())].into(),
                },
                vec!["checklist.fascia", "checklist.customer"],
            ),
            // Answers and photos under keys the checklist does not have meet nothing.
            (
                Evidence {
                    answered: ["Door", "cash"].map(String::from).into(),
                    photos: [("door".to_string(), 5)].into(),
                    signatures: [Some("customer".to_string())].into(),
                },
                vec!["checklist.door", "checklist.cash_out", "checklist.fascia", "checklist.inside"],
            ),
        ];
        for (evidence, expected) in cases {
            assert_eq!(fields(&evidence), expected, "{evidence:?}");
        }
    }

    #[test]
    fn the_message_says_what_is_missing() {
        let evidence = Evidence { photos: [("fascia".to_string(), 1)].into(), ..Evidence::default() };
        let errors = unmet(&items(), &evidence);
        let fascia = errors.iter().find(|e| e.field == "checklist.fascia").unwrap();
        assert!(fascia.message.contains("needs 2") && fascia.message.contains("has 1"), "{}", fascia.message);
        assert_eq!(errors[0].message, "is required");
    }
}
