//! Every declaration form the cdef dialect accepts, checked through one-line summaries.

mod common;

use cdecl::*;
use common::{parse, parse_err};

#[test]
fn empty_and_blank_sources() {
    assert!(parse("").is_empty());
    assert!(parse("  \n\t\n /* nothing */ // still nothing\n").is_empty());
    assert!(parse(";;").is_empty());
}

#[test]
fn typedefs_with_several_declarators() {
    assert_eq!(
        parse("typedef int a, *b, c[3], (*d)(void), **const e;"),
        [
            "typedef a: int",
            "typedef b: int *",
            "typedef c: int[3]",
            "typedef d: int(*)()",
            "typedef e: int * * const",
        ]
    );
    assert_eq!(parse("typedef foo_t bar_t;"), ["typedef bar_t: foo_t"]);
    assert_eq!(parse("const typedef int x;"), ["typedef x: const int"]);
}

#[test]
fn functions() {
    assert_eq!(
        parse("int f(); int g(void); int h(int, ...); void k(int a, char *b);"),
        [
            "function f: int()",
            "function g: int()",
            "function h: int(int, ...)",
            "function k: void(int, char *)",
        ]
    );
    assert_eq!(
        parse("static int s(int); extern long e(long); inline int i(void); __inline int j(void);"),
        [
            "function s: int(int)",
            "function e: long(long)",
            "function i: int()",
            "function j: int()"
        ]
    );
    // Parameter names are kept.
    let cdef = parse_cdef("void f(int a, char *, void (*cb)(int x));").unwrap();
    let Decl::Function { sig, .. } = &cdef.decls[0] else {
        panic!()
    };
    let names: Vec<Option<&str>> = sig.params.iter().map(|p| p.name.as_deref()).collect();
    assert_eq!(names, [Some("a"), None, Some("cb")]);
    // Arrays and functions as parameters stay as written.
    assert_eq!(
        parse("int k(int a[], int b[3][4], void cb(void));"),
        ["function k: int(int[], int[3][4], void())"]
    );
    // `(void, int)` is kept as written, as pycparser does.
    assert_eq!(parse("int f(void, int);"), ["function f: int(void, int)"]);
}

#[test]
fn function_pointers_and_complex_declarators() {
    assert_eq!(
        parse("int (*fns[4])(int);"),
        ["variable fns: int(*[4])(int)"]
    );
    assert_eq!(
        parse("void (*signal(int, void (*)(int)))(int);"),
        ["function signal: void(*(int, void(*)(int)))(int)"]
    );
    assert_eq!(
        parse("int (*(*fp)(void))(int, int);"),
        ["variable fp: int(*(*)())(int, int)"]
    );
    assert_eq!(
        parse("char *(*(**foo[2][8])())[];"),
        ["variable foo: char *(*(* *[2][8])())[]"]
    );
    assert_eq!(parse("int (x);"), ["variable x: int"]);
    assert_eq!(parse("int ((*x))[3];"), ["variable x: int(*)[3]"]);
    assert_eq!(parse("int x[5](int);"), ["variable x: int[5](int)"]);
    assert_eq!(
        parse("typedef int fn_t(int); fn_t foo;"),
        ["typedef fn_t: int(int)", "variable foo: fn_t"]
    );
    // A parenthesized name in a parameter, unless the name is a known type.
    assert_eq!(parse("int f(int (x));"), ["function f: int(int)"]);
    assert_eq!(
        parse("typedef int T; int f(int (T));"),
        ["typedef T: int", "function f: int(int(T))"]
    );
    assert_eq!(
        parse("int f(int (size_t));"),
        ["function f: int(int(size_t))"]
    );
    // No parameter starts with '(' or '[': in a parameter, `((...))` is grouping (found by
    // comparing with upstream).
    assert_eq!(
        parse("void f(long ((*)), char (([5])), short ((* const)), int ((*)(void)));"),
        ["function f: void(long *, char[5], short * const, int(*)())"]
    );
    // A qualifier first in parentheses is not C, but pycparser accepts it.
    assert_eq!(
        parse("void f(int ( const * volatile ));"),
        ["function f: void(int * volatile)"]
    );
}

