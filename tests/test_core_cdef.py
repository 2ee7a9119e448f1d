"""ffi.cdef(): what the cdef dialect accepts, what it declares, and how it
reports errors (CDefError naming ``<cdef source string>:LINE:COL``, the
source line with a caret, and what was expected)."""
import warnings

import pytest

from rcffi import FFI, CDefError, FFIError


def cdef_error(source, exc=CDefError, **kwds):
    ffi = FFI()
    with pytest.raises(exc) as e:
        ffi.cdef(source, **kwds)
    return str(e.value)


def caret_lines(message):
    """The '   | source' line and the caret line under it."""
    lines = message.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("   | ") and i + 1 < len(lines) and \
                lines[i + 1].rstrip().endswith("^"):
            return line[5:], lines[i + 1][5:]
    raise AssertionError("no source line with a caret in %r" % message)


# --------------------------------------------------------------------------
# error reports

def test_syntax_error_names_line_and_column_and_shows_caret():
    msg = cdef_error("int x;\nint y;\nint z z;\n")
    lines = msg.splitlines()
    assert lines[0] == 'cannot parse "int z z;"'
    assert lines[1] == "<cdef source string>:3:7: before: z"
    assert "expected ',', ';' or '='" in msg
    assert "  --> <cdef source string>:3:7" in lines
    src, caret = caret_lines(msg)
    assert src == "int z z;"
    assert caret == "      ^"              # under column 7


def test_error_at_end_of_input():
    msg = cdef_error("struct Point { int x, y; }")
    assert msg.splitlines()[:2] == ["parse error",
                                    "<cdef source string>: At end of input"]
    assert "unexpected end of input" in msg
    assert "<cdef source string>:1:27" in msg
    src, caret = caret_lines(msg)
    assert src == "struct Point { int x, y; }"
    assert caret == " " * 26 + "^"


def test_caret_keeps_tabs_aligned():
    msg = cdef_error("\tint\ty y;")
    assert "<cdef source string>:1:8: before: y" in msg
    src, caret = caret_lines(msg)
    assert src == "\tint\ty y;"
    assert caret == "\t   \t  ^"


def test_caret_under_the_right_line_of_a_long_source():
    source = "\n".join(["int v%d;" % i for i in range(50)] +
                       ["struct s { int a; int b c; };"] +
                       ["int w%d;" % i for i in range(50)])
    msg = cdef_error("extern " + source.replace("\n", "\nextern ")
                     .replace("extern struct", "struct"))
    assert "<cdef source string>:51:25:" in msg
    src, caret = caret_lines(msg)
    assert src == "struct s { int a; int b c; };"
    assert caret.index("^") == 24


def test_errors_of_a_second_cdef_count_lines_from_1():
    ffi = FFI()
    ffi.cdef("extern int a;\nextern int b;\nextern int c;\n")
    with pytest.raises(CDefError) as e:
        ffi.cdef("extern int d d;")
    assert "<cdef source string>:1:14:" in str(e.value)


def test_line_directive_renames_file_and_line():
    msg = cdef_error('extern int x;\n# 42 "foo.h"\nextern int y;\nint z z;\n')
    assert "foo.h:43:7: before: z" in msg
    assert "  --> foo.h:43:7" in msg.splitlines()
    assert caret_lines(msg) == ("int z z;", "      ^")


def test_line_directive_without_file_name():
    msg = cdef_error('extern int x;\n# 10\nint z z;\n')
    assert "<cdef source string>:10:7" in msg


@pytest.mark.parametrize("directive", ["#include <stdio.h>", "#if 1",
                                       "#ifdef FOO", "#undef FOO",
                                       "#error nope"])
def test_unsupported_directives(directive):
    msg = cdef_error(directive + "\n")
    lines = msg.splitlines()
    assert lines[0] == 'cannot parse "%s"' % directive
    assert lines[1] == ("<cdef source string>:1:1: Directives not supported "
                        "yet")
    assert "is not supported in cdef()" in msg
    assert caret_lines(msg) == (directive, "^")


@pytest.mark.parametrize("line,got", [
    ("#define BAR FOO", "#define BAR FOO"),
    ("#define BAR", "#define BAR "),
    ("#define BAR(x) x", "#define BAR (x) x"),
    ("#define BAR 1.5", "#define BAR 1.5"),
])
def test_bad_define(line, got):
    msg = cdef_error("#define FOO 42\n" + line + "\n")
    name = "BAR"
    assert msg.splitlines()[:5] == [
        "only supports one of the following syntax:",
        "  #define %s ...     (literally dot-dot-dot)" % name,
        "  #define %s NUMBER  (with NUMBER an integer constant, "
        "decimal/hex/octal)" % name,
        "got:",
        "  " + got,
    ]
    assert "<cdef source string>:2:9" in msg


