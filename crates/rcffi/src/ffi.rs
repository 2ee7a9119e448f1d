//! `FFI`: the object users call `ffi`. It owns the declarations of its `cdef()` calls and turns
//! C type strings into ctypes (cached per string), then hands over to the shared operations.

use std::sync::Mutex;

use pyo3::exceptions::{PyAttributeError, PyMemoryError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

use crate::api;
use crate::buffer;
use crate::cdata::{CData, OwnedMem, Owner};
use crate::ctype::{self, CType, Kind};
use crate::errors::FFIError;
use crate::lazyattrs::LazyType;
use crate::realize::{Context, PackOptions, RealizeError};

#[pyclass(module = "_cffi_backend", name = "FFI", subclass, weakref, frozen)]
pub struct Ffi {
    ctx: Mutex<Context>,
    /// Type strings already realized: text -> (ctype, was a bare function type).
    /// Type strings already resolved (Fx-hashed: they come from the program, and hashing them
    /// is on the path of every `ffi.new("int *")`).
    type_cache: Mutex<crate::fxhash::FxHashMap<String, (Py<CType>, bool)>>,
    /// In front of `type_cache`: by the identity of the str object.
    str_cache: crate::type_str_cache::TypeStrCache,
    /// `init_once()`: tag -> result, and tag -> lock (tags are any hashable objects).
    init_once_results: Py<PyDict>,
    init_once_locks: Py<PyDict>,
    /// The libraries of `dlopen()`, kept alive as long as the ffi (as upstream does).
    libraries: Mutex<Vec<Py<PyAny>>>,
    /// Behave like upstream's Python-level `cffi.FFI` rather than the bare `_cffi_backend.FFI`:
    /// `struct foo` in a type string declares an opaque struct if unknown (instead of "undefined
    /// struct/union name"), and errors in type strings are `CDefError` (instead of `ffi.error`).
    auto_declare_tags: std::sync::atomic::AtomicBool,
    /// `__init__` ran (it may only once, as it loads the tables of an out-of-line module).
    initialized: std::sync::atomic::AtomicBool,
}

/// Which Python objects a type argument may be.
const ACCEPT_STRING: u8 = 1;
const ACCEPT_CTYPE: u8 = 2;
const ACCEPT_CDATA: u8 = 4;
const ACCEPT_ALL: u8 = 7;

impl Ffi {
    /// The ctype named by `arg`: a C type string, a ctype, or (if accepted) a cdata's type.
    /// Bare function types (`int(int)`) are refused unless `allow_raw_function`.
    pub fn resolve<'py>(
        &self,
        py: Python<'py>,
        arg: &Bound<'py, PyAny>,
        accept: u8,
        allow_raw_function: bool,
    ) -> PyResult<Bound<'py, CType>> {
        if accept & ACCEPT_STRING != 0 {
            if let Ok(s) = arg.cast::<PyString>() {
                let (t, raw_fn) = match self.str_cache.get(s) {
                    Some(found) => found,
                    None => {
                        let found = self.resolve_str(py, s.to_str()?)?;
                        self.str_cache.put(s, &found.0, found.1);
                        found
                    }
                };
                if raw_fn && !allow_raw_function {
                    // cffi.FFI names the type as written, a `_cffi_backend.FFI` by its C name.
                    let what = |name: &str| format!("the type '{name}' is a function type, not a pointer-to-function type");
                    return Err(if self.auto_declare_tags.load(std::sync::atomic::Ordering::Relaxed) {
                        crate::errors::CDefError::new_err(what(s.to_str()?))
                    } else {
                        FFIError::new_err(what(&t.get().name.replacen("(*)", "", 1)))
                    });
                }
                return Ok(t.into_bound(py));
            }
        }
        if accept & ACCEPT_CTYPE != 0 {
            if let Ok(t) = arg.cast::<CType>() {
                return Ok(t.clone());
            }
        }
        if accept & ACCEPT_CDATA != 0 {
            if let Ok(cd) = arg.cast::<CData>() {
                return Ok(cd.get().ctype.bind(py).clone());
            }
            if let Some((t, _)) = crate::directfn::lookup(py, arg) {
                return Ok(t.into_bound(py));
            }
        }
        Err(PyTypeError::new_err(match accept {
            ACCEPT_ALL => "expected a cdata object, a ctype object or a string",
            a if a == ACCEPT_STRING | ACCEPT_CTYPE => "expected a ctype object or a string",
            _ => "expected a cdata object or a string",
        }))
    }

    fn resolve_str(&self, py: Python<'_>, text: &str) -> PyResult<(Py<CType>, bool)> {
        if let Some((t, raw)) = self.type_cache.lock().unwrap().get(text) {
            return Ok((t.clone_ref(py), *raw));
        }
        let compat = self.auto_declare_tags.load(std::sync::atomic::Ordering::Relaxed);
        let ty = match cdecl::parse_type_name(text) {
            Ok(ty) => ty,
            // cffi.FFI also takes types that define structs ("struct { int a; } *"): parse
            // those with the cdef parser.
            Err(e) if compat => type_from_cdef_parser(text).map_err(|_| bad_type(e.message, e.pos, text, compat))?,
            Err(e) => return Err(bad_type(e.message, e.pos, text, compat)),
        };
        let result = {
            let mut ctx = self.ctx.lock().unwrap();
            if self.auto_declare_tags.load(std::sync::atomic::Ordering::Relaxed) {
                auto_declare_tags(&mut ctx, &ty);
            }
            ctx.realize(py, &ty)
        };
        let (t, raw) = match result {
            Ok(r) => r,
            // The realizer speaks for cdef(); type strings of a `_cffi_backend.FFI` fail with
            // ffi.error instead, as upstream's.
            Err(RealizeError::Py(e)) if !compat && e.is_instance_of::<crate::errors::CDefError>(py) => {
                return Err(FFIError::new_err(e.value(py).to_string()))
            }
            Err(RealizeError::Py(e)) => return Err(e),
            Err(RealizeError::Lookup { message, name, span }) => {
                // Point at the name itself (a struct's span starts at its keyword).
                let from = span.map_or(0, |s| (s.col as usize).saturating_sub(1)).min(text.len());
                let pos = text.get(from..).and_then(|rest| rest.find(name.as_str())).map_or(from, |i| from + i);
                return Err(bad_type(message, pos, text, compat));
            }
        };
        self.type_cache.lock().unwrap().insert(text.to_string(), (t.clone_ref(py), raw));
        Ok((t, raw))
    }

    fn ctype_of<'py>(&self, py: Python<'py>, arg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, CType>> {
        self.resolve(py, arg, ACCEPT_STRING | ACCEPT_CTYPE, false)
    }
}

