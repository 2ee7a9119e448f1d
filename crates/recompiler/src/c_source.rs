//! Writes the C source of an API-mode module (`set_source(name, "<C code>")`): our header
//! (`rcffi_include.h`, inlined), the user's preamble, then the type context tables of cffi's
//! out-of-line module protocol as C initialisers, one wrapper per function (`_cffi_f_NAME`, which
//! converts the Python arguments through the `_cffi_exports` slots, and `_cffi_d_NAME`, the direct
//! call), one getter per constant (`_cffi_const_NAME`) and per global variable (`_cffi_var_NAME`),
//! compile-time field checks per struct, and `PyInit_NAME()` calling `_cffi_init()`.
//!
//! The tables are those upstream cffi 2.0.0 writes for the same declarations (same order, same
//! entries; sizes, offsets and the values of `...` constants are left to the C compiler), so the
//! module loads on upstream's `_cffi_backend` as well as on ours.

use std::fmt::Write;

use model::protocol::*;

use crate::declare::{DeclObj, Declarations};
use crate::tables::{Tables, TypeOp};
use crate::typemodel::{qualify, Kind, Len, ObjId, TypeModel};
use crate::{ErrorKind, GResult, GenError};

/// Our C header, inlined at the top of every generated module.
pub const HEADER: &str = include_str!("rcffi_include.h");

/// The support code of embedding modules (`ffi.embedding_api()`), inlined after [`HEADER`].
pub const EMBEDDING_HEADER: &str = include_str!("rcffi_embedding.h");

/// Type-context flag (rcffi's own; upstream's runtime reads only flag 1): `_cffi_init` passes a
/// fifth word, `_cffi_fastcall`, the METH_FASTCALL entry point of each global (or NULL).
pub const FLAG_FASTCALL_TABLE: u32 = 0x100;

/// `cffi 1.5+`: an embedding module (the runtime must fill the `_cffi_call_python` slot).
pub const VERSION_EMBEDDED: i64 = 0x2701;

/// `cffi 1.8+`: a module that converts `char16_t`/`char32_t` needs a runtime that has the slots
/// 26 and 27 of `_cffi_exports`.
pub const VERSION_CHAR16CHAR32: i64 = 0x2801;

/// The opcode names of `_CFFI_OP_*` (index: opcode number).
fn op_name(op: u8) -> &'static str {
    match op {
        OP_PRIMITIVE => "PRIMITIVE",
        OP_POINTER => "POINTER",
        OP_ARRAY => "ARRAY",
        OP_OPEN_ARRAY => "OPEN_ARRAY",
        OP_STRUCT_UNION => "STRUCT_UNION",
        OP_ENUM => "ENUM",
        OP_FUNCTION => "FUNCTION",
        OP_FUNCTION_END => "FUNCTION_END",
        OP_NOOP => "NOOP",
        OP_BITFIELD => "BITFIELD",
        OP_TYPENAME => "TYPENAME",
        OP_CPYTHON_BLTN_V => "CPYTHON_BLTN_V",
        OP_CPYTHON_BLTN_N => "CPYTHON_BLTN_N",
        OP_CPYTHON_BLTN_O => "CPYTHON_BLTN_O",
        OP_CONSTANT => "CONSTANT",
        OP_CONSTANT_INT => "CONSTANT_INT",
        OP_GLOBAL_VAR => "GLOBAL_VAR",
        OP_DLOPEN_FUNC => "DLOPEN_FUNC",
        OP_DLOPEN_CONST => "DLOPEN_CONST",
        OP_GLOBAL_VAR_F => "GLOBAL_VAR_F",
        OP_EXTERN_PYTHON => "EXTERN_PYTHON",
        _ => "NOOP",
    }
}

/// `_CFFI_OP(_CFFI_OP_X, arg)` for an encoded opcode.
fn op_expr(encoded: u32) -> String {
    let opcode = (encoded & 0xFF) as u8;
    let arg = (encoded as i32) >> 8;
    format!("_CFFI_OP(_CFFI_OP_{}, {arg})", op_name(opcode))
}

fn type_op_expr(t: &TypeOp) -> String {
    match t {
        TypeOp::Op(opcode, arg) => format!("_CFFI_OP(_CFFI_OP_{}, {arg})", op_name(*opcode)),
        TypeOp::Length(len) => {
            let text = match len {
                Len::Known(n) => n.to_string(),
                Len::CExpr(e) => e.clone(),
                Len::Dots => "...".into(),
                Len::Open => "0".into(),
            };
            format!("(_cffi_opcode_t)({text})")
        }
        TypeOp::CExpr(e) => format!("_CFFI_OP(_CFFI_OP_PRIMITIVE, {e})"),
    }
}