def test_function_definition_refused():
    msg = cdef_error("int f(void) { return 0; }")
    assert msg.splitlines()[0] == ("<cdef source string>:1: unexpected "
                                   "<FuncDef>: this construct is valid C but "
                                   "not valid in cdef()")
    assert caret_lines(msg) == ("int f(void) { return 0; }", "    ^")


@pytest.mark.parametrize("source,char,col", [("extern int x; @", "@", 15),
                                             ("int \u00e9x;", "\u00e9", 5),
                                             ("int `x;", "`", 5)])
def test_illegal_character(source, char, col):
    msg = cdef_error(source)
    assert "<cdef source string>:1:%d: Illegal character '%s'" % (col, char) \
        in msg
    assert caret_lines(msg)[1] == " " * (col - 1) + "^"


def test_unterminated_comment():
    msg = cdef_error("int x; /* never closed")
    assert "unterminated comment" in msg
    assert "<cdef source string>:1:8" in msg


@pytest.mark.parametrize("source,name", [
    ("extern long long long z;", "long long long"),
    ("extern unsigned float f;", "unsigned float"),
    ("extern signed double f;", "signed double"),
    ("extern short char c;", "short char"),
])
def test_unsupported_type_combinations(source, name):
    msg = cdef_error(source, exc=FFIError)
    assert msg.startswith("Unsupported type: '%s'.  Please look at " % name)
    assert "<cdef source string>:1:8" in msg


def test_parameter_list_errors():
    msg = cdef_error("int f(..., int);")
    assert "<cdef source string>:1:10" in msg
    assert "in the parameter list" in msg
    msg = cdef_error("int (*f)(int;")
    assert "<cdef source string>:1:13: before: ;" in msg


def test_array_length_errors():
    msg = cdef_error("typedef int (*fp)(int);\nfp x[3;\n")
    assert "<cdef source string>:2:7: before: ;" in msg
    assert "expected ']'" in msg


def test_exception_classes():
    assert CDefError.__module__ == 'cffi'
    assert issubclass(CDefError, Exception)
    assert not issubclass(CDefError, FFIError)
    assert FFI().error is FFIError


def test_failed_cdef_declares_nothing():
    ffi = FFI()
    with pytest.raises(CDefError):
        ffi.cdef("struct ok { int a; }; typedef int ok_t; int x x;")
    assert ffi.list_types() == ([], [], [])
    ffi.cdef("struct ok { long a; };")          # no conflict afterwards
    assert ffi.sizeof("struct ok") == 8


def test_cdef_needs_a_str():
    with pytest.raises(TypeError):
        FFI().cdef(b"int x;")


# --------------------------------------------------------------------------
# redeclarations

def test_identical_typedef_twice_is_fine():
    ffi = FFI()
    ffi.cdef("typedef int a_t;")
    ffi.cdef("typedef int a_t;")
    assert ffi.typeof("a_t") is ffi.typeof("int")


def test_conflicting_typedef():
    ffi = FFI()
    ffi.cdef("typedef int a_t;")
    with pytest.raises(FFIError) as e:
        ffi.cdef("typedef long a_t;")
    assert "multiple declarations of typedef" in str(e.value)
    ffi.cdef("typedef long a_t;", override=True)
    assert ffi.typeof("a_t") is ffi.typeof("long")


def test_conflicting_typedef_message():
    msg = cdef_error("typedef int a_t; typedef long a_t;", exc=FFIError)
    assert msg == ("multiple declarations of typedef a_t (for interactive "
                   "usage, try cdef(xx, override=True))")


def test_struct_defined_twice():
    msg = cdef_error("struct s { int a; }; struct s { int b; };")
    assert msg.startswith("<cdef source string>:1: duplicate declaration of "
                          "struct s")


def test_duplicate_enum_constant():
    msg = cdef_error("enum e { A, B, A };", exc=FFIError)
    assert msg.startswith("multiple declarations of constant: A")


def test_tags_are_declared_wherever_they_are_named():
    ffi = FFI()
    ffi.cdef("""
        struct a *f(struct b *, enum e { E1 = 5 } x);
        extern union u *v;
        typedef struct { struct c *p; } t;
        typedef int (*cb)(struct d *);
        static const struct g *const N = 0;
        int plain(int, char *);
    """)
    assert ffi.list_types() == (["cb", "t"], ["a", "b", "c", "d", "g"], ["u"])
    assert ffi.integer_const("E1") == 5