/// A type string that only the full cdef grammar takes (cffi.FFI accepts those: struct bodies,
/// `int(const void *)`...), parsed as the parameter type of a made-up prototype.
fn type_from_cdef_parser(text: &str) -> Result<cdecl::Ty, ()> {
    let src = format!("void __rcffi_type__({text});");
    let cdef = cdecl::parse_cdef(&src).map_err(|_| ())?;
    match cdef.decls.into_iter().next() {
        Some(cdecl::Decl::Function { mut sig, .. }) if sig.params.len() == 1 && !sig.variadic => {
            Ok(sig.params.pop().unwrap().ty)
        }
        _ => Err(()),
    }
}

/// Declare as opaque every `struct X` / `union X` a type string mentions.
fn auto_declare_tags(ctx: &mut Context, ty: &cdecl::Ty) {
    use cdecl::{BaseType, Ty};
    match ty {
        Ty::Base { base: BaseType::Record(r), .. } => {
            if let Some(tag) = &r.tag {
                ctx.auto_declare(r.kind, tag);
            }
        }
        Ty::Base { .. } => {}
        Ty::Pointer { to, .. } => auto_declare_tags(ctx, to),
        Ty::Array { of, .. } => auto_declare_tags(ctx, of),
        Ty::Function(sig) => {
            auto_declare_tags(ctx, &sig.result);
            for p in &sig.params {
                auto_declare_tags(ctx, &p.ty);
            }
        }
    }
}

/// Upstream's type-string error: the message, then (for inputs up to 500 bytes) the input with
/// unprintable bytes shown as `?` and a caret under the position.
fn bad_type(message: &str, pos: usize, text: &str, cdef_error: bool) -> PyErr {
    let make = |m: String| if cdef_error { crate::errors::CDefError::new_err(m) } else { FFIError::new_err(m) };
    if text.len() > 500 {
        return make(message.to_string());
    }
    let shown: String = text
        .bytes()
        .map(|b| match b {
            b' '..=0x7e => b as char,
            b'\t' | b'\n' => ' ',
            _ => '?',
        })
        .collect();
    make(format!("{message}\n{shown}\n{}^", " ".repeat(pos)))
}

#[pymethods]
impl Ffi {
    #[new]
    #[pyo3(signature = (*args, **kwargs))]
    fn py_new(py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let _ = kwargs;
        // Subclasses may take arguments in their __init__; the base class takes none.
        let _ = args;
        Ok(Ffi::with_tables(py, None))
    }

