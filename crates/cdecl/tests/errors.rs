//! Every error path of `parse_cdef`: upstream's wording first, then our message, with the line,
//! column and source line.

mod common;

use cdecl::*;
use common::parse_err;

/// Checks kind-independent fields: message, line and column.
fn check(src: &str, message: &str, line: u32, col: u32) -> CdefError {
    let e = parse_err(src);
    assert_eq!(
        (e.message.as_str(), e.line, e.col),
        (message, line, col),
        "for {src:?}:\n{e}"
    );
    e
}

fn syntax(e: &CdefError) -> &str {
    match &e.kind {
        ErrorKind::Syntax { detail } => detail,
        other => panic!("not a syntax error: {other:?}"),
    }
}

#[test]
fn syntax_error_display_starts_like_upstream() {
    let e = check(
        "int x y;",
        "unexpected 'y', expected ',', ';' or '=' after the declarator of 'x'",
        1,
        7,
    );
    assert_eq!(syntax(&e), "before: y");
    assert_eq!(e.file, "<cdef source string>");
    assert_eq!(e.source_line, "int x y;");
    assert_eq!(
        e.to_string(),
        "cannot parse \"int x y;\"\n<cdef source string>:1:7: before: y\n\
         unexpected 'y', expected ',', ';' or '=' after the declarator of 'x'\n  \
         --> <cdef source string>:1:7\n   | int x y;\n   |       ^"
    );
    // The quoted line is stripped; the excerpt keeps it verbatim, tabs included.
    let e = check(
        "\n\n\n x y z ",
        "unexpected 'z', expected ',', ';' or '=' after the declarator of 'y' \
         (note: 'x' was read as a type name; is that right?)",
        4,
        6,
    );
    assert!(e
        .to_string()
        .starts_with("cannot parse \"x y z\"\n<cdef source string>:4:6: before: z\n"));
    let e = check(
        "\tint\tx\ty;",
        "unexpected 'y', expected ',', ';' or '=' after the declarator of 'x'",
        1,
        8,
    );
    assert!(
        e.to_string()
            .ends_with("   | \tint\tx\ty;\n   | \t   \t \t^"),
        "{e}"
    );
}

#[test]
fn errors_at_the_end_of_input() {
    for src in [
        "int x",
        "struct s {",
        "int f(",
        "int x[5",
        "typedef",
        "enum e { A = ",
    ] {
        let e = parse_err(src);
        assert_eq!(syntax(&e), "At end of input", "{src}");
        assert!(
            e.to_string().starts_with(
                "parse error\n<cdef source string>: At end of input\nunexpected end of input"
            ),
            "{e}"
        );
    }
}

#[test]
fn errors_after_line_directives() {
    // Upstream (pycparser) knows that `a` is no type and complains at `b`; we cannot know, as
    // it might come from an earlier cdef(), so the message names our guess.
    let e = check(
        "\n# 42 \"foobar\"\n\n    a b c d\n",
        "unexpected 'c', expected ',', ';' or '=' after the declarator of 'b' \
         (note: 'a' was read as a type name; is that right?)",
        43,
        9,
    );
    assert_eq!(e.file, "foobar");
    assert!(
        e.to_string()
            .starts_with("parse error\nfoobar:43:9: before: c\n"),
        "{e}"
    );
    let e = parse_err(
        "\n        \t # \t line \t 8 \t \"baz.c\" \t\n\n        some syntax error here\n",
    );
    assert!(
        e.to_string()
            .starts_with("parse error\nbaz.c:9:21: before: error\n"),
        "{e}"
    );
    let e = parse_err("\n        #line 7 \"foo//bar.c\"\n\n        some syntax error here\n");
    assert!(
        e.to_string()
            .starts_with("parse error\nfoo//bar.c:8:21: before: error\n"),
        "{e}"
    );
    let e = parse_err(
        " #line 5 \"foo.c\"\n        extern int xx;\n        #line 6 \"bar.c\"\n        extern int yy;\n        \
         #line 7 \"baz.c\"\n        some syntax error here\n        #line 8 \"yadda.c\"\n        extern int zz;\n",
    );
    assert!(
        e.to_string()
            .starts_with("parse error\nbaz.c:7:21: before: error\n"),
        "{e}"
    );
    let e = parse_err("\n/*\n# 5 \"foo.c\"\n*/\nvoid xx(void);\n\n# 6 \"bar.c\"\n/*\n# 35 \"foo.c\"\n*/\nsome syntax error\n");
    assert!(
        e.to_string()
            .starts_with("parse error\nbar.c:9:13: before: error\n"),
        "{e}"
    );
    // Without a file name, only the line changes.
    let e = check(
        "#line 100\nint x y;",
        "unexpected 'y', expected ',', ';' or '=' after the declarator of 'x'",
        100,
        7,
    );
    assert_eq!(e.file, "<cdef source string>");
}

