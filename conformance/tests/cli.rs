//! The `tether-conformance` command as a server author runs it: the list of checks needs
//! no server, options are checked, and a server that isn't there fails every check (the
//! runs against real servers are `scripts/test-conformance`).

use std::process::Command;

fn kit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tether-conformance"))
        .args(args)
        .output()
        .expect("the kit runs")
}

#[test]
fn lists_every_check_with_its_section_without_a_server() {
    let out = kit(&["--list"]);
    assert!(out.status.success(), "{out:?}");
    let list = String::from_utf8_lossy(&out.stdout);
    for check in tether_conformance::checks() {
        let line = format!("[{}] {}: test", check.section, check.name);
        assert!(list.contains(&line), "{line} missing from:\n{list}");
    }
}

#[test]
fn an_unknown_optional_parameter_is_a_usage_error() {
    let out = kit(&["ws://127.0.0.1:9/resume", "--with", "ttl"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ttl"));
}

#[test]
fn without_a_url_it_says_how_to_run_it() {
    let out = kit(&[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}

#[test]
fn nothing_listening_fails_the_run_and_optional_checks_are_ignored() {
    // Port 9 (discard) on loopback: nothing listens there in the test environment.
    let out = kit(&["ws://127.0.0.1:9/resume", "--format", "terse"]);
    assert_eq!(out.status.code(), Some(101), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let optional = tether_conformance::checks()
        .iter()
        .filter(|c| c.needs.is_some())
        .count();
    assert!(
        text.contains(&format!(
            "0 passed; {} failed; {optional} ignored",
            tether_conformance::checks().len() - optional
        )),
        "{text}"
    );
}
