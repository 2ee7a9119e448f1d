//! Helpers shared by the integration tests: one-line summaries of declarations.

#![allow(dead_code)]

use cdecl::*;

/// `struct s {a: int, b: char *, : int:3, ...}`: a base type with its body, if any.
pub fn base_summary(base: &BaseType) -> String {
    match base {
        BaseType::Record(Record {
            body: Some(body), ..
        }) => {
            let mut parts: Vec<String> = body
                .fields
                .iter()
                .map(|f| {
                    let mut s =
                        format!("{}: {}", f.name.as_deref().unwrap_or(""), ty_summary(&f.ty));
                    if let Some(bits) = &f.bits {
                        s += &format!(":{bits}");
                    }
                    s
                })
                .collect();
            if body.partial {
                parts.push("...".into());
            }
            format!("{base} {{{}}}", parts.join(", "))
        }
        BaseType::Enum(Enum {
            body: Some(body), ..
        }) => {
            let mut parts: Vec<String> = body
                .items
                .iter()
                .map(|e| match &e.value {
                    Some(v) => format!("{}={v}", e.name),
                    None => e.name.to_string(),
                })
                .collect();
            if body.partial {
                parts.push("...".into());
            }
            format!("{base} {{{}}}", parts.join(", "))
        }
        _ => base.to_string(),
    }
}

/// A type in C syntax, with the body of a struct/union/enum defined in it (innermost base).
pub fn ty_summary(ty: &Ty) -> String {
    let mut base = ty;
    loop {
        match base {
            Ty::Pointer { to, .. } => base = to,
            Ty::Array { of, .. } => base = of,
            Ty::Function(sig) => base = &sig.result,
            Ty::Base { base: b, .. } => {
                let shown = ty.to_string();
                return match b {
                    BaseType::Record(Record { body: Some(_), .. })
                    | BaseType::Enum(Enum { body: Some(_), .. }) => {
                        format!("{shown} = {}", base_summary(b))
                    }
                    _ => shown,
                };
            }
        }
    }
}

pub fn decl_summary(d: &Decl) -> String {
    match d {
        Decl::Typedef { name, ty, .. } => format!("typedef {name}: {}", ty_summary(ty)),
        Decl::Function {
            name,
            sig,
            extern_python,
            ..
        } => {
            let ty = Ty::Function(Box::new(sig.clone()));
            let ext = match extern_python {
                ExternPython::No => "",
                ExternPython::Python => " [extern Python]",
                ExternPython::PythonPlusC => " [extern Python+C]",
            };
            format!("function {name}: {}{ext}", ty_summary(&ty))
        }
        Decl::Variable { name, ty, .. } => format!("variable {name}: {}", ty_summary(ty)),
        Decl::IntConstant {
            name, ty, value, ..
        } => format!("constant {name} = {value}: {}", ty_summary(ty)),
        Decl::Tag { base, .. } => format!("tag {}", base_summary(base)),
        Decl::Define { name, value, .. } => match value {
            DefineValue::Int(v) => format!("define {name} = {v}"),
            DefineValue::Dotdotdot => format!("define {name} = ..."),
        },
    }
}

/// Parses and summarises every declaration; panics with the error if the parse fails.
pub fn parse(src: &str) -> Vec<String> {
    match parse_cdef(src) {
        Ok(cdef) => cdef.decls.iter().map(decl_summary).collect(),
        Err(e) => panic!("parse failed for {src:?}:\n{e}"),
    }
}

/// The error of a source that must not parse.
pub fn parse_err(src: &str) -> CdefError {
    match parse_cdef(src) {
        Ok(cdef) => panic!(
            "expected an error for {src:?}, got {:?}",
            cdef.decls.iter().map(decl_summary).collect::<Vec<_>>()
        ),
        Err(e) => e,
    }
}
