//! A real PostgreSQL on a free loopback port, in a throwaway data directory
//! (Debian's `postgresql` package; `scripts/setup` installs it when
//! missing). The cluster is initialised once per test process and copied
//! for each server; as root, the server runs as the `postgres` user (it
//! refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::redis::free_port;

pub struct PostgresServer {
    child: Option<Child>,
    dir: PathBuf,
    pub port: u16,
}

/// The directory of PostgreSQL's server programs: the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/setup installs it)")
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version").1
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// `program` of PostgreSQL, run as `postgres` when we are root (`setpriv`
/// execs it: the child is the program itself).
fn command(program: &str) -> Command {
    let path = bin_dir().join(program);
    if is_root() {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn chown_to_server(path: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .expect("chown");
        assert!(status.success());
    }
}

/// A fresh directory under the system's temporary one.
fn temp_dir(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "scalekit-{kind}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    chown_to_server(&dir);
    dir
}

/// A data directory initialised once per machine and PostgreSQL version
/// (trust authentication on loopback, user `postgres`), copied for each
/// server: `initdb` takes seconds, a copy milliseconds.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let bin = bin_dir();
        let version = bin
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|v| v.to_str())
            .unwrap_or("0")
            .to_owned();
        let data = std::env::temp_dir().join(format!("scalekit-pg-template-{version}"));
        if data.join("PG_VERSION").exists() {
            return data;
        }
        // Initialised aside, then moved in place in one step (another test
        // process may be doing the same).
        let dir = temp_dir("pg-init");
        let fresh = dir.join("data");
        let output = command("initdb")
            .arg("-D")
            .arg(&fresh)
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
                "--no-instructions",
            ])
            .output()
            .expect("initdb runs");
        assert!(
            output.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        if std::fs::rename(&fresh, &data).is_err() {
            assert!(data.join("PG_VERSION").exists(), "the template is in place");
        }
        let _ = std::fs::remove_dir_all(&dir);
        data
    })
}

impl PostgresServer {
    pub fn start() -> PostgresServer {
        let dir = temp_dir("pg");
        let status = Command::new("cp")
            .arg("-a")
            .arg(template())
            .arg(dir.join("data"))
            .status()
            .expect("cp");
        assert!(status.success());
        let mut server = PostgresServer {
            child: None,
            dir,
            port: free_port(),
        };
        server.run();
        server
    }

    fn run(&mut self) {
        let child = command("postgres")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(&self.dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ])
            .stdout(Stdio::null())
            .stderr(self.log())
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = Command::new(bin_dir().join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            // Ready, and ours: not another server that took the port
            // while this one was down.
            let exited = self.child.as_mut().map(|c| c.try_wait());
            assert!(
                matches!(exited, Some(Ok(None))),
                "postgres exited: {}",
                std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
            );
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "postgres did not start");
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// The server's log (appended to across restarts), for a failure's
    /// message.
    fn log(&self) -> Stdio {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("postgres.log"))
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null())
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `sql` with `psql`; its unaligned, tuples-only output.
    pub fn psql(&self, sql: &str) -> String {
        let output = Command::new(bin_dir().join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", "postgres", "-X", "-A", "-t", "-q"])
            .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Every row of the store's tables, raw (the sealed bytes as psql
    /// prints them, hex): what someone reading the database would see.
    pub fn dump(&self) -> Vec<(String, Vec<u8>)> {
        let mut rows = Vec::new();
        for table in ["scalekit_sessions", "scalekit_session_locks"] {
            let exists = self.psql(&format!("SELECT to_regclass('{table}') IS NOT NULL"));
            if exists.trim() != "t" {
                continue;
            }
            for line in self.psql(&format!("SELECT t::text FROM {table} t")).lines() {
                rows.push((table.to_owned(), line.as_bytes().to_vec()));
            }
            // The sealed bytes, decoded, as well.
            if table == "scalekit_sessions" {
                for line in self
                    .psql("SELECT encode(sealed, 'escape') FROM scalekit_sessions")
                    .lines()
                {
                    rows.push((table.to_owned(), line.as_bytes().to_vec()));
                }
            }
        }
        rows
    }

    /// Stops the server at once (the database going away mid-test).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGQUIT: immediate shutdown (SIGKILL would leave its backends).
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data after
    /// [`PostgresServer::stop`].
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
