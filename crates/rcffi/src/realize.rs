//! The declarations of an FFI (from its `cdef()` calls) and their realization into ctypes.
//!
//! `cdef()` only records declarations (cheap, so big headers cost little); a type becomes a
//! `CType` the first time something asks for it, and is cached from then on.

use std::collections::hash_map::Entry;
use std::sync::Arc;

use cdecl::{ArrayLen, BaseType, Decl, Enum, Expr, Name, Record, RecordBody, RecordKind, Span, Ty};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::ctype::{self, CType, Kind};
use crate::fxhash::FxHashMap as HashMap;
use crate::errors::{CDefError, FFIError, VerificationMissing};
use crate::record::{self, FieldDecl};

/// Why a type could not be realized. Lookup failures carry what the caret should point at, so
/// that type-string errors can be reported like upstream's.
pub enum RealizeError {
    Py(PyErr),
    Lookup { message: &'static str, name: String, span: Option<Span> },
}

impl From<PyErr> for RealizeError {
    fn from(e: PyErr) -> Self {
        RealizeError::Py(e)
    }
}

pub type RResult<T> = Result<T, RealizeError>;

/// A realize error as a Python exception (outside type strings, where no caret is shown).
pub fn into_pyerr(e: RealizeError) -> PyErr {
    match e {
        RealizeError::Py(e) => e,
        RealizeError::Lookup { message, name, .. } => FFIError::new_err(format!("{message}: '{name}'")),
    }
}

/// Struct layout options of the `cdef()` call that declared a record.
#[derive(Clone, Copy, Default)]
pub struct PackOptions {
    pub packed: bool,
    pub pack: i32,
}

struct RecordEntry {
    body: Option<Arc<RecordBody>>,
    opts: PackOptions,
    realized: Option<Py<CType>>,
}

struct EnumEntry {
    def: Option<Arc<Enum>>,
    realized: Option<Py<CType>>,
}

pub struct FunctionDecl {
    pub sig: cdecl::FuncSig,
    pub extern_python: cdecl::ExternPython,
}

#[derive(Default)]
pub struct Context {
    /// Each typedef's type, and its ctype once realized. The type is kept in place, not shared:
    /// a big header declares hundreds of typedefs and realizes few (a realization copies it).
    typedefs: HashMap<Name, (Ty, Option<Py<CType>>)>,
    structs: HashMap<Name, RecordEntry>,
    unions: HashMap<Name, RecordEntry>,
    enums: HashMap<Name, EnumEntry>,
    /// Anonymous struct/union/enum definitions, realized, keyed by the address of their shared
    /// body (every copy of one definition shares it; distinct definitions never do).
    anonymous: HashMap<usize, Py<CType>>,
    /// The `packed`/`pack` options of each anonymous struct/union, by the same key.
    anonymous_opts: HashMap<usize, PackOptions>,
    /// Structs reached through pointers, created but not laid out yet: completing them is
    /// deferred until the outermost realization is done, so that `struct a { struct b *p; };
    /// struct b { struct a x; };` works from either end.
    pending: Vec<(Py<CType>, Arc<RecordBody>, PackOptions)>,
    /// Records being laid out right now (a struct containing itself must not recurse forever).
    in_progress: Vec<usize>,
    anon_counter: usize,
    /// Enumerators and `#define`d integers.
    pub constants: HashMap<Name, i128>,
    /// Names declared with `#define NAME ...` (need the compiler).
    pub dotdotdot_constants: Vec<Name>,
    pub functions: HashMap<Name, FunctionDecl>,
    /// Globals declared `const` without an integer value: constants only the compiler knows.
    pub const_globals: std::collections::HashSet<Name>,
    /// Enumerators of enums declared with `...`: their values need the compiler.
    pub partial_enumerators: std::collections::HashSet<Name>,
    pub variables: HashMap<Name, Arc<Ty>>,
    /// Options and file names of the `cdef()` being processed.
    current_opts: PackOptions,
    current_override: bool,
    current_files: Vec<String>,
    /// The tables of an out-of-line module, for an FFI made from one: names no cdef() declared
    /// are looked up there.
    pub tables: Option<Box<crate::context_tables::Tables>>,
}

fn cdef_error(e: &cdecl::CdefError) -> PyErr {
    match e.kind {
        cdecl::ErrorKind::Ffi { .. } => FFIError::new_err(e.to_string()),
        _ => CDefError::new_err(e.to_string()),
    }
}

/// `int x;` in a cdef: upstream warns that C would want `extern`.
fn warn_no_storage_class(name: &str) -> PyResult<()> {
    Python::attach(|py| {
        let msg = std::ffi::CString::new(format!(
            "Global variable '{name}' in cdef(): for consistency with C it should have a storage class specifier (usually 'extern')"
        ))
        .unwrap_or_default();
        PyErr::warn(py, &py.get_type::<pyo3::exceptions::PyUserWarning>(), &msg, 2)
    })
}

/// Upstream's warnings about a cdef source: `#pragma` lines (ignored) and string literals.
fn warn_about_source(py: Python<'_>, src: &str) -> PyResult<()> {
    let warn = |msg: &str| -> PyResult<()> {
        let msg = std::ffi::CString::new(msg).unwrap_or_default();
        PyErr::warn(py, &py.get_type::<pyo3::exceptions::PyUserWarning>(), &msg, 2)
    };
    // (a substring search first: the per-line test runs only on sources that mention it)
    let pragma_line = |l: &str| l.trim_start().strip_prefix('#').is_some_and(|d| d.trim_start().starts_with("pragma"));
    if src.contains("pragma") && src.lines().any(pragma_line) {
        warn("#pragma in cdef() are entirely ignored. They should be removed for now, otherwise your code might behave differently in a future version of CFFI if #pragma support gets added. Note that '#pragma pack' needs to be replaced with the 'packed' keyword argument to cdef().")?;
    }
    // `extern "Python"` and line directives are not string literals.
    let literal = |l: &str| {
        // (the cheap tests first: this runs on every line of big headers)
        if !l.contains('"') || l.trim_start().starts_with('#') {
            return false;
        }
        l.replace("\"Python+C\"", "").replace("\"Python\"", "").contains('"')
    };
    if has_byte(src, b'"') && src.lines().any(literal) {
        warn("String literal found in cdef() or type source. String literals are ignored here, but you should remove them anyway because some character sequences confuse pre-parsing.")?;
    }
    Ok(())
}

/// Whether `s` has the byte `b`. Over 64-byte chunks folded without an early exit, which the
/// compiler turns into vector compares: `str::contains` goes a word at a time, and this looks
/// at every byte of every cdef source (that has none, usually).
fn has_byte(s: &str, b: u8) -> bool {
    s.as_bytes().chunks(64).any(|chunk| chunk.iter().fold(false, |found, &c| found | (c == b)))
}

/// `<file>:<line>: unknown type name 'foo_t'`, with the line and a caret under the name.
fn unknown_name_error(src: &str, files: &[String], name: &str, span: Span) -> PyErr {
    let file = files.get(span.file as usize).cloned().unwrap_or_else(|| "<cdef source string>".into());
    // The line as written (exact when no line directive renamed the file).
    let source_line = if span.file == 0 { src.lines().nth(span.line.saturating_sub(1) as usize).unwrap_or("") } else { "" };
    let col = source_line.find(name).map_or(span.col, |i| i as u32 + 1);
    let err = cdecl::CdefError {
        message: format!("unknown type name '{name}' (declare it with a typedef before using it)"),
        file,
        line: span.line,
        col,
        source_line: source_line.to_string(),
        kind: cdecl::ErrorKind::Decl,
    };
    CDefError::new_err(err.to_string())
}

impl Context {
    /// Record the declarations of one `cdef()` source.
    pub fn declare(&mut self, src: &str, opts: PackOptions, override_: bool) -> PyResult<()> {
        let cdef = cdecl::parse_cdef(src).map_err(|e| cdef_error(&e))?;
        Python::attach(|py| warn_about_source(py, src))?;
        self.current_opts = opts;
        self.current_override = override_;
        self.current_files = cdef.files.clone();
        self.reserve_for(&cdef.decls);
        for decl in cdef.decls {
            self.check_and_declare(decl, src, &cdef.files, override_)?;
        }
        Ok(())
    }