    /// `FFI()`, or `FFI(module_name, _version=..., _types=..., ...)` in the modules that
    /// `set_source(name, None)` generates: an FFI whose types come from those tables.
    /// (Subclasses take their own arguments.)
    #[pyo3(signature = (*args, **kwargs))]
    fn __init__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let py = slf.py();
        if !slf.get_type().is(py.get_type::<Ffi>()) {
            return Ok(());
        }
        if slf.get().initialized.swap(true, std::sync::atomic::Ordering::Relaxed) {
            return Err(pyo3::exceptions::PyValueError::new_err("cannot call FFI.__init__() more than once"));
        }
        let table_args = crate::context_tables::TableArgs::parse(args, kwargs)?;
        if let Some(tables) = crate::context_tables::Tables::load(py, table_args)? {
            slf.get().ctx.lock().unwrap().tables = Some(Box::new(tables));
        }
        Ok(())
    }

    /// Parse the given C source: declarations of types, functions, variables and constants.
    /// (`cffi.FFI.cdef()`; private here, as upstream's `_cffi_backend.FFI` has no `cdef`.)
    #[pyo3(name = "_cdef", signature = (csource, r#override=false, packed=None, pack=None))]
    fn cdef(&self, csource: &Bound<'_, PyAny>, r#override: bool, packed: Option<&Bound<'_, PyAny>>, pack: Option<i32>) -> PyResult<()> {
        let packed = match packed {
            None => false,
            Some(p) => match p.extract::<i64>() {
                Ok(0) => false,
                Ok(1) => true,
                _ => {
                    return Err(pyo3::exceptions::PyValueError::new_err(
                        "'packed' should be False or True; use 'pack' to give another value",
                    ))
                }
            },
        };
        let src: &str = if let Ok(s) = csource.cast::<PyString>() {
            s.to_str()?
        } else {
            return Err(PyTypeError::new_err("cdef() argument must be a string"));
        };
        let pack = match pack {
            Some(n) if n > 0 && (n & (n - 1)) != 0 => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!("'pack' must be a power of two, not {n}")))
            }
            Some(n) if n > 0 => n,
            Some(n) if n < 0 => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!("'pack' must be a power of two, not {n}")))
            }
            _ => 0,
        };
        if packed && pack > 0 {
            return Err(pyo3::exceptions::PyValueError::new_err("cannot give both 'pack' and 'packed'"));
        }
        self.ctx.lock().unwrap().declare(src, PackOptions { packed, pack }, r#override)?;
        // New declarations can change what a type string means (an opaque struct gets fields).
        self.type_cache.lock().unwrap().clear();
        self.str_cache.clear(csource.py());
        Ok(())
    }

    /// Allocate an instance according to the specified C type and return a pointer to it.
    #[pyo3(signature = (cdecl, init=None))]
    pub(crate) fn new(&self, py: Python<'_>, cdecl: &Bound<'_, PyAny>, init: Option<&Bound<'_, PyAny>>) -> PyResult<Py<CData>> {
        let ct = self.ctype_of(py, cdecl)?;
        api::newp(py, &ct, init)
    }

    /// Similar to a C cast: returns an instance of the named C type initialized with the given
    /// 'source'.
    pub(crate) fn cast(&self, py: Python<'_>, cdecl: &Bound<'_, PyAny>, source: &Bound<'_, PyAny>) -> PyResult<Py<CData>> {
        let ct = self.ctype_of(py, cdecl)?;
        api::cast(py, &ct, source)
    }

    /// Parse the C type given as a string and return the corresponding <ctype> object; or return
    /// the type of a cdata.
    #[pyo3(name = "typeof")]
    pub(crate) fn typeof_(&self, py: Python<'_>, cdecl: &Bound<'_, PyAny>) -> PyResult<Py<CType>> {
        Ok(self.resolve(py, cdecl, ACCEPT_STRING | ACCEPT_CDATA, false)?.unbind())
    }

    /// Return the size in bytes of the argument: a C type as a string or ctype, or a cdata.
    pub(crate) fn sizeof(&self, py: Python<'_>, cdecl: &Bound<'_, PyAny>) -> PyResult<usize> {
        if let Ok(cd) = cdecl.cast::<CData>() {
            return api::sizeof_cdata(py, cd.get());
        }
        let ct = self.ctype_of(py, cdecl)?;
        if self.auto_declare_tags.load(std::sync::atomic::Ordering::Relaxed) {
            // cffi.FFI: the backend's ValueError.
            return api::sizeof_type(ct.get());
        }
        api::sizeof_type(ct.get()).map_err(|e| match ct.get().lazy_error() {
            Some(_) => e,
            None => FFIError::new_err(format!("don't know the size of ctype '{}'", ct.get().name)),
        })
    }

    /// For rcffi's `ffi.verify()` (upstream checks layouts when loading): what the C compiler
    /// of this FFI's compiled module says of the struct/union `name` (as named in its tables):
    /// `(size, alignment, [(field, offset, size, ctype)])`, offsets and sizes -1 where not given,
    /// the ctype the cdef gives the field or None; None if there is no such entry.
    fn _compiled_layout(&self, py: Python<'_>, name: &str) -> PyResult<Option<crate::context_tables::CompiledLayout>> {
        match self.context().tables.as_mut() {
            Some(t) => t.compiled_layout(py, name),
            None => Ok(None),
        }
    }

    /// Return the natural alignment size in bytes of the argument.
    fn alignof(&self, py: Python<'_>, cdecl: &Bound<'_, PyAny>) -> PyResult<usize> {
        let ct = self.resolve(py, cdecl, ACCEPT_ALL, false)?;
        api::alignof_type(py, ct.get())
    }

    /// Return the offset of the named field inside the given structure or array, which must be
    /// given as a C type name. Several fields give nested accesses.
    #[pyo3(signature = (cdecl, *fields))]
    fn offsetof(&self, py: Python<'_>, cdecl: &Bound<'_, PyAny>, fields: &Bound<'_, PyTuple>) -> PyResult<isize> {
        let mut ct = self.ctype_of(py, cdecl)?;
        let mut total = 0isize;
        for (i, f) in fields.iter().enumerate() {
            let (next, off) = api::typeoffsetof(py, &ct, &f, i > 0)?;
            total += off;
            ct = next;
        }
        Ok(total)
    }

    /// Limited equivalent to the '&' operator in C: the address of a struct/union cdata, or of a
    /// field or item inside it.
    #[pyo3(signature = (cdata, *fields_or_indexes))]
    fn addressof(&self, py: Python<'_>, cdata: &Bound<'_, PyAny>, fields_or_indexes: &Bound<'_, PyTuple>) -> PyResult<Py<CData>> {
        let Ok(cd) = cdata.cast::<CData>() else {
            if let Ok(lib) = cdata.cast::<crate::libobj::Lib>() {
                if fields_or_indexes.len() != 1 {
                    return Err(PyTypeError::new_err("addressof(lib, name) takes exactly one name"));
                }
                let name: String = fields_or_indexes.get_item(0)?.extract()?;
                return crate::libobj::addressof(lib, &name);
            }
            if let Ok(lib) = cdata.cast::<crate::cmodule::CLib>() {
                if fields_or_indexes.len() != 1 {
                    return Err(PyTypeError::new_err("addressof(lib, name) takes exactly one name"));
                }
                let name: String = fields_or_indexes.get_item(0)?.extract()?;
                return crate::cmodule::addressof(lib, &name);
            }
            if let Ok(lib) = cdata.cast::<crate::dllib::DlLib>() {
                if fields_or_indexes.len() != 1 {
                    return Err(PyTypeError::new_err("addressof(lib, name) takes exactly one name"));
                }
                let name: String = fields_or_indexes.get_item(0)?.extract()?;
                return Ok(lib.call_method1("__addressof__", (name,))?.cast_into::<CData>()?.unbind());
            }
            return Err(PyTypeError::new_err("expected a cdata struct/union/array/pointer object"));
        };
        let c = cd.get();
        let mut ct = c.ctype.bind(py).clone();
        let kind = ct.get().kind;
        if fields_or_indexes.is_empty() {
            if !matches!(kind, Kind::Struct | Kind::Union | Kind::Array) && !matches!(kind, Kind::Pointer) {
                return Err(PyTypeError::new_err("expected a cdata struct/union/array object"));
            }
        } else if !matches!(kind, Kind::Struct | Kind::Union | Kind::Array | Kind::Pointer) {
            return Err(PyTypeError::new_err("expected a cdata struct/union/array/pointer object"));
        }
        let mut offset = 0isize;
        for (i, f) in fields_or_indexes.iter().enumerate() {
            let (next, off) = api::typeoffsetof(py, &ct, &f, i > 0)?;
            offset += off;
            ct = next;
        }
        if fields_or_indexes.is_empty() && kind == Kind::Pointer {
            return Err(PyTypeError::new_err("expected a cdata struct/union/array object"));
        }
        let ptr_t = ctype::new_pointer(py, &ct)?;
        CData::borrowed(py, ptr_t.bind(py), c.addr().wrapping_offset(offset))
    }

    /// Return a Python string (bytes or unicode) from a 'char *' or 'wchar_t *' cdata; or the
    /// name of an enum value, or the value of a primitive as a string.
    #[pyo3(signature = (cdata, maxlen=-1))]
    pub(crate) fn string(&self, py: Python<'_>, cdata: &Bound<'_, PyAny>, maxlen: isize) -> PyResult<Py<PyAny>> {
        crate::lowlevel::string(py, cdata, maxlen)
    }

    /// Unpack an array of C data of the given length, returning a Python string/unicode/list.
    fn unpack(&self, py: Python<'_>, cdata: &Bound<'_, PyAny>, length: isize) -> PyResult<Py<PyAny>> {
        crate::lowlevel::unpack(py, cdata, length)
    }

    /// Return a cdata of the given type pointing to the data of the given Python object, which
    /// must support the buffer interface.
    #[pyo3(signature = (cdecl, python_buffer=None, require_writable=false))]
    fn from_buffer(
        &self,
        py: Python<'_>,
        cdecl: &Bound<'_, PyAny>,
        python_buffer: Option<&Bound<'_, PyAny>>,
        require_writable: bool,
    ) -> PyResult<Py<CData>> {
        let (ct, obj) = match python_buffer {
            Some(b) if cdecl.is_instance_of::<PyString>() || cdecl.is_instance_of::<CType>() => (self.ctype_of(py, cdecl)?, b.clone()),
            // from_buffer(obj, True): the old positional form of require_writable is refused.
            Some(_) => return Err(PyTypeError::new_err("from_buffer() takes a C type as first argument when given two")),
            None => (self.resolve_str(py, "char[]")?.0.into_bound(py), cdecl.clone()),
        };
        buffer::from_buffer(py, &ct, &obj, require_writable)
    }

    /// ffi.memmove(dest, src, n) copies n bytes of memory from src to dest.
    fn memmove(&self, py: Python<'_>, dest: &Bound<'_, PyAny>, src: &Bound<'_, PyAny>, n: isize) -> PyResult<()> {
        api::memmove(py, dest, src, n)
    }

    /// Return a new cdata object that points to the same data. Later, when this new cdata object
    /// is garbage-collected, 'destructor(old_cdata_object)' will be called.
    #[pyo3(signature = (cdata, destructor, size=0))]
    fn gc(&self, py: Python<'_>, cdata: &Bound<'_, CData>, destructor: Option<Py<PyAny>>, size: isize) -> PyResult<Option<Py<CData>>> {
        let _ = size;
        let detach = destructor.is_none();
        let r = api::gc(py, cdata, destructor)?;
        // ffi.gc(p, None) detaches the destructor and returns None.
        Ok((!detach).then_some(r))
    }

    /// Release now the resources held by a 'cdata' object from ffi.new(), ffi.gc() or
    /// ffi.from_buffer().
    fn release(&self, py: Python<'_>, cdata: &Bound<'_, CData>) -> PyResult<()> {
        cdata.get().release(py)
    }

    /// Return a non-NULL cdata of type 'void *' that contains an opaque reference to the
    /// argument, which can be any Python object.
    fn new_handle(&self, py: Python<'_>, x: Py<PyAny>) -> PyResult<Py<CData>> {
        api::new_handle(py, ctype::void_pointer(py)?.bind(py), x)
    }

    /// Cast a 'void *' back to a Python object. Must be used *only* on the pointers returned by
    /// new_handle().
    fn from_handle(&self, py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        api::from_handle(py, x)
    }

    /// Return a string giving the C type 'cdecl', which may be itself a string or a <ctype>
    /// object. If 'replace_with' is given, it gives extra text to append (or insert for more
    /// complicated C types), like a variable name, or '*' to get actually the C type 'pointer-to-
    /// cdecl'.
    #[pyo3(signature = (cdecl, replace_with=""))]
    fn getctype(&self, py: Python<'_>, cdecl: &Bound<'_, PyAny>, replace_with: &str) -> PyResult<String> {
        let ct = self.ctype_of(py, cdecl)?;
        let t = ct.get();
        let mut extra = replace_with.trim().to_string();
        if !extra.is_empty() && !extra.starts_with('*') && !extra.starts_with('[') && !extra.starts_with('(') {
            extra.insert(0, ' ');
        } else if extra.starts_with('*') {
            extra = format!(" {extra}");
        }
        if t.kind == Kind::Array && extra.starts_with(" *") {
            extra = format!("({})", extra.trim_start());
        }
        Ok(format!("{}{}{}", &t.name[..t.name_pos], extra, &t.name[t.name_pos..]))
    }

    /// Returns the user type names known to this FFI instance: a tuple of lists (typedef names,
    /// names of structs, names of unions).
    fn list_types<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let (t, s, u) = {
            let ctx = self.ctx.lock().unwrap();
            match &ctx.tables {
                Some(tables) => tables.list_types(py)?,
                None => ctx.list_types(),
            }
        };
        PyTuple::new(py, [PyList::new(py, t)?, PyList::new(py, s)?, PyList::new(py, u)?])
    }

    /// Get the value of an integer constant: an enumerator or a '#define NAME <integer>'.
    fn integer_const(&self, py: Python<'_>, name: &str) -> PyResult<i128> {
        let ctx = self.ctx.lock().unwrap();
        if let Some(tables) = &ctx.tables {
            return tables
                .int_constant(py, name, 0)
                .unwrap_or_else(|| Err(PyAttributeError::new_err(format!("integer constant '{name}' not found"))));
        }
        ctx.constants
            .get(name)
            .copied()
            .ok_or_else(|| FFIError::new_err(format!("integer constant '{name}' not found")))
    }

    /// init_once(function, tag): run function() once. More precisely, the first time this is
    /// called with a given tag, it calls function() and stores its result; later calls with the
    /// same tag return that result.
    fn init_once(&self, py: Python<'_>, func: &Bound<'_, PyAny>, tag: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let results = self.init_once_results.bind(py);
        if let Some(r) = results.get_item(tag)? {
            return Ok(r.unbind());
        }
        let locks = self.init_once_locks.bind(py);
        let lock = match locks.get_item(tag)? {
            Some(l) => l,
            None => {
                let l = py.import("threading")?.getattr("Lock")?.call0()?;
                locks.set_item(tag, &l)?;
                l
            }
        };
        // Waiting on a Python lock releases the GIL, so other threads go on meanwhile.
        lock.call_method0("acquire")?;
        let result = (|| {
            if let Some(r) = results.get_item(tag)? {
                return Ok(r.unbind());
            }
            let r = func.call0()?;
            results.set_item(tag, &r)?;
            Ok(r.unbind())
        })();
        lock.call_method0("release")?;
        result
    }

    /// Return a new allocator, i.e. a function that behaves like ffi.new() but uses the provided
    /// low-level 'alloc' and 'free' functions.
    #[pyo3(signature = (alloc=None, free=None, should_clear_after_alloc=true))]
    fn new_allocator(
        slf: &Bound<'_, Self>,
        alloc: Option<Py<PyAny>>,
        free: Option<Py<PyAny>>,
        should_clear_after_alloc: bool,
    ) -> PyResult<Py<Allocator>> {
        let py = slf.py();
        if alloc.is_none() && free.is_some() {
            return Err(PyTypeError::new_err("cannot pass 'free' without 'alloc'"));
        }
        Py::new(py, Allocator { ffi: slf.clone().unbind(), alloc, free, clear: should_clear_after_alloc })
    }

    /// A callback object or a decorator making such a callback object. 'cdecl' must name a C
    /// function pointer type. The callback invokes the specified 'python_callable'.
    #[pyo3(signature = (cdecl, python_callable=None, error=None, onerror=None))]
    fn callback(
        slf: &Bound<'_, Self>,
        cdecl: &Bound<'_, PyAny>,
        python_callable: Option<&Bound<'_, PyAny>>,
        error: Option<&Bound<'_, PyAny>>,
        onerror: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let ct = slf.get().resolve(py, cdecl, ACCEPT_STRING | ACCEPT_CTYPE, true)?;
        if let Some(cb) = onerror {
            if !cb.is_none() && !cb.is_callable() {
                return Err(PyTypeError::new_err(format!(
                    "expected a callable object for 'onerror', not {}",
                    crate::convert::type_name(cb)
                )));
            }
        }
        let error = error.map(|e| e.clone().unbind()).unwrap_or_else(|| py.None());
        let onerror = onerror.map(|e| e.clone().unbind()).unwrap_or_else(|| py.None());
        match python_callable {
            Some(f) if !f.is_none() => {
                make_callback(py, &ct, f, error.bind(py), onerror.bind(py))
            }
            _ => {
                let deco = CallbackDecorator { ctype: ct.unbind(), error, onerror };
                Ok(Py::new(py, deco)?.into_any())
            }
        }
    }

    /// errno: the value of C's errno as seen after the last C call, on this thread.
    #[getter]
    fn get_errno(&self) -> i32 {
        crate::errno::get()
    }

    #[setter]
    fn set_errno(&self, value: i32) {
        crate::errno::set(value)
    }

    /// Load and return a dynamic library identified by 'name'. The standard C library can be
    /// loaded by passing None. Note that functions and types declared with 'ffi.cdef()' are not
    /// linked to a particular library, just like C headers.
    #[pyo3(signature = (name, flags=0))]
    fn dlopen(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>, flags: i32) -> PyResult<Py<PyAny>> {
        // An out-of-line module's FFI gives upstream's `Lib`: the file name is used as is.
        if slf.get().ctx.lock().unwrap().tables.is_some() {
            return Ok(crate::libobj::dlopen(slf.py(), slf, name, flags)?.into_any());
        }
        let lib = crate::dllib::dlopen(slf.py(), slf, name, flags)?;
        slf.get().libraries.lock().unwrap().push(lib.clone_ref(slf.py()).into_any());
        Ok(lib.into_any())
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.init_once_results)?;
        visit.call(&self.init_once_locks)?;
        if let Ok(libs) = self.libraries.try_lock() {
            for l in libs.iter() {
                visit.call(l)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let libs = std::mem::take(&mut *self.libraries.lock().unwrap());
        drop(libs);
    }

    /// Close a library obtained with ffi.dlopen(). After this call, access to functions or
    /// variables from the library will fail (possibly with a segmentation fault).
    fn dlclose(&self, py: Python<'_>, lib: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(lib) = lib.cast::<crate::libobj::Lib>() {
            return crate::libobj::dlclose(lib);
        }
        let lib = lib.cast::<crate::dllib::DlLib>().map_err(|_| {
            PyTypeError::new_err(format!("dlclose() argument must be _cffi_backend.Lib, not {}", crate::convert::type_name(lib)))
        })?;
        crate::dllib::dlclose(py, lib)
    }

    /// A decorator: attach the decorated Python function to the C function declared with
    /// extern "Python" of the same name (or 'name'), with the 'error' and 'onerror' semantics of
    /// ffi.callback().
    #[pyo3(signature = (name=None, error=None, onerror=None))]
    fn def_extern(
        slf: &Bound<'_, Self>,
        name: Option<Py<PyAny>>,
        error: Option<Py<PyAny>>,
        onerror: Option<Py<PyAny>>,
    ) -> PyResult<Py<ExternDecorator>> {
        Py::new(slf.py(), ExternDecorator { ffi: slf.clone().unbind(), name, error, onerror })
    }

    /// Include the declarations of another FFI instance in this one. (`cffi.FFI.include()`;
    /// private here, as upstream's `_cffi_backend.FFI` has no `include`.)
    #[pyo3(name = "_include")]
    fn include(&self, py: Python<'_>, other: &Bound<'_, Ffi>) -> PyResult<()> {
        if std::ptr::eq(other.get(), self) {
            return Err(pyo3::exceptions::PyValueError::new_err("cannot include an ffi into itself"));
        }
        let mut theirs = other.get().ctx.lock().unwrap();
        // Share the included FFI's ctypes themselves, not copies (as upstream).
        theirs.realize_all(py);
        self.ctx.lock().unwrap().include(py, &theirs);
        Ok(())
    }

    #[classattr]
    #[pyo3(name = "NULL")]
    fn null(py: Python<'_>) -> PyResult<Py<CData>> {
        let void = ctype::new_void(py)?;
        let void_p = ctype::new_pointer(py, void.bind(py))?;
        CData::borrowed(py, void_p.bind(py), std::ptr::null_mut())
    }

    #[classattr]
    #[pyo3(name = "RTLD_LAZY")]
    fn rtld_lazy() -> i32 {
        libc::RTLD_LAZY
    }

    #[classattr]
    #[pyo3(name = "RTLD_NOW")]
    fn rtld_now() -> i32 {
        libc::RTLD_NOW
    }

    #[classattr]
    #[pyo3(name = "RTLD_GLOBAL")]
    fn rtld_global() -> i32 {
        libc::RTLD_GLOBAL
    }

    #[classattr]
    #[pyo3(name = "RTLD_LOCAL")]
    fn rtld_local() -> i32 {
        libc::RTLD_LOCAL
    }

    #[classattr]
    #[pyo3(name = "RTLD_NODELETE")]
    fn rtld_nodelete() -> i32 {
        libc::RTLD_NODELETE
    }

    #[classattr]
    #[pyo3(name = "RTLD_NOLOAD")]
    fn rtld_noload() -> i32 {
        libc::RTLD_NOLOAD
    }

    #[classattr]
    #[pyo3(name = "RTLD_DEEPBIND")]
    fn rtld_deepbind() -> i32 {
        libc::RTLD_DEEPBIND
    }

    /// Made on first access (lazyattrs): an out-of-line module's import does not need it.
    #[classattr]
    fn error(py: Python<'_>) -> PyResult<Py<LazyType>> {
        LazyType::new(py, "error", |py| py.get_type::<FFIError>())
    }

    #[classattr]
    #[pyo3(name = "CData")]
    fn cdata_type(py: Python<'_>) -> Py<PyType> {
        py.get_type::<CData>().unbind()
    }

    #[classattr]
    #[pyo3(name = "CType")]
    fn ctype_type(py: Python<'_>) -> Py<PyType> {
        py.get_type::<CType>().unbind()
    }

    #[classattr]
    fn buffer(py: Python<'_>) -> PyResult<Py<LazyType>> {
        LazyType::new(py, "buffer", crate::buffer_fast::buffer_type)
    }

    #[getter(_auto_declare_tags)]
    fn get_auto_declare_tags(&self) -> bool {
        self.auto_declare_tags.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[setter(_auto_declare_tags)]
    fn set_auto_declare_tags(&self, value: bool) {
        self.auto_declare_tags.store(value, std::sync::atomic::Ordering::Relaxed)
    }
}

