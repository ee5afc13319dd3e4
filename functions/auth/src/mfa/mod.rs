//! Multi-factor authentication with TOTP (RFC 6238): enrolment (a secret shown once, sealed at
//! rest), its confirmation (ten recovery codes shown once, stored hashed), and the second step
//! of a login (`mfa_token` + a code). The maths is `nexus_shared::auth::totp`.

pub mod authenticator;
pub mod challenge;
pub mod confirm;
pub mod enroll;
pub mod recovery;
pub mod verify;
