//! A real `redis-server` on a free loopback port, for the Redis store
//! tests. `scripts/test` installs it when missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    listen: Vec<String>,
    pub port: u16,
}

/// A port nobody listens on at the moment, on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(status.success(), "openssl {args:?}");
}

/// A private CA and a certificate it issued for `localhost` / 127.0.0.1, in
/// a fresh directory: `ca.crt`, `server.crt`, `server.key`.
pub fn test_pki() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "scalekit-redis-tls-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("write server.ext");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "1",
        "-subj",
        "/CN=scalekit test CA",
    ]);
    openssl(&dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(&dir, &csr);
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "1",
            "-extfile",
            "server.ext",
        ],
    );
    dir
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let port = free_port();
        Self::spawn(port, &["--port", &port.to_string()])
    }

    /// A server on a free port with more settings (`--name value` pairs).
    pub fn start_with(settings: &[&str]) -> RedisServer {
        let port = free_port();
        let mut listen = vec!["--port".to_owned(), port.to_string()];
        listen.extend(settings.iter().map(|s| (*s).to_owned()));
        RedisServer {
            child: Self::run(port, &listen),
            listen,
            port,
        }
    }

    /// A server that speaks only TLS, with the certificate of [`test_pki`]
    /// in `pki`.
    pub fn start_tls(pki: &Path) -> RedisServer {
        let port = free_port();
        let file = |name: &str| pki.join(name).to_string_lossy().into_owned();
        Self::spawn(
            port,
            &[
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--tls-cert-file",
                &file("server.crt"),
                "--tls-key-file",
                &file("server.key"),
                "--tls-ca-cert-file",
                &file("ca.crt"),
                "--tls-auth-clients",
                "no",
            ],
        )
    }

    fn spawn(port: u16, listen: &[&str]) -> RedisServer {
        let listen: Vec<String> = listen.iter().map(|a| (*a).to_owned()).collect();
        RedisServer {
            child: Self::run(port, &listen),
            listen,
            port,
        }
    }

    fn run(port: u16, listen: &[String]) -> Child {
        // The settings of `listen` come last: they win over the defaults.
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(listen)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    /// Starts the server again on the same port after [`RedisServer::stop`]
    /// (empty: nothing is persisted).
    pub fn restart(&mut self) {
        self.stop();
        self.child = Self::run(self.port, &self.listen);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Runs `redis-cli` against this server; returns its raw output.
    pub fn cli(&self, args: &[&str]) -> Vec<u8> {
        self.try_cli(args)
            .unwrap_or_else(|| panic!("redis-cli {args:?}"))
    }

    /// Runs `redis-cli` against this server; its raw output, or `None` when
    /// the server does not answer.
    pub fn try_cli(&self, args: &[&str]) -> Option<Vec<u8>> {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "--raw"])
            .args(args)
            .output()
            .expect("redis-cli is installed with redis-server");
        // redis-cli exits 0 with an error message when nobody listens.
        let refused = String::from_utf8_lossy(&output.stderr).contains("Could not connect")
            || String::from_utf8_lossy(&output.stdout).contains("Could not connect");
        (output.status.success() && !refused).then_some(output.stdout)
    }

    /// The keys matching `pattern`, sorted.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = String::from_utf8_lossy(&self.cli(&["KEYS", pattern]))
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        keys.sort();
        keys
    }

    /// Every key with every value it holds (strings, hashes, sets), raw:
    /// what someone reading the Redis would see.
    pub fn dump(&self) -> Vec<(String, Vec<u8>)> {
        self.keys("*")
            .into_iter()
            .map(|key| {
                let kind = String::from_utf8_lossy(&self.cli(&["TYPE", &key]))
                    .trim()
                    .to_owned();
                let value = match kind.as_str() {
                    "string" => self.cli(&["GET", &key]),
                    "hash" => self.cli(&["HGETALL", &key]),
                    "set" => self.cli(&["SMEMBERS", &key]),
                    other => panic!("unexpected {other} at {key}"),
                };
                (key, value)
            })
            .collect()
    }

    /// Stops the server (Redis going away mid-test).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A Redis cluster of three primaries (by default without replicas) on
/// free loopback ports, its slots spread by `redis-cli --cluster create`. A primary that
/// goes down leaves the others serving their slots
/// (`cluster-require-full-coverage no`), and comes back with its data
/// (append-only file, synced at every write).
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
    dir: PathBuf,
}

impl RedisCluster {
    pub fn start() -> RedisCluster {
        Self::start_with_replicas(0)
    }

    /// Three primaries with `replicas` replicas each (a replica takes over
    /// when its primary has been down for the node timeout, 1 s).
    pub fn start_with_replicas(replicas: usize) -> RedisCluster {
        let dir = std::env::temp_dir().join(format!(
            "scalekit-redis-cluster-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let nodes: Vec<RedisServer> = (0..3 * (1 + replicas))
            .map(|i| {
                // Each node in its own directory: its cluster file and its
                // append-only file (every write on disk before its answer,
                // so that a node killed and started again has lost nothing).
                let node_dir = dir.join(format!("node-{i}"));
                std::fs::create_dir_all(&node_dir).expect("a node directory");
                RedisServer::start_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "1000",
                    "--cluster-require-full-coverage",
                    "no",
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--dir",
                    &node_dir.to_string_lossy(),
                ])
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("redis-cli is installed with redis-server");
        assert!(
            output.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let cluster = RedisCluster { nodes, dir };
        cluster.wait_until_ok();
        cluster
    }

    /// Waits until every node reports `cluster_state:ok`.
    pub fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for node in &self.nodes {
            while !String::from_utf8_lossy(&node.cli(&["CLUSTER", "INFO"]))
                .contains("cluster_state:ok")
            {
                assert!(Instant::now() < deadline, "the cluster did not form");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Whether node `i` is up and a primary now.
    pub fn is_primary(&self, i: usize) -> bool {
        self.nodes[i]
            .try_cli(&["ROLE"])
            .is_some_and(|role| role.starts_with(b"master"))
    }

    /// Waits until every replica has every write of its primary.
    pub fn wait_for_replication(&self) {
        let field = |node: &RedisServer, name: &str| -> i64 {
            String::from_utf8_lossy(&node.cli(&["INFO", "replication"]))
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(-1)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        for (i, node) in self.nodes.iter().enumerate() {
            if self.is_primary(i) || node.try_cli(&["PING"]).is_none() {
                continue;
            }
            let port: u16 = field(node, "master_port").try_into().unwrap_or(0);
            let primary = self
                .nodes
                .iter()
                .find(|n| n.port == port)
                .expect("the replica's primary is one of the nodes");
            while field(node, "slave_repl_offset") < field(primary, "master_repl_offset") {
                assert!(Instant::now() < deadline, "replication did not catch up");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Stops every node.
    pub fn stop(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
    }

    /// Starts every node again (each knows its cluster from its
    /// `nodes-<i>.conf`), and waits until the cluster is whole.
    pub fn restart(&mut self) {
        for node in &mut self.nodes {
            node.restart();
        }
        self.wait_until_ok();
    }

    /// The seed nodes, as `REDIS_CLUSTER_URLS` lists them.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(RedisServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The keys matching `pattern` on every node, sorted.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = self.nodes.iter().flat_map(|n| n.keys(pattern)).collect();
        keys.sort();
        keys
    }

    /// Every key of every node with its value, raw.
    pub fn dump(&self) -> Vec<(String, Vec<u8>)> {
        self.nodes.iter().flat_map(RedisServer::dump).collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
