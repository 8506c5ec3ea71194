//! Builds the web app (`frontend/` → `frontend/dist`) that `src/http/assets.rs` embeds.
//!
//! Runs `npm ci` when `node_modules` is missing or older than `package-lock.json`,
//! then `npm run build`, whenever the frontend's sources change. Skipped with
//! `WELD_SKIP_FRONTEND_BUILD=1` (then an existing `frontend/dist` is embedded, or the
//! binary serves a notice saying how to build the UI).
//!
//! Cargo reruns this script only when one of `WATCHED` changes. A watched path
//! that does not exist counts as changed on every build, so only existing paths
//! are announced: a no-op `cargo build` must not redo the web build and relink.

use std::{
    path::Path,
    process::{Command, ExitCode},
    time::SystemTime,
};

/// Everything `npm run build` (typecheck + `vite build`) reads, besides
/// `node_modules`. `frontend/public` is Vite's static folder, watched once it exists.
const WATCHED: &[&str] = &[
    "frontend/src",
    "frontend/public",
    "frontend/index.html",
    "frontend/package.json",
    "frontend/package-lock.json",
    "frontend/vite.config.ts",
    "frontend/tsconfig.json",
    "frontend/tsconfig.app.json",
    "frontend/tsconfig.node.json",
    "frontend/tsconfig.test.json",
];

fn main() -> ExitCode {
    println!("cargo:rerun-if-env-changed=WELD_SKIP_FRONTEND_BUILD");
    // `frontend` itself is not watched: cargo scans a watched folder recursively,
    // and `dist` (written by this script) would make every build look changed.
    // A new `frontend/public` is therefore noticed with the next change to `src`.
    for path in WATCHED.iter().filter(|path| Path::new(path).exists()) {
        println!("cargo:rerun-if-changed={path}");
    }
    let skip = std::env::var("WELD_SKIP_FRONTEND_BUILD").is_ok_and(|v| !v.is_empty() && v != "0");
    let frontend = Path::new("frontend");
    if skip || !frontend.join("package.json").exists() {
        return ExitCode::SUCCESS;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        eprintln!(
            "error: building the web app needs Node.js 20.19+ or 22.12+ with npm, and `{npm}` was not found.\n\
             Install Node.js, or set WELD_SKIP_FRONTEND_BUILD=1 to embed an existing frontend/dist \
             (without one the binary serves a notice instead of the app)."
        );
        return ExitCode::FAILURE;
    }
    if node_modules_stale(frontend) && !run(npm, &["ci", "--no-audit", "--no-fund"], frontend) {
        return ExitCode::FAILURE;
    }
    if !run(npm, &["run", "build"], frontend) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

fn node_modules_stale(frontend: &Path) -> bool {
    let installed = modified(&frontend.join("node_modules/.package-lock.json"));
    let wanted = modified(&frontend.join("package-lock.json"));
    match (installed, wanted) {
        (Some(installed), Some(wanted)) => installed < wanted,
        _ => true,
    }
}

fn run(program: &str, args: &[&str], dir: &Path) -> bool {
    match Command::new(program).args(args).current_dir(dir).status() {
        Ok(status) if status.success() => true,
        Ok(status) => {
            eprintln!(
                "error: `{program} {}` failed in frontend/ ({status}); fix it, or set \
                 WELD_SKIP_FRONTEND_BUILD=1 to embed an existing frontend/dist",
                args.join(" ")
            );
            false
        }
        Err(error) => {
            eprintln!(
                "error: cannot run `{program}` (Node.js/npm): {error}; set WELD_SKIP_FRONTEND_BUILD=1 to skip"
            );
            false
        }
    }
}
