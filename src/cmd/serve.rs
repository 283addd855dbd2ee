//! `hpflow serve [--host ADDR] [--port N]`: a read-only web dashboard over the runs folder
//! (`crate::serve`). It binds to 127.0.0.1 unless told otherwise, and warns when told: the
//! pages show configurations and results to whoever can reach the address. It loads nothing
//! up front (a page reads the database when asked), so it starts at once on any runs folder.

use crate::error::{Error, Result};
use crate::store::Layout;

pub fn run(layout: &Layout, host: Option<&str>, port: u16) -> Result<()> {
    let host = host.unwrap_or("127.0.0.1");
    let ip: std::net::IpAddr = host.parse().map_err(|_| {
        Error::Usage(format!(
            "--host {host:?} is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every interface)"
        ))
    })?;
    let server = tiny_http::Server::http((ip, port))
        .map_err(|e| Error::Usage(format!("cannot listen on {host}:{port}: {e}")))?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| Error::internal("the server has no IP address"))?;
    if !ip.is_loopback() {
        eprintln!(
            "warning: serving on {addr}, reachable from other machines: anyone who can reach it \
             sees this runs folder's workflows, configurations and results (no password)"
        );
    }
    println!(
        "serving {} on http://{addr}/ (read-only; Ctrl-C stops)",
        layout.root().display()
    );
    crate::cmd::emit("")?;
    crate::serve::serve(server, layout.clone())
}