impl Ffi {
    /// A new FFI; with `tables`, one already initialized with them (a compiled module's, whose
    /// `FFI.__init__` is never called).
    pub fn with_tables(py: Python<'_>, tables: Option<Box<crate::context_tables::Tables>>) -> Ffi {
        let initialized = tables.is_some();
        let mut ctx = Context::default();
        ctx.tables = tables;
        Ffi {
            ctx: Mutex::new(ctx),
            type_cache: Mutex::new(Default::default()),
            str_cache: Default::default(),
            init_once_results: PyDict::new(py).unbind(),
            init_once_locks: PyDict::new(py).unbind(),
            libraries: Mutex::new(Vec::new()),
            auto_declare_tags: std::sync::atomic::AtomicBool::new(false),
            initialized: std::sync::atomic::AtomicBool::new(initialized),
        }
    }

    pub fn context(&self) -> std::sync::MutexGuard<'_, Context> {
        self.ctx.lock().unwrap()
    }
}

/// A callback cdata (see callback.rs); `None` for `error`/`onerror` means not given.
fn make_callback(
    py: Python<'_>,
    ct: &Bound<'_, CType>,
    f: &Bound<'_, PyAny>,
    error: &Bound<'_, PyAny>,
    onerror: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let error = (!error.is_none()).then_some(error);
    let onerror = (!onerror.is_none()).then_some(onerror);
    Ok(crate::callback::new_callback(py, ct, f, error, onerror)?.into_any())
}

