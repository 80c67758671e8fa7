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
    // The start-up lines up to the first user; the rest of the output is
    // drained meanwhile (a closed pipe would end the emulator at its next
    // line).
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut head = Some(Vec::new());
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("  user:") {
                if let Some(lines) = head.take() {
                    let _ = sender.send(lines);
                }
            } else if let Some(lines) = head.as_mut() {
                lines.push(line);
            }
        }
    });
    let lines: Vec<String> = tokio::task::spawn_blocking(move || receiver.recv().unwrap())
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
