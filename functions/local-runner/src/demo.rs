//! Demo data for the local runner: one user per role, 60 sites around fifteen Indonesian
//! cities (with their real time zones), and a few devices per site. Idempotent: running it
//! again adds nothing that is already there.

use nexus_shared::auth::Role;
use nexus_shared::secret::Secret;
use nexus_shared::{ApiError, AppState};

pub const PASSWORD: &str = "nexus-demo-pass";

pub const USERS: [(&str, Role); 4] = [
    ("admin@example.com", Role::Admin),
    ("supervisor@example.com", Role::Supervisor),
    ("technician@example.com", Role::Technician),
    ("viewer@example.com", Role::Viewer),
];

struct City {
    abbr: &'static str,
    name: &'static str,
    latitude: f64,
    longitude: f64,
    timezone: &'static str,
    region: &'static str,
}

const fn city(
    abbr: &'static str,
    name: &'static str,
    latitude: f64,
    longitude: f64,
    timezone: &'static str,
    region: &'static str,
) -> City {
    City { abbr, name, latitude, longitude, timezone, region }
}

const CITIES: [City; 15] = [
    city("JKT", "Jakarta", -6.2088, 106.8456, "Asia/Jakarta", "DKI Jakarta"),
    city("BDG", "Bandung", -6.9175, 107.6191, "Asia/Jakarta", "Jawa Barat"),
    city("SUB", "Surabaya", -7.2575, 112.7521, "Asia/Jakarta", "Jawa Timur"),
    city("SRG", "Semarang", -6.9667, 110.4167, "Asia/Jakarta", "Jawa Tengah"),
    city("YOG", "Yogyakarta", -7.7956, 110.3695, "Asia/Jakarta", "DI Yogyakarta"),
    city("MDN", "Medan", 3.5952, 98.6722, "Asia/Jakarta", "Sumatera Utara"),
    city("PLM", "Palembang", -2.9761, 104.7754, "Asia/Jakarta", "Sumatera Selatan"),
    city("PKU", "Pekanbaru", 0.5071, 101.4478, "Asia/Jakarta", "Riau"),
    city("PNK", "Pontianak", -0.0263, 109.3425, "Asia/Pontianak", "Kalimantan Barat"),
    city("BPN", "Balikpapan", -1.2379, 116.8529, "Asia/Makassar", "Kalimantan Timur"),
    city("DPS", "Denpasar", -8.6705, 115.2126, "Asia/Makassar", "Bali"),
    city("UPG", "Makassar", -5.1477, 119.4327, "Asia/Makassar", "Sulawesi Selatan"),
    city("MDC", "Manado", 1.4748, 124.8421, "Asia/Makassar", "Sulawesi Utara"),
    city("AMQ", "Ambon", -3.6954, 128.1814, "Asia/Jayapura", "Maluku"),
    city("DJJ", "Jayapura", -2.5337, 140.7181, "Asia/Jayapura", "Papua"),
];

const SITES: [(&str, &str); 4] = [
    ("Kantor Cabang", "Jl. Jenderal Sudirman"),
    ("Mall", "Jl. Gatot Subroto"),
    ("Stasiun", "Jl. Pemuda"),
    ("Minimarket", "Jl. Diponegoro"),
];
const BANKS: [&str; 4] = ["Bank Mandiri", "BRI", "BNI", "BCA"];
const DEVICES: [(&str, &str, &str); 3] = [
    ("ATM", "Hyosung MX8600 ATM", "ATM"),
    ("EDC", "Ingenico Move/5000 EDC", "EDC"),
    ("KSK", "Self-service kiosk", "Kiosk"),
];

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub locations: i64,
    pub assets: i64,
}

pub async fn seed(state: &AppState) -> Result<Summary, ApiError> {
    seed_users(state).await?;
    let mut tx = state.pool.begin().await?;
    for (c, city) in CITIES.iter().enumerate() {
        for (s, (site, street)) in SITES.iter().enumerate() {
            let n = s + 1;
            let code = format!("{}{:04}", city.abbr, n);
            // Sites spread a few kilometres around the city centre, deterministically.
            let latitude = city.latitude + 0.012 * (s as f64 - 1.5);
            let longitude = city.longitude + 0.015 * (((s * 7 + c) % 5) as f64 - 2.0);
            let location_id: i64 = sqlx::query_scalar(
                "WITH inserted AS (
                     INSERT INTO locations (code, name, address, latitude, longitude, timezone, region)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (code) DO NOTHING
                     RETURNING id)
                 SELECT id FROM inserted UNION ALL SELECT id FROM locations WHERE code = $1 LIMIT 1",
            )
            .bind(&code)
            .bind(format!("{} {} {}", BANKS[(c + s) % BANKS.len()], site, city.name))
            .bind(format!("{street} No. {}, {}", 10 + 7 * n, city.name))
            .bind(latitude)
            .bind(longitude)
            .bind(city.timezone)
            .bind(city.region)
            .fetch_one(&mut *tx)
            .await?;
            // Every site has an ATM; most have an EDC terminal; malls have a kiosk too.
            let devices = if *site == "Mall" {
                3
            } else if n % 2 == 0 {
                2
            } else {
                1
            };
            for (prefix, name, category) in DEVICES.iter().take(devices) {
                sqlx::query(
                    "INSERT INTO assets (location_id, tag, name, category, purchase_date)
                     VALUES ($1, $2, $3, $4, DATE '2023-01-15' + ($5 * 37) % 900)
                     ON CONFLICT (tag) DO NOTHING",
                )
                .bind(location_id)
                .bind(format!("{prefix}-{code}"))
                .bind(name)
                .bind(category)
                .bind((c * 4 + s) as i32)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    let (locations, assets) = sqlx::query_as("SELECT (SELECT count(*) FROM locations), (SELECT count(*) FROM assets)")
        .fetch_one(&state.pool)
        .await?;
    Ok(Summary { locations, assets })
}

async fn seed_users(state: &AppState) -> Result<(), ApiError> {
    for (email, role) in USERS {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
            .bind(email)
            .fetch_one(&state.pool)
            .await?;
        if exists {
            continue;
        }
        let hash = state.passwords.hash(Secret::new(PASSWORD.into())).await?;
        let mut tx = state.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, full_name, password_hash) VALUES ($1, $2, $3)
             ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id",
        )
        .bind(email)
        .bind(format!("Demo {role}"))
        .bind(hash)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}
