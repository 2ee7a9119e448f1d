//! Evaluating parsed constant expressions: `eval::eval` on what `parse_cdef` keeps.

use std::collections::HashMap;

use cdecl::eval::eval;
use cdecl::*;

/// Values of the enumerators of the enums in `src`, computed in order like upstream does (an
/// enumerator without a value is the previous one plus one), with `#define`s visible.
fn enum_values(src: &str) -> Result<Vec<(String, i128)>, String> {
    let cdef = parse_cdef(src).map_err(|e| e.to_string())?;
    let mut known: HashMap<String, i128> = HashMap::new();
    let mut out = Vec::new();
    for d in &cdef.decls {
        match d {
            Decl::Define {
                name,
                value: DefineValue::Int(v),
                ..
            } => {
                known.insert(name.to_string(), *v);
            }
            Decl::Tag {
                base:
                    BaseType::Enum(Enum {
                        body: Some(body), ..
                    }),
                ..
            } => {
                let mut next = 0;
                for item in &body.items {
                    if let Some(e) = &item.value {
                        next = eval(e, &mut |n| known.get(n).copied(), &mut sizeof)?;
                    }
                    known.insert(item.name.to_string(), next);
                    out.push((item.name.to_string(), next));
                    next += 1;
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn sizeof(ty: &Ty) -> Option<i128> {
    match ty {
        Ty::Base {
            base: BaseType::Primitive("int"),
            ..
        } => Some(4),
        Ty::Base {
            base: BaseType::Primitive("char"),
            ..
        } => Some(1),
        Ty::Pointer { .. } => Some(8),
        Ty::Array {
            of,
            len: ArrayLen::Expr(Expr::Int(n)),
        } => Some(sizeof(of)? * n),
        _ => None,
    }
}

fn values(src: &str) -> Vec<i128> {
    enum_values(src)
        .unwrap()
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn arithmetic_like_c() {
    assert_eq!(
        values("enum e { A = 10 / 3, B = -10 / 3, C = 10 % 3, D = -10 % 3, E = 10 % -3 };"),
        [3, -3, 1, -1, 1]
    );
    assert_eq!(
        values(
            "enum e { A = 1 << 4, B = 256 >> 2, C = -16 >> 2, D = 6 & 3, E = 6 | 3, F = 6 ^ 3 };"
        ),
        [16, 64, -4, 2, 7, 5]
    );
    assert_eq!(
        values("enum e { A = ~0, B = !5, C = !0, D = -(3), E = +4 };"),
        [-1, 0, 1, -3, 4]
    );
    assert_eq!(
        values("enum e { A = 1 < 2, B = 2 <= 1, C = 3 == 3, D = 3 != 3, E = 1 && 0, F = 0 || 7 };"),
        [1, 0, 1, 0, 0, 1]
    );
    assert_eq!(
        values("enum e { A = 2 + 3 * 4, B = (2 + 3) * 4, C = 1 + 2 << 3, D = 1 | 2 ^ 3 & 4 };"),
        [14, 20, 24, 3]
    );
}

#[test]
fn names_chars_sizeof_and_casts() {
    assert_eq!(
        values("#define N 5\nenum e { A = N, B, C = A + B, D = 'A', E = '\\n', F };"),
        [5, 6, 11, 65, 10, 11]
    );
    assert_eq!(
        values("enum e { A = sizeof(int), B = sizeof(char *), C = sizeof(int[3]) };"),
        [4, 8, 12]
    );
    assert_eq!(
        values(
            "enum e { A = (unsigned char)257, B = (char)255, C = (int)4294967297, D = (_Bool)9 };"
        ),
        [1, -1, 1, 1]
    );
    assert_eq!(
        values("enum e { A = 0x7fffffffffffffff, B = 0xffffffffffffffffULL };"),
        [i64::MAX as i128, u64::MAX as i128]
    );
}

#[test]
fn errors_are_messages() {
    assert_eq!(
        enum_values("enum e { A = 1 / 0 };").unwrap_err(),
        "division by zero in constant expression"
    );
    assert_eq!(
        enum_values("enum e { A = 1 % 0 };").unwrap_err(),
        "division by zero in constant expression"
    );
    assert_eq!(
        enum_values("enum e { A = B };").unwrap_err(),
        "unknown constant 'B'"
    );
    assert_eq!(
        enum_values("enum e { A = 1 << -1 };").unwrap_err(),
        "shift count out of range in constant expression: -1"
    );
    assert_eq!(
        enum_values("enum e { A = 1 >> 128 };").unwrap_err(),
        "shift count out of range in constant expression: 128"
    );
    assert_eq!(
        enum_values("enum e { A = 0xffffffffffffffffffffffffffffffff };")
            .unwrap_err()
            .lines()
            .nth(1)
            .unwrap(),
        "<cdef source string>:1:14: before: 0xffffffffffffffffffffffffffffffff"
    );
    assert_eq!(
        enum_values("enum e { A = 0x7fffffffffffffffffffffffffffffff * 2 };").unwrap_err(),
        "integer overflow in constant expression"
    );
    assert_eq!(
        enum_values("enum e { A = sizeof(struct s) };").unwrap_err(),
        "sizeof() of a type of unknown size"
    );
    // Short-circuits: the division by zero is not evaluated.
    assert_eq!(values("enum e { A = 0 && 1 / 0, B = 1 || 1 / 0 };"), [0, 1]);
}
