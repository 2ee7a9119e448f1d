//! Parses a file as a cdef and prints how long it took: `cargo run --release --example
//! parse_file -- FILE [ROUNDS]`. Prints the best time of ROUNDS runs (default 20).

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: parse_file FILE [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20)
        .max(1);
    let source = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let mut best = f64::INFINITY;
    let mut result = None;
    for _ in 0..rounds {
        let start = Instant::now();
        let r = cdecl::parse_cdef(&source);
        best = best.min(start.elapsed().as_secs_f64());
        result = Some(r);
    }
    match result.unwrap() {
        Ok(cdef) => println!(
            "{path}: {} bytes, {} declarations, best of {rounds}: {:.3} ms",
            source.len(),
            cdef.decls.len(),
            best * 1e3
        ),
        Err(e) => {
            println!("{path}: error after {:.3} ms:\n{e}", best * 1e3);
            std::process::exit(1);
        }
    }
}