    /// Records one declaration after checking that the type names it uses are known.
    #[inline(never)]
    fn check_and_declare(&mut self, decl: Decl, src: &str, files: &[String], override_: bool) -> PyResult<()> {
        let mut tags = false;
        if let Some((name, span)) = self.first_unknown_name(&decl, &mut tags) {
            return Err(unknown_name_error(src, files, &name, span));
        }
        self.declare_one(decl, override_, tags)
    }

    /// Room in the name tables for what `decls` declare: a big header would otherwise make
    /// them grow (rehashing everything) a dozen times.
    fn reserve_for(&mut self, decls: &[Decl]) {
        let (mut functions, mut typedefs, mut constants, mut variables) = (0, 0, 0, 0);
        for decl in decls {
            match decl {
                Decl::Function { .. } => functions += 1,
                Decl::Typedef { .. } => typedefs += 1,
                Decl::Define { .. } | Decl::IntConstant { .. } => constants += 1,
                Decl::Variable { .. } => variables += 1,
                Decl::Tag { .. } => {}
            }
        }
        self.functions.reserve(functions);
        self.typedefs.reserve(typedefs);
        self.constants.reserve(constants);
        self.variables.reserve(variables);
    }

    /// The first type name a declaration uses that is neither declared so far nor predeclared
    /// (C requires typedefs before use; the parser cannot know them). On the way, sets `tags`
    /// if the declaration's types name a struct, union or enum: only then has it tags to
    /// register, and most declarations have none.
    fn first_unknown_name(&self, decl: &Decl, tags: &mut bool) -> Option<(String, Span)> {
        let (name, span) = match decl {
            Decl::Typedef { ty, span, .. } | Decl::Variable { ty, span, .. } | Decl::IntConstant { ty, span, .. } => (self.unknown_in(ty, tags), span),
            Decl::Function { sig, span, .. } => {
                let result = self.unknown_in(&sig.result, tags);
                (result.or_else(|| sig.params.iter().find_map(|p| self.unknown_in(&p.ty, tags))), span)
            }
            Decl::Tag { base, span } => (self.unknown_in_base(base, tags), span),
            Decl::Define { .. } => return None,
        };
        name.map(|n| (n, *span))
    }

