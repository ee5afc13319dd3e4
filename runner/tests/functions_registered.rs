//! Adding a function is one checklist (README, "Adding a function"); this test fails, naming
//! the place, when a crate under `functions/` is missing from any that cannot be derived.
//! Derived, so not checked: the workspace members (`functions/*`), `scripts/build-lambdas`
//! (lists the directory), the OpenAPI document and the RBAC matrix (both follow the runner's
//! routes, and their own tests tie them).

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every directory under `functions/`: each is one deployed Lambda.
fn functions() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().join("Cargo.toml").exists())
        .map(|entry| entry.file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn every_function_crate_is_registered_everywhere_it_must_be() {
    let functions = functions();
    assert!(functions.len() >= 14, "{functions:?}");
    let workspace = read("Cargo.toml");
    let template = read("template.yaml");
    let cold_start = read("bench/src/cold_start.rs");
    let served: Vec<&str> = nexus_local_runner::api::documents().iter().map(|(name, _)| *name).collect();
    let scheduled: Vec<&str> = nexus_local_runner::jobs::JOBS.iter().map(|job| job.name).collect();
    let checked_built = nexus_testkit::built::functions_covered();

    let mut missing = Vec::new();
    for name in &functions {
        let manifest = read(&format!("functions/{name}/Cargo.toml"));
        let mut check = |ok: bool, place: &str| {
            if !ok {
                missing.push(format!("{name}: {place}"));
            }
        };
        check(manifest.contains(&format!("name = \"nexus-{name}\"")), "its package is named nexus-<dir>");
        check(root().join(format!("functions/{name}/src/main.rs")).exists(), "src/main.rs (the Lambda entry point)");
        check(
            workspace.contains(&format!("nexus-{name} = {{ path = \"functions/{name}\" }}")),
            "Cargo.toml [workspace.dependencies]",
        );
        // The migrator is what the runner runs before anything else (MIGRATOR.run), not a route or a job;
        // key-rotate is Secrets Manager's (the runner signs with its plain development key, which never rotates).
        check(
            ["migrate", "key-rotate"].contains(&name.as_str())
                || served.contains(&name.as_str())
                || scheduled.contains(&name.as_str()),
            "runner/src/api.rs (HTTP) or runner/src/jobs.rs (scheduled)",
        );
        check(
            template.contains(&format!("Binary: {name}\n")),
            "template.yaml (a function with BuildProperties.Binary)",
        );
        check(cold_start.contains(&format!("\"{name}\"")), "bench/src/cold_start.rs (its cold-start case)");
        check(checked_built.contains(&name.as_str()), "testkit/src/built.rs (its row in the built-function table)");
        let tests = std::fs::read_dir(root().join(format!("functions/{name}/tests")))
            .map(|dir| dir.map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap_or_default()).collect::<String>())
            .unwrap_or_default();
        check(
            tests.contains(&format!("the_built_function_answers(env!(\"CARGO_BIN_EXE_{name}\")")),
            "tests/: the one-line test handing its binary to nexus_testkit::built::the_built_function_answers",
        );
    }
    assert!(
        missing.is_empty(),
        "a function is not registered everywhere (README, \"Adding a function\"):\n{}",
        missing.join("\n")
    );

    // And nothing is registered that is not a crate under functions/.
    for name in served.iter().chain(&scheduled).chain(&checked_built) {
        assert!(functions.contains(&name.to_string()), "{name} is registered but functions/{name} does not exist");
    }
}

/// `cargo tree` of a function: each package with the features it is built with (a package built
/// for the host as well, for a build script or a macro, may stand twice); `dev` adds the edges
/// `cargo test` follows.
fn graph(function: &str, dev: bool) -> std::collections::BTreeSet<String> {
    let edges = if dev { "normal,build,dev" } else { "normal,build" };
    let output = std::process::Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["tree", "--locked", "--offline", "--prefix", "none", "-f", "{p} [{f}]", "-e", edges])
        .args(["-p", &format!("nexus-{function}")])
        .output()
        .expect("cargo tree");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().map(|line| line.trim_end_matches(" (*)").to_string()).collect()
}

/// Under `cargo test` cargo merges dev-dependencies (and their features) into the build, so
/// the deployed graph is shown, not assumed: per function, the package builds only its tests
/// add (printed; `-- --nocapture` to read it) must be our own crates — the test kit and the
/// functions its scenarios drive — or packages the function does not ship at all (pdf's tests
/// read every card back with printpdf), and change no feature of any package it ships. The deployed
/// graph (`cargo lambda build`, no dev edges) never holds the test kit, and the common crate
/// has no features at all.
/// Feature changes a function's tests make, each read and found to change no code the function
/// runs. pdf's tests read every card back with printpdf, which turns on rand 0.10's `default`
/// (nothing more: its `std`, `std_rng`, `sys_rng` and `thread_rng` are on already, for sqlx) and
/// tinyvec's `std` and `rustc_1_57` (trait impls and `try_reserve` methods nothing here calls).
const REVIEWED_TEST_FEATURES: &[(&str, &str)] = &[("pdf", "rand v0.10.4"), ("pdf", "tinyvec v1.13.3")];

#[test]
fn tests_add_only_test_support_to_a_function() {
    for function in functions() {
        let (deployed, tested) = (graph(&function, false), graph(&function, true));
        let added: Vec<&String> = tested.difference(&deployed).collect();
        println!("{function}: {} package builds deployed; only tests add:", deployed.len());
        for node in &added {
            println!("  + {node}");
        }
        // A package only the tests use (an independent parser to check output with) is theirs; a
        // package the function ships, built with other features under test, is a change.
        let package = |node: &str| node.split(" [").next().unwrap_or(node).to_string();
        let shipped: std::collections::BTreeSet<String> = deployed.iter().map(|node| package(node)).collect();
        let foreign: Vec<&&String> = added
            .iter()
            .filter(|node| !node.starts_with("nexus-") && shipped.contains(&package(node)))
            .filter(|node| !REVIEWED_TEST_FEATURES.contains(&(function.as_str(), package(node).as_str())))
            .collect();
        assert!(foreign.is_empty(), "{function}'s tests change what it is built with: {foreign:?}");
        assert!(!deployed.iter().any(|p| p.starts_with("nexus-testkit ")), "{function} ships the test kit");
        let shared: Vec<&String> = deployed.iter().filter(|p| p.starts_with("nexus-shared ")).collect();
        assert!(
            !shared.is_empty() && shared.iter().all(|p| p.ends_with(" []")),
            "nexus-shared has a feature: {shared:?}"
        );
    }
}
