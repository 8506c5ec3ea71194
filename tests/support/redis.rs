//! A real Redis for the tests: Debian's `redis-server` started on a free loopback
//! port with no persistence, killed when dropped (or by `kill`, mid-test). It owns
//! nothing else; a machine without `redis-server` fails the test with a line that
//! says how to install it.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Where Debian's package puts the server.
const BINARY: &str = "/usr/bin/redis-server";

/// A running `redis-server` on 127.0.0.1.
pub struct RedisServer {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits (bounded) until it
    /// accepts connections.
    pub fn start() -> Self {
        let binary = std::env::var("WELD_TEST_REDIS_SERVER").unwrap_or_else(|_| BINARY.to_owned());
        assert!(
            std::path::Path::new(&binary).exists(),
            "{binary} not found: install Redis (`apt-get install redis-server`) or point \
             WELD_TEST_REDIS_SERVER at a redis-server or valkey-server binary"
        );
        // A port the kernel just handed out and took back: free unless another
        // process grabs it in between (then the wait below fails clearly).
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(&binary)
            .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let server = Self {
            child: Some(child),
            port,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "redis-server did not listen on {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// The `redis://` URL of this server.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server now (as a crash would) and waits for it to go.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