#[test]
fn illegal_characters() {
    let e = check(
        "int é;",
        "unexpected character 'é', expected a name to declare (an identifier or '(')",
        1,
        5,
    );
    assert_eq!(syntax(&e), "Illegal character 'é'");
    let e = parse_err("int @;");
    assert_eq!(syntax(&e), "Illegal character '@'");
    let e = parse_err("int \u{1};");
    assert_eq!(syntax(&e), "Illegal character '\\x01'");
    let e = parse_err("int x; \\");
    assert_eq!(syntax(&e), "Illegal character '\\\\'");
}

#[test]
fn unsupported_directives() {
    let e = check(
        "#include <stdio.h>",
        "'#include' is not supported in cdef(): only '#define NAME <integer>', '#define NAME ...', \
         line directives ('# 42 \"file.h\"') and '#pragma' (ignored) are",
        1,
        1,
    );
    assert_eq!(syntax(&e), "Directives not supported yet");
    assert!(e.to_string().starts_with("cannot parse \"#include <stdio.h>\"\n<cdef source string>:1:1: Directives not supported yet\n"));
    for (src, col) in [
        ("#if 1", 1),
        ("  #ifdef X", 3),
        ("#undef X", 1),
        ("int x; #define Y 5", 8),
        ("#define 5", 1),
        ("#", 1),
        ("#line", 1),
    ] {
        let e = parse_err(src);
        assert_eq!(
            (syntax(&e), e.col),
            ("Directives not supported yet", col),
            "{src}"
        );
    }
}

#[test]
fn bad_line_directives() {
    for (src, detail, col) in [
        ("#line \"f.h\" 5", "filename before line number in #line", 7),
        ("#line x", "invalid #line directive", 7),
        ("# 5 x", "invalid #line directive", 5),
        ("# 5 \"f.h\" x", "invalid #line directive", 11),
        ("# 5 \"f.h", "invalid #line directive", 5),
        ("#line ", "line number missing in #line", 7),
        ("# 99999999999", "invalid #line directive", 3),
    ] {
        let e = parse_err(src);
        assert_eq!((syntax(&e), e.col), (detail, col), "{src}");
        assert_eq!(e.message, format!("{detail}: expected '# NUMBER \"FILE\"'"));
    }
}

