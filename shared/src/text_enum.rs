//! `text_enum!`: an enum stored as text in Postgres (behind a CHECK) and sent as a JSON string,
//! with one spelling for both.

/// Declares the enum with `ALL`, `as_str`, `Display`, `TryFrom<String>` (for `#[sqlx(try_from)]`)
/// and serde/utoipa derives that use the same spellings. Attributes before `pub enum` go on the
/// enum: further derives (`#[derive(PartialOrd, Ord)]`) and doc comments, which utoipa makes the
/// schema's description.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    format!("{s:?} is not a {}", stringify!($name))
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::ticket::{TicketStatus, TicketType};
    use utoipa::PartialSchema;

    fn documented<T: PartialSchema>() -> serde_json::Value {
        serde_json::to_value(T::schema()).unwrap()["enum"].clone()
    }

    /// The schema once listed the Rust names (`Pm`, `InProgress`) while the API sent `PM`,
    /// `in_progress`: the spelling is passed as a token tree so utoipa sees the literal.
    #[test]
    fn the_schema_lists_the_spellings_sent() {
        assert_eq!(documented::<TicketType>(), serde_json::json!(["PM", "CM"]));
        let sent: Vec<&str> = TicketStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(documented::<TicketStatus>(), serde_json::json!(sent));
    }
}
