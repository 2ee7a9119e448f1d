//! The C source of API-mode modules: the generated tables are checked for their shape here, and
//! whole modules are compiled with the system C compiler and imported by the system `python3`
//! with upstream cffi's `_cffi_backend` (a module that upstream's runtime loads and runs follows
//! the protocol). Those runs are skipped when `gcc`, `python3` or its `_cffi_backend` are missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use recompiler::{make_c_source, Step};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c_modules")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap()
}

fn generate(module: &str, cdef: &str, preamble: &str) -> String {
    let steps = vec![Step::Cdef { source: cdef.into(), override_: false, pack: 0, dllexport: false }];
    make_c_source(module, &steps, &[], preamble, &Default::default()).unwrap().text
}

#[test]
fn tables_of_a_small_module() {
    let text = generate("_m", "int add(int, int);\n#define N ...\nstruct s { int a; ...; };", "");
    let tables = &text[text.find("static void *_cffi_types[]").unwrap()..];
    for expected in [
        "/*  0 */ _CFFI_OP(_CFFI_OP_FUNCTION, 1), // int()(int, int)",
        "/*  1 */ _CFFI_OP(_CFFI_OP_PRIMITIVE, 7), // int",
        "/*  3 */ _CFFI_OP(_CFFI_OP_FUNCTION_END, 0),",
        "/*  4 */ _CFFI_OP(_CFFI_OP_STRUCT_UNION, 0), // struct s",
        "  { \"N\", (void *)_cffi_const_N, _CFFI_OP(_CFFI_OP_CONSTANT_INT, -1), (void *)0 },",
        "  { \"add\", (void *)_cffi_f_add, _CFFI_OP(_CFFI_OP_CPYTHON_BLTN_V, 0), (void *)_cffi_d_add },",
        "  { \"a\", offsetof(struct s, a),\n         sizeof(((struct s *)0)->a),\n         _CFFI_OP(_CFFI_OP_NOOP, 1) },",
        "  { \"s\", 4, 0,\n    sizeof(struct s), offsetof(struct _cffi_align_struct_s, y), 0, 1 },",
        "  2,  /* num_globals */",
        "  5,  /* num_types */",
        // rcffi's runtime calls `add` through its METH_FASTCALL entry (flag 0x100)
        "static void *const _cffi_fastcall[] = {\n  NULL,\n  (void *)_cffi_fc_add,\n};",
        "  0x100,  /* flags */",
        "  return _cffi_init(\"_m\", 0x2601, &_cffi_type_context, _cffi_fastcall);",
    ] {
        assert!(tables.contains(expected), "missing {expected:?} in:\n{tables}");
    }
}

#[test]
fn errors() {
    let steps = vec![Step::Cdef { source: "struct s; struct s f(void);".into(), override_: false, pack: 0, dllexport: false }];
    let err = make_c_source("_m", &steps, &[], "", &Default::default()).unwrap_err();
    assert_eq!(err.message, "function f: 'struct s' is used as result type, but is opaque");
}

#[test]
fn field_checks_keep_the_qualifiers_of_fields() {
    let text = generate("_m", "struct s { const char *const p; volatile double d; const int b[4]; const int c[]; };", "");
    for expected in [
        "  { char const * const *tmp = &p->p; (void)tmp; }",
        "  { double volatile *tmp = &p->d; (void)tmp; }",
        "  { int const (*tmp)[4] = &p->b; (void)tmp; }",
        "  { int const *tmp = &p->c[0]; (void)tmp; }",
    ] {
        assert!(text.contains(expected), "missing {expected:?}");
    }
}

#[test]
fn unnamed_struct_reached_only_through_pointers() {
    // no C name: an entry without size, alignment or field offsets
    let text = generate("_m", "typedef struct { int y; } **baz_pp;", "");
    assert!(text.contains("  { \"$1\", 3, _CFFI_F_CHECK_FIELDS,\n    (size_t)-2, -2, 0, 1 /* unnamed */ },"), "{text}");
    assert!(text.contains("  { \"y\", (size_t)-1,\n         (size_t)-1,"), "{text}");
}

fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd).args(args).env_remove("PYTHONPATH").output().map(|o| o.status.success()).unwrap_or(false)
}

/// Generate module `_rc_NAME` from NAME.cdef and NAME.c, build it and run NAME_check.py against
/// upstream's runtime.
fn run_on_upstream(name: &str) {
    if !have("gcc", &["--version"]) || !have("python3", &["-c", "import _cffi_backend"]) {
        eprintln!("skipped: no gcc, or no python3 with upstream cffi");
        return;
    }
    let module = format!("_rc_{name}");
    let text = generate(&module, &read(&format!("{name}.cdef")), &read(&format!("{name}.c")));
    let out = std::env::temp_dir().join(format!("rcffi-c-source-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let c_file = out.join(format!("{module}.c"));
    std::fs::write(&c_file, &text).unwrap();
    let py = |code: &str| {
        let o = Command::new("python3").arg("-c").arg(code).env_remove("PYTHONPATH").output().unwrap();
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    let includes = py("import sysconfig; print(sysconfig.get_paths()['include'])");
    let suffix = py("import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))");
    let so = out.join(format!("{module}{suffix}"));
    let cc = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror"])
        .arg(format!("-I{includes}"))
        .arg(&c_file)
        .arg("-o")
        .arg(&so)
        .output()
        .unwrap();
    assert!(cc.status.success(), "gcc failed:\n{}", String::from_utf8_lossy(&cc.stderr));
    let run = Command::new("python3")
        .arg(dir().join(format!("{name}_check.py")))
        .current_dir(&out)
        .env_remove("PYTHONPATH")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && stdout.contains("OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn basic_module_runs_on_upstream_runtime() {
    run_on_upstream("basic");
}

#[test]
fn more_module_runs_on_upstream_runtime() {
    // unions, bitfields, anonymous members, `[...]` fields and globals, named-pointer typedefs,
    // function pointers, char/_Bool/float/wchar_t/long long/signed char, anonymous enums
    run_on_upstream("more");
}