#[test]
fn bad_defines() {
    let e = check(
        "#define FOO \"blah\"",
        "only supports one of the following syntax:\n  #define FOO ...     (literally dot-dot-dot)\n  \
         #define FOO NUMBER  (with NUMBER an integer constant, decimal/hex/octal)\ngot:\n  #define FOO \"blah\"",
        1,
        9,
    );
    assert_eq!(e.kind, ErrorKind::Plain);
    assert!(e
        .to_string()
        .starts_with("only supports one of the following syntax:\n"));
    for (src, got) in [
        ("#define X 1 2", "#define X 1 2"),
        ("#define X(a) a", "#define X (a) a"),
        ("#define X", "#define X "),
        ("#define X 08", "#define X 08"),
        ("#define X abc", "#define X abc"),
        ("#define X 0x", "#define X 0x"),
        ("#define X 0b1", "#define X 0b1"),
        ("#define X 1.5", "#define X 1.5"),
        ("#define X - 5", "#define X - 5"),
    ] {
        let e = parse_err(src);
        assert!(e.message.ends_with(&format!("got:\n  {got}")), "{src}: {e}");
    }
    let e = parse_err("#define X 99999999999999999999999999999999999999999999");
    assert_eq!(e.message, "integer constant too large (it must fit in 128 bits):\n  #define X 99999999999999999999999999999999999999999999");
    // A syntax error elsewhere is reported first, as upstream checks #defines after parsing.
    let e = parse_err("#define X abc\nint x y;");
    assert_eq!(syntax(&e), "before: y");
    // The error names the first bad #define.
    let e = parse_err("#define X 1\n#define Y abc\n#define Z def");
    assert_eq!((e.line, e.col), (2, 9));
}

#[test]
fn lexical_errors() {
    let e = check(
        "int x; /* never closed",
        "unterminated comment: '/*' without '*/'",
        1,
        8,
    );
    assert_eq!(syntax(&e), "before: /");
    let e = check("int x = \"abc;", "unterminated string literal", 1, 9);
    assert_eq!(syntax(&e), "before: \"abc;");
    check("int x = 'a;", "unterminated character constant", 1, 9);
    let e = check(
        "int x __attribute__((",
        "unbalanced parentheses after __attribute__/__asm__/__declspec",
        1,
        20,
    );
    assert_eq!(syntax(&e), "At end of input");
}

#[test]
fn function_definitions_are_refused() {
    let e = check(
        "int f(void) {}",
        "unexpected <FuncDef>: this construct is valid C but not valid in cdef()",
        1,
        5,
    );
    assert_eq!(e.kind, ErrorKind::Decl);
    assert!(e.to_string().starts_with(
        "<cdef source string>:1: unexpected <FuncDef>: this construct is valid C but not valid in cdef()\n"
    ));
    check(
        "\nint f(int x) { return x; }",
        "unexpected <FuncDef>: this construct is valid C but not valid in cdef()",
        2,
        5,
    );
}

#[test]
fn declarations_without_names() {
    let e = check(
        "int;",
        "a declaration without a name: expected a declarator before ';'",
        1,
        1,
    );
    assert_eq!(syntax(&e), "Invalid declaration");
    let e = check(
        "typedef int;",
        "a typedef without a name: expected a declarator before ';'",
        1,
        9,
    );
    assert_eq!(syntax(&e), "Invalid declaration");
    check(
        "const unsigned;",
        "a declaration without a name: expected a declarator before ';'",
        1,
        7,
    );
    check(
        "int *;",
        "unexpected ';', expected a name to declare (an identifier or '(')",
        1,
        6,
    );
    check(
        "struct;",
        "unexpected ';', expected a struct or union name or '{'",
        1,
        7,
    );
    check("enum;", "unexpected ';', expected a enum name or '{'", 1, 5);
    check(
        "const;",
        "unexpected ';', expected a type (e.g. 'int', a typedef name or 'struct ...')",
        1,
        6,
    );
    check(
        "static x;",
        "a declaration without a name: expected a declarator before ';'",
        1,
        8,
    );
}

#[test]
fn only_variadic_functions() {
    let e = check(
        "int foo(...);",
        "foo: a function with only '(...)' as argument is not correct C",
        1,
        5,
    );
    assert_eq!(e.kind, ErrorKind::Decl);
    assert_eq!(
        e.to_string().lines().next().unwrap(),
        "<cdef source string>:1: foo: a function with only '(...)' as argument is not correct C"
    );
    check(
        "int (*fp)(...);",
        "in expression: a function with only '(...)' as argument is not correct C",
        1,
        7,
    );
    check(
        "typedef int f_t(...);",
        "f_t: a function with only '(...)' as argument is not correct C",
        1,
        13,
    );
    check(
        "void g(int (*)(...));",
        "in expression: a function with only '(...)' as argument is not correct C",
        1,
        15,
    );
}

