//! The operator's own certificate (`WELD_TLS_CERT_FILE`, `WELD_TLS_KEY_FILE`):
//! loaded at start-up (a bad pair stops it), then reloaded when either file
//! changes (checked every few seconds: no file-notification machinery, which
//! misses renames into mounted volumes) or on SIGHUP. A reload that fails keeps
//! the certificate being served and says why in the log and in health.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use super::{CertStore, Problem, TlsStatus, cert};
use crate::metrics::Metrics;

/// How often the files' modification times are compared.
const POLL: Duration = Duration::from_secs(2);

/// Reads and checks the pair. The message names the files, never their content.
pub(super) fn load(cert: &Path, key: &Path) -> Result<cert::Served, String> {
    let read = |path: &Path, setting: &str| {
        std::fs::read(path).map_err(|e| format!("{setting} `{}` cannot be read: {e}", path.display()))
    };
    let chain = read(cert, "WELD_TLS_CERT_FILE")?;
    let key_pem = read(key, "WELD_TLS_KEY_FILE")?;
    cert::from_pem(&chain, &key_pem).map_err(|problem| {
        format!(
            "WELD_TLS_CERT_FILE `{}` with WELD_TLS_KEY_FILE `{}`: {problem}",
            cert.display(),
            key.display()
        )
    })
}

/// What identifies a version of the two files.
fn stamp(paths: &[&Path]) -> Vec<Option<(SystemTime, u64)>> {
    paths
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}

/// Watches the files for the life of the process.
pub(super) fn spawn_watch(
    cert: PathBuf,
    key: PathBuf,
    store: Arc<CertStore>,
    status: TlsStatus,
    metrics: Arc<Metrics>,
) {
    // Registered before the task runs, so a SIGHUP right after start-up is caught
    // (its default action would end the process).
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    tokio::spawn(async move {
        let mut last = stamp(&[&cert, &key]);
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hangup.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<()>();
            let by_signal = tokio::select! {
                () = signalled => true,
                () = tokio::time::sleep(POLL) => false,
            };
            let now = stamp(&[&cert, &key]);
            if !by_signal && now == last {
                continue;
            }
            last = now;
            match load(&cert, &key) {
                Ok(served) => {
                    store.install(&served, &status, &metrics);
                    tracing::info!(cert = %cert.display(), by_signal, "reloaded the certificate file");
                }
                Err(error) => {
                    status.failed(Problem::Files);
                    tracing::error!(
                        "the certificate files were not reloaded (the previous certificate stays): {error}"
                    );
                }
            }
        }
    });
}
