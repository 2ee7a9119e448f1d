//! `parse_type_name`: the grammar of upstream's parse_c_type.c, its error messages and the byte
//! positions they point at (the cases pinned by upstream's test_parse_c_type.py, and more).

use cdecl::*;

fn shown(text: &str) -> String {
    match parse_type_name(text) {
        Ok(ty) => ty.to_string(),
        Err(e) => panic!("{text:?}: {} at {}", e.message, e.pos),
    }
}

fn err(text: &str) -> (&'static str, usize) {
    match parse_type_name(text) {
        Ok(ty) => panic!("{text:?} parsed as {ty}"),
        Err(e) => (e.message, e.pos),
    }
}

#[test]
fn accepted_forms() {
    for (text, expected) in [
        ("int", "int"),
        ("int *", "int *"),
        ("int[5][6]", "int[5][6]"),
        ("int[]", "int[]"),
        ("int[10][]", "int[10][]"),
        ("int[][8]", "int[][8]"),
        ("char *[5]", "char *[5]"),
        ("int(*)(int, long, ...)", "int(*)(int, long, ...)"),
        ("int(int)", "int(int)"),
        ("int()", "int()"),
        ("int(void)", "int()"),
        ("int*(void)", "int *()"),
        ("int(...)", "int(...)"),
        ("struct foo", "struct foo"),
        ("union u *", "union u *"),
        ("enum e", "enum e"),
        ("enum e*", "enum e *"),
        ("foo_t *", "foo_t *"),
        ("unsigned", "unsigned int"),
        ("const char *", "const char *"),
        ("int(*[5])(int)", "int(*[5])(int)"),
        ("int(*(*)())(int, int)", "int(*(*)())(int, int)"),
        ("void(__stdcall *)(int)", "void(__stdcall *)(int)"),
        ("int __stdcall(int)", "int __stdcall(int)"),
        ("int __stdcall func(int)", "int __stdcall(int)"),
        ("int (__stdcall *p)()", "int(__stdcall *)()"),
        ("int(__cdecl *)(int)", "int(__cdecl *)(int)"),
        ("int*[]", "int *[]"),
        ("int**[][8]", "int * *[][8]"),
        ("int(*)[]", "int(*)[]"),
        ("int(*)[][8]", "int(*)[][8]"),
        ("int**(**)", "int * * * *"),
        ("int**(**)[]", "int * *(* *)[]"),
        ("int(*())[]", "int(*())[]"),
        ("int(char(*)(long, short))", "int(char(*)(long, short))"),
        ("int(char(long, short))", "int(char(long, short))"),
        ("int(char[])", "int(char[])"),
        ("int a", "int"),
        ("int *x[5]", "int *[5]"),
        ("int[N]", "int[N]"),
        ("int[0x10]", "int[16]"),
        ("char[0X21]", "char[33]"),
        ("char[0Xb]", "char[11]"),
        ("char[010]", "char[8]"),
        ("char[0]", "char[0]"),
        ("  long  ", "long"),
        ("long int", "long"),
        ("signed int", "int"),
        ("unsigned short", "unsigned short"),
        ("long double", "long double"),
        (" float  _Complex", "float _Complex"),
        ("double _Complex ", "double _Complex"),
        ("_cffi_float_complex_t", "float _Complex"),
        (" _cffi_double_complex_t", "double _Complex"),
        ("signed char", "signed char"),
        ("unsigned char", "unsigned char"),
        ("char", "char"),
        ("_Bool", "_Bool"),
        ("bool", "_Bool"),
        ("unsigned long long int", "unsigned long long"),
        ("long long", "long long"),
        ("short", "short"),
        ("void", "void"),
        ("void *", "void *"),
        ("size_t", "size_t"),
        ("$struct_name", "$struct_name"),
        ("struct $1 *", "struct $1 *"),
        ("int const * const", "const int * const"),
        ("volatile int", "volatile int"),
        ("int\0garbage", "int"),
    ] {
        assert_eq!(shown(text), expected, "{text:?}");
    }
}

#[test]
fn names_in_array_lengths_keep_their_position() {
    let Ty::Array {
        len: ArrayLen::Expr(Expr::Name(name, span)),
        ..
    } = parse_type_name("int[FIVE]").unwrap()
    else {
        panic!()
    };
    assert_eq!(name, "FIVE");
    assert_eq!(span.col - 1, 4); // the byte offset upstream points at for "expected a positive integer constant"
}

