//! `hpflow serve`'s web server: a read-only dashboard over one runs folder (tiny_http, one
//! thread per request, no async runtime). Routes name workflows, jobs and trials by what the
//! database holds, never by a file path, so nothing outside the runs folder can be reached;
//! the database is opened read-only per request, so a running `hpflow run` is seen as it goes.
//!
//! - `GET /`: the workflows and their jobs.
//! - `GET /w/NAME`: the report's page for a workflow (audit verdict, jobs, charts).
//! - `GET /w/NAME/trial/JOB/N`: one trial's per-epoch curves.
//! - `GET /api/...`: a page's state (`version`, trial count, whether a run is live); with
//!   `?since=V&wait=1` it answers when the version differs from `V` (long poll, at most 10 s).
//! - `?part=body` on a page: its content only, which the page's script swaps in.

mod background;
mod pages;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tiny_http::{Header, Method, Request, Response};

use crate::error::{Error, Result};
use crate::store::Layout;

/// What a request gets back: status, content type, body.
struct Reply(u16, &'static str, String);

impl Reply {
    fn html(body: String) -> Reply {
        Reply(200, "text/html; charset=utf-8", body)
    }
    fn json(v: serde_json::Value) -> Reply {
        Reply(200, "application/json", v.to_string())
    }
    fn error(code: u16, why: &str) -> Reply {
        let title = match code {
            403 => "Forbidden",
            404 => "Not found",
            405 => "Method not allowed",
            _ => "Error",
        };
        Reply(
            code,
            "text/html; charset=utf-8",
            format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{code} {title}</h1><p>{}</p><p><a href=\"/\">all workflows</a></p></body></html>\n",
                crate::report::plot::esc(why)
            ),
        )
    }
}

/// Serve until the process is stopped. `server` is already bound (the caller printed where).
pub fn serve(server: tiny_http::Server, layout: Layout) -> Result<()> {
    let layout = Arc::new(layout);
    for req in server.incoming_requests() {
        let layout = Arc::clone(&layout);
        std::thread::spawn(move || answer(req, &layout));
    }
    Ok(())
}

fn answer(req: Request, layout: &Layout) {
    let reply = match req.method() {
        Method::Get | Method::Head => route(req.url(), layout).unwrap_or_else(|e| match e {
            Error::Usage(m) => Reply::error(404, &m),
            other => Reply::error(500, &other.to_string()),
        }),
        _ => Reply::error(405, "hpflow serve is read-only: GET and HEAD only"),
    };
    let Reply(code, kind, body) = reply;
    let mut resp = Response::from_string(body)
        .with_status_code(code)
        .with_header(header("Content-Type", kind))
        .with_header(header("Cache-Control", "no-store"));
    if code == 405 {
        resp.add_header(header("Allow", "GET, HEAD"));
    }
    // A browser that went away mid-answer is no error of ours.
    let _ = req.respond(resp);
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header")
}

/// A path's segments, percent-decoded; `None` for one that would climb out (`..`, `.`, a
/// slash or NUL hidden in an escape): such a path is refused, not resolved.
fn segments(path: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let s = decode(raw)?;
        if s == ".." || s == "." || s.contains(['/', '\\', '\0']) {
            return None;
        }
        out.push(s);
    }
    Some(out)
}

fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn query<'a>(q: &'a str, key: &str) -> Option<&'a str> {
    q.split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

fn route(url: &str, layout: &Layout) -> Result<Reply> {
    let (path, q) = url.split_once('?').unwrap_or((url, ""));
    let Some(seg) = segments(path) else {
        return Ok(Reply::error(
            403,
            "paths outside the runs folder are refused",
        ));
    };
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let body_only = query(q, "part") == Some("body");
    match seg.as_slice() {
        [] => page(layout, &pages::Page::Index, body_only),
        ["w", name] => page(layout, &pages::Page::Workflow(name), body_only),
        ["w", name, "trial", job, n] => {
            let n: usize = n
                .parse()
                .map_err(|_| Error::Usage(format!("no trial {n:?}")))?;
            page(layout, &pages::Page::Trial(name, job, n), body_only)
        }
        ["api", rest @ ..] => {
            let target = match rest {
                [] => pages::Page::Index,
                ["w", name] => pages::Page::Workflow(name),
                ["w", name, "trial", job, n] => {
                    pages::Page::Trial(name, job, n.parse().unwrap_or(usize::MAX))
                }
                _ => return Ok(Reply::error(404, "no such page")),
            };
            let since = query(q, "since").unwrap_or_default();
            let wait = query(q, "wait") == Some("1");
            state(layout, &target, since, wait).map(Reply::json)
        }
        _ => Ok(Reply::error(404, "no such page")),
    }
}

fn page(layout: &Layout, p: &pages::Page, body_only: bool) -> Result<Reply> {
    let body = pages::body(layout, p)?;
    Ok(Reply::html(if body_only {
        body
    } else {
        let st = pages::state(layout, p)?;
        pages::document(p, &body, &st)
    }))
}

/// A page's state; waiting (while a run is live) until it is no longer `since`.
fn state(layout: &Layout, p: &pages::Page, since: &str, wait: bool) -> Result<serde_json::Value> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let st = pages::state(layout, p)?;
        if !wait || st["version"] != since || st["live"] != true || Instant::now() >= until {
            return Ok(st);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
