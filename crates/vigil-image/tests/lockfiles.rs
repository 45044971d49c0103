//! Lock files made by the real tools (npm 11, yarn 1 and 4, pnpm 7/8/9, Poetry 1.4 and 2,
//! Pipenv, uv, pip) from tiny projects: every lock-file analyzer must find exactly the
//! packages — name, version and dev flag — that the tool itself lists
//! (scripts/fixtures/lockfiles builds them once and caches them). Then hostile and huge
//! lock files: warnings or errors, never a panic, and time that grows with the size.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;
use vigil_image::SourceOptions;
use vigil_image::analyzer::{Analyzer, FileInfo, all};

/// Builds the fixture once per test run (the script is a no-op when it is cached).
fn fixture() -> Option<PathBuf> {
    static BUILT: Mutex<Option<bool>> = Mutex::new(None);
    let dir = PathBuf::from(
        std::env::var("VIGIL_FIXTURES").unwrap_or_else(|_| "/var/cache/vigil-fixtures".into()),
    )
    .join("lockfiles");
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let ok = *built.get_or_insert_with(|| {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/fixtures/lockfiles"
        );
        match std::process::Command::new("bash").arg(script).status() {
            Ok(status) => status.success(),
            Err(e) => {
                eprintln!("cannot run {script}: {e}");
                false
            }
        }
    });
    if ok && dir.join("ready").exists() {
        return Some(dir);
    }
    // The script needs node, npm, python3 and the npm and PyPI registries; scripts/test
    // provides them and sets VIGIL_REQUIRE_SERVICES=1, so there a failure fails the test.
    let why = "the lock-file fixture could not be built by scripts/fixtures/lockfiles \
               (it needs node, npm, python3 and the npm and PyPI registries)";
    if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

fn analyzer(name: &str) -> Box<dyn Analyzer> {
    all()
        .into_iter()
        .find(|a| a.name() == name)
        .unwrap_or_else(|| panic!("no analyzer {name}"))
}

