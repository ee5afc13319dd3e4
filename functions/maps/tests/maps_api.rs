//! The live map and the sites map against real Postgres: GeoJSON shape, viewport, clustering,
//! SLA colours, visibility and caching.

use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, TestUser, get, post, request, send};
use serde_json::{Value, json};
use sqlx::PgPool;

struct Fixture {
    app: axum::Router,
    tickets: axum::Router,
    pool: PgPool,
    spv: TestUser,
    tech: TestUser,
}

/// Sites: Jakarta (2), Denpasar (1), and one without coordinates.
async fn setup(pool: PgPool) -> (Fixture, Vec<i64>) {
    let state = testing::state(pool.clone());
    let spv = testing::user(&state, "spv@test.example", &[Role::Supervisor]).await;
    let tech = testing::user(&state, "tech@test.example", &[Role::Technician]).await;
    let mut assets = Vec::new();
    for (code, lat, lng) in [
        ("JKT1", Some(-6.2), Some(106.8)),
        ("JKT2", Some(-6.21), Some(106.82)),
        ("DPS1", Some(-8.67), Some(115.21)),
        ("NOWHERE", None, None),
    ] {
        let site = testing::site(&pool, code, "Asia/Jakarta").await;
        sqlx::query("UPDATE locations SET latitude = $2, longitude = $3, region = $4 WHERE id = $1")
            .bind(site.location_id)
            .bind(lat)
            .bind(lng)
            .bind(if code.starts_with("DPS") { "Bali" } else { "DKI Jakarta" })
            .execute(&pool)
            .await
            .unwrap();
        assets.push(site.asset_id);
    }
    // Tests change data and look again at once: no view is served from the cache.
    let maps = nexus_maps::MapsState::new(state.clone(), Duration::ZERO);
    let f = Fixture { app: nexus_maps::router(maps), tickets: nexus_tickets::router(state), pool, spv, tech };
    (f, assets)
}

