//! Link the unwinder statically on Linux/glibc.
//!
//! Rust's standard library asks for `-lgcc_s` (the shared unwinder that turns
//! panics into unwinding, which PyO3 needs to report a panic as an exception).
//! Loading `libgcc_s.so.1` costs ~0.15 ms per process on some machines (its
//! constructor probes the CPU, which is slow under virtualization), more than
//! loading the whole extension.  GCC ships the same unwinder as a static
//! archive (`libgcc_eh.a`, what `gcc -static-libgcc` uses), so we put a
//! `libgcc_s.so` linker script in front of the search path that names it:
//! `-lgcc_s` then links the unwinder into `_backend.so` itself.
//!
//! If the compiler does not know `libgcc_eh.a` (another toolchain, another
//! platform) nothing is written and the default shared unwinder is used.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RCFFI_SHARED_LIBGCC");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os != "linux" || target_env != "gnu" || env::var_os("RCFFI_SHARED_LIBGCC").is_some() {
        return;
    }
    let Some(archive) = gcc_file("libgcc_eh.a") else { return };
    let Some(out_dir) = env::var_os("OUT_DIR").map(PathBuf::from) else { return };
    let dir = out_dir.join("static-unwinder");
    let script = format!("/* rcffi build.rs: the unwinder, linked statically */\nGROUP ( {} )\n", archive.display());
    if fs::create_dir_all(&dir).is_err() || fs::write(dir.join("libgcc_s.so"), script).is_err() {
        return;
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
}

/// The absolute path of one of the C compiler's own files, if it has it.
fn gcc_file(name: &str) -> Option<PathBuf> {
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new(cc).arg(format!("-print-file-name={name}")).output().ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    // An unknown file is printed back as its bare name.
    (path.is_absolute() && path.is_file()).then_some(path)
}
