// `sqlx::migrate!` embeds the migrations at compile time; without this, a new migration file
// does not trigger a rebuild and binaries keep applying the old set.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