/// `name version prod|dev` lines as the tool listed them.
fn expected(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn line(p: &vigil_core::Package) -> String {
    format!(
        "{} {} {}",
        p.name,
        p.version,
        if p.dev { "dev" } else { "prod" }
    )
}

/// (folder, lock file, analyzer, expected listing)
const CASES: &[(&str, &str, &str, &str)] = &[
    ("npm-v1", "package-lock.json", "npm-lock", "expected.txt"),
    ("npm-v2", "package-lock.json", "npm-lock", "expected.txt"),
    ("npm-v3", "package-lock.json", "npm-lock", "expected.txt"),
    ("yarn-v1", "yarn.lock", "yarn-lock", "expected.txt"),
    ("yarn-berry", "yarn.lock", "yarn-lock", "expected.txt"),
    ("pnpm-v5", "pnpm-lock.yaml", "pnpm-lock", "expected.txt"),
    ("pnpm-v6", "pnpm-lock.yaml", "pnpm-lock", "expected.txt"),
    ("pnpm-v9", "pnpm-lock.yaml", "pnpm-lock", "expected.txt"),
    ("poetry", "poetry.lock", "poetry-lock", "expected.txt"),
    ("poetry-v1", "poetry.lock", "poetry-lock", "expected.txt"),
    ("pipenv", "Pipfile.lock", "pipenv-lock", "expected.txt"),
    ("uv", "uv.lock", "uv-lock", "expected.txt"),
    (
        "requirements",
        "requirements.txt",
        "pip-requirements",
        "expected-requirements.txt",
    ),
    (
        "requirements",
        "requirements-freeze.txt",
        "pip-requirements",
        "expected-requirements-freeze.txt",
    ),
    (
        "requirements",
        "requirements-dev.txt",
        "pip-requirements",
        "expected-requirements-dev.txt",
    ),
];

#[test]
fn each_lock_file_lists_what_its_tool_lists() {
    let Some(root) = fixture() else { return };
    for &(dir, file, name, listing) in CASES {
        let a = analyzer(name);
        let path = root.join(dir).join(file);
        let content = std::fs::read(&path).unwrap();
        let rel = format!("app/{dir}/{file}");
        let info = FileInfo {
            path: &rel,
            size: content.len() as u64,
            mode: 0o644,
        };
        assert!(a.required(&info), "{name} does not want {rel}");
        let found = a
            .analyze(&info, &content)
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(found.warnings.is_empty(), "{rel}: {:?}", found.warnings);
        let got: BTreeSet<String> = found.packages.iter().map(line).collect();
        assert_eq!(got, expected(&root.join(dir).join(listing)), "{rel}");
    }
}

#[test]
fn a_folder_scan_reports_each_lock_file_at_its_path() {
    let Some(root) = fixture() else { return };
    let inv = vigil_image::sbom(
        &format!("dir:{}", root.display()),
        &SourceOptions::default(),
    )
    .unwrap();
    assert!(inv.complete, "{:?}", inv.warnings);
    for &(dir, file, name, listing) in CASES {
        let at = format!("/{dir}/{file}");
        let here: Vec<_> = inv
            .packages
            .iter()
            .filter(|p| p.location.path == at)
            .collect();
        assert!(here.iter().all(|p| p.found_by == name), "{at}");
        let got: BTreeSet<String> = here.iter().map(|p| line(p)).collect();
        assert_eq!(got, expected(&root.join(dir).join(listing)), "{at}");
    }
    // PyPI names keep their spelling; the purl is normalized.
    let yaml = inv
        .packages
        .iter()
        .find(|p| p.name == "PyYAML" && p.location.path == "/requirements/requirements-freeze.txt")
        .unwrap();
    assert_eq!(yaml.purl, "pkg:pypi/pyyaml@6.0.1");
    let scoped = inv
        .packages
        .iter()
        .find(|p| p.name == "@sindresorhus/is")
        .unwrap();
    assert_eq!(scoped.purl, "pkg:npm/%40sindresorhus/is@4.6.0");
}

#[test]
fn lock_files_inside_node_modules_are_not_read() {
    for name in ["npm-lock", "yarn-lock", "pnpm-lock"] {
        let a = analyzer(name);
        for path in [
            "app/node_modules/dep/package-lock.json",
            "app/node_modules/@s/dep/yarn.lock",
            "app/node_modules/dep/pnpm-lock.yaml",
        ] {
            let info = FileInfo {
                path,
                size: 10,
                mode: 0o644,
            };
            assert!(!a.required(&info), "{name} wants {path}");
        }
    }
}

/// Runs an analyzer on generated content, returning the result and the time taken.
fn timed(name: &str, file: &str, content: &[u8]) -> (vigil_image::analyzer::Found, f64) {
    let a = analyzer(name);
    let info = FileInfo {
        path: file,
        size: content.len() as u64,
        mode: 0o644,
    };
    let start = Instant::now();
    let found = a
        .analyze(&info, content)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    (found, start.elapsed().as_secs_f64())
}

#[test]
fn large_lock_files_are_read_whole() {
    // 50,000 packages (large monorepos have a few tens of thousands); the cap on packages
    // kept from one file (200,000) is tested on its own in analyzer::lock.
    let n = 50_000;
    let mut npm = String::from(r#"{"lockfileVersion":3,"packages":{"":{"name":"app"}"#);
    let mut pnpm = String::from("lockfileVersion: '6.0'\npackages:\n");
    let mut yarn = String::from("# yarn lockfile v1\n\n");
    for i in 0..n {
        npm.push_str(&format!(
            r#","node_modules/p{i}":{{"version":"1.0.{i}","integrity":"sha512-abcdefghijklmnop"}}"#
        ));
        pnpm.push_str(&format!(
            "  /p{i}@1.0.{i}:\n    resolution: {{integrity: sha512-abcdefghijklmnop}}\n    dev: false\n"
        ));
        yarn.push_str(&format!(
            "p{i}@^1.0.0:\n  version \"1.0.{i}\"\n  integrity sha512-abcdefghijklmnop\n\n"
        ));
    }
    npm.push_str("}}");
    for (name, file, content) in [
        ("npm-lock", "package-lock.json", npm.as_bytes()),
        ("pnpm-lock", "pnpm-lock.yaml", pnpm.as_bytes()),
        ("yarn-lock", "yarn.lock", yarn.as_bytes()),
    ] {
        let (found, secs) = timed(name, file, content);
        eprintln!(
            "{file}: {} MiB, {n} packages read in {secs:.2} s",
            content.len() >> 20
        );
        assert_eq!(found.packages.len(), n, "{file}");
        assert!(found.warnings.is_empty(), "{file}: {:?}", found.warnings);
    }
}

#[test]
fn hostile_lock_files_fail_cleanly() {
    let cases: &[(&str, &str, &[u8])] = &[
        (
            "npm-lock",
            "package-lock.json",
            b"{\"lockfileVersion\": 3, \"packages\": {\"node_modules/a\": {\"version\": \"1\"}",
        ),
        ("npm-lock", "package-lock.json", b"\x00\x01\x02"),
        (
            "pnpm-lock",
            "pnpm-lock.yaml",
            b"lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {resolution: [\n",
        ),
        (
            "pnpm-lock",
            "pnpm-lock.yaml",
            b"lockfileVersion: '9.0'\n\t- tab\n",
        ),
        (
            "yarn-lock",
            "yarn.lock",
            b"__metadata:\n  version: 8\n\"a@npm:1\": {\n",
        ),
        (
            "poetry-lock",
            "poetry.lock",
            b"[[package]]\nname = \"a\"\nname = \"b\"\n",
        ),
        ("uv-lock", "uv.lock", b"[[package]\n"),
        (
            "pipenv-lock",
            "Pipfile.lock",
            b"{\"default\": {\"a\": {\"version\": \"==1\"}}",
        ),
    ];
    for (name, file, content) in cases {
        let a = analyzer(name);
        let info = FileInfo {
            path: file,
            size: content.len() as u64,
            mode: 0o644,
        };
        let result = a.analyze(&info, content);
        assert!(result.is_err(), "{name} accepted {content:?}: {result:?}");
    }
    // Deep nesting of every syntax: an error, not a stack overflow.
    let deep_json = format!(
        "{{\"lockfileVersion\":1,\"dependencies\":{}{}}}",
        "{\"a\":{\"version\":\"1.0.0\",\"dependencies\":".repeat(100_000),
        "}}".repeat(100_000)
    );
    let deep_yaml = format!(
        "lockfileVersion: '9.0'\npackages: {}\n",
        "[".repeat(100_000)
    );
    let deep_toml = format!("package = {}", "[".repeat(100_000));
    let deep_pipfile = format!("{{\"default\":{}", "{\"a\":".repeat(100_000));
    for (name, file, content) in [
        ("npm-lock", "package-lock.json", deep_json),
        ("pnpm-lock", "pnpm-lock.yaml", deep_yaml.clone()),
        (
            "yarn-lock",
            "yarn.lock",
            format!("__metadata:\n  version: 8\n{deep_yaml}"),
        ),
        ("poetry-lock", "poetry.lock", deep_toml.clone()),
        ("uv-lock", "uv.lock", deep_toml),
        ("pipenv-lock", "Pipfile.lock", deep_pipfile),
    ] {
        let a = analyzer(name);
        let info = FileInfo {
            path: file,
            size: content.len() as u64,
            mode: 0o644,
        };
        assert!(a.analyze(&info, content.as_bytes()).is_err(), "{file}");
    }
    // A requirements file of one endless line, and one of only continuations.
    let long = format!("{}==1.0\n", "a".repeat(5 << 20));
    let (found, _) = timed("pip-requirements", "requirements.txt", long.as_bytes());
    assert_eq!(found.packages.len(), 1);
    let continued = "x==1 \\\n".repeat(200_000);
    let (found, secs) = timed("pip-requirements", "requirements.txt", continued.as_bytes());
    assert!(found.packages.is_empty() || found.packages.len() == 1);
    assert!(secs < 10.0, "{secs} s");
}
