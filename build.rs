//! Links the libtorch that `tch` builds against into `hpflow-worker` so that users need no
//! LD_LIBRARY_PATH: the torch lib folder becomes an rpath, and `torch_cuda` is linked even
//! though no symbol of it is referenced (otherwise `--as-needed` drops it and CUDA is never
//! available, see shared/design/architecture.md).
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_TORCH").is_none() {
        return;
    }
    let Some(lib) = torch_lib_dir() else {
        println!("cargo:warning=could not find libtorch; run scripts/setup");
        return;
    };
    // The rpath goes on every target (tests of the worker need it too); it loads nothing.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!(
            "cargo:rustc-link-arg-bin=hpflow-worker=-Wl,--no-as-needed,-L{},-ltorch_cuda,--as-needed",
            lib.display()
        );
    }
}

fn torch_lib_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("LIBTORCH") {
        return Some(PathBuf::from(dir).join("lib"));
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, torch; print(os.path.dirname(torch.__file__))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()).join("lib");
    dir.exists().then_some(dir)
}
