//! No input may panic, hang or overflow the stack: garbage, truncations, mutations, deep
//! nesting, huge numbers and identifiers, non-ASCII text.

use cdecl::*;

const SAMPLE: &str = r#"
# 1 "sample.h"
#define N 0x10UL
#define M ...
typedef struct s { int a : 3; union { int b; float c; }; char d[N * 2]; struct s *next; ...; } s_t, *s_p;
enum e { A = 'x', B = A << 2 | 1, C = sizeof(int *) / (int)2, D, ... };
extern "Python" int cb(int, void (*)(int));
extern "Python+C" { long g(void); }
int (*fns[4])(int);
void (*signal(int, void (*)(int)))(int);
static const int X = -42;
typedef int... i_t; typedef double... f_t; typedef ... o_t; typedef ... *o_p;
int __stdcall f(const char *__restrict fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned long long int a[sizeof(int)][(int)3], b[];
/* comment */ // comment
"#;

/// Parses with both entry points in a thread with a small stack, returning whether it ran
/// to completion (a panic or a stack overflow would fail the test).
fn survives(text: String) {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            match parse_cdef(&text) {
                Ok(cdef) => {
                    for d in &cdef.decls {
                        if let Decl::Variable { ty, .. } | Decl::Typedef { ty, .. } = d {
                            let _ = ty.to_string();
                        }
                    }
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
            let _ = parse_type_name(&text).map(|t| t.to_string());
        })
        .unwrap()
        .join()
        .expect("the parser panicked");
}

/// A small deterministic PRNG (xorshift), so that the test needs no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn sample_parses() {
    let cdef = parse_cdef(SAMPLE).unwrap();
    assert_eq!(cdef.decls.len(), 17);
}

#[test]
fn every_prefix_and_suffix() {
    for (i, _) in SAMPLE.char_indices() {
        survives(SAMPLE[..i].to_string());
        survives(SAMPLE[i..].to_string());
    }
}

#[test]
fn random_mutations() {
    let pieces = [
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "*",
        ",",
        ";",
        "...",
        "#",
        "\n",
        "'",
        "\"",
        "/*",
        "*/",
        "//",
        "\\",
        "int",
        "struct",
        "typedef",
        "__attribute__((",
        "é",
        "\u{0}",
        "0x",
        "9999999999999999999999999999999999999999",
        "-",
        "<<",
        "sizeof",
        "extern \"Python\"",
        "#define X ",
        "# 1 \"f\"",
        "__stdcall",
        ":",
        "=",
        "enum",
        "unsigned",
        "long",
    ];
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for _ in 0..3000 {
        let mut s: Vec<char> = SAMPLE.chars().collect();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(s.len() + 1);
            match rng.below(3) {
                0 if at < s.len() => {
                    let end = (at + 1 + rng.below(8)).min(s.len());
                    s.drain(at..end);
                }
                _ => {
                    let p = pieces[rng.below(pieces.len())];
                    s.splice(at..at, p.chars());
                }
            }
        }
        survives(s.into_iter().collect());
    }
}

#[test]
fn garbage() {
    let mut rng = Rng(42);
    for len in [0usize, 1, 2, 3, 5, 8, 13, 64, 300] {
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            survives(String::from_utf8_lossy(&bytes).into_owned());
            let ascii: String = (0..len)
                .map(|_| (32 + rng.below(95)) as u8 as char)
                .collect();
            survives(ascii);
        }
    }
    for c in 0u8..=127 {
        survives((c as char).to_string());
        survives(format!("int x{};", c as char));
        survives(format!("int x[{}];", c as char));
    }
}

