//! The binary's `--mcp-server` flag: the start-up line, and the metadata of
//! the server it names.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Ends the emulator process when the test ends, whatever happens.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn mcp_server_flag_registers_the_server_and_prints_it() {
    let child = Command::new(env!("CARGO_BIN_EXE_scalekit-emulator"))
        .args([
            "--port",
            "0",
            "--mcp-server",
            "http://localhost:3000/mcp",
            "--mcp-server",
            "http://localhost:4000/mcp",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let stdout = running.0.stdout.take().unwrap();
    let lines: Vec<String> = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take_while(|line| !line.starts_with("  user:"))
            .collect()
    })
    .await
    .unwrap();
    let url = lines[0]
        .strip_prefix("Scalekit emulator at ")
        .unwrap()
        .to_owned();
    let servers: Vec<(&str, &str, &str)> = lines
        .iter()
        .filter_map(|line| line.strip_prefix("  MCP server: "))
        .map(|rest| {
            let (resource, rest) = rest.split_once(" id ").unwrap();
            let (id, authorization_server) = rest.split_once(" authorization server ").unwrap();
            (resource, id, authorization_server)
        })
        .collect();
    assert_eq!(servers.len(), 2, "{lines:?}");
    for ((resource, id, authorization_server), expected) in servers
        .iter()
        .zip(["http://localhost:3000/mcp", "http://localhost:4000/mcp"])
    {
        assert_eq!(*resource, expected);
        assert!(id.starts_with("res_"));
        assert_eq!(*authorization_server, format!("{url}/resources/{id}"));
        let metadata: serde_json::Value = reqwest::get(format!(
            "{authorization_server}/.well-known/oauth-authorization-server"
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(metadata["issuer"], *authorization_server);
    }
}
