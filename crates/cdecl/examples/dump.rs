//! Prints what the parser makes of cdef sources (or, with `-t`, of type names), one line per
//! declaration: `cargo run --example dump -- 'int (*fns[4])(int);'`. Add `-v` for the full AST.

#[path = "../tests/common/mod.rs"]
mod common;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.first().map(String::as_str) == Some("-v");
    if verbose {
        args.remove(0);
    }
    if args.first().map(String::as_str) == Some("-t") {
        for text in &args[1..] {
            match cdecl::parse_type_name(text) {
                Ok(ty) if verbose => println!("{text:?} -> {ty:#?}"),
                Ok(ty) => println!("{text:?} -> {}", common::ty_summary(&ty)),
                Err(e) => println!("{text:?} -> error: {} at {}", e.message, e.pos),
            }
        }
        return;
    }
    for src in &args {
        match cdecl::parse_cdef(src) {
            Ok(cdef) => {
                for d in &cdef.decls {
                    if verbose {
                        println!("{d:#?}");
                    } else {
                        println!("{}", common::decl_summary(d));
                    }
                }
            }
            Err(e) => println!("error:\n{e}"),
        }
        println!("--");
    }
}
