//! `make_c_source MODULE PREAMBLE_FILE CDEF_FILE...`: prints the API-mode C source for an FFI
//! whose cdef() calls were the given files, in order (for comparing with upstream cffi by hand).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: make_c_source MODULE PREAMBLE_FILE CDEF_FILE...");
        std::process::exit(2);
    }
    let read = |f: &String| match std::fs::read_to_string(f) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{f}: {e}");
            std::process::exit(2);
        }
    };
    let preamble = read(&args[1]);
    let steps: Vec<_> =
        args[2..].iter().map(|f| recompiler::Step::Cdef { source: read(f), override_: false, pack: 0, dllexport: false }).collect();
    match recompiler::make_c_source(&args[0], &steps, &[], &preamble, &Default::default()) {
        Ok(g) => {
            for w in &g.warnings {
                eprintln!("warning: {w}");
            }
            print!("{}", g.text);
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
