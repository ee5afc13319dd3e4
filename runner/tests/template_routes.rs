//! `template.yaml` routes each OpenAPI operation to the function that serves it, and nothing
//! else: a route added to a function without its API Gateway route (or the reverse) fails here.

use std::collections::BTreeSet;

type Routes = BTreeSet<(String, String, String)>;

/// (binary, METHOD, path) for every `HttpApi` event in the template. The template's layout is
/// ours, so a line scan suffices: `Binary:` opens a function, `Method:`/`Path:` pairs follow.
fn template_routes() -> Routes {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let (mut binary, mut method, mut routes) = (String::new(), String::new(), Routes::new());
    for line in template.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("Binary: ") {
            binary = name.to_string();
        } else if let Some(m) = line.strip_prefix("Method: ") {
            method = m.to_uppercase();
        } else if let Some(path) = line.strip_prefix("Path: ").filter(|p| *p != "$default") {
            routes.insert((binary.clone(), std::mem::take(&mut method), path.to_string()));
        }
    }
    routes
}

fn served_routes() -> Routes {
    let mut routes = Routes::new();
    for (binary, document) in nexus_local_runner::api::documents() {
        for (path, item) in document.paths.paths {
            let json = serde_json::to_value(&item).unwrap();
            for method in json
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
            {
                routes.insert((binary.to_string(), method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[test]
fn every_served_operation_has_exactly_its_api_gateway_route() {
    let (template, served) = (template_routes(), served_routes());
    assert_eq!(served.len(), 84, "the operations the functions serve");
    let missing: Vec<_> = served.difference(&template).collect();
    let extra: Vec<_> = template.difference(&served).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing in template.yaml: {missing:?}\nnot served: {extra:?}");
}

/// The sign-in routes' own API Gateway throttles name routes that exist (a misspelt key would
/// silently throttle nothing).
#[test]
fn the_auth_routes_have_their_own_throttles() {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let served: std::collections::BTreeSet<String> =
        served_routes().into_iter().map(|(_, method, path)| format!("{method} {path}")).collect();
    let throttled: Vec<&str> = template
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix('"').and_then(|l| l.strip_suffix("\":")))
        .collect();
    assert_eq!(
        throttled,
        ["POST /api/auth/login", "POST /api/auth/signup", "POST /api/auth/refresh", "POST /api/auth/mfa/verify"]
    );
    for route in throttled {
        assert!(served.contains(route), "{route} is not served");
    }
}

#[test]
fn unknown_routes_fall_through_to_meta_for_a_problem_json_404() {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    assert_eq!(template.matches("Path: $default").count(), 1);
}

/// EventBridge Scheduler sends an empty payload unless a schedule says otherwise; the scheduled
/// functions read `time` (shared::scheduled::ScheduledEvent), so every schedule must send it.
#[test]
fn every_schedule_sends_the_time_the_scheduled_functions_read() {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let schedules = template.matches("Type: ScheduleV2").count();
    let inputs = template.matches(r#"Input: '{"time": "<aws.scheduler.scheduled-time>"}'"#).count();
    assert_eq!(
        (schedules, inputs),
        (5, 5),
        "sla-check, pm-generate, housekeeping, report-rollup and webhook-dispatch, each with its Input"
    );
    let event: nexus_shared::scheduled::ScheduledEvent =
        serde_json::from_str(r#"{"time": "2026-11-25T19:30:00Z"}"#).expect("what Scheduler sends parses");
    assert_eq!(event.time.to_rfc3339(), "2026-11-25T19:30:00+00:00");
}

/// In AWS, API Gateway's `CorsConfiguration` replaces the functions' CORS headers: it must say
/// what `shared::cors` says, or a browser reads less (or more) there than locally.
#[test]
fn api_gateway_cors_is_the_servers() {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let setting = |key: &str| -> Vec<String> {
        let line = template.lines().map(str::trim).find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("{key}"));
        line.trim_matches(|c| c == '[' || c == ']' || c == ' ').split(',').map(|v| v.trim().to_lowercase()).collect()
    };
    let ours = |list: &[&str]| list.iter().map(|v| v.to_lowercase()).collect::<Vec<_>>();
    assert_eq!(setting("AllowMethods:"), ours(&nexus_shared::cors::ALLOW_METHODS));
    assert_eq!(setting("AllowHeaders:"), ours(&nexus_shared::cors::ALLOW_HEADERS));
    assert_eq!(setting("ExposeHeaders:"), ours(&nexus_shared::cors::EXPOSE_HEADERS));
    assert_eq!(setting("MaxAge:"), [nexus_shared::cors::MAX_AGE_SECS.to_string()]);
}

/// Runs `infra/deploy.sh --check` over `samconfig` with only `tools` on the PATH (the shell's
/// own utilities, plus stubs written here): its exit status and what it printed.
fn deploy_check(samconfig: &str, stubs: &[(&str, &str)]) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("nexus-deploy-check-{}", std::process::id()));
    let bin = dir.join(format!("bin-{}", stubs.len()));
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["bash", "sed", "head", "grep", "dirname", "cat", "mktemp"] {
        let found = ["/usr/bin", "/bin"].iter().map(|d| std::path::Path::new(d).join(tool)).find(|p| p.exists());
        let link = bin.join(tool);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(found.unwrap_or_else(|| panic!("{tool} not found")), &link).unwrap();
    }
    for (name, script) in stubs {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/bash\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let config = dir.join(format!("samconfig-{}.toml", stubs.len()));
    std::fs::write(&config, samconfig).unwrap();
    let out = std::process::Command::new(bin.join("bash"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/deploy.sh"))
        .arg("--check")
        .env_clear()
        .env("PATH", &bin)
        .env("NEXUS_SAMCONFIG", &config)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
}

/// A newcomer's first run names everything missing at once, each with its fix, before any
/// build: the repository's samconfig still has placeholders, and no tool is installed.
#[test]
fn the_deploy_script_names_every_missing_prerequisite_before_building() {
    let samconfig = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/samconfig.toml")).unwrap();
    let (ok, said) = deploy_check(&samconfig, &[]);
    assert!(!ok, "{said}");
    for expected in [
        "pip install aws-sam-cli",
        "AWS CLI missing",
        "pip install cargo-lambda",
        "pip install ziglang",
        "rustup target add aarch64-unknown-linux-gnu",
        "needs VpcId",
        "needs SubnetIds",
        "needs FunctionSecurityGroupIds",
        "needs DatabaseSecurityGroupIds",
        "CreateVpcEndpoints=true needs RouteTableIds",
    ] {
        assert!(said.contains(expected), "{expected:?} not said:\n{said}");
    }
    assert!(!said.contains("needs AdminEmail"), "the example config has one:\n{said}");
}

/// Filled in, with the tools there and credentials that work, the check passes (and says for
/// which stack, region and profile); the credentials are asked for in the config's region.
#[test]
fn a_filled_in_config_passes_the_deploy_check_in_its_region() {
    let samconfig = r#"
[default.global.parameters]
stack_name = "nexus-test"
region = "ap-southeast-3"
profile = "ops"
[default.deploy.parameters]
parameter_overrides = [
    "Architecture=x86_64",
    "AdminEmail=ops@bank.example",
    "WebAppOrigin=https://nexus.bank.example",
    "VpcId=vpc-1",
    "SubnetIds=subnet-a,subnet-b",
    "FunctionSecurityGroupIds=sg-f",
    "DatabaseSecurityGroupIds=sg-d",
    "CreateVpcEndpoints=false",
]
"#;
    let aws = r#"[ "$1" = --version ] && exit 0
[ "$*" = "sts get-caller-identity --region ap-southeast-3 --profile ops" ] || { echo "unexpected: $*" >&2; exit 1; }"#;
    let (ok, said) = deploy_check(samconfig, &[("sam", "exit 0"), ("cargo-lambda", "exit 0"), ("aws", aws)]);
    assert!(ok, "{said}");
    assert!(said.contains("prerequisites: ok (stack nexus-test in ap-southeast-3, profile ops, x86_64)"), "{said}");
}
