//! The generated text against what upstream cffi 2.0.0 writes for the same cdef (the expected
//! texts were produced by upstream's `make_py_source()`; they are facts of the format).

use recompiler::{make_py_source, ErrorKind, Step};

fn gen(module: &str, cdef: &str) -> String {
    let steps = [Step::Cdef { source: cdef.to_string(), override_: false, pack: 0, dllexport: false }];
    make_py_source(module, &steps, &[]).expect("generates").text
}

#[test]
fn renamed_struct() {
    let cdef = "struct foo; void f(struct foo *); typedef struct foo foo_t; void g(foo_t *);";
    let expected = r"# auto-generated file
import _cffi_backend

ffi = _cffi_backend.FFI('renamed_struct',
    _version = 0x2601,
    _types = b'\x00\x00\x04\x0D\x00\x00\x03\x03\x00\x00\x00\x0F\x00\x00\x00\x09\x00\x00\x00\x01',
    _globals = (b'\x00\x00\x00\x23f',0,b'\x00\x00\x00\x23g',0),
    _struct_unions = ((b'\x00\x00\x00\x03\x00\x00\x00\x10foo',),),
    _typenames = (b'\x00\x00\x00\x03foo_t',),
)
";
    assert_eq!(gen("renamed_struct", cdef), expected);
}

#[test]
fn anonymous() {
    let cdef = "typedef struct { int x; } *anon_p; typedef struct { int y; } anon_t, *anon_tp; enum { A1, B1 }; struct { short s; } v;";
    let expected = r"# auto-generated file
import _cffi_backend

ffi = _cffi_backend.FFI('anonymous',
    _version = 0x2601,
    _types = b'\x00\x00\x06\x03\x00\x00\x02\x03\x00\x00\x02\x09\x00\x00\x00\x0B\x00\x00\x07\x01\x00\x00\x05\x01\x00\x00\x00\x09\x00\x00\x01\x09',
    _globals = (b'\xFF\xFF\xFF\x0BA1',0,b'\xFF\xFF\xFF\x0BB1',1,b'\x00\x00\x07\x21v',0),
    _struct_unions = ((b'\x00\x00\x00\x06\x00\x00\x00\x02$1',b'\x00\x00\x04\x11x'),(b'\x00\x00\x00\x07\x00\x00\x00\x02$3',b'\x00\x00\x05\x11s'),(b'\x00\x00\x00\x02\x00\x00\x00\x02$anon_t',b'\x00\x00\x04\x11y')),
    _enums = (b'\x00\x00\x00\x03\x00\x00\x00\x16$2\x00A1,B1',),
    _typenames = (b'\x00\x00\x00\x00anon_p',b'\x00\x00\x00\x02anon_t',b'\x00\x00\x00\x01anon_tp'),
)
";
    assert_eq!(gen("anonymous", cdef), expected);
}

#[test]
fn functions() {
    let cdef = "int (*getcb(int))(long); void setcb(void (*cb)(int, ...)); typedef int cbt(int); cbt *cbs[4]; int __stdcall sc(int);";
    let expected = r"# auto-generated file
import _cffi_backend

ffi = _cffi_backend.FFI('functions',
    _version = 0x2601,
    _types = b'\x00\x00\x01\x0D\x00\x00\x07\x01\x00\x00\x00\x0F\x00\x00\x01\x0D\x00\x00\x09\x01\x00\x00\x00\x0F\x00\x00\x13\x0D\x00\x00\x07\x01\x00\x00\x00\x0F\x00\x00\x01\x0D\x00\x00\x07\x01\x00\x00\x02\x0F\x00\x00\x16\x0D\x00\x00\x07\x01\x00\x00\x01\x0F\x00\x00\x16\x0D\x00\x00\x0C\x03\x00\x00\x00\x0F\x00\x00\x00\x03\x00\x00\x03\x03\x00\x00\x12\x05\x00\x00\x00\x04\x00\x00\x00\x01',
    _globals = (b'\x00\x00\x14\x21cbs',0,b'\x00\x00\x06\x23getcb',0,b'\x00\x00\x09\x23sc',0,b'\x00\x00\x0F\x23setcb',0),
    _typenames = (b'\x00\x00\x00\x00cbt',),
)
";
    assert_eq!(gen("functions", cdef), expected);
}