#[test]
fn globals() {
    assert_eq!(
        parse(
            "int a; extern int b; static char *c; const int d; int * const e; extern int n[5][6];"
        ),
        [
            "variable a: int",
            "variable b: int",
            "variable c: char *",
            "variable d: const int",
            "variable e: int * const",
            "variable n: int[5][6]",
        ]
    );
    assert_eq!(
        parse("int a[]; int b[3][];"),
        ["variable a: int[]", "variable b: int[3][]"]
    );
    assert_eq!(
        parse("register int r; auto int a; __thread int t;"),
        ["variable r: int", "variable a: int", "variable t: int"]
    );
}

#[test]
fn initializers() {
    assert_eq!(
        parse("static const int X = 42; int y = -0x10; const long z = 10UL; int o = 010;"),
        [
            "constant X = 42: const int",
            "constant y = -16: int",
            "constant z = 10: const long",
            "constant o = 8: int",
        ]
    );
    // Other initializers are skipped: the declaration is a plain variable.
    assert_eq!(
        parse("const double d = 1.5; int z = {1, 2}; int w = 1 + 2; char *s = \"abc\"; int a[2] = {1, (2)}, b;"),
        [
            "variable d: const double",
            "variable z: int",
            "variable w: int",
            "variable s: char *",
            "variable a: int[2]",
            "variable b: int",
        ]
    );
}

#[test]
fn structs_and_unions() {
    assert_eq!(parse("struct s;"), ["tag struct s"]);
    assert_eq!(parse("union u;"), ["tag union u"]);
    assert_eq!(
        parse("struct s { int a; char *b, c[4]; struct s *next; };"),
        ["tag struct s {a: int, b: char *, c: char[4], next: struct s *}"]
    );
    assert_eq!(
        parse("union u { int i; float f; };"),
        ["tag union u {i: int, f: float}"]
    );
    assert_eq!(parse("struct s { int a;; };"), ["tag struct s {a: int}"]);
    assert_eq!(parse("struct { int a; };"), ["tag struct {...} {a: int}"]);
    assert_eq!(
        parse("typedef struct s { int a; };"),
        ["tag struct s {a: int}"]
    );
    assert_eq!(
        parse("struct s { int a; } x, *p;"),
        [
            "variable x: struct s = struct s {a: int}",
            "variable p: struct s * = struct s {a: int}"
        ]
    );
    assert_eq!(
        parse("typedef struct { int x; } foo_t, *foo_p;"),
        [
            "typedef foo_t: struct {...} = struct {...} {x: int}",
            "typedef foo_p: struct {...} * = struct {...} {x: int}"
        ]
    );
    assert_eq!(parse("typedef struct s s;"), ["typedef s: struct s"]);
    assert_eq!(
        parse("struct s { const int a; volatile char b; };"),
        ["tag struct s {a: const int, b: volatile char}"]
    );
}

#[test]
fn shared_specifier_copies_have_the_same_span() {
    let cdef = parse_cdef("typedef struct { int x; } a, *b;").unwrap();
    let span_of = |d: &Decl| match d {
        Decl::Typedef {
            ty:
                Ty::Base {
                    base: BaseType::Record(r),
                    ..
                },
            ..
        } => r.span,
        Decl::Typedef {
            ty: Ty::Pointer { to, .. },
            ..
        } => match &**to {
            Ty::Base {
                base: BaseType::Record(r),
                ..
            } => r.span,
            _ => panic!(),
        },
        _ => panic!(),
    };
    assert_eq!(span_of(&cdef.decls[0]), span_of(&cdef.decls[1]));
    assert_eq!(
        span_of(&cdef.decls[0]),
        Span {
            file: 0,
            line: 1,
            col: 9
        }
    );
}

