//! C syntax for types and expressions, in cffi's style: `int *`, `char *[5]`, `int(*)(int, ...)`,
//! `int(*[4])(int)`, `int(*)()`, `const char *`, `int * const`. Anonymous structs show as `struct {...}`.

use std::fmt::{self, Write};

use crate::ast::*;

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&c_decl(self, String::new()))
    }
}

/// `ty` declaring `inner` (a declarator string built from the outside in).
fn c_decl(ty: &Ty, inner: String) -> String {
    match ty {
        Ty::Base { base, quals } => {
            let mut s = String::new();
            write_quals(&mut s, *quals, true);
            let _ = write!(s, "{base}");
            if !inner.is_empty() {
                if !inner.starts_with(['[', '(']) {
                    s.push(' ');
                }
                s.push_str(&inner);
            }
            s
        }
        Ty::Pointer { to, quals } => {
            let mut p = String::new();
            if let Ty::Function(sig) = &**to {
                if let Some(cc) = callconv_name(sig.callconv) {
                    p.push_str(cc);
                    p.push(' ');
                }
            }
            p.push('*');
            write_quals(&mut p, *quals, false);
            if !inner.is_empty() && !inner.starts_with(['[', '(']) {
                p.push(' ');
            }
            p.push_str(&inner);
            if matches!(**to, Ty::Array { .. } | Ty::Function(_)) {
                p = format!("({p})");
            }
            c_decl(to, p)
        }
        Ty::Array { of, len } => {
            let len = match len {
                ArrayLen::Unspecified => String::new(),
                ArrayLen::Dotdotdot => "...".to_string(),
                ArrayLen::Expr(e) => e.to_string(),
            };
            c_decl(of, format!("{inner}[{len}]"))
        }
        Ty::Function(sig) => {
            let mut s = inner;
            if s.is_empty() {
                if let Some(cc) = callconv_name(sig.callconv) {
                    s.push_str(cc);
                }
            }
            s.push('(');
            for (i, p) in sig.params.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&p.ty.to_string());
            }
            if sig.variadic {
                s.push_str(if sig.params.is_empty() {
                    "..."
                } else {
                    ", ..."
                });
            }
            s.push(')');
            c_decl(&sig.result, s)
        }
    }
}

fn callconv_name(cc: CallConv) -> Option<&'static str> {
    match cc {
        CallConv::Default => None,
        CallConv::Cdecl => Some("__cdecl"),
        CallConv::Stdcall => Some("__stdcall"),
    }
}

fn write_quals(s: &mut String, q: Quals, before: bool) {
    for (on, word) in [
        (q.is_const, "const"),
        (q.is_volatile, "volatile"),
        (q.is_restrict, "restrict"),
    ] {
        if on {
            if before {
                s.push_str(word);
                s.push(' ');
            } else {
                s.push(' ');
                s.push_str(word);
            }
        }
    }
}

impl fmt::Display for BaseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaseType::Void => f.write_str("void"),
            BaseType::Primitive(name) => f.write_str(name),
            BaseType::Name(name) => f.write_str(name),
            BaseType::Record(r) => {
                f.write_str(if r.kind == RecordKind::Struct {
                    "struct"
                } else {
                    "union"
                })?;
                match (&r.tag, &r.body) {
                    (Some(tag), _) => write!(f, " {tag}"),
                    (None, _) => f.write_str(" {...}"),
                }
            }
            BaseType::Enum(e) => match &e.tag {
                Some(tag) => write!(f, "enum {tag}"),
                None => f.write_str("enum {...}"),
            },
            BaseType::UnknownInt => f.write_str("int..."),
            BaseType::UnknownFloat => f.write_str("double..."),
            BaseType::Opaque => f.write_str("..."),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Operands that are themselves operations get parentheses: unambiguous, if not minimal.
        fn operand(f: &mut fmt::Formatter<'_>, e: &Expr) -> fmt::Result {
            match e {
                Expr::Binary(..) | Expr::Cast(..) => write!(f, "({e})"),
                _ => write!(f, "{e}"),
            }
        }
        match self {
            Expr::Int(v) | Expr::Char(v) => write!(f, "{v}"),
            Expr::Name(name, _) => f.write_str(name),
            Expr::Unary(op, x) => {
                f.write_str(match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Plus => "+",
                    UnaryOp::BitNot => "~",
                    UnaryOp::Not => "!",
                })?;
                operand(f, x)
            }
            Expr::Binary(op, a, b) => {
                operand(f, a)?;
                write!(f, " {} ", binary_op_str(*op))?;
                operand(f, b)
            }
            Expr::SizeofType(ty) => write!(f, "sizeof({ty})"),
            Expr::Cast(ty, x) => {
                write!(f, "({ty})")?;
                operand(f, x)
            }
        }
    }
}

fn binary_op_str(op: BinaryOp) -> &'static str {
    use BinaryOp::*;
    match op {
        Add => "+",
        Sub => "-",
        Mul => "*",
        Div => "/",
        Mod => "%",
        Shl => "<<",
        Shr => ">>",
        BitAnd => "&",
        BitOr => "|",
        BitXor => "^",
        Lt => "<",
        Gt => ">",
        Le => "<=",
        Ge => ">=",
        Eq => "==",
        Ne => "!=",
        And => "&&",
        Or => "||",
    }
}

#[cfg(test)]
mod tests {
    use crate::parse_type_name;

    #[test]
    fn round_trips() {
        for (input, shown) in [
            ("int", "int"),
            ("int *", "int *"),
            ("int**", "int * *"),
            ("int[5][6]", "int[5][6]"),
            ("char *[5]", "char *[5]"),
            ("int(*)(int, long, ...)", "int(*)(int, long, ...)"),
            ("int(int)", "int(int)"),
            ("int(*[5])(int)", "int(*[5])(int)"),
            ("int(*(*)())(int, int)", "int(*(*)())(int, int)"),
            ("void(__stdcall *)(int)", "void(__stdcall *)(int)"),
            ("int(*)[5]", "int(*)[5]"),
            ("const char *", "const char *"),
            ("char * const", "char * const"),
            ("struct foo *", "struct foo *"),
            ("int[N]", "int[N]"),
        ] {
            assert_eq!(
                parse_type_name(input).unwrap().to_string(),
                shown,
                "{input}"
            );
        }
    }
}