def test_conflicting_define():
    msg = cdef_error("#define A 1\n#define A 2", exc=FFIError)
    assert msg == "multiple declarations of constant: A"
    ffi = FFI()
    ffi.cdef("#define A 1\n#define A 1")
    ffi.cdef("#define A 2", override=True)
    assert ffi.integer_const("A") == 2


def test_typedef_name_redeclared_as_variable():
    msg = cdef_error("typedef int T; T T;")
    assert ("Non-typedef 'T' previously declared as typedef in this scope"
            in msg)


@pytest.mark.parametrize("source,col", [
    ("foo_t x;", 1),
    ("extern foo_t x;", 8),
    ("typedef foo_t bar_t;", 9),
    ("struct s { foo_t x; };", 12),
    ("int f(foo_t);", 7),
])
def test_unknown_type_name_is_a_cdef_error(source, col):
    msg = cdef_error(source)
    assert "unknown type name 'foo_t'" in msg
    assert "  --> <cdef source string>:1:%d" % col in msg.splitlines()
    assert caret_lines(msg) == (source, " " * (col - 1) + "^")


def test_enum_with_unknown_constant():
    cdef_error("enum e { A = B };", exc=FFIError)


@pytest.mark.parametrize("override", [False, True])
def test_struct_redefined_in_a_later_cdef(override):
    ffi = FFI()
    ffi.cdef("struct s { int a; };")
    with pytest.raises(CDefError) as e:
        ffi.cdef("struct s { long a, b; };", override=override)
    assert str(e.value).startswith("<cdef source string>:1: duplicate "
                                   "declaration of struct s")


def test_struct_declared_then_defined_is_fine():
    ffi = FFI()
    ffi.cdef("struct s;")
    ffi.cdef("struct s;")
    ffi.cdef("struct s { long a, b; };")
    assert ffi.sizeof("struct s") == 16


# --------------------------------------------------------------------------
# warnings that upstream gives

def test_pragma_warns():
    with pytest.warns(UserWarning, match="#pragma in cdef"):
        FFI().cdef("#pragma pack(1)\nstruct s { char c; int i; };")


def test_pragma_is_ignored():
    ffi = FFI()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ffi.cdef("#pragma pack(1)\nstruct s { char c; int i; };")
    assert ffi.sizeof("struct s") == 8


def test_string_literal_warns():
    with pytest.warns(UserWarning, match="String literal found in cdef"):
        FFI().cdef('extern char *s = "abc";')


def test_string_literal_warns_anywhere_in_a_long_source():
    # The quote is looked for 64 bytes at a time: at each offset around a chunk's end, and in
    # the tail after the last whole chunk.
    for pad in [0, 1, 62, 63, 64, 65, 127, 128, 129, 200]:
        src = "extern int a%s;\n" % ("_" * pad) + 'extern char *s = "abc";'
        with pytest.warns(UserWarning, match="String literal found in cdef"):
            FFI().cdef(src)


def test_no_warning_for_ordinary_declarations():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FFI().cdef("""
            extern int a;
            static const int B = 5;
            struct s { int x; };
            enum e { E1, E2 };
            int f(int, ...);
            #define C 3
        """)


# --------------------------------------------------------------------------
# what declarations produce

DECLS = """
    typedef int (*fp_t)(int, char *);
    typedef int (*arr_of_fp_t[3])(void);
    typedef int (*(*f2_t)(int))[3];
    typedef char *strarr_t[];
    typedef const char * const cpc_t;
    typedef unsigned u_t;
    typedef signed sg_t;
    typedef long int li_t;
    typedef short int si_t;
    typedef long long int lli_t;
    typedef unsigned long long ull_t;
    typedef unsigned char uc_t;
    typedef signed char sc_t;
    typedef unsigned short int usi_t;
    typedef long unsigned int lu_t;
    typedef struct { int a; } *anon_p;
    typedef struct { int b; } named_t;
    typedef union { int c; } uni_t;
    typedef volatile int vol_t;
    typedef int * restrict rp_t;
    struct multi { int a, *b, c[3], (*d)(void); };
"""


