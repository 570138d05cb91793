//! `tether-conformance <ws-url> [--with PARAM,...] [TEST-RUNNER OPTIONS]`: runs every check
//! of `tether.resume.v1` against the server's test route at `<ws-url>` and exits non-zero
//! if one fails. The runner's options are libtest's (`--list`, a name filter, `--skip`,
//! `--exact`, `--format terse|json`, `--test-threads N`, ...); see README.md.

use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};
use tether_conformance::{checks, Target};

/// Checks run side by side unless `--test-threads` says otherwise: they mostly wait on
/// the server, and the timing slack is meant for a loaded machine.
const DEFAULT_THREADS: usize = 8;

const USAGE: &str = "usage: tether-conformance <ws-url> [--with ttl_ms,overflow_bytes,end_after] \
                     [test runner options: --list, FILTER, --skip, --exact, --format, ...]";

fn main() -> ExitCode {
    let mut args = std::env::args();
    let program = args
        .next()
        .unwrap_or_else(|| "tether-conformance".to_owned());
    let mut url = None;
    let mut supports = Vec::new();
    let mut rest = vec![program];
    while let Some(arg) = args.next() {
        if arg == "--with" {
            let Some(list) = args.next() else {
                eprintln!("--with needs a comma-separated list\n{USAGE}");
                return ExitCode::from(2);
            };
            supports.extend(list.split(',').map(str::to_owned));
        } else if let Some(list) = arg.strip_prefix("--with=") {
            supports.extend(list.split(',').map(str::to_owned));
        } else if url.is_none() && (arg.starts_with("ws://") || arg.starts_with("wss://")) {
            url = Some(arg);
        } else if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        } else {
            rest.push(arg);
        }
    }
    let known = ["ttl_ms", "overflow_bytes", "end_after"];
    if let Some(unknown) = supports.iter().find(|p| !known.contains(&p.as_str())) {
        eprintln!("--with: unknown query parameter {unknown:?} (known: {known:?})");
        return ExitCode::from(2);
    }
    let mut arguments = Arguments::from_iter(rest);
    let Some(url) = url else {
        if arguments.list {
            // Listing needs no server.
            return run(Target::new("ws://unused", supports), arguments);
        }
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    arguments.test_threads.get_or_insert(DEFAULT_THREADS);
    run(Target::new(url, supports), arguments)
}

fn run(target: Target, arguments: Arguments) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let trials = checks()
        .into_iter()
        .map(|check| {
            let handle = runtime.handle().clone();
            let target = target.clone();
            let ignored = check.needs.is_some_and(|param| !target.supports(param));
            Trial::test(check.name, move || {
                handle.block_on((check.run)(target)).map_err(Failed::from)
            })
            .with_kind(check.section)
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&arguments, trials).exit_code()
}