/// The C declaration of `obj` with the declarator `replace_with` (upstream's `get_c_name()`);
/// an error for types that have no C name (anonymous structs that no typedef names).
pub fn get_c_name(m: &TypeModel, obj: ObjId, replace_with: &str, quals: u8, context: &str) -> GResult<String> {
    let marker = m.marker(obj);
    let mut with = replace_with.trim().to_string();
    if !with.is_empty() {
        if with.starts_with('*') && marker.contains("&[") {
            with = format!("({with})");
        } else if !with.starts_with('[') && !with.starts_with('(') {
            with = format!(" {with}");
        }
    }
    let with = qualify(quals, &with);
    let result = marker.replacen('&', &with, 1);
    if result.contains('$') {
        return Err(GenError::new(
            ErrorKind::VerificationError,
            format!("cannot generate '{}' in {context}: unknown type name", m.c_name(obj)),
        ));
    }
    Ok(result)
}

/// Options of the generated source that come from the Python side.
#[derive(Clone, Debug, Default)]
pub struct COptions {
    /// Write `#define _CFFI_NO_LIMITED_API` (a free-threaded CPython, or not wanted).
    pub no_limited_api: bool,
    /// Generating for `ffi.verify()`, which refuses what only `set_source()` supports.
    pub for_verify: bool,
    /// An embedding module (`ffi.embedding_api()` was called): the Python code that
    /// `ffi.embedding_init_code()` gave (empty if none), run when the DLL starts.
    pub embedding: Option<String>,
}

struct Writer<'a> {
    m: &'a mut TypeModel,
    decls: &'a Declarations,
    t: &'a Tables,
    out: String,
    module_name: String,
    /// Number of `extern "Python"` functions: with any, the module needs the export slot of
    /// `_cffi_call_python` (context flag 1), as upstream's runtime reads it.
    num_externpy: usize,
    version: i64,
    seen_constants: std::collections::HashSet<(String, String)>,
    /// `ffi.verify()` checks the enumerators of complete enums against the C compiler's values
    /// (`set_source()` takes the compiler's values as they are).
    check_enum_values: bool,
    /// Functions that have a METH_FASTCALL entry point `_cffi_fc_NAME`.
    fastcall: std::collections::HashSet<String>,
}

macro_rules! p {
    ($w:expr) => { $w.out.push('\n') };
    ($w:expr, $($arg:tt)*) => {{ let _ = write!($w.out, $($arg)*); $w.out.push('\n'); }};
}

fn is_complex(name: &str) -> bool {
    name.contains("complex") || name.contains("_Complex")
}

