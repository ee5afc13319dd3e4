//! Sites (TIDs) around the cities, and the devices at them.

use nexus_shared::ApiError;
use sqlx::PgConnection;

use super::Preset;
use super::cities::{CITIES, City};

/// Sites coded `<CITY>-<number>`, scattered around their city's centre (a triangular spread of
/// about ±15 km), named after a bank and a kind of place. The city of site g is a pick over
/// slots, one slot per unit of weight: round robin over the demo's cities (each weight 1), or a
/// seeded random pick over all of them, weighted.
pub async fn sites(conn: &mut PgConnection, preset: &Preset) -> Result<u64, ApiError> {
    let cities: Vec<&City> = CITIES.iter().filter(|c| c.demo || !preset.every_city_evenly).collect();
    let column = |f: fn(&City) -> &'static str| cities.iter().map(|c| f(c)).collect::<Vec<_>>();
    let weights: Vec<i32> = cities.iter().map(|c| if preset.every_city_evenly { 1 } else { c.weight }).collect();
    let latitudes: Vec<f64> = cities.iter().map(|c| c.latitude).collect();
    let longitudes: Vec<f64> = cities.iter().map(|c| c.longitude).collect();
    let result = sqlx::query(
        "WITH city AS (
             SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::int[])
                 WITH ORDINALITY AS c (code, name, province, lat, lng, tz, weight, i)
         ), slots AS (
             SELECT city.*, row_number() OVER (ORDER BY city.i) AS slot FROM city, generate_series(1, city.weight)
         ), total AS (SELECT count(*) AS n FROM slots),
         pick AS (
             SELECT g, CASE WHEN $9 THEN 1 + (g - 1) % total.n ELSE 1 + floor(random() * total.n)::bigint END AS slot
             FROM generate_series(1, $1) g, total
         ),
         picked AS (SELECT pick.g, s.* FROM pick JOIN slots s ON s.slot = pick.slot)
         INSERT INTO locations (code, name, address, latitude, longitude, region, timezone)
         SELECT code || '-' || lpad(g::text, 5, '0'),
                (ARRAY['Bank Mandiri', 'BRI', 'BNI', 'BCA'])[1 + g % 4] || ' '
                    || (ARRAY['Kantor Cabang', 'Mall', 'Stasiun', 'Minimarket'])[1 + (g / 4) % 4] || ' ' || name,
                'Jl. ' || (ARRAY['Sudirman', 'Thamrin', 'Gatot Subroto', 'Diponegoro', 'Ahmad Yani', 'Pemuda', 'Merdeka'])[1 + g % 7]
                    || ' No. ' || (1 + g % 200) || ', ' || name,
                round((lat + (random() + random() - 1) * 0.14)::numeric, 6),
                round((lng + (random() + random() - 1) * 0.14)::numeric, 6),
                province, tz
         FROM picked
         ON CONFLICT (code) DO NOTHING",
    )
    .bind(preset.sites)
    .bind(column(|c| c.code))
    .bind(column(|c| c.name))
    .bind(column(|c| c.region))
    .bind(&latitudes)
    .bind(&longitudes)
    .bind(column(|c| c.timezone))
    .bind(&weights)
    .bind(preset.every_city_evenly)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// Devices tagged `DEV-<number>`: one per site first (no site is empty), the rest at random
/// sites; ATMs mostly, then EDC terminals, cash recyclers and kiosks; a few inactive.
pub async fn devices(conn: &mut PgConnection, preset: &Preset) -> Result<u64, ApiError> {
    let result = sqlx::query(
        "WITH site AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM locations WHERE code ~ '^[A-Z]{3}-[0-9]{5}$'),
              total AS (SELECT count(*) AS n FROM site),
              d AS (
                  SELECT g, CASE WHEN g <= total.n THEN g ELSE 1 + floor(random() * total.n)::bigint END AS rn, random() AS kind
                  FROM generate_series(1, $1) g, total
              )
         INSERT INTO assets (location_id, tag, name, category, purchase_date, status)
         SELECT site.id,
                'DEV-' || lpad(d.g::text, 6, '0'),
                CASE WHEN kind < 0.6 THEN 'ATM Hyosung MX8800' WHEN kind < 0.85 THEN 'EDC Verifone V200c'
                     WHEN kind < 0.95 THEN 'CRM NCR SelfServ 84' ELSE 'Kiosk Wincor BEETLE' END,
                CASE WHEN kind < 0.6 THEN 'ATM' WHEN kind < 0.85 THEN 'EDC' WHEN kind < 0.95 THEN 'CRM' ELSE 'KIOSK' END,
                current_date - (random() * 2500)::int,
                CASE WHEN random() < 0.02 THEN 'inactive' ELSE 'active' END
         FROM d JOIN site ON site.rn = d.rn
         ON CONFLICT (tag) DO NOTHING",
    )
    .bind(preset.devices)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}