    fn unknown_in(&self, ty: &Ty, tags: &mut bool) -> Option<String> {
        match ty {
            Ty::Base { base, .. } => self.unknown_in_base(base, tags),
            Ty::Pointer { to, .. } => self.unknown_in(to, tags),
            Ty::Array { of, .. } => self.unknown_in(of, tags),
            Ty::Function(sig) => self
                .unknown_in(&sig.result, tags)
                .or_else(|| sig.params.iter().find_map(|p| self.unknown_in(&p.ty, tags))),
        }
    }

    fn unknown_in_base(&self, base: &BaseType, tags: &mut bool) -> Option<String> {
        match base {
            BaseType::Name(n) => (!self.is_known_type_name(n)).then(|| n.to_string()),
            BaseType::Record(r) => {
                *tags = true;
                r.body.as_ref()?.fields.iter().find_map(|f| self.unknown_in(&f.ty, tags))
            }
            BaseType::Enum(_) => {
                *tags = true;
                None
            }
            _ => None,
        }
    }

    fn is_known_type_name(&self, name: &Name) -> bool {
        // Looked up as a `Name` first: that skips the UTF-8 check `as_str` makes.
        self.typedefs.contains_key(name) || {
            let name = name.as_str();
            model::primitive(name).is_some() || crate::commontypes::COMMON_TYPES.iter().any(|(n, _)| *n == name)
        }
    }

    /// Records one declaration. `tags`: whether its types name a struct, union or enum (see
    /// [`Self::first_unknown_name`]), to be registered.
    fn declare_one(&mut self, decl: Decl, override_: bool, tags: bool) -> PyResult<()> {
        match decl {
            Decl::Define { name, value, .. } => match value {
                // (One lookup for the check and the insertion: a header has hundreds.)
                cdecl::DefineValue::Int(v) => match self.constants.entry(name) {
                    Entry::Occupied(mut old) => {
                        if *old.get() != v && !override_ {
                            return Err(FFIError::new_err(format!(
                                "multiple declarations of constant: {}",
                                old.key()
                            )));
                        }
                        old.insert(v);
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(v);
                    }
                },
                cdecl::DefineValue::Dotdotdot => self.dotdotdot_constants.push(name),
            },
            Decl::IntConstant { name, ty, value, .. } => {
                if tags {
                    self.register_tags(&ty)?;
                }
                self.constants.insert(name, value);
            }
            Decl::Typedef { name, ty, .. } => {
                if tags {
                    self.register_tags(&ty)?;
                }
                match self.typedefs.entry(name) {
                    Entry::Occupied(mut old) => {
                        if old.get().0 != ty && !override_ {
                            return Err(FFIError::new_err(format!(
                                "multiple declarations of typedef {} (for interactive usage, try cdef(xx, override=True))",
                                old.key()
                            )));
                        }
                        old.insert((ty, None));
                    }
                    Entry::Vacant(slot) => {
                        slot.insert((ty, None));
                    }
                }
            }
            Decl::Function { name, sig, extern_python, .. } => {
                if tags {
                    self.register_tags(&sig.result)?;
                    for p in &sig.params {
                        self.register_tags(&p.ty)?;
                    }
                }
                self.functions.insert(name, FunctionDecl { sig, extern_python });
            }
            Decl::Variable { name, ty, span, storage } => {
                if self.typedefs.contains_key(&name) {
                    return Err(CDefError::new_err(format!(
                        ":{}: Non-typedef '{name}' previously declared as typedef in this scope",
                        span.line
                    )));
                }
                if tags {
                    self.register_tags(&ty)?;
                }
                // `typedef int fn_t(int); fn_t f;` declares a function, not a variable.
                if let Some(sig) = self.function_typedef(&ty) {
                    self.functions.insert(name, FunctionDecl { sig, extern_python: cdecl::ExternPython::No });
                } else if matches!(
                    ty,
                    Ty::Base { quals: cdecl::Quals { is_const: true, .. }, .. }
                        | Ty::Pointer { quals: cdecl::Quals { is_const: true, .. }, .. }
                ) {
                    // `static const float x = 1.5;`: a constant, not a variable (as upstream).
                    self.const_globals.insert(name);
                } else {
                    if !storage {
                        warn_no_storage_class(&name)?;
                    }
                    self.variables.insert(name, Arc::new(ty));
                }
            }
            Decl::Tag { base, .. } => self.register_base(&base)?,
        }
        Ok(())
    }

    /// The signature behind a typedef name that names a function type (following typedef
    /// chains), if `ty` is such a name.
    fn function_typedef(&self, ty: &Ty) -> Option<cdecl::FuncSig> {
        let mut ty = ty;
        for _ in 0..100 {
            match ty {
                Ty::Function(sig) => return Some((**sig).clone()),
                Ty::Base { base: BaseType::Name(n), .. } => ty = &self.typedefs.get(n)?.0,
                _ => return None,
            }
        }
        None
    }