#[test]
fn upstream_errors() {
    for (text, message, pos) in [
        (
            "short short int",
            "'short' after another 'short' or 'long'",
            6,
        ),
        ("long long long", "'long long long' is too long", 10),
        ("short long", "'long' after 'short'", 6),
        ("signed unsigned int", "multiple 'signed' or 'unsigned'", 7),
        ("unsigned signed int", "multiple 'signed' or 'unsigned'", 9),
        ("long char", "invalid combination of types", 5),
        ("short char", "invalid combination of types", 6),
        ("signed void", "invalid combination of types", 7),
        ("unsigned struct", "invalid combination of types", 9),
        ("unsigned double", "invalid combination of types", 9),
        ("long float", "invalid combination of types", 5),
        ("", "identifier expected", 0),
        ("]", "identifier expected", 0),
        ("*", "identifier expected", 0),
        ("int ]**", "unexpected symbol", 4),
        ("char char", "unexpected symbol", 5),
        ("int(int]", "expected ')'", 7),
        ("int(*]", "expected ')'", 5),
        ("int(]", "identifier expected", 4),
        ("int[?]", "expected a positive integer constant", 4),
        ("int[-5]", "expected a positive integer constant", 4),
        ("int[...]", "expected a positive integer constant", 4),
        ("int[24)", "expected ']'", 6),
        ("struct", "struct or union name expected", 6),
        ("struct 24", "struct or union name expected", 7),
        ("struct struct", "struct or union name expected", 7),
        ("union *", "struct or union name expected", 6),
        ("enum", "enum name expected", 4),
        ("enum 5", "enum name expected", 5),
        ("int[5](*)", "unexpected symbol", 6),
        ("int a(*)", "identifier expected", 6),
        ("int[123456789012345678901234567890]", "number too large", 4),
        ("_Complex", "identifier expected", 0),
        ("int _Complex", "_Complex type combination unsupported", 4),
        (
            "long double _Complex",
            "_Complex type combination unsupported",
            12,
        ),
        ("char[08]", "invalid number", 5),
        ("char[1C]", "invalid number", 5),
        ("char[0C]", "invalid number", 5),
        ("char[0x]", "invalid number", 5),
        ("__stdcall int", "identifier expected", 0),
        ("__cdecl int", "identifier expected", 0),
        ("int __stdcall", "expected '('", 13),
        ("int __cdecl", "expected '('", 11),
        ("int (*__stdcall)(int)", "expected '('", 15),
        ("\t\n\x01\x1f~\x7f\u{80}\u{ff}", "identifier expected", 2),
        ("int é", "unexpected symbol", 4),
        ("int(int, )", "identifier expected", 9),
        ("int(...,int)", "expected ')'", 7),
        ("const", "identifier expected", 5),
        ("unsigned const int", "unexpected symbol", 15),
        ("int * )", "unexpected symbol", 6),
    ] {
        assert_eq!(err(text), (message, pos), "{text:?}");
    }
}

#[test]
fn number_limits() {
    assert_eq!(
        shown(&format!("char[{}]", i64::MAX)),
        format!("char[{}]", i64::MAX)
    );
    assert_eq!(
        err(&format!("char[{}]", i64::MAX as u64 + 1)),
        ("number too large", 5)
    );
    assert_eq!(err("char[0xffffffffffffffffffff]"), ("number too large", 5));
}

#[test]
fn complexity_limit() {
    // 1200 opcodes as in upstream's ffi.typeof(): the base type, then one per '[]'.
    assert_eq!(
        err(&format!("int{}", "[]".repeat(2500))),
        ("internal type complexity limit reached", 2402)
    );
    assert!(parse_type_name(&format!("int{}", "[]".repeat(1199))).is_ok());
    assert!(parse_type_name(&format!("int{}", "[]".repeat(1200))).is_err());
    // Arrays with a length take two, pointers one.
    assert!(parse_type_name(&format!("int{}", "[1]".repeat(599))).is_ok());
    assert!(parse_type_name(&format!("int{}", "[1]".repeat(600))).is_err());
    assert!(parse_type_name(&format!("int{}", "*".repeat(1199))).is_ok());
    assert_eq!(
        err(&format!("int{}", "*".repeat(1300))),
        ("internal type complexity limit reached", 1202)
    );
    // Functions take one, plus one per comma-separated argument, plus two.
    assert_eq!(
        err(&format!("int({})", "int,".repeat(1300))),
        ("internal type complexity limit reached", 4)
    );
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    // Deep but within the complexity limit (each level costs two opcodes): parses.
    let deep = format!("int{}{}", "(*".repeat(599), ")".repeat(599));
    let depth_ok = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || parse_type_name(&deep).map(|ty| ty.to_string().len()))
        .unwrap()
        .join()
        .unwrap();
    assert!(depth_ok.is_ok());
    // Deeper: the complexity limit stops it.
    for text in [
        format!("int{}{}", "(*".repeat(5000), ")".repeat(5000)),
        format!("int{}", "(int".repeat(5000)),
        format!("int{}", "(*)(int".repeat(5000)),
    ] {
        let r = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || parse_type_name(&text))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(
            r.unwrap_err().message,
            "internal type complexity limit reached"
        );
    }
}

#[test]
fn huge_identifiers() {
    let name = "x".repeat(1 << 20);
    assert_eq!(shown(&name), name);
    assert_eq!(
        err(&format!("int {name} {name}")),
        ("unexpected symbol", (1 << 20) + 5)
    );
}

#[test]
fn function_parameters_are_kept_as_written() {
    let Ty::Function(sig) = parse_type_name("int(char[], long(int), ...)").unwrap() else {
        panic!()
    };
    assert!(sig.variadic);
    assert_eq!(sig.params.len(), 2);
    assert!(matches!(sig.params[0].ty, Ty::Array { .. }));
    assert!(matches!(sig.params[1].ty, Ty::Function(_)));
    assert_eq!(sig.callconv, CallConv::Default);
    let Ty::Function(sig) = parse_type_name("int __stdcall(int)").unwrap() else {
        panic!()
    };
    assert_eq!(sig.callconv, CallConv::Stdcall);
}

#[test]
fn error_display() {
    let e = parse_type_name("int[").unwrap_err();
    assert_eq!(
        e.to_string(),
        "expected a positive integer constant (at byte 4)"
    );
}