#[test]
fn misplaced_dotdotdot() {
    let msg = "unsupported '[...]' here, cannot derive the actual array length in this context";
    let e = check("int f(int a[...]);", msg, 1, 11);
    assert_eq!(e.kind, ErrorKind::Ffi { with_line: true });
    assert!(e.to_string().starts_with(&format!(":1: {msg}\n")));
    check("int (*x)[...];", msg, 1, 7);
    check("typedef int (*p)[...];", msg, 1, 15);
    check("struct s { int (*a)[...]; };", msg, 1, 18);
    check("int x[sizeof(int[...])];", msg, 1, 22);
    let e = check("typedef ...** q;", "bad usage of \"...\"", 1, 15);
    assert_eq!(e.kind, ErrorKind::Ffi { with_line: true });
    check("extern ... x;", "bad usage of \"...\"", 1, 12);
    check("int... x;", "bad usage of \"...\"", 1, 8);
    check("struct s { int... x; };", "bad usage of \"...\"", 1, 19);
    check("void f(double... x);", "bad usage of \"...\"", 1, 18);
    check(
        "typedef int... *p;",
        "unsupported usage of \"...\" in typedef",
        1,
        17,
    );
    check(
        "typedef double... a[3];",
        "unsupported usage of \"...\" in typedef",
        1,
        19,
    );
    check(
        "typedef ... a[3];",
        "unsupported usage of \"...\" in typedef",
        1,
        13,
    );
    check("typedef long double... x;", "bad usage of \"...\"", 1, 20);
    check(
        "struct s { int a; ... };",
        "unexpected '}', expected ';' after '...' in a struct or union",
        1,
        23,
    );
    check(
        "enum e { A, ..., B };",
        "unexpected ',', expected '}': '...' must be the last item of an enum",
        1,
        16,
    );
    check(
        "enum e { ... };",
        "unexpected '...', expected an enumerator name",
        1,
        10,
    );
}

#[test]
fn extern_python_errors() {
    let e = check(
        "extern \"Python\" int x;",
        "cannot declare constants or variables with 'extern \"Python\"'",
        1,
        21,
    );
    assert_eq!(e.kind, ErrorKind::Decl);
    check(
        "extern \"Python\" { int (*p)(int); }",
        "cannot declare constants or variables with 'extern \"Python\"'",
        1,
        25,
    );
    let e = check(
        "extern \"Python\" { int f(void);",
        "'extern \"Python\" {': no '}' found",
        1,
        31,
    );
    assert_eq!(e.kind, ErrorKind::Plain);
    let e = check(
        "extern \"Python\"",
        "'extern \"Python\": no ';' found",
        1,
        8,
    );
    assert_eq!(e.kind, ErrorKind::Plain);
    check(
        "extern \"Python\" { extern \"Python\" int f(void); }",
        "extern \"Python\" cannot be nested",
        1,
        26,
    );
    let e = check(
        "extern \"C\" int x;",
        "unexpected string \"C\": only extern \"Python\" and extern \"Python+C\" are supported in cdef()",
        1,
        8,
    );
    assert_eq!(syntax(&e), "before: \"C\"");
    check(
        "int x = \"s\"; \"Python\" int y;",
        "unexpected '\"Python\"', expected a type (e.g. 'int', a typedef name or 'struct ...')",
        1,
        14,
    );
}