@pytest.mark.parametrize("name,cname,size", [
    ("fp_t", "int(*)(int, char *)", 8),
    ("arr_of_fp_t", "int(*[3])()", 24),
    ("f2_t", "int(*(*)(int))[3]", 8),
    ("strarr_t", "char *[]", None),
    ("cpc_t", "char *", 8),
    ("u_t", "unsigned int", 4),
    ("sg_t", "int", 4),
    ("li_t", "long", 8),
    ("si_t", "short", 2),
    ("lli_t", "long long", 8),
    ("ull_t", "unsigned long long", 8),
    ("uc_t", "unsigned char", 1),
    ("sc_t", "signed char", 1),
    ("usi_t", "unsigned short", 2),
    ("lu_t", "unsigned long", 8),
    ("anon_p", "struct $1 *", 8),
    ("named_t", "named_t", 4),
    ("uni_t", "uni_t", 4),
    ("vol_t", "int", 4),
    ("rp_t", "int *", 8),
    ("int *[5]", "int *[5]", 40),
    ("int (*)[5]", "int(*)[5]", 8),
    ("char * const *", "char * *", 8),
    ("void(*)(int, ...)", "void(*)(int, ...)", 8),
    ("int(*)(void)", "int(*)()", 8),
    ("struct multi *[2][3]", "struct multi *[2][3]", 48),
])
def test_declared_types(name, cname, size):
    ffi = FFI()
    ffi.cdef(DECLS)
    t = ffi.typeof(name)
    assert t.cname == cname
    if size is not None:
        assert ffi.sizeof(t) == size


def test_multiple_declarators_in_a_field_list():
    ffi = FFI()
    ffi.cdef(DECLS)
    fields = [(n, f.type.cname, f.offset)
              for n, f in ffi.typeof("struct multi").fields]
    assert fields == [('a', 'int', 0), ('b', 'int *', 8), ('c', 'int[3]', 16),
                      ('d', 'int(*)()', 32)]
    assert ffi.sizeof("struct multi") == 40


def test_list_types_after_decls():
    ffi = FFI()
    ffi.cdef(DECLS)
    typedefs, structs, unions = ffi.list_types()
    assert typedefs == sorted([
        'anon_p', 'arr_of_fp_t', 'cpc_t', 'f2_t', 'fp_t', 'li_t', 'lli_t',
        'lu_t', 'named_t', 'rp_t', 'sc_t', 'sg_t', 'si_t', 'strarr_t', 'u_t',
        'uc_t', 'ull_t', 'uni_t', 'usi_t', 'vol_t'])
    assert structs == ['multi']
    assert unions == []


def test_comments_and_line_continuations():
    ffi = FFI()
    ffi.cdef("""
        // a line comment
        /* a block
           comment */ struct s { int a; /* inside */ };
        #define CONT \\
            42
    """)
    assert ffi.sizeof("struct s") == 4
    assert ffi.integer_const("CONT") == 42


def test_windows_calling_conventions_are_ignored():
    ffi = FFI()
    ffi.cdef("""
        int __stdcall f1(int);
        int WINAPI f2(int);
        int __cdecl f3(int);
        typedef int (__stdcall *cb_t)(int);
    """)
    assert ffi.typeof("cb_t") is ffi.typeof("int(*)(int)")


def test_forward_typedef_of_struct():
    ffi = FFI()
    ffi.cdef("typedef struct s s_t; struct s { int a; };")
    p = ffi.new("s_t *", [5])
    assert p.a == 5
    assert ffi.sizeof("s_t") == 4
    assert ffi.typeof("s_t") is ffi.typeof("struct s")


def test_types_usable_across_cdefs():
    ffi = FFI()
    ffi.cdef("typedef struct { int x, y; } point_t;")
    ffi.cdef("struct line { point_t a, b; };")
    assert ffi.sizeof("struct line") == 16


# --------------------------------------------------------------------------
# constants: #define, enums, static const -- ffi.integer_const()

CONSTS = """
    #define FOO 0x10
    #define OCT 010
    #define NEG -5
    #define BIGD 0xffffffffffffffff
    #define SUFFIXED 42UL
    static const int K = 5;
    enum { ANON_A = 7, ANON_B };
    enum named { N1 = -3, N2, N3 = 1 << 4, N4 = N3 + 1 };
"""


@pytest.mark.parametrize("name,value", [
    ("FOO", 16), ("OCT", 8), ("NEG", -5), ("BIGD", 2**64 - 1),
    ("SUFFIXED", 42), ("K", 5), ("ANON_A", 7), ("ANON_B", 8),
    ("N1", -3), ("N2", -2), ("N3", 16), ("N4", 17),
])
def test_integer_const(name, value):
    ffi = FFI()
    ffi.cdef(CONSTS)
    assert ffi.integer_const(name) == value