impl Writer<'_> {
    fn tidx(&self, obj: ObjId) -> GResult<usize> {
        self.t.index.get(&self.m.canon(obj)).copied().ok_or_else(|| {
            GenError::new(
                ErrorKind::NotImplementedError,
                format!("internal inconsistency: type {} not in the types table", self.m.c_name(obj)),
            )
        })
    }

    fn cname(&self, obj: ObjId, replace_with: &str, context: &str) -> GResult<String> {
        get_c_name(self.m, obj, replace_with, 0, context)
    }

    /// Converting the Python object `from` to the C variable `to` of type `tp`.
    fn arg_to_c(&mut self, tp: ObjId, from: &str, to: &str) -> GResult<()> {
        let kind = self.m.kind(tp).clone();
        let (converter, extra, errvalue) = match &kind {
            Kind::Prim(name) if !is_complex(name) => {
                if self.m.is_integer(tp) && *name != "_Bool" {
                    ("_cffi_to_c_int".to_string(), format!(", {name}"), "-1")
                } else {
                    if *name == "char16_t" || *name == "char32_t" {
                        self.version = self.version.max(VERSION_CHAR16CHAR32);
                    }
                    (format!("({name})_cffi_to_c_{}", name.replace(' ', "_")), String::new(), "-1")
                }
            }
            Kind::UnknownInt(name) => ("_cffi_to_c_int".to_string(), format!(", {name}"), "-1"),
            Kind::UnknownFloat(name) => (format!("({name})_cffi_to_c_double"), String::new(), "-1"),
            Kind::Pointer { .. } | Kind::NamedPointer { .. } => {
                let i = self.tidx(tp)?;
                let c = self.cname(tp, "", "a C file")?;
                p!(self, "  datasize = _cffi_prepare_pointer_call_argument(");
                p!(self, "      _cffi_type({i}), {from}, (char **)&{to});");
                p!(self, "  if (datasize != 0) {{");
                p!(self, "    {to} = ((size_t)datasize) <= 640 ? ({c})alloca((size_t)datasize) : NULL;");
                p!(self, "    if (_cffi_convert_array_argument(_cffi_type({i}), {from}, (char **)&{to},");
                p!(self, "            datasize, &large_args_free) < 0)");
                p!(self, "      return NULL;");
                p!(self, "  }}");
                return Ok(());
            }
            Kind::Record(_) | Kind::Enum(_) | Kind::Prim(_) => {
                let i = self.tidx(tp)?;
                p!(self, "  if (_cffi_to_c((char *)&{to}, _cffi_type({i}), {from}) < 0)");
                p!(self, "    return NULL;");
                return Ok(());
            }
            Kind::FuncPtr(_) => {
                let i = self.tidx(tp)?;
                let c = self.cname(tp, "", "a C file")?;
                (format!("({c})_cffi_to_c_pointer"), format!(", _cffi_type({i})"), "NULL")
            }
            _ => {
                return Err(GenError::new(
                    ErrorKind::NotImplementedError,
                    format!("argument of type {}", self.m.c_name(tp)),
                ))
            }
        };
        let c = self.cname(tp, "", "a C file")?;
        p!(self, "  {to} = {converter}({from}{extra});");
        p!(self, "  if ({to} == ({c}){errvalue} && PyErr_Occurred())");
        p!(self, "    return NULL;");
        Ok(())
    }

    /// The expression that makes a Python object of the C value `var` of type `tp`.
    fn result_to_py(&mut self, tp: ObjId, var: &str) -> GResult<String> {
        Ok(match self.m.kind(tp).clone() {
            Kind::Prim(name) if self.m.is_integer(tp) && name != "_Bool" => format!("_cffi_from_c_int({var}, {name})"),
            Kind::UnknownInt(name) => format!("_cffi_from_c_int({var}, {name})"),
            Kind::UnknownFloat(_) => format!("_cffi_from_c_double({var})"),
            Kind::Prim(name) if name != "long double" && !is_complex(name) => {
                if name == "char16_t" || name == "char32_t" {
                    self.version = self.version.max(VERSION_CHAR16CHAR32);
                }
                format!("_cffi_from_c_{}({var})", name.replace(' ', "_"))
            }
            Kind::Prim(_) | Kind::Enum(_) => {
                format!("_cffi_from_c_deref((char *)&{var}, _cffi_type({}))", self.tidx(tp)?)
            }
            Kind::Pointer { .. } | Kind::NamedPointer { .. } | Kind::FuncPtr(_) => {
                format!("_cffi_from_c_pointer((char *){var}, _cffi_type({}))", self.tidx(tp)?)
            }
            Kind::Record(r) => {
                if self.m.records[r].fields.is_none() {
                    return Err(GenError::new(
                        ErrorKind::TypeError,
                        format!("'{}' is used as result type, but is opaque", self.m.c_name(tp)),
                    ));
                }
                format!("_cffi_from_c_struct((char *)&{var}, _cffi_type({}))", self.tidx(tp)?)
            }
            _ => {
                return Err(GenError::new(
                    ErrorKind::NotImplementedError,
                    format!("result of type {}", self.m.c_name(tp)),
                ))
            }
        })
    }

    fn function(&mut self, tp: ObjId, name: &str) -> GResult<()> {
        let Kind::FuncPtr(f) = self.m.kind(tp).clone() else { return Ok(()) };
        if f.ellipsis {
            return self.constant(false, name, Some(tp), "const", None);
        }
        let ctx = format!("argument of {name}");
        let mut params = Vec::new();
        for (i, a) in f.args.iter().enumerate() {
            params.push(self.cname(*a, &format!(" x{i}"), &ctx)?);
        }
        let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
        let call_args: Vec<String> = (0..f.args.len()).map(|i| format!("x{i}")).collect();
        let call_args = call_args.join(", ");
        let abi = if f.stdcall { "__stdcall " } else { "" };
        let is_void = matches!(self.m.kind(f.result), Kind::Void);
        let rctx = format!("result of {name}");

        // the direct version, for ffi.addressof(lib, 'name')
        let head = self.cname(f.result, &format!("{abi}_cffi_d_{name}({params})"), &rctx)?;
        p!(self, "static {head}");
        p!(self, "{{");
        p!(self, "  {}{name}({call_args});", if is_void { "" } else { "return " });
        p!(self, "}}");

        // the CPython wrapper; with several arguments, its body takes them one by one and two
        // entry points lead to it: `_cffi_f_` (METH_VARARGS, what upstream's runtime calls) and
        // `_cffi_fc_` (METH_FASTCALL, no argument tuple: what rcffi's runtime calls, see
        // `fastcall_table`)
        let nargs = f.args.len();
        let (head, body_name) = match nargs {
            0 => (format!("_cffi_f_{name}(PyObject *self, PyObject *noarg)"), None),
            1 => (format!("_cffi_f_{name}(PyObject *self, PyObject *arg0)"), None),
            _ => {
                let params: Vec<String> = (0..nargs).map(|i| format!("PyObject *arg{i}")).collect();
                (format!("_cffi_fb_{name}(PyObject *self, {})", params.join(", ")), Some(format!("_cffi_fb_{name}")))
            }
        };
        p!(self, "static PyObject *");
        p!(self, "{head}");
        p!(self, "{{");
        for (i, a) in f.args.iter().enumerate() {
            let d = self.cname(*a, &format!(" x{i}"), &ctx)?;
            p!(self, "  {d};");
        }
        let has_ptr_arg = f.args.iter().any(|a| matches!(self.m.kind(*a), Kind::Pointer { .. } | Kind::NamedPointer { .. }));
        if has_ptr_arg {
            p!(self, "  Py_ssize_t datasize;");
            p!(self, "  struct _cffi_freeme_s *large_args_free = NULL;");
        }
        if !is_void {
            let d = self.cname(f.result, " result", &rctx)?;
            p!(self, "  {d};");
            p!(self, "  PyObject *pyresult;");
        }
        p!(self);
        for (i, a) in f.args.iter().enumerate() {
            self.arg_to_c(*a, &format!("arg{i}"), &format!("x{i}"))?;
            p!(self);
        }
        p!(self, "  Py_BEGIN_ALLOW_THREADS");
        p!(self, "  _cffi_restore_errno();");
        p!(self, "  {{ {}{name}({call_args}); }}", if is_void { "" } else { "result = " });
        p!(self, "  _cffi_save_errno();");
        p!(self, "  Py_END_ALLOW_THREADS");
        p!(self);
        p!(self, "  (void)self; /* unused */");
        if f.args.is_empty() {
            p!(self, "  (void)noarg; /* unused */");
        }
        let free = "  if (large_args_free != NULL) _cffi_free_array_arguments(large_args_free);";
        if !is_void {
            let e = self.result_to_py(f.result, "result")?;
            p!(self, "  pyresult = {e};");
            if has_ptr_arg {
                p!(self, "{free}");
            }
            p!(self, "  return pyresult;");
        } else {
            if has_ptr_arg {
                p!(self, "{free}");
            }
            p!(self, "  Py_INCREF(Py_None);");
            p!(self, "  return Py_None;");
        }
        p!(self, "}}");
        p!(self);
        if let Some(body) = body_name {
            let from_tuple: Vec<String> = (0..nargs).map(|i| format!("arg{i}")).collect();
            let from_array: Vec<String> = (0..nargs).map(|i| format!("args[{i}]")).collect();
            p!(self, "static PyObject *");
            p!(self, "_cffi_f_{name}(PyObject *self, PyObject *args)");
            p!(self, "{{");
            p!(self, "  PyObject *{};", from_tuple.join(", *"));
            let refs: Vec<String> = (0..nargs).map(|i| format!("&arg{i}")).collect();
            p!(self, "  if (!PyArg_UnpackTuple(args, \"{name}\", {nargs}, {nargs}, {}))", refs.join(", "));
            p!(self, "    return NULL;");
            p!(self, "  return {body}(self, {});", from_tuple.join(", "));
            p!(self, "}}");
            p!(self);
            p!(self, "static PyObject *");
            p!(self, "_cffi_fc_{name}(PyObject *self, PyObject *const *args, Py_ssize_t nargs)");
            p!(self, "{{");
            p!(self, "  if (nargs != {nargs})");
            p!(self, "    return _cffi_wrong_arg_count(\"{name}\", {nargs}, nargs);");
            p!(self, "  return {body}(self, {});", from_array.join(", "));
            p!(self, "}}");
            p!(self);
            self.fastcall.insert(name.to_string());
        }
        Ok(())
    }

    /// `_cffi_const_NAME`: for integers, a function returning the value and whether it is <= 0
    /// (bit 1: it is not `check_value`); else a function storing the value at `o`.
    /// `extern "Python"`: the descriptor the runtime attaches `@ffi.def_extern()` functions to,
    /// and the C function, which passes its arguments to `_cffi_call_python` in 8-byte slots
    /// (`long double` and structs by pointer) and takes the result from the same buffer.
    fn extern_python(&mut self, tp: ObjId, name: &str, tag: &str) -> GResult<()> {
        let f = match self.m.kind(tp).clone() {
            Kind::FuncPtr(f) | Kind::RawFunc(f) => f,
            _ => return Ok(()),
        };
        let rctx = format!("result of {name}");
        let ctx = format!("argument of {name}");
        let is_void = matches!(self.m.kind(f.result), Kind::Void);
        let by_pointer = |m: &TypeModel, t: ObjId| matches!(m.kind(t), Kind::Record(_) | Kind::Prim("long double"));
        let size_of_result =
            if is_void { "0".to_string() } else { format!("(int)sizeof({})", self.cname(f.result, "", &rctx)?) };
        p!(self, "static struct _cffi_externpy_s _cffi_externpy__{name} =");
        p!(self, "  {{ \"{}.{name}\", {size_of_result}, 0, 0 }};", self.module_name);
        p!(self);
        let mut params = Vec::new();
        for (i, a) in f.args.iter().enumerate() {
            params.push(self.cname(*a, &format!(" a{i}"), &ctx)?);
        }
        let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
        let abi = if f.stdcall { "_cffi_stdcall " } else { "" };
        let head = self.cname(f.result, &format!("{abi}{name}({params})"), &rctx)?;
        let mut size_of_a = (f.args.len() * 8).max(8).to_string();
        if matches!(self.m.kind(f.result), Kind::Prim("long double")) {
            size_of_a = (f.args.len() * 8).max(16).to_string();
        }
        if matches!(self.m.kind(f.result), Kind::Record(_)) {
            let r = self.cname(f.result, "", &rctx)?;
            size_of_a = format!("sizeof({r}) > {size_of_a} ? sizeof({r}) : {size_of_a}");
        }
        p!(self, "{tag}{head}");
        p!(self, "{{");
        p!(self, "  char a[{size_of_a}];");
        p!(self, "  char *p = a;");
        for (i, a) in f.args.iter().enumerate() {
            if by_pointer(self.m, *a) {
                let ptr = self.cname(*a, "* *", &ctx)?;
                p!(self, "  *({ptr})(p + {}) = &a{i};", i * 8);
            } else {
                let ptr = self.cname(*a, "*", &ctx)?;
                p!(self, "  *({ptr})(p + {}) = a{i};", i * 8);
            }
        }
        p!(self, "  _cffi_call_python(&_cffi_externpy__{name}, p);");
        self.num_externpy += 1;
        if !is_void {
            let ptr = self.cname(f.result, "*", &rctx)?;
            p!(self, "  return *({ptr})p;");
        }
        p!(self, "}}");
        p!(self);
        Ok(())
    }

    fn constant(&mut self, is_int: bool, name: &str, tp: Option<ObjId>, category: &str, check: Option<i128>) -> GResult<()> {
        if !self.seen_constants.insert((category.to_string(), name.to_string())) {
            return Err(GenError::new(
                ErrorKind::VerificationError,
                format!("duplicate declaration of {category} '{name}'"),
            ));
        }
        let func = format!("_cffi_{category}_{name}");
        if is_int {
            p!(self, "static int {func}(unsigned long long *o)");
            p!(self, "{{");
            p!(self, "  int n = ({name}) <= 0;");
            p!(self, "  *o = (unsigned long long)(({name}) | 0);  /* check that {name} is an integer */");
            if let Some(v) = check {
                let v = if v > 0 { format!("{v}U") } else { v.to_string() };
                p!(self, "  if (!_cffi_check_int(*o, n, {v}))");
                p!(self, "    n |= 2;");
            }
            p!(self, "  return n;");
            p!(self, "}}");
        } else {
            let Some(tp) = tp else { return Ok(()) };
            let ptr = self.cname(tp, "*", "a C file")?;
            p!(self, "static void {func}(char *o)");
            p!(self, "{{");
            p!(self, "  *({ptr})o = {name};");
            p!(self, "}}");
        }
        p!(self);
        Ok(())
    }

    fn variable(&mut self, tp: ObjId, name: &str, quals: u8) -> GResult<()> {
        let t = self.m.global_type(tp, name);
        let (t, amp) = match self.m.kind(t).clone() {
            Kind::Array { item, len: Len::Open } => (item, ""),
            _ => (t, "&"),
        };
        let d = get_c_name(self.m, t, &format!("*_cffi_var_{name}(void)"), quals, "a C file")?;
        p!(self, "static {d}");
        p!(self, "{{");
        p!(self, "  return {amp}({name});");
        p!(self, "}}");
        p!(self);
        Ok(())
    }


    /// Compile-time checks of the declared fields, and the struct that gives the alignment.
    fn struct_decl(&mut self, obj: ObjId, cname: &str, approx: &str) -> GResult<()> {
        let Some(r) = self.m.record_of(obj) else { return Ok(()) };
        if self.m.records[r].fields.is_none() {
            return Ok(());
        }
        p!(self, "_CFFI_UNUSED_FN");
        p!(self, "static void _cffi_checkfld_{approx}({cname} *p)");
        p!(self, "{{");
        p!(self, "  /* only to generate compile-time warnings or errors */");
        p!(self, "  (void)p;");
        for f in expand_fields(self.m, r) {
            if self.m.is_integer(f.ty) || f.bitsize >= 0 {
                if !f.name.is_empty() {
                    p!(self, "  (void)((p->{0}) | 0);  /* check that '{cname}.{0}' is an integer */", f.name);
                }
                continue;
            }
            let mut ft = f.ty;
            let mut fname = f.name.clone();
            while let Kind::Array { item, len: Len::Open | Len::Dots } = self.m.kind(ft).clone() {
                ft = item;
                fname.push_str("[0]");
            }
            match get_c_name(self.m, ft, "*tmp", f.quals, &format!("field '{fname}'")) {
                Ok(d) => p!(self, "  {{ {d} = &p->{fname}; (void)tmp; }}"),
                Err(e) => p!(self, "  /* {} */", e.message),
            }
        }
        p!(self, "}}");
        p!(self, "struct _cffi_align_{approx} {{ char x; {cname} y; }};");
        p!(self);
        Ok(())
    }

    fn enum_consts(&mut self, obj: ObjId) -> GResult<()> {
        let Kind::Enum(e) = *self.m.kind(obj) else { return Ok(()) };
        let def = &self.m.enums[e];
        let check = self.check_enum_values && !def.partial;
        let enumerators: Vec<(String, i128)> = def.enumerators.iter().cloned().zip(def.values.iter().copied()).collect();
        for (name, value) in enumerators {
            self.constant(true, &name, None, "const", check.then_some(value))?;
        }
        Ok(())
    }

    fn decls(&mut self) -> GResult<()> {
        let all: Vec<(String, DeclObj, u8)> = self.decls.map.iter().map(|(k, (o, q))| (k.clone(), *o, *q)).collect();
        for (key, obj, quals) in all {
            let (kind, name) = key.split_once(' ').unwrap_or((key.as_str(), ""));
            let r = match (kind, obj) {
                ("macro", DeclObj::Macro(v)) => self.constant(true, name, None, "const", v),
                (_, DeclObj::Macro(_)) => Ok(()),
                ("typedef", _) => Ok(()),
                ("function", DeclObj::Type(tp)) => self.function(tp, name),
                ("extern_python", DeclObj::Type(tp)) => self.extern_python(tp, name, "static "),
                ("extern_python_plus_c", DeclObj::Type(tp)) => self.extern_python(tp, name, ""),
                ("dllexport_python", DeclObj::Type(tp)) => self.extern_python(tp, name, "CFFI_DLLEXPORT "),
                ("struct" | "union", DeclObj::Type(tp)) => match self.m.record_of(tp) {
                    Some(_) => {
                        let cname = get_c_name(self.m, tp, "", 0, "a C file")?;
                        let approx = if cname.contains(' ') { cname.replace(' ', "_") } else { format!("_{cname}") };
                        self.struct_decl(tp, &cname, &approx)
                    }
                    None => Ok(()),
                },
                ("anonymous", DeclObj::Type(tp)) => {
                    if matches!(self.m.kind(tp), Kind::Enum(_)) {
                        self.enum_consts(tp)
                    } else {
                        self.struct_decl(tp, name, &format!("typedef_{name}"))
                    }
                }
                ("constant", DeclObj::Type(tp)) => {
                    let is_int = self.m.is_integer(tp);
                    self.constant(is_int, name, Some(tp), "const", None)
                }
                ("enum", DeclObj::Type(tp)) => self.enum_consts(tp),
                ("variable", DeclObj::Type(tp)) => self.variable(tp, name, quals),
                _ => Ok(()),
            };
            r.map_err(|e| e.about(&key))?;
        }
        Ok(())
    }
}

