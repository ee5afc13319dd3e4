//! Authentication and authorisation: roles, password hashing, access tokens, sessions and the
//! extractor that tells a handler who is calling and whether their role may.

pub mod extractor;
pub mod key_set;
pub mod mfa;
pub mod password;
pub mod role;
pub mod session;
pub mod token;
pub mod totp;

pub use extractor::{Admin, AnyRole, Auth, AuthOrEnrolling, AuthUser, CredentialOwner, Policy, Staff, Worker};
pub use role::Role;