#[test]
fn unsupported_types() {
    let upstream = |t: &str| {
        format!(
            "Unsupported type: '{t}'.  Please look at http://cffi.readthedocs.io/en/latest/cdef.html#ffi-cdef-limitations \
             and file an issue if you think this type should really be supported."
        )
    };
    for (src, shown) in [
        ("short char x;", "short char"),
        ("long long long x;", "long long long"),
        ("signed unsigned x;", "signed unsigned"),
        ("int int x;", "int int"),
        ("long double _Complex x;", "long double _Complex"),
        ("_Complex x;", "_Complex"),
        ("unsigned double x;", "unsigned double"),
        ("void int x;", "void int"),
        ("const short const char x;", "short char"),
        (
            "int long long long long long long long long x;",
            "int long long long long long long long long",
        ),
    ] {
        let e = parse_err(src);
        assert_eq!(e.message, upstream(shown), "{src}");
        assert_eq!(e.kind, ErrorKind::Ffi { with_line: false });
        assert!(e.to_string().starts_with(&upstream(shown)));
    }
    check(
        "int struct s x;",
        "unexpected 'struct', expected a declarator (the type is already complete)",
        1,
        5,
    );
    check(
        "struct s int x;",
        "unexpected 'int', expected a declarator (the type is already complete)",
        1,
        10,
    );
    check(
        "foo_t int x;",
        "unexpected 'int', expected a declarator (the type is already complete) \
         (note: 'foo_t' was read as a type name; is that right?)",
        1,
        7,
    );
    let e = check(
        "struct s { int; };",
        "bad or unsupported type declaration",
        1,
        12,
    );
    assert_eq!(e.kind, ErrorKind::Ffi { with_line: true });
}

#[test]
fn misplaced_storage_classes() {
    check(
        "void f(static int x);",
        "unexpected 'static', expected a type (storage classes are only valid at the top level)",
        1,
        8,
    );
    check(
        "struct s { typedef int x; };",
        "unexpected 'typedef', expected a type (storage classes are only valid at the top level)",
        1,
        12,
    );
    check(
        "int x[sizeof(extern int)];",
        "unexpected 'extern', expected a type (storage classes are only valid at the top level)",
        1,
        14,
    );
}

#[test]
fn bad_constant_expressions() {
    check(
        "int a[1 ? 2 : 3];",
        "unexpected '?', expected an operator other than '?:', which cdef does not support",
        1,
        9,
    );
    check(
        "int a[1.5];",
        "unexpected floating-point constant 1.5: expected an integer",
        1,
        7,
    );
    check("int a[08];", "invalid integer constant: 08", 1, 7);
    check("int a[12abc];", "invalid integer constant: 12abc", 1, 7);
    check(
        "int a[99999999999999999999999999999999999999999999];",
        "integer constant too large: 99999999999999999999999999999999999999999999",
        1,
        7,
    );
    let e = check("enum e { A = 'ab' };", "invalid constant \"'ab'\"", 1, 14);
    assert_eq!(e.kind, ErrorKind::Decl);
    check("enum e { A = '\\q' };", "invalid constant \"'\\q'\"", 1, 14);
    check(
        "int a[sizeof int];",
        "unexpected 'int', expected '(' after sizeof (only sizeof(type) is supported)",
        1,
        14,
    );
    check(
        "int a[sizeof(int];",
        "unexpected ']', expected ')' after the type in sizeof",
        1,
        17,
    );
    check(
        "int a[(1];",
        "unexpected ']', expected ')' or an operator",
        1,
        9,
    );
    check(
        "int a[(int)];",
        "unexpected ']', expected an integer constant, a name, '(' or a unary operator",
        1,
        12,
    );
    check(
        "int a[1 +];",
        "unexpected ']', expected an integer constant, a name, '(' or a unary operator",
        1,
        10,
    );
    check("int a[x++];", "unexpected '++', expected ']'", 1, 8);
    check("int a[1 2];", "unexpected '2', expected ']'", 1, 9);
    check(
        "enum e { A = };",
        "unexpected '}', expected an integer constant, a name, '(' or a unary operator",
        1,
        14,
    );
    check(
        "enum e { A B };",
        "unexpected 'B', expected ',' or '}' after an enumerator",
        1,
        12,
    );
    check(
        "enum {};",
        "unexpected '}', expected an enumerator name",
        1,
        7,
    );
    check(
        "struct s { int a : ; };",
        "unexpected ';', expected an integer constant, a name, '(' or a unary operator",
        1,
        20,
    );
}