#[test]
fn file_bits_quals() {
    let cdef = "FILE *fopen(const char *, const char *);\nstruct bits { int a:3; unsigned b:5; const char *const*n; };\nstatic const double SD;\n#define N 3\nextern int arrn[N];";
    let expected = r"# auto-generated file
import _cffi_backend

ffi = _cffi_backend.FFI('file_bits_quals',
    _version = 0x2601,
    _types = b'\x00\x00\x04\x0D\x00\x00\x07\x03\x00\x00\x01\x11\x00\x00\x00\x0F\x00\x00\x05\x03\x00\x00\x00\x09\x00\x00\x01\x03\x00\x00\x02\x01\x00\x00\x0E\x01\x00\x00\x07\x01\x00\x00\x09\x05\x00\x00\x00\x03\x00\x00\x01\x09\x00\x00\x08\x01',
    _globals = (b'\xFF\xFF\xFF\x1FN',3,b'\x00\x00\x08\x25SD',0,b'\x00\x00\x0A\x21arrn',0,b'\x00\x00\x00\x23fopen',0),
    _struct_unions = ((b'\x00\x00\x00\x05\x00\x00\x00\x10_IO_FILE',),(b'\x00\x00\x00\x0C\x00\x00\x00\x02bits',b'\x00\x00\x09\x13\x00\x00\x00\x03a',b'\x00\x00\x0D\x13\x00\x00\x00\x05b',b'\x00\x00\x06\x11n')),
    _typenames = (b'\x00\x00\x00\x05FILE',),
)
";
    assert_eq!(gen("file_bits_quals", cdef), expected);
}

#[test]
fn includes_and_options() {
    let base = vec![Step::Cdef { source: "struct foo_s { int x; }; typedef int base_t;".into(), override_: false, pack: 0, dllexport: false }];
    let steps = [
        Step::Include(base),
        Step::Cdef { source: "struct p { char c; int i; }; base_t g;".into(), override_: false, pack: 1, dllexport: false },
    ];
    let text = make_py_source("inc", &steps, &["base_mod".to_string()]).unwrap().text;
    assert!(text.contains("from base_mod import ffi as _ffi0\n"), "{text}");
    assert!(text.contains("    _includes = (_ffi0,),\n"), "{text}");
    // the included struct is external, the packed one is checked and packed
    assert!(text.contains(r"\x00\x00\x00\x08foo_s',)"), "{text}");
    assert!(text.contains(r"\x00\x00\x00\x06p',"), "{text}");
    assert!(text.contains(r"base_t'"), "{text}");
}

#[test]
fn errors() {
    let err = |src: &str, pack: i64| {
        let steps = [Step::Cdef { source: src.to_string(), override_: false, pack, dllexport: false }];
        make_py_source("m", &steps, &[]).unwrap_err()
    };
    let e = err("#define FOO ...", 0);
    assert_eq!(e.kind, ErrorKind::VerificationError);
    assert_eq!(e.message, "macro FOO: cannot use the syntax '...' in '#define FOO ...' when using the ABI mode");
    assert_eq!(err("enum e { A, ... };", 0).kind, ErrorKind::VerificationMissing);
    assert_eq!(err("typedef int32_t a_t[3000000000];", 0).kind, ErrorKind::OverflowError);
    assert_eq!(err("extern \"Python\" int cb(int);", 0).kind, ErrorKind::VerificationError);
    let e = err("struct s { char c; int i; };", 2);
    assert_eq!(e.kind, ErrorKind::NotImplementedError);
    assert!(e.message.starts_with("struct s: <struct s> is declared with 'pack=2'"), "{}", e.message);
}