/// The fields of a struct with those of its anonymous struct/union members expanded.
fn expand_fields(m: &TypeModel, r: usize) -> Vec<crate::typemodel::Field> {
    let mut out = Vec::new();
    for f in m.records[r].fields.iter().flatten() {
        match m.record_of(f.ty) {
            Some(inner) if f.name.is_empty() => out.extend(expand_fields(m, inner)),
            _ => out.push(f.clone()),
        }
    }
    out
}

/// `_cffi_fastcall[]`, parallel to `_cffi_globals[]`: the `_cffi_fc_NAME` entry point of each
/// function that has one, NULL elsewhere. rcffi's runtime builds those functions' builtins with
/// METH_FASTCALL (no argument tuple); other runtimes never see the table.
fn fastcall_table(w: &mut Writer<'_>) {
    if w.fastcall.is_empty() {
        return;
    }
    let entries: Vec<String> = w
        .t
        .globals
        .iter()
        .map(|g| {
            let is_varargs_builtin = (g.op & 0xff) as u8 == OP_CPYTHON_BLTN_V;
            if is_varargs_builtin && w.fastcall.contains(&g.name) && g.c_address == format!("_cffi_f_{}", g.name) {
                format!("(void *)_cffi_fc_{}", g.name)
            } else {
                "NULL".to_string()
            }
        })
        .collect();
    p!(w, "static void *const _cffi_fastcall[] = {{");
    for e in entries {
        p!(w, "  {e},");
    }
    p!(w, "}};");
    p!(w);
}

