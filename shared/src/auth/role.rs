//! The four roles. Stored as text in `user_roles`, parsed once at the edge.

crate::text_enum! {
    // Ordered as declared: role lists are sorted and deduplicated. (A doc comment here would
    // become the schema's description.)
    #[derive(PartialOrd, Ord)]
    pub enum Role {
        Admin = "admin",
        Supervisor = "supervisor",
        Technician = "technician",
        Viewer = "viewer",
    }
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}
