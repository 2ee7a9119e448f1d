//! Evaluation of integer constant expressions ([`Expr`]) with C semantics: division truncates
//! toward zero, `%` takes the sign of the dividend, comparisons and `!`, `&&`, `||` give 0 or 1
//! (the last two short-circuit). Upstream computes with Python's unbounded integers; we use i128
//! and report an overflow as an error. Nothing here panics.

use crate::ast::{BaseType, BinaryOp, Expr, Ty, UnaryOp};

/// Evaluates `expr`. `lookup` gives the value of a name (an enumerator or a `#define`),
/// `sizeof` the size of a type; either may return None for "unknown", which is an error.
pub fn eval(
    expr: &Expr,
    lookup: &mut dyn FnMut(&str) -> Option<i128>,
    sizeof: &mut dyn FnMut(&Ty) -> Option<i128>,
) -> Result<i128, String> {
    Ok(match expr {
        Expr::Int(v) | Expr::Char(v) => *v,
        Expr::Name(name, _) => lookup(name).ok_or_else(|| format!("unknown constant '{name}'"))?,
        Expr::Unary(op, x) => {
            let x = eval(x, lookup, sizeof)?;
            match op {
                UnaryOp::Neg => x.checked_neg().ok_or_else(overflow)?,
                UnaryOp::Plus => x,
                UnaryOp::BitNot => !x,
                UnaryOp::Not => (x == 0) as i128,
            }
        }
        Expr::Binary(BinaryOp::And, a, b) => {
            (eval(a, lookup, sizeof)? != 0 && eval(b, lookup, sizeof)? != 0) as i128
        }
        Expr::Binary(BinaryOp::Or, a, b) => {
            (eval(a, lookup, sizeof)? != 0 || eval(b, lookup, sizeof)? != 0) as i128
        }
        Expr::Binary(op, a, b) => {
            let a = eval(a, lookup, sizeof)?;
            let b = eval(b, lookup, sizeof)?;
            binary(*op, a, b)?
        }
        Expr::SizeofType(ty) => {
            sizeof(ty).ok_or_else(|| "sizeof() of a type of unknown size".to_string())?
        }
        Expr::Cast(ty, x) => cast(ty, eval(x, lookup, sizeof)?),
    })
}

fn overflow() -> String {
    "integer overflow in constant expression".to_string()
}

fn binary(op: BinaryOp, a: i128, b: i128) -> Result<i128, String> {
    use BinaryOp::*;
    Ok(match op {
        Add => a.checked_add(b).ok_or_else(overflow)?,
        Sub => a.checked_sub(b).ok_or_else(overflow)?,
        Mul => a.checked_mul(b).ok_or_else(overflow)?,
        // Rust's `/` and `%` on integers already truncate toward zero, like C.
        Div | Mod if b == 0 => return Err("division by zero in constant expression".to_string()),
        Div => a.checked_div(b).ok_or_else(overflow)?,
        Mod => a.checked_rem(b).ok_or_else(overflow)?,
        Shl | Shr => {
            if !(0..128).contains(&b) {
                return Err(format!(
                    "shift count out of range in constant expression: {b}"
                ));
            }
            if op == Shr {
                a >> b
            } else {
                // Refuse bits that would fall off (upstream's integers never lose them).
                let r = a << b;
                if r >> b != a {
                    return Err(overflow());
                }
                r
            }
        }
        BitAnd => a & b,
        BitOr => a | b,
        BitXor => a ^ b,
        Lt => (a < b) as i128,
        Gt => (a > b) as i128,
        Le => (a <= b) as i128,
        Ge => (a >= b) as i128,
        Eq => (a == b) as i128,
        Ne => (a != b) as i128,
        And => (a != 0 && b != 0) as i128,
        Or => (a != 0 || b != 0) as i128,
    })
}