#[test]
fn deep_nesting() {
    let n = 100_000;
    for text in [
        format!("int {}x{};", "(".repeat(n), ")".repeat(n)),
        format!("int {}x;", "*".repeat(n)),
        format!("int x{};", "[1]".repeat(n)),
        format!("int x{};", "()".repeat(n)),
        format!("int f{};", "(int (*)".repeat(n)),
        format!("int x[{}1{}];", "(".repeat(n), ")".repeat(n)),
        format!("int x[{}1];", "-".repeat(n)),
        format!("int x[{}1];", "- ".repeat(n)),
        format!("int x[{}1];", "~!".repeat(n)),
        format!("int x[{}];", vec!["1"; n].join("+")),
        format!("int x[{}];", vec!["1"; n].join("*")),
        format!("int x[{}int{}];", "sizeof(".repeat(n), ")".repeat(n)),
        format!("int x[{}1];", "(int)".repeat(n)),
        format!("int x[{}1];", "(foo_t)".repeat(n)),
        format!("{}int x;{}", "struct s {".repeat(n), "};".repeat(n)),
        format!("enum e {{ A = {}1{} }};", "(".repeat(n), ")".repeat(n)),
        "int x; ".repeat(n),
        format!("int x = {}{};", "{".repeat(n), "}".repeat(n)),
        format!("int x = {};", "(".repeat(n)),
        format!("int x __attribute__({}{});", "(".repeat(n), ")".repeat(n)),
        format!("int x __attribute__({});", "__attribute__(".repeat(n)),
        format!("extern \"Python\" {{ {} }}", "int f(void); ".repeat(1000)),
        format!("int{}", "(*".repeat(n)),
        format!("int{}", "(int".repeat(n)),
        format!("int[{}]", "(".repeat(n)),
    ] {
        survives(text);
    }
}

#[test]
fn huge_numbers_and_names() {
    let big = "9".repeat(10_000);
    for text in [
        format!("#define X {big}"),
        format!("#define X -{big}"),
        format!("#define X 0x{big}"),
        format!("int x[{big}];"),
        format!("enum e {{ A = {big} }};"),
        format!("int x = {big};"),
        format!("int x = -{big};"),
        format!("# {big} \"f.h\"\nint x;"),
        format!("int[{big}]"),
        format!("struct s {{ int a : {big}; }};"),
    ] {
        survives(text);
    }
    let name = "n".repeat(1 << 20);
    let cdef = parse_cdef(&format!("typedef int {name}; {name} x;")).unwrap();
    assert_eq!(cdef.decls.len(), 2);
    assert!(parse_cdef(&format!("int {name} {name};")).is_err());
}

#[test]
fn non_ascii_everywhere() {
    for text in [
        "int é;",
        "/* é */ int x;",
        "// é\nint x;",
        "int x = \"é\";",
        "enum e { A = 'é' };",
        "#define X é",
        "#define X 1 /* é */",
        "# 1 \"é.h\"\nint x y;",
        "é",
        "int\u{a0}x;",
        "int x; \u{feff}",
        "struct s { int é; };",
        "int[é]",
        "é*",
        "#line 5 \"\u{1F600}\"\nint x;",
        "int x = '\\é';",
        "int x = \"\\é\";",
        "#define X \\é",
        "#define X 1 \\\u{e9}",
    ] {
        survives(text.to_string());
    }
    let e = parse_cdef("# 3 \"é.h\"\n\tint é;").unwrap_err();
    assert_eq!((e.file.as_str(), e.line, e.col), ("é.h", 3, 6));
    assert!(
        e.to_string().contains("\n   | \tint é;\n   | \t    ^"),
        "{e}"
    );
}

#[test]
fn many_files_from_line_directives() {
    let src: String = (0..65_534)
        .map(|i| format!("# 1 \"f{i}.h\"\nint x{i};\n"))
        .collect();
    let cdef = parse_cdef(&src).unwrap();
    assert_eq!(cdef.decls.len(), 65_534);
    assert_eq!(cdef.files.len(), 65_535);
    assert_eq!(cdef.files[65_534], "f65533.h");
    // Names seen before are reused.
    let cdef = parse_cdef(&format!("{src}# 7 \"f3.h\"\nint y;")).unwrap();
    assert_eq!(cdef.files.len(), 65_535);
    let e = parse_cdef(&format!("{src}# 7 \"one-too-many.h\"\nint y;")).unwrap_err();
    assert_eq!(
        e.message,
        "too many file names in line directives (the limit is 65535)"
    );
}