#[test]
fn nested_and_anonymous_members() {
    assert_eq!(
        parse("struct s { struct { int x; }; union { int p; float q; } u; int y; };"),
        ["tag struct s {: struct {...} = struct {...} {x: int}, u: union {...} = union {...} {p: int, q: float}, y: int}"]
    );
    // A nested named definition without a member name is an unnamed field (as upstream).
    assert_eq!(
        parse("struct s { struct t { int x; }; int y; };"),
        ["tag struct s {: struct t = struct t {x: int}, y: int}"]
    );
    assert_eq!(
        parse("struct a { struct b { struct c { int z; } c; } b; };"),
        ["tag struct a {b: struct b = struct b {c: struct c = struct c {z: int}}}"]
    );
}

#[test]
fn bitfields() {
    assert_eq!(
        parse("struct s { int a : 3, : 0; unsigned b : 2; int : 3; char c : 1 + 1; };"),
        ["tag struct s {a: int:3, : int:0, b: unsigned int:2, : int:3, c: char:1 + 1}"]
    );
}

#[test]
fn partial_structs() {
    assert_eq!(
        parse("struct s { int a; ...; };"),
        ["tag struct s {a: int, ...}"]
    );
    assert_eq!(
        parse("struct s { ...; int a; };"),
        ["tag struct s {a: int, ...}"]
    );
    assert_eq!(
        parse("typedef struct { ...; } t;"),
        ["typedef t: struct {...} = struct {...} {...}"]
    );
}

#[test]
fn enums() {
    assert_eq!(parse("enum e;"), ["tag enum e"]);
    assert_eq!(parse("enum e { A, B, C };"), ["tag enum e {A, B, C}"]);
    assert_eq!(parse("enum e { A, B, };"), ["tag enum e {A, B}"]);
    assert_eq!(parse("enum { A = 1 };"), ["tag enum {...} {A=1}"]);
    assert_eq!(
        parse("typedef enum { X } e_t;"),
        ["typedef e_t: enum {...} = enum {...} {X}"]
    );
    assert_eq!(
        parse(
            "enum e { A = 1 << 2, B = A | 1, C = (3*4) - 1, D = -7 / 2 % 3, E = ~1 ^ 2 & 3, \
             F = !0 && 1 || 0, G = 1 < 2, H = 1 >= 2, I = 1 == 1, J = 1 != 2, K = 8 >> 1, \
             L = +5, M = 1 <= 2, N = 3 > 2 };"
        ),
        ["tag enum e {A=1 << 2, B=A | 1, C=(3 * 4) - 1, D=(-7 / 2) % 3, E=~1 ^ (2 & 3), \
          F=(!0 && 1) || 0, G=1 < 2, H=1 >= 2, I=1 == 1, J=1 != 2, K=8 >> 1, L=+5, M=1 <= 2, N=3 > 2}"]
    );
    assert_eq!(
        parse("enum e { A = 'A', B = '\\n', C = '\\x41', D = '\\0' };"),
        ["tag enum e {A=65, B=10, C=65, D=0}"]
    );
    assert_eq!(
        parse("enum e { A = 0b101, B = 010u, C = 10LL, D = 0xffULL };"),
        ["tag enum e {A=5, B=8, C=10, D=255}"]
    );
    assert_eq!(
        parse("enum e { A = sizeof(int), B = sizeof(struct s *), C = (unsigned char)300, D = (foo_t)1 };"),
        ["tag enum e {A=sizeof(int), B=sizeof(struct s *), C=(unsigned char)300, D=(foo_t)1}"]
    );
    assert_eq!(
        parse("enum e { A = (B), C = (B) + 1 };"),
        ["tag enum e {A=B, C=B + 1}"]
    );
}

#[test]
fn enum_values_are_kept_as_expressions() {
    let cdef = parse_cdef("enum e { A = N + 1 };").unwrap();
    let Decl::Tag {
        base: BaseType::Enum(e),
        ..
    } = &cdef.decls[0]
    else {
        panic!()
    };
    let value = e.body.as_ref().unwrap().items[0].value.as_ref().unwrap();
    assert_eq!(
        *value,
        Expr::Binary(
            BinaryOp::Add,
            Box::new(Expr::Name(
                "N".into(),
                Span {
                    file: 0,
                    line: 1,
                    col: 14
                }
            )),
            Box::new(Expr::Int(1))
        )
    );
}