/// `(type)x`: converts to the primitive integer types whose size we know from their name;
/// other types (typedef names...) leave the value as it is.
fn cast(ty: &Ty, x: i128) -> i128 {
    let Ty::Base {
        base: BaseType::Primitive(name),
        ..
    } = ty
    else {
        return x;
    };
    match *name {
        "_Bool" => (x != 0) as i128,
        "char" | "signed char" => x as i8 as i128,
        "unsigned char" => x as u8 as i128,
        "short" => x as i16 as i128,
        "unsigned short" => x as u16 as i128,
        "int" => x as i32 as i128,
        "unsigned int" => x as u32 as i128,
        "long" | "long long" => x as i64 as i128,
        "unsigned long" | "unsigned long long" => x as u64 as i128,
        _ => x,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Span;

    fn ev(e: &Expr) -> Result<i128, String> {
        eval(e, &mut |n| (n == "A").then_some(5), &mut |_| Some(4))
    }

    fn bin(op: BinaryOp, a: i128, b: i128) -> Result<i128, String> {
        ev(&Expr::Binary(
            op,
            Box::new(Expr::Int(a)),
            Box::new(Expr::Int(b)),
        ))
    }

    #[test]
    fn c_division() {
        assert_eq!(bin(BinaryOp::Div, 7, 2), Ok(3));
        assert_eq!(bin(BinaryOp::Div, -7, 2), Ok(-3));
        assert_eq!(bin(BinaryOp::Div, 7, -2), Ok(-3));
        assert_eq!(bin(BinaryOp::Mod, -7, 2), Ok(-1));
        assert_eq!(bin(BinaryOp::Mod, 7, -2), Ok(1));
        assert!(bin(BinaryOp::Div, 1, 0)
            .unwrap_err()
            .contains("division by zero"));
        assert!(bin(BinaryOp::Mod, 1, 0)
            .unwrap_err()
            .contains("division by zero"));
        assert!(bin(BinaryOp::Div, i128::MIN, -1)
            .unwrap_err()
            .contains("overflow"));
        assert!(bin(BinaryOp::Mod, i128::MIN, -1)
            .unwrap_err()
            .contains("overflow"));
    }

    #[test]
    fn shifts_and_overflow() {
        assert_eq!(bin(BinaryOp::Shl, 1, 10), Ok(1024));
        assert_eq!(bin(BinaryOp::Shr, -16, 2), Ok(-4));
        assert!(bin(BinaryOp::Shl, 1, -1).is_err());
        assert!(bin(BinaryOp::Shl, 1, 128).is_err());
        assert!(bin(BinaryOp::Shr, 1, 200).is_err());
        assert!(bin(BinaryOp::Shl, 1, 127).is_err());
        assert!(bin(BinaryOp::Add, i128::MAX, 1).is_err());
        assert!(bin(BinaryOp::Mul, i128::MAX, 2).is_err());
        assert!(ev(&Expr::Unary(UnaryOp::Neg, Box::new(Expr::Int(i128::MIN)))).is_err());
    }

    #[test]
    fn logic_and_names() {
        assert_eq!(bin(BinaryOp::Lt, 1, 2), Ok(1));
        assert_eq!(bin(BinaryOp::Ne, 1, 1), Ok(0));
        let name = Expr::Name("A".into(), Span::default());
        assert_eq!(ev(&name), Ok(5));
        assert_eq!(
            ev(&Expr::Name("B".into(), Span::default())),
            Err("unknown constant 'B'".into())
        );
        // 0 && (1/0) short-circuits.
        let div0 = Expr::Binary(
            BinaryOp::Div,
            Box::new(Expr::Int(1)),
            Box::new(Expr::Int(0)),
        );
        assert_eq!(
            ev(&Expr::Binary(
                BinaryOp::And,
                Box::new(Expr::Int(0)),
                Box::new(div0.clone())
            )),
            Ok(0)
        );
        assert_eq!(
            ev(&Expr::Binary(
                BinaryOp::Or,
                Box::new(Expr::Int(1)),
                Box::new(div0)
            )),
            Ok(1)
        );
        assert_eq!(
            ev(&Expr::Unary(UnaryOp::BitNot, Box::new(Expr::Int(0)))),
            Ok(-1)
        );
        assert_eq!(
            ev(&Expr::Unary(UnaryOp::Not, Box::new(Expr::Int(3)))),
            Ok(0)
        );
    }

    #[test]
    fn casts() {
        let ty = |name| Ty::Base {
            base: BaseType::Primitive(name),
            quals: Default::default(),
        };
        let c = |name, v| ev(&Expr::Cast(Box::new(ty(name)), Box::new(Expr::Int(v))));
        assert_eq!(c("unsigned char", 257), Ok(1));
        assert_eq!(c("char", 255), Ok(-1));
        assert_eq!(c("int", 1 << 32), Ok(0));
        assert_eq!(c("unsigned int", -1), Ok(u32::MAX as i128));
        assert_eq!(c("_Bool", 7), Ok(1));
        assert_eq!(c("double", 7), Ok(7));
        assert_eq!(ev(&Expr::SizeofType(Box::new(ty("int")))), Ok(4));
    }
}
