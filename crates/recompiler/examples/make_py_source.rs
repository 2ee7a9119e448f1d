//! `make_py_source MODULE CDEF_FILE...`: prints the ABI-mode module for an FFI whose cdef() calls
//! were the given files, in order (for comparing with upstream cffi by hand).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((module, files)) = args.split_first() else {
        eprintln!("usage: make_py_source MODULE CDEF_FILE...");
        std::process::exit(2);
    };
    let mut steps = Vec::new();
    for f in files {
        match std::fs::read_to_string(f) {
            Ok(source) => steps.push(recompiler::Step::Cdef { source, override_: false, pack: 0, dllexport: false }),
            Err(e) => {
                eprintln!("{f}: {e}");
                std::process::exit(2);
            }
        }
    }
    match recompiler::make_py_source(module, &steps, &[]) {
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