/// What `ffi.callback(cdecl, error=..., onerror=...)` returns without a callable: a decorator.
#[pyclass(module = "_cffi_backend", frozen)]
pub struct CallbackDecorator {
    ctype: Py<CType>,
    error: Py<PyAny>,
    onerror: Py<PyAny>,
}

#[pymethods]
impl CallbackDecorator {
    fn __call__(&self, py: Python<'_>, python_callable: &Bound<'_, PyAny>) -> PyResult<Py<CData>> {
        Ok(make_callback(py, self.ctype.bind(py), python_callable, self.error.bind(py), self.onerror.bind(py))?.bind(py).cast::<CData>()?.clone().unbind())
    }
}

/// What `ffi.def_extern(...)` returns: applied to a function, attaches it and returns it.
#[pyclass(module = "_cffi_backend", frozen)]
pub struct ExternDecorator {
    ffi: Py<Ffi>,
    /// Checked when applied, as upstream (so `ffi.def_extern(42)` itself does not fail).
    name: Option<Py<PyAny>>,
    error: Option<Py<PyAny>>,
    onerror: Option<Py<PyAny>>,
}

#[pymethods]
impl ExternDecorator {
    fn __call__(&self, py: Python<'_>, func: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let name_obj = match &self.name {
            Some(n) => n.bind(py).clone(),
            None => func.getattr("__name__")?,
        };
        let name: String = name_obj
            .cast::<pyo3::types::PyString>()
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "ffi.def_extern(): the name must be a str, not {}",
                    crate::convert::type_name(&name_obj)
                ))
            })?
            .to_str()?
            .to_string();
        if let Some(onerror) = &self.onerror {
            if !onerror.bind(py).is_none() && !onerror.bind(py).is_callable() {
                return Err(PyTypeError::new_err(format!(
                    "expected a callable object for 'onerror', not {}",
                    crate::convert::type_name(onerror.bind(py))
                )));
            }
        }
        let not_found = || FFIError::new_err(format!("ffi.def_extern('{name}'): no 'extern \"Python\"' function with this name"));
        let (ct, address) = {
            let mut ctx = self.ffi.get().context();
            let Some(tables) = ctx.tables.as_mut() else { return Err(not_found()) };
            let Some(i) = tables.search_global(py, &name)? else { return Err(not_found()) };
            let op = tables.global(py, i)?.op;
            if model::protocol::getop(op) != model::protocol::OP_EXTERN_PYTHON {
                return Err(not_found());
            }
            let address = tables.global_int(py, i)? as u64 as usize;
            let index = usize::try_from(model::protocol::getarg(op)).map_err(|_| not_found())?;
            let ct = tables.function_type(py, index).map_err(crate::realize::into_pyerr)?;
            (ct, address)
        };
        if address == 0 {
            return Err(not_found());
        }
        let handler = crate::callback::Handler::new(
            py,
            ct.bind(py),
            func,
            self.error.as_ref().map(|e| e.bind(py)),
            self.onerror.as_ref().map(|e| e.bind(py)),
        )?;
        crate::extern_python::attach(py, address, handler);
        Ok(func.clone().unbind())
    }
}