impl Fixture {
    async fn open(&self, asset: i64, priority: &str) -> Value {
        let r = post(
            &self.tickets,
            "/api/tickets",
            &self.spv,
            json!({"asset_id": asset, "ticket_type": "CM", "priority": priority, "description": "x"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        r.body
    }
}

fn features(body: &Value) -> &Vec<Value> {
    assert_eq!(body["type"], "FeatureCollection");
    body["features"].as_array().unwrap()
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn live_tickets_are_geojson_points_in_lng_lat_order(pool: PgPool) {
    let (f, assets) = setup(pool).await;
    let empty = get(&f.app, "/api/maps/live-tickets", &f.spv).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.content_type(), "application/geo+json");
    assert_eq!(empty.body, json!({"type": "FeatureCollection", "features": []}));

    let bali = f.open(assets[2], "high").await;
    f.open(assets[3], "high").await; // a site without coordinates: not on the map
    let cancelled = f.open(assets[0], "low").await;
    send(&f.tickets, request(Method::DELETE, &format!("/api/tickets/{}", cancelled["id"]), Some(&f.spv.token), None))
        .await;

    let r = get(&f.app, "/api/maps/live-tickets", &f.spv).await;
    let feats = features(&r.body);
    assert_eq!(feats.len(), 1, "only active tickets at located sites: {:?}", r.body);
    let feat = &feats[0];
    assert_eq!(feat["type"], "Feature");
    assert_eq!(feat["geometry"], json!({"type": "Point", "coordinates": [115.21, -8.67]}));
    let p = &feat["properties"];
    assert_eq!((p["id"].clone(), p["number"].clone()), (bali["id"].clone(), bali["number"].clone()));
    assert_eq!(
        (p["location_code"].as_str(), p["status"].as_str(), p["sla_state"].as_str()),
        (Some("DPS1"), Some("open"), Some("pending"))
    );
    let minutes = p["minutes_to_breach"].as_i64().unwrap();
    assert!((118..=120).contains(&minutes), "CM high responds within 2 h: {minutes}");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn colours_follow_the_sla_clocks(pool: PgPool) {
    let (f, assets) = setup(pool).await;
    let late = f.open(assets[0], "high").await;
    let warned = f.open(assets[1], "high").await;
    sqlx::query("UPDATE tickets SET response_warning_at = now() - interval '2 hours', response_due_at = now() - interval '1 hour' WHERE id = $1")
        .bind(late["id"].as_i64())
        .execute(&f.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE tickets SET response_warning_at = now() - interval '1 minute' WHERE id = $1")
        .bind(warned["id"].as_i64())
        .execute(&f.pool)
        .await
        .unwrap();
    let r = get(&f.app, "/api/maps/live-tickets", &f.spv).await;
    let state_of = |id: &Value| {
        features(&r.body).iter().find(|x| &x["properties"]["id"] == id).unwrap()["properties"]["sla_state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(state_of(&late["id"]), "breached");
    assert_eq!(state_of(&warned["id"]), "warning");
    // The same states as the tickets API computes.
    let api = get(&f.tickets, &format!("/api/tickets/{}", late["id"]), &f.spv).await;
    assert_eq!(api.body["sla"]["response_state"], "breached");
    // Clusters carry the worst state inside; counts add up.
    let clustered = get(&f.app, "/api/maps/live-tickets?cluster=true&zoom=5", &f.spv).await;
    let clusters = features(&clustered.body);
    assert_eq!(clusters.len(), 1, "both Jakarta tickets in one cell at zoom 5");
    assert_eq!(clusters[0]["properties"], json!({"cluster": true, "point_count": 2, "sla_state": "breached"}));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn clusters_add_up_to_the_points_at_every_zoom(pool: PgPool) {
    let (f, assets) = setup(pool).await;
    for (i, asset) in assets.iter().take(3).enumerate() {
        for _ in 0..=i {
            f.open(*asset, "medium").await;
        }
    }
    let points = features(&get(&f.app, "/api/maps/live-tickets", &f.spv).await.body).len() as i64;
    assert_eq!(points, 6);
    for zoom in [0, 3, 5, 8, 12, 16, 20] {
        let r = get(&f.app, &format!("/api/maps/live-tickets?cluster=true&zoom={zoom}"), &f.spv).await;
        // A cluster counts its points; a cell of one ticket is that ticket's marker.
        let total: i64 = features(&r.body).iter().map(|c| c["properties"]["point_count"].as_i64().unwrap_or(1)).sum();
        assert_eq!(total, points, "zoom {zoom}");
        for feature in features(&r.body) {
            let p = &feature["properties"];
            assert!(p["cluster"] == true && p["point_count"].as_i64() > Some(1) || p["number"].is_string(), "{p}");
        }
    }
    let national = features(&get(&f.app, "/api/maps/live-tickets?cluster=true&zoom=2", &f.spv).await.body).len();
    let street = get(&f.app, "/api/maps/live-tickets?cluster=true&zoom=16", &f.spv).await.body;
    assert!(national <= 2 && features(&street).len() == 3, "national {national}, street {street}");
    let singles: Vec<&Value> = features(&street).iter().filter(|c| c["properties"]["cluster"].is_null()).collect();
    assert_eq!(singles.len(), 1, "the site with one ticket shows it as a marker: {street}");
    assert!(singles[0]["properties"]["id"].is_i64() && singles[0]["properties"]["minutes_to_breach"].is_i64());
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_viewport_and_filters_narrow_the_map(pool: PgPool) {
    let (f, assets) = setup(pool).await;
    f.open(assets[0], "high").await;
    f.open(assets[2], "low").await;
    let count = |body: &Value| features(body).len();
    assert_eq!(count(&get(&f.app, "/api/maps/live-tickets?bbox=106,-7,107,-6", &f.spv).await.body), 1);
    assert_eq!(
        count(&get(&f.app, "/api/maps/live-tickets?bbox=106.8,-6.2,106.8,-6.2", &f.spv).await.body),
        1,
        "edges are inside"
    );
    assert_eq!(count(&get(&f.app, "/api/maps/live-tickets?bbox=0,0,1,1", &f.spv).await.body), 0);
    assert_eq!(count(&get(&f.app, "/api/maps/live-tickets?region=Bali", &f.spv).await.body), 1);
    assert_eq!(count(&get(&f.app, "/api/maps/live-tickets?priority=high", &f.spv).await.body), 1);
    // Without a zoom, clustering fits the viewport.
    assert_eq!(get(&f.app, "/api/maps/live-tickets?cluster=true&bbox=106,-7,107,-6", &f.spv).await.status, 200);
    for bad in ["bbox=1,2,3", "bbox=10,0,5,1", "bbox=0,-95,1,1", "zoom=21", "cluster=true&zoom=21", "status=done"] {
        let r = get(&f.app, &format!("/api/maps/live-tickets?{bad}"), &f.spv).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(r.content_type(), "application/problem+json");
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn technicians_see_only_their_tickets_on_the_map(pool: PgPool) {
    let (f, assets) = setup(pool).await;
    let mine = f.open(assets[0], "high").await;
    f.open(assets[1], "high").await;
    testing::put(&f.tickets, &format!("/api/tickets/{}", mine["id"]), &f.spv, json!({"assigned_to": f.tech.id})).await;
    let r = get(&f.app, "/api/maps/live-tickets", &f.tech).await;
    let ids: Vec<&Value> = features(&r.body).iter().map(|x| &x["properties"]["id"]).collect();
    assert_eq!(ids, [&mine["id"]]);
    let sites = get(&f.app, "/api/maps/locations", &f.tech).await;
    let counts: i64 =
        features(&sites.body).iter().map(|x| x["properties"]["active_ticket_count"].as_i64().unwrap()).sum();
    assert_eq!(counts, 1);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn sites_carry_their_active_ticket_counts(pool: PgPool) {
    let (f, assets) = setup(pool).await;
    f.open(assets[0], "high").await;
    f.open(assets[0], "low").await;
    let r = get(&f.app, "/api/maps/locations", &f.spv).await;
    let feats = features(&r.body);
    assert_eq!(feats.len(), 3, "sites without coordinates are left out");
    let jkt1 = feats.iter().find(|x| x["properties"]["code"] == "JKT1").unwrap();
    assert_eq!(jkt1["geometry"]["coordinates"], json!([106.8, -6.2]));
    assert_eq!(jkt1["properties"]["active_ticket_count"], 2);
    assert_eq!(jkt1["properties"]["region"], "DKI Jakarta");
    let clustered = get(&f.app, "/api/maps/locations?cluster=true&zoom=4", &f.spv).await;
    let cells = features(&clustered.body);
    assert_eq!(cells.iter().map(|c| c["properties"]["point_count"].as_i64().unwrap()).sum::<i64>(), 3);
    assert_eq!(cells.iter().map(|c| c["properties"]["active_ticket_count"].as_i64().unwrap()).sum::<i64>(), 2);
}

/// A PM generated ahead of its date is not work yet: on neither map until `scheduled_for` passes.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn tickets_scheduled_for_later_stay_off_the_map_until_then(pool: PgPool) {
    let (f, assets) = setup(pool).await;
    let live = f.open(assets[0], "high").await;
    let generated: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description,
             sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
             response_warning_at, response_due_at, resolution_warning_at, resolution_due_at, scheduled_for)
         SELECT 'PM-GEN-1', 'PM', 'low', 'open', a.id, a.location_id, 'Quarterly service',
             (SELECT id FROM sla_calendars WHERE kind = '24x7' LIMIT 1), 2880, 10080, 0.8,
             s + interval '2304 minutes', s + interval '2880 minutes', s + interval '8064 minutes',
             s + interval '10080 minutes', s
         FROM assets a, (SELECT now() + interval '7 days' AS s) AS at WHERE a.id = $1
         RETURNING id",
    )
    .bind(assets[2])
    .fetch_one(&f.pool)
    .await
    .unwrap();
    let ids = |body: &Value| features(body).iter().map(|x| x["properties"]["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let site_count = |body: &Value, code: &str| {
        features(body).iter().find(|x| x["properties"]["code"] == code).unwrap()["properties"]["active_ticket_count"]
            .as_i64()
            .unwrap()
    };
    let live_id = live["id"].as_i64().unwrap();

    assert_eq!(ids(&get(&f.app, "/api/maps/live-tickets", &f.spv).await.body), [live_id]);
    // Zoom 0: every site in one cell, so what is left is the one live ticket's marker.
    assert_eq!(ids(&get(&f.app, "/api/maps/live-tickets?cluster=true&zoom=0", &f.spv).await.body), [live_id]);
    let sites = get(&f.app, "/api/maps/locations", &f.spv).await.body;
    assert_eq!((site_count(&sites, "JKT1"), site_count(&sites, "DPS1")), (1, 0));
    // The tickets list does show it (it is there to be planned).
    let list = get(&f.tickets, "/api/tickets?scheduled_before=2100-01-01T00:00:00Z", &f.spv).await.body;
    assert_eq!(list["items"][0]["id"], generated);

    sqlx::query("UPDATE tickets SET scheduled_for = now() - interval '1 minute' WHERE id = $1")
        .bind(generated)
        .execute(&f.pool)
        .await
        .unwrap();
    assert_eq!(ids(&get(&f.app, "/api/maps/live-tickets", &f.spv).await.body), [live_id, generated]);
    let clustered = get(&f.app, "/api/maps/live-tickets?cluster=true&zoom=0", &f.spv).await.body;
    assert_eq!(features(&clustered).len(), 1);
    assert_eq!(
        features(&clustered)[0]["properties"],
        json!({"cluster": true, "point_count": 2, "sla_state": "pending"})
    );
    let sites = get(&f.app, "/api/maps/locations", &f.spv).await.body;
    assert_eq!((site_count(&sites, "JKT1"), site_count(&sites, "DPS1")), (1, 1));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_unchanged_map_is_304(pool: PgPool) {
    let (f, assets) = setup(pool).await;
    f.open(assets[0], "high").await;
    let first = get(&f.app, "/api/maps/live-tickets?cluster=true&zoom=6", &f.spv).await;
    let etag = first.headers[header::ETAG].to_str().unwrap().to_string();
    // max-age is the cache's TTL: nothing may be kept when nothing is cached.
    assert_eq!(first.headers[header::CACHE_CONTROL], "private, max-age=0, must-revalidate");
    let mut again = request(Method::GET, "/api/maps/live-tickets?cluster=true&zoom=6", Some(&f.spv.token), None);
    again.headers_mut().insert(header::IF_NONE_MATCH, etag.parse().unwrap());
    let r = send(&f.app, again).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert_eq!(r.body, Value::Null);
    f.open(assets[1], "high").await;
    let mut changed = request(Method::GET, "/api/maps/live-tickets?cluster=true&zoom=6", Some(&f.spv.token), None);
    changed.headers_mut().insert(header::IF_NONE_MATCH, etag.parse().unwrap());
    assert_eq!(send(&f.app, changed).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn answers_an_api_gateway_v2_event(pool: PgPool) {
    let (f, assets) = setup(pool).await;
    f.open(assets[2], "critical").await;
    let event = testing::apigw_v2_event(
        "GET",
        "/api/maps/live-tickets",
        "bbox=95,-11,141,6&cluster=true&zoom=4",
        Some(&f.spv.token),
        None,
    );
    let r = testing::send_event(&f.app, event).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(features(&r.body)[0]["properties"]["number"].is_string(), "a lone ticket is its marker: {:?}", r.body);
}

/// With the view cache on (as deployed), a view asked again within its TTL is the same body
/// even after a change, while another caller's visibility never shares it.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn identical_views_are_shared_for_the_cache_ttl_but_never_across_visibility(pool: PgPool) {
    let (f, assets) = setup(pool.clone()).await;
    let cached = nexus_maps::router(nexus_maps::MapsState::new(testing::state(pool), Duration::from_secs(60)));
    let ticket = f.open(assets[0], "high").await;
    let assign = json!({"assigned_to": f.tech.id});
    let r = testing::put(&f.tickets, &format!("/api/tickets/{}", ticket["id"]), &f.spv, assign).await;
    assert_eq!(r.status, StatusCode::OK);

    let first = get(&cached, "/api/maps/live-tickets", &f.spv).await;
    assert_eq!(features(&first.body).len(), 1);
    assert_eq!(first.headers[header::CACHE_CONTROL], "private, max-age=60, must-revalidate", "max-age is the TTL");
    f.open(assets[2], "low").await;
    let again = get(&cached, "/api/maps/live-tickets", &f.spv).await;
    assert_eq!(again.body, first.body, "served from the cache within its TTL");
    assert_eq!(features(&get(&f.app, "/api/maps/live-tickets", &f.spv).await.body).len(), 2, "uncached: both");
    // The technician's own view is computed for them: only their ticket, never the supervisor's body.
    let own = get(&cached, "/api/maps/live-tickets", &f.tech).await;
    assert_eq!(features(&own.body).len(), 1);
    assert_eq!(features(&own.body)[0]["properties"]["id"], ticket["id"]);
    // Another query is another view.
    let bali = get(&cached, "/api/maps/live-tickets?region=Bali", &f.spv).await;
    assert_eq!(features(&bali.body).len(), 1);
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_maps"), pool).await;
}

/// The unfiltered staff view is built from the per-site counts the database keeps
/// (`site_ticket_states`); naming every active status explicitly takes the per-ticket query. On
/// tickets in every state — recorded or not yet recorded crossings, on hold, resolved on time and
/// late, finished, generated ahead — both answer the same map, and the counts equal a recount.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_national_view_from_per_site_counts_equals_the_per_ticket_one(pool: PgPool) {
    let (f, assets) = setup(pool).await;
    for i in 0..48 {
        f.open(assets[i % 3], ["low", "medium", "high", "critical"][i % 4]).await;
    }
    let tech_id = f.tech.id;
    // Each statement moves a twelfth of the tickets into one state, as the API, the check or a sync would.
    for (n, change) in [
        (1, "response_warning_at = now() - interval '1 minute'"),
        (2, "response_warning_at = now() - interval '2 hours', response_due_at = now() - interval '1 hour'"),
        (3, "response_warning_at = now() - interval '2 hours', response_due_at = now() - interval '1 hour',
             response_warned = true, response_breached = true"),
        (4, "status = 'assigned', assigned_to = $1"),
        (5, "status = 'in_progress', assigned_to = $1, responded_at = now(),
             resolution_warning_at = now() - interval '5 minutes', resolution_warned = true"),
        (6, "status = 'on_hold', assigned_to = $1, on_hold_since = now() - interval '3 hours', hold_reason = 'awaiting_parts'"),
        (7, "status = 'resolved', assigned_to = $1, responded_at = now(), resolved_at = now(), resolution_notes = 'done'"),
        (8, "status = 'resolved', assigned_to = $1, responded_at = now(), resolved_at = now(), resolution_notes = 'late',
              resolution_warning_at = now() - interval '2 hours', resolution_due_at = now() - interval '1 hour',
              resolution_warned = true, resolution_breached = true"),
        (9, "status = 'cancelled', assigned_to = NULL, on_hold_since = NULL, hold_reason = NULL, cancelled_at = now()"),
        (10, "scheduled_for = now() + interval '2 days'"),
    ] {
        let sql = format!("UPDATE tickets SET {change} WHERE id % 12 = {n}");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tech_id).execute(&f.pool).await.unwrap();
    }

    let recount: Vec<(i64, i16, i64)> = sqlx::query_as(
        "SELECT location_id, ticket_recorded_severity(responded_at, resolved_at, response_warned, response_breached,
                    resolution_warned, resolution_breached), count(*)
         FROM tickets WHERE status IN ('open', 'assigned', 'in_progress', 'on_hold', 'resolved') GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(&f.pool)
    .await
    .unwrap();
    let kept: Vec<(i64, i16, i64)> = sqlx::query_as(
        "SELECT location_id, severity, tickets::bigint FROM site_ticket_states WHERE tickets > 0 ORDER BY 1, 2",
    )
    .fetch_all(&f.pool)
    .await
    .unwrap();
    assert_eq!(kept, recount);
    assert!(recount.iter().map(|r| r.1).collect::<std::collections::HashSet<_>>().len() == 4, "{recount:?}");

    let every_active = "status=open,assigned,in_progress,on_hold,resolved";
    for (zoom, bbox) in [(0, ""), (5, ""), (12, ""), (16, ""), (12, "&bbox=106.6,-6.4,107.0,-6.0")] {
        let national = get(&f.app, &format!("/api/maps/live-tickets?cluster=true&zoom={zoom}{bbox}"), &f.spv).await;
        let per_ticket =
            get(&f.app, &format!("/api/maps/live-tickets?cluster=true&zoom={zoom}{bbox}&{every_active}"), &f.spv).await;
        let (a, b) = (features(&national.body), features(&per_ticket.body));
        assert_eq!(a.len(), b.len(), "zoom {zoom}{bbox}: {a:?} vs {b:?}");
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x["properties"], y["properties"], "zoom {zoom}{bbox}");
            for i in 0..2 {
                let (p, q) = (x["geometry"]["coordinates"][i].as_f64(), y["geometry"]["coordinates"][i].as_f64());
                assert!((p.unwrap() - q.unwrap()).abs() < 1e-9, "zoom {zoom}{bbox}: {x} vs {y}");
            }
        }
    }
}

/// Putting a ticket on hold after a line passed, before the check saw it, records the line: the
/// check does not look at tickets on hold, and the clocks stand still from here.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_hold_records_the_lines_its_clock_passed(pool: PgPool) {
    let (f, assets) = setup(pool).await;
    let ticket = f.open(assets[0], "high").await;
    let id = ticket["id"].as_i64().unwrap();
    for step in [json!({"assigned_to": f.tech.id}), json!({"status": "in_progress"})] {
        let r = testing::put(&f.tickets, &format!("/api/tickets/{id}"), &f.spv, step).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    sqlx::query(
        "UPDATE tickets SET resolution_warning_at = now() - interval '2 minutes', resolution_due_at = now() - interval '1 minute'
         WHERE id = $1",
    )
    .bind(id)
    .execute(&f.pool)
    .await
    .unwrap();
    let hold = testing::put(
        &f.tickets,
        &format!("/api/tickets/{id}"),
        &f.spv,
        json!({"status": "on_hold", "hold_reason": "awaiting_parts"}),
    )
    .await;
    assert_eq!(hold.status, StatusCode::OK, "{}", hold.body);
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM sla_events WHERE ticket_id = $1 ORDER BY kind")
        .bind(id)
        .fetch_all(&f.pool)
        .await
        .unwrap();
    assert_eq!(kinds, ["resolution_breach", "resolution_warning"]);
    let clustered = get(&f.app, "/api/maps/live-tickets?cluster=true&zoom=0", &f.spv).await;
    assert_eq!(features(&clustered.body)[0]["properties"]["sla_state"], "breached");
}