#[test]
fn partial_enums() {
    assert_eq!(parse("enum e { A, B, ... };"), ["tag enum e {A, B, ...}"]);
    assert_eq!(parse("enum e { A = ..., B };"), ["tag enum e {A, B, ...}"]);
    assert_eq!(
        parse("enum e { A = ..., B = ... };"),
        ["tag enum e {A, B, ...}"]
    );
}

#[test]
fn arrays() {
    assert_eq!(
        parse("int a[10]; int b[2][3][4]; int c[]; int d[N]; int e[N * 2 + 1]; int f[0x10]; int g[...]; int h[...][...]; int i[][...];"),
        [
            "variable a: int[10]",
            "variable b: int[2][3][4]",
            "variable c: int[]",
            "variable d: int[N]",
            "variable e: int[(N * 2) + 1]",
            "variable f: int[16]",
            "variable g: int[...]",
            "variable h: int[...][...]",
            "variable i: int[][...]",
        ]
    );
    assert_eq!(
        parse("typedef int t[...]; struct s { int a[...]; };"),
        ["typedef t: int[...]", "tag struct s {a: int[...]}"]
    );
    assert_eq!(parse("int *p[...];"), ["variable p: int *[...]"]);
    // C99 array parameters.
    assert_eq!(
        parse("int f(int x[static 5], int y[const]);"),
        ["function f: int(int[5], int[])"]
    );
}

#[test]
fn qualifiers() {
    assert_eq!(
        parse("const char *a; char * const b; volatile int c; int * restrict d; int * __restrict e; int * __restrict__ f; __const int g; int __volatile__ h; const volatile int i;"),
        [
            "variable a: const char *",
            "variable b: char * const",
            "variable c: volatile int",
            "variable d: int * restrict",
            "variable e: int * restrict",
            "variable f: int * restrict",
            "variable g: const int",
            "variable h: volatile int",
            "variable i: const volatile int",
        ]
    );
    assert_eq!(
        parse("int const x; char const * const y;"),
        ["variable x: const int", "variable y: const char * const"]
    );
}

#[test]
fn primitive_spellings_are_canonical() {
    let cases = [
        ("char", "char"),
        ("signed char", "signed char"),
        ("char signed", "signed char"),
        ("unsigned char", "unsigned char"),
        ("short", "short"),
        ("short int", "short"),
        ("signed short", "short"),
        ("short unsigned int", "unsigned short"),
        ("int", "int"),
        ("signed", "int"),
        ("signed int", "int"),
        ("unsigned", "unsigned int"),
        ("unsigned int", "unsigned int"),
        ("long", "long"),
        ("long int", "long"),
        ("int long", "long"),
        ("signed long", "long"),
        ("unsigned long", "unsigned long"),
        ("long unsigned int", "unsigned long"),
        ("long long", "long long"),
        ("long long int", "long long"),
        ("long long unsigned", "unsigned long long"),
        ("unsigned long long int", "unsigned long long"),
        ("long unsigned long", "unsigned long long"),
        ("float", "float"),
        ("double", "double"),
        ("long double", "long double"),
        ("float _Complex", "float _Complex"),
        ("double _Complex", "double _Complex"),
        ("_Complex double", "double _Complex"),
        ("_Complex float", "float _Complex"),
        ("_Bool", "_Bool"),
        ("bool", "_Bool"),
        ("__signed__ int", "int"),
    ];
    for (spelling, canonical) in cases {
        let src = format!("{spelling} x;");
        let cdef = parse_cdef(&src).unwrap();
        let Decl::Variable {
            ty: Ty::Base { base, .. },
            ..
        } = &cdef.decls[0]
        else {
            panic!("{src}")
        };
        assert_eq!(*base, BaseType::Primitive(canonical), "{spelling}");
    }
    let cdef = parse_cdef("void *p;").unwrap();
    let Decl::Variable {
        ty: Ty::Pointer { to, .. },
        ..
    } = &cdef.decls[0]
    else {
        panic!()
    };
    assert_eq!(
        **to,
        Ty::Base {
            base: BaseType::Void,
            quals: Quals::default()
        }
    );
}