/// What `ffi.new_allocator()` returns: like `ffi.new()`, with custom alloc/free.
#[pyclass(module = "_cffi_backend", name = "__FFIAllocator", frozen)]
pub struct Allocator {
    ffi: Py<Ffi>,
    alloc: Option<Py<PyAny>>,
    free: Option<Py<PyAny>>,
    clear: bool,
}

#[pymethods]
impl Allocator {
    #[pyo3(signature = (cdecl, init=None))]
    fn __call__(&self, py: Python<'_>, cdecl: &Bound<'_, PyAny>, init: Option<&Bound<'_, PyAny>>) -> PyResult<Py<CData>> {
        let ct = self.ffi.get().ctype_of(py, cdecl)?;
        let Some(alloc) = &self.alloc else {
            if self.clear {
                return api::newp(py, &ct, init);
            }
            return api::newp_with(py, &ct, init, |size, align, length| {
                Ok(Owner::own(OwnedMem::uninit(size, align)?, length))
            });
        };
        api::newp_with(py, &ct, init, |size, _align, length| {
            let raw = alloc.call1(py, (size,))?;
            let raw_b = raw.bind(py);
            let Ok(rcd) = raw_b.cast::<CData>() else {
                return Err(PyTypeError::new_err(format!(
                    "alloc() must return a cdata object (got {})",
                    crate::convert::type_name(raw_b)
                )));
            };
            let r = rcd.get();
            if !matches!(r.ctype.get().kind, Kind::Pointer | Kind::Array) {
                return Err(PyTypeError::new_err(format!(
                    "alloc() must return a cdata pointer, not '{}'",
                    r.ctype.get().name
                )));
            }
            if r.addr().is_null() {
                return Err(PyMemoryError::new_err("alloc() returned NULL"));
            }
            if self.clear {
                // SAFETY: alloc() promised `size` bytes at this address.
                unsafe { std::ptr::write_bytes(r.addr(), 0, size) };
            }
            Ok(Owner::Allocated {
                ptr: r.addr() as usize,
                alloc: Box::new(crate::cdata::AllocatedOwner {
                    raw: rcd.clone().unbind(),
                    free: crate::gilslot::GilSlot::new(self.free.as_ref().map(|f| f.clone_ref(py))),
                    length,
                }),
            })
        })
    }
}
