//! `type_table()` against the types arrays of upstream's test_recompiler.py `test_type_table_*`
//! (facts of the format: the order and contents of the array).

use model::protocol::*;
use recompiler::tables::TypeOp::{self, Length, Op};
use recompiler::typemodel::Len;
use recompiler::{type_table, Step};

fn cdef(source: &str) -> Step {
    Step::Cdef {
        source: source.to_string(),
        override_: false,
        pack: 0,
        dllexport: false,
    }
}

fn prim(name: &str) -> TypeOp {
    Op(OP_PRIMITIVE, prim_index(name).expect("a primitive"))
}

fn table(steps: &[Step]) -> Vec<TypeOp> {
    type_table(steps, true).expect("builds")
}

#[test]
fn functions_come_first_sorted_by_name() {
    assert_eq!(
        table(&[cdef("float sin(double); float cos(float);")]),
        vec![
            Op(OP_FUNCTION, 4),
            prim("double"),
            Op(OP_FUNCTION_END, 0),
            Op(OP_FUNCTION, 4),
            prim("float"),
            Op(OP_FUNCTION_END, 0),
        ]
    );
}

#[test]
fn repeated_argument_is_a_noop() {
    assert_eq!(
        table(&[cdef("double sin(double *, double *);")]),
        vec![
            Op(OP_FUNCTION, 4),
            Op(OP_POINTER, 4),
            Op(OP_NOOP, 1),
            Op(OP_FUNCTION_END, 0),
            prim("double"),
        ]
    );
}

#[test]
fn variadic_and_array() {
    assert_eq!(
        table(&[cdef("int sin(int, ...);")]),
        vec![
            Op(OP_FUNCTION, 1),
            prim("int"),
            Op(OP_FUNCTION_END, 1),
            Op(OP_POINTER, 0)
        ]
    );
    assert_eq!(
        table(&[cdef("extern int a[100];")]),
        vec![prim("int"), Op(OP_ARRAY, 0), Length(Len::Known(100))]
    );
}

#[test]
fn included_struct_is_not_expanded() {
    let steps = [
        Step::Include(vec![cdef("struct foo_s { int x, y; };")]),
        cdef("struct foo_s *sin(struct foo_s *);"),
    ];
    assert_eq!(
        table(&steps),
        vec![
            Op(OP_FUNCTION, 1),
            Op(OP_POINTER, 3),
            Op(OP_FUNCTION_END, 0),
            Op(OP_STRUCT_UNION, 0)
        ]
    );
}

/// A Python module keeps anonymous members as structs of their own; a C module expands them.
#[test]
fn c_mode_and_python_mode() {
    let steps = [cdef("struct s { struct { int a; }; long b; }; enum e { AA=-1 }; typedef int... t1; extern int g[...];")];
    let mut expected = vec![
        Op(OP_ENUM, 0),
        prim("int"),
        Op(OP_ARRAY, 1),
        Length(Len::CExpr("_cffi_array_len(g)".into())),
        prim("long"),
        Op(OP_STRUCT_UNION, 0),
    ];
    let c = type_table(&steps, true).expect("builds");
    assert!(matches!(c.last(), Some(TypeOp::CExpr(e)) if e.starts_with("_cffi_prim_int(sizeof(t1),")));
    assert_eq!(c[..c.len() - 1], expected[..]);
    expected.push(Op(OP_STRUCT_UNION, 1));
    let py = type_table(&steps, false).expect("builds");
    assert_eq!(py[..py.len() - 1], expected[..]);
}
