//! Authentication and authorisation: roles, password hashing, access tokens, sessions and the
//! extractor that tells a handler who is calling and whether their role may.

pub mod extractor;
pub mod password;
pub mod role;
pub mod session;
pub mod token;

pub use extractor::{Admin, AnyRole, Auth, AuthUser, CredentialOwner, Policy, Staff, Worker};
pub use role::Role;
