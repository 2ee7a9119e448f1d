//! Writes the Python source of an ABI-mode module from its tables, in upstream's exact layout:
//! every table entry is a bytes literal starting with 4-byte big-endian numbers written as
//! `\xNN` escapes, then a name; globals are followed by their integer value.

use std::fmt::Write;

use model::protocol::*;

use crate::tables::{TypeOp, Tables};
use crate::typemodel::Len;
use crate::{ErrorKind, GResult, GenError};

/// `\xNN\xNN\xNN\xNN` for the 32 low bits of `num`, most significant first.
fn four_bytes(out: &mut String, num: i64) {
    for shift in [24, 16, 8, 0] {
        let _ = write!(out, "\\x{:02X}", (num >> shift) & 0xFF);
    }
}

fn op_bytes(out: &mut String, op: u32) {
    four_bytes(out, op as i64)
}

/// Python's repr() of a str, as upstream's messages show it.
fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut r = String::with_capacity(s.len() + 2);
    r.push(quote);
    for c in s.chars() {
        match c {
            '\\' => r.push_str("\\\\"),
            '\n' => r.push_str("\\n"),
            '\t' => r.push_str("\\t"),
            '\r' => r.push_str("\\r"),
            c if c == quote => {
                r.push('\\');
                r.push(c);
            }
            c => r.push(c),
        }
    }
    r.push(quote);
    r
}

fn type_op_bytes(out: &mut String, t: &TypeOp) -> GResult<()> {
    match t {
        TypeOp::Op(opcode, arg) => op_bytes(out, op(*opcode, *arg)),
        TypeOp::Length(Len::Known(n)) if *n >= 0 => {
            if *n >= 1 << 31 {
                return Err(GenError::new(
                    ErrorKind::OverflowError,
                    format!("cannot emit {}: limited to 2**31-1", py_repr(&n.to_string())),
                ));
            }
            four_bytes(out, *n as i64)
        }
        TypeOp::Length(len) => {
            let text = match len {
                Len::Known(n) => n.to_string(),
                Len::CExpr(e) => e.clone(),
                Len::Dots => "...".into(),
                Len::Open => "None".into(),
            };
            return Err(cannot_emit(&text));
        }
        TypeOp::CExpr(e) => return Err(cannot_emit(e)),
    }
    Ok(())
}

fn cannot_emit(text: &str) -> GenError {
    GenError::new(ErrorKind::VerificationError, format!("cannot emit to Python: {}", py_repr(text)))
}

/// `(a,b,c)`, or `(a,)` for one item, as upstream's `_to_py()` of a list.
fn tuple(items: Vec<String>) -> String {
    if items.len() == 1 {
        format!("({},)", items[0])
    } else {
        format!("({})", items.join(","))
    }
}

pub fn write(module_name: &str, t: &Tables, include_names: &[String]) -> GResult<String> {
    let mut types = String::with_capacity(t.types.len() * 16);
    for op in &t.types {
        type_op_bytes(&mut types, op)?;
    }

    let mut out = String::with_capacity(types.len() + 64 * (t.globals.len() + t.struct_unions.len()) + 256);
    out.push_str("# auto-generated file\nimport _cffi_backend\n");
    for (i, name) in include_names.iter().enumerate() {
        let _ = writeln!(out, "from {name} import ffi as _ffi{i}");
    }
    out.push('\n');
    let _ = writeln!(out, "ffi = _cffi_backend.FFI('{module_name}',");
    let _ = writeln!(out, "    _version = 0x{VERSION_BASE:x},");
    let _ = writeln!(out, "    _types = b'{types}',");

    if !t.globals.is_empty() {
        // Each global is two items: its bytes and its integer value.
        let mut items = Vec::with_capacity(t.globals.len());
        for g in &t.globals {
            let mut s = String::from("b'");
            op_bytes(&mut s, g.op);
            let _ = write!(s, "{}',{}", g.name, g.value);
            items.push(s);
        }
        let _ = writeln!(out, "    _globals = {},", tuple(items));
    }
    if !t.struct_unions.is_empty() {
        let mut items = Vec::with_capacity(t.struct_unions.len());
        for s in &t.struct_unions {
            let mut e = String::from("(b'");
            four_bytes(&mut e, s.type_index as i64);
            four_bytes(&mut e, s.flags as i64);
            e.push_str(&s.name);
            e.push_str("',");
            let fields: Vec<String> = s
                .fields
                .iter()
                .map(|f| {
                    let mut b = String::from("b'");
                    op_bytes(&mut b, f.op);
                    if let Some(bits) = f.bitsize {
                        four_bytes(&mut b, bits as i64);
                    }
                    b.push_str(&f.name);
                    b.push('\'');
                    b
                })
                .collect();
            e.push_str(&fields.join(","));
            e.push(')');
            items.push(e);
        }
        let _ = writeln!(out, "    _struct_unions = {},", tuple(items));
    }
    if !t.enums.is_empty() {
        let items = t
            .enums
            .iter()
            .map(|e| {
                let mut s = String::from("b'");
                four_bytes(&mut s, e.type_index as i64);
                four_bytes(&mut s, e.prim as i64);
                let _ = write!(s, "{}\\x00{}'", e.name, e.enumerators);
                s
            })
            .collect();
        let _ = writeln!(out, "    _enums = {},", tuple(items));
    }
    if !t.typenames.is_empty() {
        let items = t
            .typenames
            .iter()
            .map(|n| {
                let mut s = String::from("b'");
                four_bytes(&mut s, n.type_index as i64);
                let _ = write!(s, "{}'", n.name);
                s
            })
            .collect();
        let _ = writeln!(out, "    _typenames = {},", tuple(items));
    }
    if !include_names.is_empty() {
        let names: Vec<String> = (0..include_names.len()).map(|i| format!("_ffi{i}")).collect();
        let _ = writeln!(out, "    _includes = ({},),", names.join(", "));
    }
    out.push_str(")\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        let mut s = String::new();
        four_bytes(&mut s, -1);
        assert_eq!(s, "\\xFF\\xFF\\xFF\\xFF");
        assert_eq!(py_repr("a'b"), "\"a'b\"");
        assert_eq!(py_repr("x\ny"), "'x\\ny'");
        assert_eq!(tuple(vec!["a".into()]), "(a,)");
        assert_eq!(tuple(vec!["a".into(), "b".into()]), "(a,b)");
    }
}
