//! Writing a command's whole output to stdout, where a reader that closed the pipe early
//! (`| head`) has all it wanted: not an error, and never a panic.

use std::io::Write;

use crate::error::{Error, Result};

pub fn write(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::internal(format!("writing to stdout: {e}")))
        }
        _ => Ok(()),
    }
}