#[test]
fn standard_typedef_names_stay_names() {
    for name in [
        "int8_t",
        "uint64_t",
        "int_least16_t",
        "uint_fast32_t",
        "intmax_t",
        "uintmax_t",
        "size_t",
        "ssize_t",
        "ptrdiff_t",
        "intptr_t",
        "uintptr_t",
        "FILE",
        "wchar_t",
        "char16_t",
        "char32_t",
    ] {
        let src = format!("{name} x;");
        let cdef = parse_cdef(&src).unwrap();
        let Decl::Variable {
            ty: Ty::Base { base, .. },
            ..
        } = &cdef.decls[0]
        else {
            panic!("{src}")
        };
        assert_eq!(*base, BaseType::Name(name.into()));
    }
    // ...so that they can be redefined, as can bool.
    assert_eq!(
        parse("typedef char FILE; typedef int bool, *wchar_t;"),
        [
            "typedef FILE: char",
            "typedef bool: int",
            "typedef wchar_t: int *"
        ]
    );
}

#[test]
fn dotdotdot_typedefs() {
    assert_eq!(
        parse("typedef int... a; typedef unsigned long ... b; typedef long long... c; typedef char... d;"),
        ["typedef a: int...", "typedef b: int...", "typedef c: int...", "typedef d: int..."]
    );
    assert_eq!(
        parse("typedef float... f; typedef double... g;"),
        ["typedef f: double...", "typedef g: double..."]
    );
    assert_eq!(
        parse("typedef ... o; typedef ... *p; typedef const ... q;"),
        ["typedef o: ...", "typedef p: ... *", "typedef q: const ..."]
    );
    let cdef = parse_cdef("typedef int... a; typedef double... b; typedef ... c;").unwrap();
    let bases: Vec<BaseType> = cdef
        .decls
        .iter()
        .map(|d| match d {
            Decl::Typedef {
                ty: Ty::Base { base, .. },
                ..
            } => base.clone(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        bases,
        [
            BaseType::UnknownInt,
            BaseType::UnknownFloat,
            BaseType::Opaque
        ]
    );
}

#[test]
fn defines() {
    assert_eq!(
        parse("#define A 42\n#define B 0x10UL\n#define C 010\n#define D -5\n#define E ...\n#define F 0XfFu\n#define G 7ll\n#define H 0"),
        [
            "define A = 42",
            "define B = 16",
            "define C = 8",
            "define D = -5",
            "define E = ...",
            "define F = 255",
            "define G = 7",
            "define H = 0",
        ]
    );
    // Spacing, comments and line continuations.
    assert_eq!(
        parse("  #  define A 1 // one\n#define B /* two */ 2\n#define C\\\n  3\n\t#define\tD\t4\t"),
        [
            "define A = 1",
            "define B = 2",
            "define C = 3",
            "define D = 4"
        ]
    );
    // All #defines come first, whatever their position, as upstream registers them first.
    assert_eq!(
        parse("enum e { X = N };\n#define N 5\nstruct s {\n#define M 6\n int a; };"),
        [
            "define N = 5",
            "define M = 6",
            "tag enum e {X=N}",
            "tag struct s {a: int}"
        ]
    );
}

#[test]
fn define_spans() {
    let cdef = parse_cdef("\n  #define   ABC 1").unwrap();
    let Decl::Define { span, .. } = &cdef.decls[0] else {
        panic!()
    };
    assert_eq!(
        *span,
        Span {
            file: 0,
            line: 2,
            col: 13
        }
    );
}

#[test]
fn extern_python() {
    assert_eq!(
        parse("extern \"Python\" int f(int);\nint g(int);\nextern \"Python+C\" long h(void);\nextern \"C+Python\" void k(void);"),
        [
            "function f: int(int) [extern Python]",
            "function g: int(int)",
            "function h: long() [extern Python+C]",
            "function k: void() [extern Python+C]",
        ]
    );
    assert_eq!(
        parse("int bok(int);\nextern \"Python\" {int foobar(int, int);int bzrrr(int);}\nint baz(int, int);"),
        [
            "function bok: int(int)",
            "function foobar: int(int, int) [extern Python]",
            "function bzrrr: int(int) [extern Python]",
            "function baz: int(int, int)",
        ]
    );
    assert_eq!(
        parse("extern \"Python + C\" { int a(void); ; }"),
        ["function a: int() [extern Python+C]"]
    );
    assert_eq!(
        parse("extern \"Python\" int a(void), b(int);"),
        [
            "function a: int() [extern Python]",
            "function b: int(int) [extern Python]"
        ]
    );
    // Types may be declared inside the block.
    assert_eq!(
        parse("extern \"Python\" { typedef int t; t f(t); }"),
        ["typedef t: int", "function f: t(t) [extern Python]"]
    );
}

#[test]
fn calling_conventions() {
    let cc = |src: &str| -> Vec<CallConv> {
        fn find(ty: &Ty, out: &mut Vec<CallConv>) {
            match ty {
                Ty::Pointer { to, .. } => find(to, out),
                Ty::Array { of, .. } => find(of, out),
                Ty::Function(sig) => {
                    out.push(sig.callconv);
                    find(&sig.result, out);
                }
                Ty::Base { .. } => {}
            }
        }
        let mut out = Vec::new();
        for d in parse_cdef(src).unwrap().decls {
            match d {
                Decl::Function { sig, .. } => find(&Ty::Function(Box::new(sig)), &mut out),
                Decl::Typedef { ty, .. } | Decl::Variable { ty, .. } => find(&ty, &mut out),
                _ => {}
            }
        }
        out
    };
    use CallConv::*;
    assert_eq!(cc("int __stdcall f(int);"), [Stdcall]);
    assert_eq!(cc("int WINAPI f(int);"), [Stdcall]);
    assert_eq!(cc("__stdcall int f(int);"), [Stdcall]);
    assert_eq!(cc("int (__stdcall *fp)(int);"), [Stdcall]);
    assert_eq!(cc("int * __stdcall f(int);"), [Stdcall]);
    assert_eq!(cc("typedef int (WINAPI *fp)(int);"), [Stdcall]);
    assert_eq!(
        cc("int __cdecl f(void); int (__cdecl *g)(void);"),
        [Cdecl, Cdecl]
    );
    assert_eq!(cc("int f(void);"), [Default]);
    // The convention of a returned function pointer is its own.
    assert_eq!(cc("int (__stdcall *(*f)(void))(int);"), [Default, Stdcall]);
    assert_eq!(
        parse("int (__stdcall *fp)(int);"),
        ["variable fp: int(__stdcall *)(int)"]
    );
}

#[test]
fn decorations_that_change_layouts_are_refused() {
    for src in [
        "struct s { int a; char b; } __attribute__((packed));",
        "struct s { int a __attribute__((__aligned__(8))); };",
        "struct s { _Alignas(8) int a; };",
        "__declspec(align(16)) struct s { int a; };",
    ] {
        let err = cdecl::parse_cdef(src).unwrap_err();
        assert!(err.message.contains("changes the layout of C data"), "{src}: {}", err.message);
    }
}

#[test]
fn gcc_decorations_are_skipped() {
    assert_eq!(
        parse(
            "__extension__ typedef long long ll_t;\n\
             extern int f(int) __attribute__((nothrow, leaf)) __attribute__ ((__format__ (__printf__, 1, 2)));\n\
             struct __attribute__((unused)) s { int a __attribute__((deprecated)); } __attribute__((x));\n\
             extern int g(void) __asm__(\"\" \"g2\");\n\
             static __inline__ int h(void);\n\
             __declspec(dllimport) int k(void);\n\
             int * __restrict m;\n\
             extern __inline __attribute__ ((__gnu_inline__)) int n(int);"
        ),
        [
            "typedef ll_t: long long",
            "function f: int(int)",
            "tag struct s {a: int}",
            "function g: int()",
            "function h: int()",
            "function k: int()",
            "variable m: int * restrict",
            "function n: int(int)",
        ]
    );
}

#[test]
fn pragmas_are_ignored() {
    assert_eq!(
        parse("#pragma pack(1)\nint x;\n# pragma once\n"),
        ["variable x: int"]
    );
}

#[test]
fn comments() {
    assert_eq!(
        parse("int /* a */ x; // b\n/* multi\nline */ int y; /**/int z;//\n"),
        ["variable x: int", "variable y: int", "variable z: int"]
    );
}

#[test]
fn line_comments_and_backslashes() {
    // From upstream's test_parsing.py: a backslash escapes the next character in a `//`
    // comment, so only a lone backslash before the newline continues the comment.
    assert_eq!(
        parse(
            "\n        double // blah \\\n                  more comments\n        x(void);\n        \
             double // blah // blah\\\\\n        y(void);\n        \
             double // blah\\                   etc\n        z(void);\n    "
        ),
        ["function x: double()", "function y: double()", "function z: double()"]
    );
}

#[test]
fn spans_and_line_directives() {
    let src = "int a;\n  int b;\n# 42 \"foo.h\"\nint c;\n#line 7\nint d;\n# 1 \"bar.h\" 1 3 4\n\n int e;\n";
    let cdef = parse_cdef(src).unwrap();
    let spans: Vec<Span> = cdef
        .decls
        .iter()
        .map(|d| match d {
            Decl::Variable { span, .. } => *span,
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        spans,
        [
            Span {
                file: 0,
                line: 1,
                col: 5
            },
            Span {
                file: 0,
                line: 2,
                col: 7
            },
            Span {
                file: 1,
                line: 42,
                col: 5
            },
            Span {
                file: 1,
                line: 7,
                col: 5
            },
            Span {
                file: 2,
                line: 2,
                col: 6
            },
        ]
    );
    assert_eq!(cdef.files, ["<cdef source string>", "foo.h", "bar.h"]);
    // Directives in comments are comments.
    let cdef = parse_cdef("/*\n# 5 \"x.c\"\n*/ int a;").unwrap();
    assert_eq!(cdef.files.len(), 1);
    // A line directive may end a line of code, as pycparser allows.
    let cdef = parse_cdef("int x; # 5 \"a.h\"\nint y;").unwrap();
    let Decl::Variable { span, .. } = &cdef.decls[1] else {
        panic!()
    };
    assert_eq!(
        *span,
        Span {
            file: 1,
            line: 5,
            col: 5
        }
    );
}

#[test]
fn field_and_enumerator_spans() {
    let cdef = parse_cdef("struct s {\n  int a;\n  int : 3;\n};\nenum e {\n    X,\n};").unwrap();
    let Decl::Tag {
        base: BaseType::Record(r),
        span,
    } = &cdef.decls[0]
    else {
        panic!()
    };
    assert_eq!(
        *span,
        Span {
            file: 0,
            line: 1,
            col: 1
        }
    );
    let fields = &r.body.as_ref().unwrap().fields;
    assert_eq!(
        fields[0].span,
        Span {
            file: 0,
            line: 2,
            col: 7
        }
    );
    assert_eq!(
        fields[1].span,
        Span {
            file: 0,
            line: 3,
            col: 7
        }
    );
    let Decl::Tag {
        base: BaseType::Enum(e),
        ..
    } = &cdef.decls[1]
    else {
        panic!()
    };
    assert_eq!(
        e.body.as_ref().unwrap().items[0].span,
        Span {
            file: 0,
            line: 6,
            col: 5
        }
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    let cdef = parse_cdef("/* é */ int x;").unwrap();
    let Decl::Variable { span, .. } = &cdef.decls[0] else {
        panic!()
    };
    assert_eq!(span.col, 13);
}

#[test]
fn big_generated_input() {
    let mut src = String::new();
    for i in 0..5000 {
        src += &format!("#define C{i} {i}\n");
        src += &format!(
            "typedef struct s{i} {{ int a; char *b[{}]; struct s{i} *next; }} s{i}_t;\n",
            i % 7 + 1
        );
        src += &format!("int f{i}(s{i}_t *self, const char *name, unsigned long n, ...);\n");
        src += &format!("enum e{i} {{ E{i}_A = {i}, E{i}_B = E{i}_A + 1, E{i}_C }};\n");
        src += &format!("extern int (*g{i}[2])(void (*)(int), long long);\n");
    }
    let cdef = parse_cdef(&src).unwrap();
    assert_eq!(cdef.decls.len(), 5 * 5000);
    let summaries: Vec<String> = cdef.decls.iter().map(common::decl_summary).collect();
    assert_eq!(summaries[0], "define C0 = 0");
    assert_eq!(
        summaries[5000],
        "typedef s0_t: struct s0 = struct s0 {a: int, b: char *[1], next: struct s0 *}"
    );
    assert_eq!(
        summaries[5001],
        "function f0: int(s0_t *, const char *, unsigned long, ...)"
    );
    assert_eq!(summaries[5002], "tag enum e0 {E0_A=0, E0_B=E0_A + 1, E0_C}");
    assert_eq!(
        summaries[5003],
        "variable g0: int(*[2])(void(*)(int), long long)"
    );
    assert_eq!(
        summaries.last().unwrap(),
        "variable g4999: int(*[2])(void(*)(int), long long)"
    );
}

#[test]
fn output_keeps_source_order() {
    assert_eq!(
        parse("int a; typedef int t; struct s; int f(void); enum e { E };"),
        [
            "variable a: int",
            "typedef t: int",
            "tag struct s",
            "function f: int()",
            "tag enum e {E}"
        ]
    );
    let _ = parse_err; // used by the error tests
}

#[test]
fn abstract_function_types_with_qualified_parameters() {
    // `(const void *)` after a type is a parameter list, not parentheses around a declarator.
    assert_eq!(
        parse("void qsort_like(int(const void *, const void *)); void g(int (*)(volatile int));"),
        [
            "function qsort_like: void(int(const void *, const void *))",
            "function g: void(int(*)(volatile int))",
        ]
    );
}

#[test]
fn simple_declarators_read_as_the_general_form() {
    // Pointers and a name (the common case) are read by a shorter path; parentheses around the
    // name take the general one. Both must give the same declarations, spans included.
    let simple = "typedef int *const *volatile p, q; char *__restrict__ s; \
                  struct t { char **a, b : 3; const int *c; }; \
                  void f(const char *x, int *, unsigned long **restrict y, int z);";
    let general = "typedef int *const *volatile (p), (q); char *__restrict__ (s); \
                   struct t { char **(a), (b) : 3; const int *(c); }; \
                   void f(const char *(x), int *, unsigned long **restrict (y), int (z));";
    let a = parse_cdef(simple).unwrap();
    let b = parse_cdef(general).unwrap();
    assert_eq!(a.decls.len(), b.decls.len());
    for (x, y) in a.decls.iter().zip(&b.decls) {
        // Spans differ by the parentheses; everything else must not.
        let (x, y) = (format!("{x:?}"), format!("{y:?}"));
        let strip = |s: &str| {
            let mut out = String::new();
            for part in s.split("span: Span {") {
                out += part.split_once('}').map_or(part, |(_, rest)| rest);
            }
            out
        };
        assert_eq!(strip(&x), strip(&y));
    }
    // Errors after a simple declarator point where they did.
    assert_eq!(parse_err("int *x int y;").col, 8);
    assert_eq!(parse_err("void f(char *s int);").col, 16);
}