#[test]
fn bad_declarators() {
    check(
        "int f(int) int;",
        "unexpected 'int', expected ',' or ';' after the declarator of 'f'",
        1,
        12,
    );
    check(
        "typedef int t = 5;",
        "unexpected '=', expected ',' or ';' after the declarator of 't'",
        1,
        15,
    );
    check("int (x;", "unexpected ';', expected ')'", 1, 7);
    check("int x[3;", "unexpected ';', expected ']'", 1, 8);
    check(
        "int f(int x y);",
        "unexpected 'y', expected ',' or ')' in the parameter list",
        1,
        13,
    );
    check(
        "int f(int, ...,);",
        "unexpected ',', expected ',' or ')' in the parameter list",
        1,
        15,
    );
    check(
        "int f(...x);",
        "unexpected 'x', expected ',' or ')' in the parameter list",
        1,
        10,
    );
    check(
        "struct s { int a b; };",
        "unexpected 'b', expected ',' or ';' after a field",
        1,
        18,
    );
    check(
        "struct s { int a; ",
        "unexpected end of input, expected a type (e.g. 'int', a typedef name or 'struct ...')",
        1,
        19,
    );
    check(
        "int x = { 1, 2 ];",
        "unexpected ']', expected a balanced initializer",
        1,
        16,
    );
    check(
        "int x = (1;",
        "unexpected end of input, expected the end of the initializer",
        1,
        12,
    );
    check(
        "int x = 1 }",
        "unexpected '}', expected a balanced initializer",
        1,
        11,
    );
    check(
        "static const long x = ;",
        "unexpected ';', expected an initializer",
        1,
        23,
    );
    check(
        "int x = , y;",
        "unexpected ',', expected an initializer",
        1,
        9,
    );
    check(
        "int x:3;",
        "unexpected ':', expected ',', ';' or '=' after the declarator of 'x'",
        1,
        6,
    );
}

#[test]
fn limits() {
    let deep = format!("int {}x{};", "(".repeat(150), ")".repeat(150));
    check(
        &deep,
        "declarations nest too deeply (the limit is 100 levels)",
        1,
        105,
    );
    let stars = format!("int {}x;", "*".repeat(100));
    check(
        &stars,
        "declarator too complex: more than 64 '*', '[]' and '()' in one declarator",
        1,
        70,
    );
    let dims: String = (0..70).map(|i| format!("[{i}]")).collect();
    let e = parse_err(&format!("int x{dims};"));
    assert_eq!(
        e.message,
        "declarator too complex: more than 64 '*', '[]' and '()' in one declarator"
    );
    let sum = vec!["1"; 300].join("+");
    let e = parse_err(&format!("int x[{sum}];"));
    assert_eq!(
        e.message,
        "expression too long or too deeply nested (the limit is 200 levels)"
    );
    let e = parse_err(&format!("int x[{}1];", "- ".repeat(300)));
    assert_eq!(
        e.message,
        "declarations nest too deeply (the limit is 100 levels)"
    );
    let e = parse_err(&format!("int x[{}1{}];", "(".repeat(300), ")".repeat(300)));
    assert_eq!(
        e.message,
        "declarations nest too deeply (the limit is 100 levels)"
    );
    let e = parse_err(&format!(
        "{} int x; {}",
        "struct s { ".repeat(200),
        "};".repeat(200)
    ));
    assert_eq!(
        e.message,
        "declarations nest too deeply (the limit is 100 levels)"
    );
    let e = parse_err(&format!("int f{};", "(int (*)".repeat(200)));
    assert_eq!(
        e.message,
        "declarations nest too deeply (the limit is 100 levels)"
    );
    // Types deeper than the limit, each level within the nesting limit.
    let mut d = "int".to_string();
    for _ in 0..30 {
        d = format!("int (********)({d})");
    }
    let e = parse_err(&format!("int f({d});"));
    assert_eq!(
        e.message,
        "type too deeply nested (the limit is 200 levels)"
    );
}