/// What the embedding header needs to know of the module: its name, its init function and the
/// init code, as an array of bytes (a string literal may be too long for some compilers).
fn embedding_prologue(out: &mut String, module_name: &str, code: &str) {
    let base = module_name.rsplit('.').next().unwrap_or(module_name);
    let _ = writeln!(out, "#define _CFFI_MODULE_NAME  \"{module_name}\"");
    let _ = writeln!(out, "#define _CFFI_PYTHON_STARTUP_FUNC  PyInit_{base}");
    out.push_str("/* the code of ffi.embedding_init_code(), UTF-8 */\n");
    out.push_str("static const unsigned char _cffi_embedding_init_code[] = {\n");
    for line in code.as_bytes().chunks(20) {
        let bytes: Vec<String> = line.iter().map(|b| b.to_string()).collect();
        let _ = writeln!(out, "  {},", bytes.join(","));
    }
    out.push_str("  0\n};\n");
    out.push_str("#define _CFFI_PYTHON_STARTUP_CODE  ((const char *)_cffi_embedding_init_code)\n\n");
}

/// The whole C source of module `module_name`.
pub fn write(
    m: &mut TypeModel,
    decls: &Declarations,
    t: &Tables,
    module_name: &str,
    preamble: &str,
    include_names: &[String],
    opts: &COptions,
) -> GResult<String> {
    let mut w = Writer {
        m,
        decls,
        t,
        out: String::with_capacity(HEADER.len() + preamble.len() + 4096),
        module_name: module_name.to_string(),
        num_externpy: 0,
        version: VERSION_BASE,
        seen_constants: Default::default(),
        check_enum_values: opts.for_verify,
        fastcall: Default::default(),
    };
    if opts.embedding.is_some() {
        p!(w, "#define _CFFI_USE_EMBEDDING");
    }
    if opts.no_limited_api {
        p!(w, "#define _CFFI_NO_LIMITED_API");
    }
    w.out.push_str(HEADER);
    p!(w);
    if let Some(code) = &opts.embedding {
        embedding_prologue(&mut w.out, module_name, code);
        w.out.push_str(EMBEDDING_HEADER);
        p!(w);
        w.version = w.version.max(VERSION_EMBEDDED);
    }
    p!(w, "/************************************************************/");
    p!(w);
    p!(w, "{preamble}");
    p!(w);
    p!(w, "/************************************************************/");
    p!(w);

    p!(w, "static void *_cffi_types[] = {{");
    for (i, op) in t.types.iter().enumerate() {
        let comment = t.names.get(&i).map(|n| format!(" // {n}")).unwrap_or_default();
        p!(w, "/* {i:2} */ {},{comment}", type_op_expr(op));
    }
    if t.types.is_empty() {
        p!(w, "  0");
    }
    p!(w, "}};");
    p!(w);

    w.decls()?;

    let nums = [t.globals.len(), t.c_fields.len(), t.struct_unions.len(), t.enums.len(), t.typenames.len()];
    if !t.globals.is_empty() {
        p!(w, "static const struct _cffi_global_s _cffi_globals[] = {{");
        for g in &t.globals {
            p!(w, "  {{ \"{}\", (void *){}, {}, (void *){} }},", g.name, g.c_address, op_expr(g.op), g.c_size);
        }
        p!(w, "}};");
        p!(w);
        fastcall_table(&mut w);
    }
    if !t.c_fields.is_empty() {
        p!(w, "static const struct _cffi_field_s _cffi_fields[] = {{");
        for f in &t.c_fields {
            let pad = " ".repeat(f.name.len());
            p!(w, "  {{ \"{}\", {},", f.name, f.c_offset);
            p!(w, "     {pad}   {},", f.c_size);
            p!(w, "     {pad}   {} }},", op_expr(f.op));
        }
        p!(w, "}};");
        p!(w);
    }
    if !t.struct_unions.is_empty() {
        p!(w, "static const struct _cffi_struct_union_s _cffi_struct_unions[] = {{");
        for s in &t.struct_unions {
            let comment = s.comment.as_ref().map(|c| format!("/* {c} */ ")).unwrap_or_default();
            let mut flags = Vec::new();
            for (bit, name) in [
                (F_UNION, "_CFFI_F_UNION"),
                (F_OPAQUE, "_CFFI_F_OPAQUE"),
                (F_CHECK_FIELDS, "_CFFI_F_CHECK_FIELDS"),
                (F_PACKED, "_CFFI_F_PACKED"),
                (F_EXTERNAL, "_CFFI_F_EXTERNAL"),
            ] {
                if s.flags & bit != 0 {
                    flags.push(name);
                }
            }
            let flags = if flags.is_empty() { "0".to_string() } else { flags.join("|") };
            let nfields = if s.first_field < 0 { 0 } else { s.fields.len() };
            p!(w, "  {{ \"{}\", {}, {flags},", s.name, s.type_index);
            p!(w, "    {}, {}, {}, {nfields} {comment}}},", s.c_size, s.c_align, s.first_field);
        }
        p!(w, "}};");
        p!(w);
    }
    if !t.enums.is_empty() {
        p!(w, "static const struct _cffi_enum_s _cffi_enums[] = {{");
        for e in &t.enums {
            p!(w, "  {{ \"{}\", {}, _cffi_prim_int({}, {}),", e.name, e.type_index, e.c_size, e.c_signed);
            p!(w, "    \"{}\" }},", e.enumerators);
        }
        p!(w, "}};");
        p!(w);
    }
    if !t.typenames.is_empty() {
        p!(w, "static const struct _cffi_typename_s _cffi_typenames[] = {{");
        for n in &t.typenames {
            p!(w, "  {{ \"{}\", {} }},", n.name, n.type_index);
        }
        p!(w, "}};");
        p!(w);
    }
    if !include_names.is_empty() {
        p!(w, "static const char * const _cffi_includes[] = {{");
        for n in include_names {
            p!(w, "  \"{n}\",");
        }
        p!(w, "  NULL");
        p!(w, "}};");
        p!(w);
    }

    p!(w, "static const struct _cffi_type_context_s _cffi_type_context = {{");
    p!(w, "  _cffi_types,");
    let steps = ["global", "field", "struct_union", "enum", "typename"];
    for (step, n) in steps.iter().zip(nums) {
        if n > 0 {
            p!(w, "  _cffi_{step}s,");
        } else {
            p!(w, "  NULL,  /* no {step}s */");
        }
    }
    for (step, n) in steps.iter().zip(nums) {
        if *step != "field" {
            p!(w, "  {n},  /* num_{step}s */");
        }
    }
    if include_names.is_empty() {
        p!(w, "  NULL,  /* no includes */");
    } else {
        p!(w, "  _cffi_includes,");
    }
    p!(w, "  {},  /* num_types */", t.types.len());
    // flag 1: the runtime must fill in the `_cffi_call_python` slot; flag 0x100 (rcffi's, other
    // runtimes ignore it): `_cffi_init` passes the fastcall table
    let uses_call_python = w.num_externpy > 0 || opts.embedding.is_some();
    let flags = (if uses_call_python { 1 } else { 0 }) | (if w.fastcall.is_empty() { 0 } else { FLAG_FASTCALL_TABLE });
    p!(w, "  0x{flags:x},  /* flags */");
    p!(w, "}};");
    p!(w);

    let base = module_name.rsplit('.').next().unwrap_or(module_name);
    let version = w.version;
    p!(w, "#ifdef __GNUC__");
    p!(w, "#  pragma GCC visibility push(default)  /* for -fvisibility= */");
    p!(w, "#endif");
    p!(w);
    p!(w, "PyMODINIT_FUNC");
    p!(w, "PyInit_{base}(void)");
    p!(w, "{{");
    let table = if w.fastcall.is_empty() { "NULL" } else { "_cffi_fastcall" };
    p!(w, "  return _cffi_init(\"{module_name}\", 0x{version:x}, &_cffi_type_context, {table});");
    p!(w, "}}");
    p!(w);
    p!(w, "#ifdef __GNUC__");
    p!(w, "#  pragma GCC visibility pop");
    p!(w, "#endif");
    Ok(w.out)
}
