//! The command line of the tools (`nexus-local`, `nexus-bench`): read once, and a command that
//! is not understood prints the usage and exits with status 2.

pub fn command<C>(usage: &str, parse: impl FnOnce(&[&str]) -> Option<C>) -> C {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    parse(&args).unwrap_or_else(|| {
        eprintln!("{usage}");
        std::process::exit(2)
    })
}
