//! The cities every generated site clusters around, in their real IANA zones (WIB, WITA, WIT),
//! for both presets: the demo takes fifteen of them, the national fleet all twenty, weighted.

pub struct City {
    /// IATA code of the city's airport: the prefix of its sites' codes.
    pub code: &'static str,
    pub name: &'static str,
    /// The province: what `?region=` filters on.
    pub region: &'static str,
    pub latitude: f64,
    pub longitude: f64,
    pub timezone: &'static str,
    /// Its share of a national fleet's sites (roughly the banks' ATM density).
    pub weight: i32,
    /// One of the demo's fifteen.
    pub demo: bool,
}

const fn city(
    code: &'static str,
    name: &'static str,
    region: &'static str,
    (latitude, longitude): (f64, f64),
    timezone: &'static str,
    weight: i32,
    demo: bool,
) -> City {
    City { code, name, region, latitude, longitude, timezone, weight, demo }
}

pub const CITIES: [City; 20] = [
    city("JKT", "Jakarta", "DKI Jakarta", (-6.2088, 106.8456), "Asia/Jakarta", 20, true),
    city("SUB", "Surabaya", "Jawa Timur", (-7.2575, 112.7521), "Asia/Jakarta", 8, true),
    city("BDG", "Bandung", "Jawa Barat", (-6.9175, 107.6191), "Asia/Jakarta", 7, true),
    city("MDN", "Medan", "Sumatera Utara", (3.5952, 98.6722), "Asia/Jakarta", 6, true),
    city("SRG", "Semarang", "Jawa Tengah", (-6.9667, 110.4167), "Asia/Jakarta", 5, true),
    city("UPG", "Makassar", "Sulawesi Selatan", (-5.1477, 119.4327), "Asia/Makassar", 4, true),
    city("PLM", "Palembang", "Sumatera Selatan", (-2.9761, 104.7754), "Asia/Jakarta", 4, true),
    city("DPS", "Denpasar", "Bali", (-8.6705, 115.2126), "Asia/Makassar", 4, true),
    city("YOG", "Yogyakarta", "DI Yogyakarta", (-7.7956, 110.3695), "Asia/Jakarta", 3, true),
    city("PKU", "Pekanbaru", "Riau", (0.5071, 101.4478), "Asia/Jakarta", 3, true),
    city("BPN", "Balikpapan", "Kalimantan Timur", (-1.2379, 116.8529), "Asia/Makassar", 2, true),
    city("BTH", "Batam", "Kepulauan Riau", (1.0456, 104.0305), "Asia/Jakarta", 2, false),
    city("PNK", "Pontianak", "Kalimantan Barat", (-0.0263, 109.3425), "Asia/Pontianak", 2, true),
    city("MDC", "Manado", "Sulawesi Utara", (1.4748, 124.8421), "Asia/Makassar", 2, true),
    city("PDG", "Padang", "Sumatera Barat", (-0.9471, 100.4172), "Asia/Jakarta", 2, false),
    city("BDJ", "Banjarmasin", "Kalimantan Selatan", (-3.3186, 114.5944), "Asia/Makassar", 2, false),
    city("MLG", "Malang", "Jawa Timur", (-7.9666, 112.6326), "Asia/Jakarta", 2, false),
    city("KOE", "Kupang", "Nusa Tenggara Timur", (-10.1772, 123.6070), "Asia/Makassar", 1, false),
    city("AMQ", "Ambon", "Maluku", (-3.6954, 128.1814), "Asia/Jayapura", 1, true),
    city("DJJ", "Jayapura", "Papua", (-2.5337, 140.7181), "Asia/Jayapura", 1, true),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_zones_real_and_the_demo_has_fifteen() {
        let codes: std::collections::BTreeSet<&str> = CITIES.iter().map(|c| c.code).collect();
        assert_eq!(codes.len(), CITIES.len());
        assert!(CITIES.iter().all(|c| c.timezone.parse::<chrono_tz::Tz>().is_ok()));
        assert_eq!(CITIES.iter().filter(|c| c.demo).count(), 15);
    }
}