    /// Register every struct/union/enum definition that appears inside `ty`.
    fn register_tags(&mut self, ty: &Ty) -> PyResult<()> {
        match ty {
            Ty::Base { base, .. } => self.register_base(base),
            Ty::Pointer { to, .. } => self.register_tags(to),
            Ty::Array { of, .. } => self.register_tags(of),
            Ty::Function(sig) => {
                self.register_tags(&sig.result)?;
                for p in &sig.params {
                    self.register_tags(&p.ty)?;
                }
                Ok(())
            }
        }
    }

    fn register_base(&mut self, base: &BaseType) -> PyResult<()> {
        match base {
            BaseType::Record(r) => {
                if let Some(body) = &r.body {
                    for f in &body.fields {
                        self.register_tags(&f.ty)?;
                    }
                }
                if let (Some(body), Some(tag), RecordKind::Struct) = (&r.body, &r.tag, r.kind) {
                    refuse_bitfields_in_partial(tag, body)?;
                }
                let Some(tag) = &r.tag else {
                    // Anonymous: remember the packing of the cdef that wrote it.
                    if let Some(body) = &r.body {
                        self.anonymous_opts.insert(Arc::as_ptr(body) as usize, self.current_opts);
                    }
                    return Ok(());
                };
                let opts = self.current_opts;
                let map = if r.kind == RecordKind::Struct { &mut self.structs } else { &mut self.unions };
                let entry = map.entry(tag.clone()).or_insert(RecordEntry { body: None, opts, realized: None });
                if let Some(body) = &r.body {
                    match &entry.body {
                        None => {
                            entry.body = Some(body.clone());
                            entry.opts = opts;
                        }
                        // The same definition seen again through another declarator is fine.
                        Some(old) if Arc::ptr_eq(old, body) => {}
                        Some(_) => {
                            let kw = if r.kind == RecordKind::Struct { "struct" } else { "union" };
                            let file = self.current_files.get(r.span.file as usize).map_or("<cdef source string>", |f| f.as_str());
                            return Err(CDefError::new_err(format!(
                                "{file}:{}: duplicate declaration of {kw} {tag}",
                                r.span.line
                            )));
                        }
                    }
                }
                Ok(())
            }
            BaseType::Enum(e) => {
                if let Some(body) = &e.body {
                    if body.partial {
                        self.partial_enumerators.extend(body.items.iter().map(|i| i.name.clone()));
                    }
                    let mut next = 0i128;
                    for item in &body.items {
                        let v = match &item.value {
                            Some(expr) => self.eval(expr).map_err(|m| {
                                if m.starts_with("unknown constant") {
                                    // Upstream's wording for a name it cannot resolve.
                                    FFIError::new_err(format!(
                                        ":{}: unsupported expression: expected a simple numeric constant",
                                        item.span.line
                                    ))
                                } else {
                                    CDefError::new_err(format!("enum {}: {}", item.name, m))
                                }
                            })?,
                            None => next,
                        };
                        if self.constants.get(&item.name).is_some_and(|old| *old != v) && !self.current_override {
                            return Err(FFIError::new_err(format!("multiple declarations of constant: {}", item.name)));
                        }
                        self.constants.insert(item.name.clone(), v);
                        next = v + 1;
                    }
                }
                if let Some(tag) = &e.tag {
                    let entry = self.enums.entry(tag.clone()).or_insert(EnumEntry { def: None, realized: None });
                    if e.body.is_some() && entry.def.is_none() {
                        entry.def = Some(Arc::new(e.clone()));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn eval(&self, expr: &Expr) -> Result<i128, String> {
        cdecl::eval::eval(expr, &mut |n| self.constants.get(n).copied(), &mut |_| None)
    }

    /// Realize a type. A bare function type gives its function-pointer ctype; the second value
    /// says whether it was a bare function type.
    pub fn realize(&mut self, py: Python<'_>, ty: &Ty) -> RResult<(Py<CType>, bool)> {
        let r = match ty {
            Ty::Function(sig) => (self.realize_function_inner(py, sig)?, true),
            // A typedef of a function type is a bare function type too.
            _ if self.names_function(py, ty) => (self.realize_type(py, ty, None)?, true),
            _ => (self.realize_type(py, ty, None)?, false),
        };
        self.complete_pending(py)?;
        Ok(r)
    }

    /// Whether `ty` is a typedef name for a function type (`typedef int fn_t(int);`), declared
    /// by cdef() or in the tables of an out-of-line module.
    fn names_function(&mut self, py: Python<'_>, ty: &Ty) -> bool {
        if self.function_typedef(ty).is_some() {
            return true;
        }
        match (ty, self.tables.as_mut()) {
            (Ty::Base { base: BaseType::Name(n), .. }, Some(t)) if !self.typedefs.contains_key(n) => t.names_function(py, n),
            _ => false,
        }
    }

    /// Realize a function declaration's type (the function-pointer ctype).
    pub fn realize_function(&mut self, py: Python<'_>, sig: &cdecl::FuncSig) -> RResult<Py<CType>> {
        let t = self.realize_function_inner(py, sig)?;
        self.complete_pending(py)?;
        Ok(t)
    }

    /// Lay out the structs that were reached through pointers while realizing.
    fn complete_pending(&mut self, py: Python<'_>) -> RResult<()> {
        while let Some((t, body, opts)) = self.pending.pop() {
            if t.get().record.get().is_some() {
                continue;
            }
            if let Err(e) = self.complete_record(py, t.bind(py), &body, opts) {
                self.forget(t.get());
                self.pending.clear();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Drop a struct/union type that failed to complete from the caches, so that the next use
    /// reports the error again.
    fn forget(&mut self, t: &CType) {
        for map in [&mut self.structs, &mut self.unions] {
            for entry in map.values_mut() {
                if entry.realized.as_ref().is_some_and(|r| std::ptr::eq(r.get(), t)) {
                    entry.realized = None;
                }
            }
        }
        self.anonymous.retain(|_, r| !std::ptr::eq(r.get(), t));
        for entry in self.typedefs.values_mut() {
            entry.1 = None;
        }
    }

    fn realize_type(&mut self, py: Python<'_>, ty: &Ty, name_hint: Option<&str>) -> RResult<Py<CType>> {
        match ty {
            Ty::Base { base, .. } => self.realize_base(py, base, name_hint),
            Ty::Pointer { to, .. } => {
                if let Ty::Function(sig) = &**to {
                    return self.realize_function_inner(py, sig);
                }
                if self.names_function(py, to) {
                    // `fn_t *` is the function pointer type itself.
                    return self.realize_type(py, to, None);
                }
                if let Ty::Base { base: BaseType::Record(Record { kind, tag: Some(tag), span, .. }), .. } = &**to {
                    // Through a pointer, a struct need not be laid out yet.
                    let item = self.realize_tag(py, *kind, tag, Some(*span), true)?;
                    return Ok(ctype::new_pointer(py, item.bind(py))?);
                }
                let item = self.realize_type(py, to, None)?;
                Ok(ctype::new_pointer(py, item.bind(py))?)
            }
            Ty::Array { of, len } => {
                if matches!(**of, Ty::Function(_)) {
                    return Err(CDefError::new_err("array of functions: use an array of function pointers, e.g. 'int(*[5])(int)'").into());
                }
                let item = self.realize_type(py, of, None)?;
                let item_t = item.bind(py);
                if item_t.get().kind == Kind::Array && item_t.get().length < 0 {
                    return Err(PyValueError::new_err(format!(
                        "array of unknown length arrays: '{}'",
                        item_t.get().name
                    ))
                    .into());
                }
                let length = match len {
                    ArrayLen::Unspecified => None,
                    ArrayLen::Dotdotdot => {
                        return Err(VerificationMissing::new_err(
                            "array length '[...]' needs the C compiler: use set_source() and compile() (API mode)",
                        )
                        .into())
                    }
                    ArrayLen::Expr(e) => Some(self.array_length(e)?),
                };
                let ptr = ctype::new_pointer(py, item_t)?;
                Ok(ctype::new_array(py, ptr.bind(py), length)?)
            }
            Ty::Function(sig) => self.realize_function_inner(py, sig),
        }
    }

    fn array_length(&self, e: &Expr) -> RResult<isize> {
        let from_tables = match (e, &self.tables) {
            (Expr::Name(name, _), Some(t)) if !self.constants.contains_key(name) => {
                Python::attach(|py| t.int_constant(py, name, 0)).transpose()?
            }
            _ => None,
        };
        let v = match e {
            _ if from_tables.is_some() => from_tables.unwrap_or(0),
            Expr::Name(name, span) if !self.constants.contains_key(name) => {
                return Err(RealizeError::Lookup {
                    message: "expected a positive integer constant",
                    name: name.to_string(),
                    span: Some(*span),
                })
            }
            _ => self.eval(e).map_err(|m| RealizeError::Py(CDefError::new_err(m)))?,
        };
        if v < 0 {
            return Err(RealizeError::Py(PyValueError::new_err("negative array length")));
        }
        isize::try_from(v).map_err(|_| RealizeError::Py(pyo3::exceptions::PyOverflowError::new_err("array length too large")))
    }

    fn realize_function_inner(&mut self, py: Python<'_>, sig: &cdecl::FuncSig) -> RResult<Py<CType>> {
        let mut args = Vec::with_capacity(sig.params.len());
        for p in &sig.params {
            let t = match &p.ty {
                // A parameter of function type is a function pointer, as in C.
                Ty::Function(inner) => self.realize_function_inner(py, inner)?,
                // A parameter of array type is a pointer, as in C (its items need no size yet).
                Ty::Array { of, .. } => {
                    let as_ptr = Ty::Pointer { to: of.clone(), quals: Default::default() };
                    self.realize_type(py, &as_ptr, None)?
                }
                other => self.realize_type(py, other, None)?,
            };
            refuse_incomplete_by_value(t.bind(py).get())?;
            args.push(crate::call::check_arg_type(py, t.bind(py))?);
        }
        let result = match &sig.result {
            Ty::Function(inner) => self.realize_function_inner(py, inner)?,
            other => self.realize_type(py, other, None)?,
        };
        crate::call::check_result_type(py, result.bind(py))?;
        let abi = match sig.callconv {
            cdecl::CallConv::Stdcall => crate::lowlevel::FFI_STDCALL,
            _ => crate::lowlevel::FFI_DEFAULT_ABI,
        };
        Ok(ctype::new_function(py, args, result, sig.variadic, abi)?)
    }

    fn realize_base(&mut self, py: Python<'_>, base: &BaseType, name_hint: Option<&str>) -> RResult<Py<CType>> {
        match base {
            BaseType::Void => Ok(ctype::new_void(py)?),
            BaseType::Primitive(name) => Ok(ctype::new_primitive(py, model::primitive(name).expect("canonical primitive"))?),
            BaseType::Name(name) => self.realize_typedef(py, name),
            BaseType::Record(r) => self.realize_record(py, r, name_hint),
            BaseType::Enum(e) => self.realize_enum(py, e, name_hint),
            // `typedef ... t;`: an opaque type, usable through pointers.
            BaseType::Opaque => Ok(ctype::new_record(py, name_hint.unwrap_or("$opaque"), false)?),
            BaseType::UnknownInt | BaseType::UnknownFloat => {
                let what = name_hint.unwrap_or("this type");
                Err(VerificationMissing::new_err(format!(
                    "'{what}' is declared with '...' and needs the C compiler: use set_source() and compile() (API mode)"
                ))
                .into())
            }
        }
    }

    fn realize_typedef(&mut self, py: Python<'_>, name: &str) -> RResult<Py<CType>> {
        if let Some((ty, cached)) = self.typedefs.get(name) {
            if let Some(t) = cached {
                return Ok(t.clone_ref(py));
            }
            let ty = ty.clone();
            let t = match &ty {
                Ty::Function(sig) => self.realize_function_inner(py, sig)?,
                other => self.realize_type(py, other, Some(name))?,
            };
            if let Some(entry) = self.typedefs.get_mut(name) {
                entry.1 = Some(t.clone_ref(py));
            }
            return Ok(t);
        }
        if let Some(r) = self.tables.as_mut().and_then(|t| t.typename(py, name)) {
            return r;
        }
        if let Some(prim) = model::primitive(name) {
            return Ok(ctype::new_primitive(py, prim)?);
        }
        if let Some((_, target)) = crate::commontypes::COMMON_TYPES.iter().find(|(n, _)| *n == name) {
            return match *target {
                "_Bool" => Ok(ctype::new_primitive(py, model::primitive("_Bool").unwrap())?),
                _ => Ok(ctype::file_type(py)?),
            };
        }
        Err(RealizeError::Lookup { message: "undefined type name", name: name.to_string(), span: None })
    }

    fn realize_record(&mut self, py: Python<'_>, r: &Record, name_hint: Option<&str>) -> RResult<Py<CType>> {
        match &r.tag {
            Some(tag) => self.realize_tag(py, r.kind, tag, Some(r.span), false),
            None => {
                let key = r.body.as_ref().map_or(0, |b| Arc::as_ptr(b) as usize);
                if let Some(t) = self.anonymous.get(&key) {
                    return Ok(t.clone_ref(py));
                }
                let name = match name_hint {
                    Some(n) => n.to_string(),
                    None => {
                        self.anon_counter += 1;
                        let kw = if r.kind == RecordKind::Struct { "struct" } else { "union" };
                        format!("{kw} ${}", self.anon_counter)
                    }
                };
                let t = ctype::new_record(py, &name, r.kind == RecordKind::Union)?;
                self.anonymous.insert(key, t.clone_ref(py));
                if let Some(body) = &r.body {
                    let opts = self.anonymous_opts.get(&key).copied().unwrap_or(self.current_opts);
                    if let Err(e) = self.complete_record(py, t.bind(py), body, opts) {
                        self.anonymous.remove(&key);
                        return Err(e);
                    }
                }
                Ok(t)
            }
        }
    }

    /// `struct tag` / `union tag` as declared. With `defer`, a definition is laid out later (see
    /// `pending`); otherwise now.
    fn realize_tag(&mut self, py: Python<'_>, kind: RecordKind, tag: &str, span: Option<Span>, defer: bool) -> RResult<Py<CType>> {
        let map = if kind == RecordKind::Struct { &self.structs } else { &self.unions };
        if !map.contains_key(tag) {
            let union = kind == RecordKind::Union;
            if let Some(r) = self.tables.as_mut().and_then(|t| t.struct_or_union(py, union, tag, defer)) {
                return r;
            }
        }
        let map = if kind == RecordKind::Struct { &mut self.structs } else { &mut self.unions };
        let Some(entry) = map.get_mut(tag) else {
            return Err(RealizeError::Lookup { message: "undefined struct/union name", name: tag.to_string(), span });
        };
        if let Some(t) = &entry.realized {
            let t = t.clone_ref(py);
            // Reached directly after being deferred: it must be laid out now.
            // Declared opaque first and defined later, or deferred earlier: lay it out now
            // (or, through a pointer, once the outer type is done).
            let busy = self.in_progress.contains(&(t.get() as *const CType as usize));
            if !busy && t.get().record.get().is_none() {
                if let Some(body) = entry.body.clone() {
                    let opts = entry.opts;
                    if defer {
                        self.pending.push((t.clone_ref(py), body, opts));
                    } else {
                        self.complete_record(py, t.bind(py), &body, opts)?;
                    }
                }
            }
            return Ok(t);
        }
        let kw = if kind == RecordKind::Struct { "struct" } else { "union" };
        let t = ctype::new_record(py, &format!("{kw} {tag}"), kind == RecordKind::Union)?;
        entry.realized = Some(t.clone_ref(py));
        let body = entry.body.clone();
        let opts = entry.opts;
        if let (true, Some(body)) = (defer, &body) {
            self.pending.push((t.clone_ref(py), body.clone(), opts));
            return Ok(t);
        }
        if let Some(body) = body {
            if let Err(e) = self.complete_record(py, t.bind(py), &body, opts) {
                // Not usable: forget it, so that the next use reports the error again.
                let map = if kind == RecordKind::Struct { &mut self.structs } else { &mut self.unions };
                if let Some(entry) = map.get_mut(tag) {
                    entry.realized = None;
                }
                return Err(e);
            }
        }
        Ok(t)
    }

    /// Declare `struct tag` as opaque if it is unknown (what `cffi.FFI` does for type strings).
    pub fn auto_declare(&mut self, kind: RecordKind, tag: &str) {
        let map = if kind == RecordKind::Struct { &mut self.structs } else { &mut self.unions };
        map.entry(Name::new(tag)).or_insert(RecordEntry { body: None, opts: PackOptions::default(), realized: None });
    }

    fn complete_record(&mut self, py: Python<'_>, t: &Bound<'_, CType>, body: &RecordBody, opts: PackOptions) -> RResult<()> {
        let id = t.get() as *const CType as usize;
        self.in_progress.push(id);
        let r = self.complete_record_inner(py, t, body, opts);
        self.in_progress.retain(|&x| x != id);
        r
    }

    fn complete_record_inner(&mut self, py: Python<'_>, t: &Bound<'_, CType>, body: &RecordBody, opts: PackOptions) -> RResult<()> {
        if body.partial {
            // The layout needs the C compiler (API mode); upstream raises the same.
            return Err(VerificationMissing::new_err(t.get().name.clone()).into());
        }
        let mut decls = Vec::with_capacity(body.fields.len());
        for f in &body.fields {
            let ft = self.realize_type(py, &f.ty, None)?;
            let bitsize = match &f.bits {
                Some(e) => {
                    let v = self.eval(e).map_err(|m| RealizeError::Py(CDefError::new_err(m)))?;
                    i32::try_from(v).map_err(|_| RealizeError::Py(PyValueError::new_err("bit-field width too large")))?
                }
                None => -1,
            };
            decls.push(FieldDecl { name: f.name.as_deref().unwrap_or_default().to_string(), ctype: ft, bitsize, offset: -1 });
        }
        let sflags = if opts.packed { model::layout::SF_PACKED } else { 0 };
        record::complete(py, t, decls, -1, -1, sflags, opts.pack)?;
        Ok(())
    }

    fn realize_enum(&mut self, py: Python<'_>, e: &Enum, name_hint: Option<&str>) -> RResult<Py<CType>> {
        let def: Arc<Enum> = match &e.tag {
            Some(tag) => {
                let Some(entry) = self.enums.get(tag) else {
                    if let Some(r) = self.tables.as_mut().and_then(|t| t.enum_named(py, tag)) {
                        return r;
                    }
                    return Err(RealizeError::Lookup { message: "undefined type name", name: format!("enum {tag}"), span: Some(e.span) });
                };
                if let Some(t) = &entry.realized {
                    return Ok(t.clone_ref(py));
                }
                match &entry.def {
                    Some(d) => d.clone(),
                    // `enum foo;` with no body: an opaque enum is an unsigned int in practice.
                    None => Arc::new(e.clone()),
                }
            }
            None => {
                let key = e.body.as_ref().map_or(0, |b| Arc::as_ptr(b) as usize);
                if let Some(t) = self.anonymous.get(&key) {
                    return Ok(t.clone_ref(py));
                }
                Arc::new(e.clone())
            }
        };
        let name = match (&e.tag, name_hint) {
            (Some(tag), _) => format!("enum {tag}"),
            (None, Some(hint)) => hint.to_string(),
            (None, None) => {
                self.anon_counter += 1;
                format!("enum ${}", self.anon_counter)
            }
        };
        let mut items = Vec::new();
        if def.body.is_none() {
            let msg = std::ffi::CString::new(format!(
                "'{name}' has no values explicitly defined; guessing that it is equivalent to 'unsigned int'"
            ))
            .unwrap();
            PyErr::warn(py, &py.get_type::<pyo3::exceptions::PyUserWarning>(), &msg, 1)?;
        }
        if let Some(body) = &def.body {
            if body.partial {
                return Err(VerificationMissing::new_err(format!(
                    "'{name}' has '...' and needs the C compiler: use set_source() and compile() (API mode)"
                ))
                .into());
            }
            for item in &body.items {
                items.push((item.name.to_string(), self.constants.get(&item.name).copied().unwrap_or(0)));
            }
        }
        let base = enum_base_type(&name, &items)?;
        let base_t = ctype::new_primitive(py, model::primitive(base).unwrap())?;
        let t = ctype::new_enum(py, &name, items, base_t.bind(py))?;
        match &e.tag {
            Some(tag) => {
                if let Some(entry) = self.enums.get_mut(tag) {
                    entry.realized = Some(t.clone_ref(py));
                }
            }
            None => {
                let key = e.body.as_ref().map_or(0, |b| Arc::as_ptr(b) as usize);
                self.anonymous.insert(key, t.clone_ref(py));
            }
        }
        Ok(t)
    }

    /// Every declared type name, as `ffi.list_types()` gives them: (typedefs, structs, unions).
    pub fn list_types(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let mut typedefs: Vec<String> = self.typedefs.keys().map(|k| k.to_string()).collect();
        let mut structs: Vec<String> = self.structs.keys().map(|k| k.to_string()).collect();
        let mut unions: Vec<String> = self.unions.keys().map(|k| k.to_string()).collect();
        typedefs.sort();
        structs.sort();
        unions.sort();
        (typedefs, structs, unions)
    }

    /// Realize every named type declared so far (errors are left for later uses to report), so
    /// that an FFI including this one shares these very ctypes.
    pub fn realize_all(&mut self, py: Python<'_>) {
        let tags: Vec<(RecordKind, Name)> = self
            .structs
            .keys()
            .map(|k| (RecordKind::Struct, k.clone()))
            .chain(self.unions.keys().map(|k| (RecordKind::Union, k.clone())))
            .collect();
        for (kind, tag) in tags {
            let _ = self.realize_tag(py, kind, &tag, None, false);
        }
        let names: Vec<Name> = self.typedefs.keys().cloned().collect();
        for name in names {
            let _ = self.realize_typedef(py, &name);
        }
        let _ = self.complete_pending(py);
    }

    /// Copy the declarations of another FFI (`ffi.include()`).
    pub fn include(&mut self, py: Python<'_>, other: &Context) {
        for (k, (ty, realized)) in &other.typedefs {
            self.typedefs
                .entry(k.clone())
                .or_insert_with(|| (ty.clone(), realized.as_ref().map(|t| t.clone_ref(py))));
        }
        for (src, dst) in [(&other.structs, &mut self.structs), (&other.unions, &mut self.unions)] {
            for (k, e) in src {
                dst.entry(k.clone()).or_insert_with(|| RecordEntry {
                    body: e.body.clone(),
                    opts: e.opts,
                    realized: e.realized.as_ref().map(|t| t.clone_ref(py)),
                });
            }
        }
        for (k, e) in &other.enums {
            self.enums.entry(k.clone()).or_insert_with(|| EnumEntry {
                def: e.def.clone(),
                realized: e.realized.as_ref().map(|t| t.clone_ref(py)),
            });
        }
        for (k, v) in &other.constants {
            self.constants.entry(k.clone()).or_insert(*v);
        }
    }
}

/// A struct whose layout the compiler completes (`...;` or a `[...]` length) cannot have
/// bitfields: upstream refuses that already in `cdef()`.
fn refuse_bitfields_in_partial(tag: &str, body: &RecordBody) -> PyResult<()> {
    fn partial_length(ty: &Ty) -> bool {
        match ty {
            Ty::Array { len: ArrayLen::Dotdotdot, .. } => true,
            Ty::Array { of, .. } => partial_length(of),
            _ => false,
        }
    }
    let partial = body.partial || body.fields.iter().any(|f| partial_length(&f.ty));
    if partial && body.fields.iter().any(|f| f.bits.is_some()) {
        return Err(pyo3::exceptions::PyNotImplementedError::new_err(format!(
            "<struct {tag}>: using both bitfields and '...;'"
        )));
    }
    Ok(())
}

/// `struct X { void (*f)(struct X); }`: X is passed by value while being laid out. Upstream
/// refuses this with NotImplementedError too.
fn refuse_incomplete_by_value(t: &CType) -> RResult<()> {
    if t.is_record() && t.record.get().is_none() {
        return Err(pyo3::exceptions::PyNotImplementedError::new_err(format!(
            "'{}' is passed by value in a function type before its definition is complete",
            t.name
        ))
        .into());
    }
    Ok(())
}

/// The integer type upstream gives an enum: `int` or `long` when some value is negative,
/// otherwise `unsigned int` or `unsigned long`, whichever first holds every value.
fn enum_base_type(name: &str, items: &[(String, i128)]) -> PyResult<&'static str> {
    let min = items.iter().map(|(_, v)| *v).min().unwrap_or(0);
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let candidates: [(&str, usize, bool); 2] = if min < 0 {
        [("int", 4, true), ("long", 8, true)]
    } else {
        [("unsigned int", 4, false), ("unsigned long", 8, false)]
    };
    for (n, size, signed) in candidates {
        if model::raw::int_fits(min, size, signed) && model::raw::int_fits(max, size, signed) {
            return Ok(n);
        }
    }
    Err(PyTypeError::new_err(format!(
        "{name} values don't all fit into either 'long' or 'unsigned long'"
    )))
}