def test_integer_const_unknown_name():
    ffi = FFI()
    ffi.cdef(CONSTS)
    with pytest.raises(FFIError) as e:
        ffi.integer_const("NOPE")
    assert str(e.value) == "integer constant 'NOPE' not found"


@pytest.mark.parametrize("expr,value", [
    ("(1 << 4) | 1", 17), ("-(2)", -2), ("10 / 3", 3), ("10 % 3", 1),
    ("6 & 3", 2), ("6 ^ 3", 5), ("256 >> 2", 64), ("2 * 3 + 1", 7),
    ("1 - 2 - 3", -4), ("2 + 3 * 4", 14), ("(2 + 3) * 4", 20),
    ("A + 1", 6), ("0x7fffffff + 1", 2147483648), ("'x'", 120),
    ("'\\n'", 10), ("0x10U", 16), ("100ll", 100),
])
def test_enum_value_expressions(expr, value):
    ffi = FFI()
    ffi.cdef("enum e { A = 5, B = %s };" % expr)
    assert ffi.typeof("enum e").relements['B'] == value


@pytest.mark.parametrize("decl,size,signed", [
    ("enum e { P = 1 };", 4, False),            # GCC's first choice
    ("enum e { N = -1 };", 4, True),
    ("enum e { X = 0x100000000 };", 8, False),
    ("enum e { M = -1, Q = 0xffffffff };", 8, True),
    ("enum e { U = 0xffffffffffffffff };", 8, False),
    ("enum e { I = 0x7fffffff, J = -0x80000000 };", 4, True),
])
def test_enum_base_type(decl, size, signed):
    ffi = FFI()
    ffi.cdef(decl)
    assert ffi.sizeof("enum e") == size
    assert (int(ffi.cast("enum e", -1)) < 0) == signed


def test_enum_elements_and_strings():
    ffi = FFI()
    ffi.cdef(CONSTS)
    t = ffi.typeof("enum named")
    assert t.kind == 'enum' and t.cname == 'enum named'
    assert t.elements == {-3: 'N1', -2: 'N2', 16: 'N3', 17: 'N4'}
    assert t.relements == {'N1': -3, 'N2': -2, 'N3': 16, 'N4': 17}
    assert ffi.string(ffi.cast("enum named", 16)) == 'N3'
    assert ffi.string(ffi.cast("enum named", 3)) == '3'
    assert repr(ffi.cast("enum named", -2)) == "<cdata 'enum named' -2: N2>"
    assert repr(ffi.cast("enum named", 3)) == "<cdata 'enum named' 3>"


def test_enum_first_of_equal_values_wins_in_elements():
    ffi = FFI()
    ffi.cdef("enum e { A = 1, B = 1, C };")
    t = ffi.typeof("enum e")
    assert t.elements == {1: 'A', 2: 'C'}
    assert ffi.string(ffi.cast("enum e", 1)) == 'A'


def test_enum_in_struct_and_new():
    ffi = FFI()
    ffi.cdef("enum color { RED, GREEN }; struct s { enum color c; };")
    p = ffi.new("struct s *", [1])
    assert p.c == 1
    p.c = 0
    assert p.c == 0
    with pytest.raises(TypeError):
        p.c = "RED"                    # integers only, not the names
    with pytest.raises(OverflowError):
        p.c = 2 ** 32
    e = ffi.new("enum color *", 1)
    assert e[0] == 1


# --------------------------------------------------------------------------
# robustness: absurd nesting gives a clean error, never a crash

@pytest.mark.parametrize("kind", ["paren", "ptr", "arr", "expr", "struct"])
def test_deep_nesting_is_a_clean_error(kind):
    n = 100000
    source = {
        'paren': 'typedef int ' + '(' * n + 'x' + ')' * n + ';',
        'ptr': 'typedef int ' + '*' * n + 'x;',
        'arr': 'typedef int x' + '[1]' * n + ';',
        'expr': 'enum e { A = ' + '(' * n + '1' + ')' * n + ' };',
        'struct': 'struct s { ' + 'struct { ' * n + 'int a;' + ' } f;' * n +
                  ' };',
    }[kind]
    with pytest.raises(CDefError):
        FFI().cdef(source)


def test_declarator_complexity_limit():
    ffi = FFI()
    ffi.cdef("typedef int " + "*" * 64 + "x;")
    assert ffi.typeof("x").cname == "int" + " *" * 64
    msg = cdef_error("typedef int " + "*" * 65 + "x;")
    assert "declarator too complex: more than 64 '*', '[]' and '()' in one " \
           "declarator" in msg
    with pytest.raises(CDefError):
        ffi.typeof("int" + "*" * 100000)
