//! C extension modules compiled by cffi (API mode). Their init function calls
//! `_cffi_backend._init_cffi_1_0_external_module(address)`, where `address` points to four
//! words: the module name, the version tag, the module's `_cffi_exports` array (filled here
//! from `capi`), and its `struct _cffi_type_context_s`. We build the module with `ffi` (an FFI
//! over the context's tables, decoded by `context_tables` like those of out-of-line modules)
//! and `lib` (a `CLib` below, whose functions are the module's own C wrappers).

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Mutex;

use model::protocol::*;
use pyo3::exceptions::{PyAttributeError, PyImportError, PyNotImplementedError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::cdata::{CData, OwnedMem, Owner};
use crate::compiled_tables::{cstr, int_constant, op32, slice, CGlobal, CTypeContext, CompiledTables};
use crate::context_tables::{CompiledLayouts, Tables};
use crate::table_source::TableSource;
use crate::ctype::{self, CType};
use crate::errors::FFIError;
use crate::ffi::Ffi;
use crate::realize::into_pyerr;

/// The version from which the table has 28 entries (char16_t/char32_t).
const VERSION_CHAR16CHAR32: i64 = 0x2801;

#[pyfunction]
#[pyo3(name = "_init_cffi_1_0_external_module")]
pub fn init_external_module(py: Python<'_>, arg: &Bound<'_, PyAny>) -> PyResult<Py<PyModule>> {
    let raw: usize = arg.extract()?;
    if raw == 0 {
        return Err(pyo3::exceptions::PyValueError::new_err("null module description"));
    }
    // SAFETY: the generated init function passes four words (see the module doc), and a fifth
    // when its context has FLAG_FASTCALL_TABLE (read below, once the context is known).
    let raw_words = raw as *const usize;
    let raw = unsafe { std::slice::from_raw_parts(raw_words, 4) };
    let module_name = String::from_utf8_lossy(unsafe { cstr(raw[0] as *const c_char) }).into_owned();
    let version = raw[1] as i64;
    if !(VERSION_MIN..=VERSION_MAX).contains(&version) {
        return Err(PyImportError::new_err(format!(
            "cffi extension module '{module_name}' uses an unknown version tag {version:#x}. This module might need a more recent version of cffi than the one currently installed, which is 2.0.0"
        )));
    }
    // SAFETY: the context is the module's static `_cffi_type_context`.
    let ctx = unsafe { &*(raw[3] as *const CTypeContext) };
    let n_exports = if version >= VERSION_CHAR16CHAR32 {
        28
    } else if ctx.flags & 1 != 0 {
        26
    } else {
        25
    };
    let table = crate::capi::exports();
    // SAFETY: the module's `_cffi_exports` array has room for `_CFFI_NUM_EXPORTS` entries of
    // its version.
    unsafe { std::ptr::copy_nonoverlapping(table.as_ptr(), raw[2] as *mut *mut c_void, n_exports) };

    let fastcall = if ctx.flags as u32 & recompiler::c_source::FLAG_FASTCALL_TABLE != 0 {
        // SAFETY: with that flag, rcffi's `_cffi_init` passed the fifth word.
        unsafe { *raw_words.add(4) }
    } else {
        0
    };
    let (ffi, lib) = ffi_and_lib(py, &module_name, ctx, fastcall)?;
    let m = new_extension_module(py, &module_name)?;
    // setattr, not `add`: the module has no `__all__` (nor has upstream's), and `add` would make one
    m.setattr("ffi", &ffi)?;
    m.setattr("lib", &lib)?;
    // sys.modules without an import statement's machinery
    // SAFETY: the GIL is held; a borrowed reference to the interpreter's module dict.
    let modules = unsafe { Bound::from_borrowed_ptr_or_err(py, ffi::PyImport_GetModuleDict()) }?;
    modules.set_item(format!("{module_name}.lib"), &lib)?;
    modules.set_item(&module_name, &m)?;
    Ok(m.unbind())
}

/// A module that this one `ffi.include()`d: its `ffi`, and its `lib` when it is a compiled
/// module (names not found in a lib are looked up in the libs it includes).
struct IncludedModule {
    ffi: Py<Ffi>,
    lib: Option<Py<CLib>>,
}

/// Import the modules named by the context's NULL-terminated `includes` array, as the
/// generated module's `_cffi_includes` lists them.
fn import_included(py: Python<'_>, ctx: &CTypeContext) -> PyResult<Vec<IncludedModule>> {
    let mut out = Vec::new();
    let mut p = ctx.includes;
    // SAFETY: `includes` is null or a static NULL-terminated array of static C strings.
    while !p.is_null() && unsafe { !(*p).is_null() } {
        let name = String::from_utf8_lossy(unsafe { cstr(*p) }).into_owned();
        let m = py.import(name.as_str())?;
        let ffi = m.getattr("ffi")?.cast_into::<Ffi>().map_err(|_| {
            PyImportError::new_err(format!("included module '{name}': its 'ffi' is not a cffi FFI object"))
        })?;
        let lib = m.getattr("lib")?.cast_into::<CLib>().ok().map(Bound::unbind);
        out.push(IncludedModule { ffi: ffi.unbind(), lib });
        p = unsafe { p.add(1) };
    }
    Ok(out)
}

/// The `ffi` and `lib` made for each module, by the address of its type context.
static LOADED: Mutex<Option<HashMap<usize, (Py<Ffi>, Py<CLib>)>>> = Mutex::new(None);

/// The `ffi` and `lib` of the module whose type context is `ctx`: new ones the first time, then
/// the same. A module can be initialized more than once (an embedding DLL imported as a module,
/// then started by the first call of one of its functions), and its `_cffi_types` array holds
/// the ctypes realized the first time, which its C code uses: a second FFI with ctypes of its
/// own would not match them.
fn ffi_and_lib(
    py: Python<'_>,
    module_name: &str,
    ctx: &'static CTypeContext,
    fastcall: usize,
) -> PyResult<(Py<Ffi>, Py<CLib>)> {
    let key = ctx as *const CTypeContext as usize;
    let known = |py: Python<'_>| {
        let loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        loaded.as_ref().and_then(|m| m.get(&key)).map(|(f, l)| (f.clone_ref(py), l.clone_ref(py)))
    };
    if let Some(found) = known(py) {
        return Ok(found);
    }
    let included = import_included(py, ctx)?;
    let ffi = build_ffi(py, module_name, ctx, &included)?.unbind();
    crate::hotslots::ready_clib(py);
    let lib = Py::new(
        py,
        CLib {
            ffi: ffi.clone_ref(py),
            module_name: module_name.to_string(),
            globals: ctx.globals as usize,
            num_globals: ctx.num_globals.max(0) as usize,
            fastcall,
            variables: Mutex::new(HashMap::new()),
            included_libs: included.into_iter().filter_map(|m| m.lib).collect(),
        },
    )?;
    // Building may have run Python code (and so let another thread in): the first one stays.
    // (Ours, if not kept, are dropped after the lock is released.)
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    let (f, l) = loaded
        .get_or_insert_with(HashMap::new)
        .entry(key)
        .or_insert_with(|| (ffi.clone_ref(py), lib.clone_ref(py)));
    let kept = (f.clone_ref(py), l.clone_ref(py));
    drop(loaded);
    Ok(kept)
}

/// A module object with a module definition of its own, as the import machinery requires of
/// what a (single-phase) extension module's init function returns. The definition is leaked:
/// one per compiled module, which are never unloaded.
fn new_extension_module<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyModule>> {
    let name = CString::new(name).map_err(|_| pyo3::exceptions::PyValueError::new_err("embedded null byte"))?.into_raw();
    // SAFETY: an all-zero PyModuleDef is the documented empty definition, then filled in.
    let def: &'static mut ffi::PyModuleDef = Box::leak(Box::new(unsafe { std::mem::zeroed() }));
    def.m_base = ffi::PyModuleDef_HEAD_INIT;
    def.m_name = name;
    def.m_size = -1;
    // SAFETY: an immortal, valid definition.
    let m = unsafe { ffi::PyModule_Create2(def, ffi::PYTHON_API_VERSION) };
    Ok(unsafe { Bound::from_owned_ptr_or_err(py, m) }?.cast_into::<PyModule>()?)
}

/// The FFI of the module: its tables read in place (`compiled_tables`), the layouts its C
/// compiler gave among them. (Its version was checked by `init_external_module`.)
fn build_ffi<'py>(
    py: Python<'py>,
    module_name: &str,
    ctx: &'static CTypeContext,
    included: &[IncludedModule],
) -> PyResult<Bound<'py, Ffi>> {
    // SAFETY (whole function): every array of the context has the length the context gives.
    let types = unsafe { slice(ctx.types as *const usize, ctx.num_types) };
    let tables = Tables::compiled(
        py,
        module_name.to_string(),
        types.iter().map(|&t| op32(t)).collect(),
        // SAFETY: the context of a compiled module (see `init_external_module`).
        TableSource::Compiled(unsafe { CompiledTables::new(ctx) }),
        included.iter().map(|m| m.ffi.clone_ref(py)).collect(),
        CompiledLayouts { types_out: ctx.types as usize, num_types: types.len() },
    );
    Bound::new(py, Ffi::with_tables(py, Some(Box::new(tables))))
}

/// The `lib` of a compiled module. Functions (the module's own wrappers, as builtin functions)
/// and constants are cached in the instance dict on first use; global variables are read and
/// written in place each time. Weak references to it are allowed (upstream's Lib has none):
/// `ffi.verify()` returns one, and upstream's verify() libs allow them.
#[pyclass(module = "_cffi_backend", name = "Lib", dict, weakref, frozen)]
pub struct CLib {
    ffi: Py<Ffi>,
    module_name: String,
    globals: usize,
    num_globals: usize,
    /// The module's `_cffi_fastcall` table (parallel to the globals; 0 if none): METH_FASTCALL
    /// entry points of its functions of several arguments.
    fastcall: usize,
    /// Global variables met so far: type, and the global's index.
    variables: Mutex<HashMap<String, (Py<CType>, usize)>>,
    /// The libs of the compiled modules this one includes, searched for names it lacks.
    included_libs: Vec<Py<CLib>>,
}

enum Found {
    Cached(Py<PyAny>),
    Variable(Py<CType>, *mut u8),
}

impl CLib {
    /// The METH_FASTCALL entry point of global `i`, or null.
    fn fastcall_entry(&self, i: usize) -> *mut c_void {
        if self.fastcall == 0 || i >= self.num_globals {
            return std::ptr::null_mut();
        }
        // SAFETY: the module's `_cffi_fastcall` table has one entry per global and lives forever.
        unsafe { *(self.fastcall as *const *mut c_void).add(i) }
    }

    fn entry(&self, i: usize) -> &CGlobal {
        assert!(i < self.num_globals);
        // SAFETY: the module's globals array has `num_globals` entries and lives forever.
        unsafe { &*(self.globals as *const CGlobal).add(i) }
    }

    /// The address of global variable `i` now (a `_F` one asks the module each time: it may be
    /// a macro calling user code, which can fail and give NULL — an error here, not a crash).
    fn variable_address(&self, i: usize, name: &str) -> PyResult<*mut u8> {
        let g = self.entry(i);
        let p: *mut u8 = if getop(op32(g.type_op)) == OP_GLOBAL_VAR_F {
            // SAFETY: the module's `void *(*)(void)` for this variable.
            let f: unsafe extern "C" fn() -> *mut c_void = unsafe { std::mem::transmute(g.address) };
            unsafe { f() }.cast()
        } else {
            g.address.cast()
        };
        if p.is_null() {
            return Err(crate::errors::FFIError::new_err(format!("global variable '{name}' is at address NULL")));
        }
        Ok(p)
    }

    fn attribute(&self, slf: &Bound<'_, CLib>, name: &str) -> PyResult<Found> {
        let py = slf.py();
        if let Some((t, i)) = self.variables.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Ok(Found::Variable(t.clone_ref(py), self.variable_address(*i, name)?));
        }
        let dict = instance_dict(slf)?;
        if let Some(x) = dict.get_item(name)? {
            return Ok(Found::Cached(x.unbind()));
        }
        let mut ctx = self.ffi.get().context();
        let tables = ctx.tables.as_mut().ok_or_else(|| PyAttributeError::new_err(name.to_string()))?;
        let Some(i) = tables.search_global(py, name)? else {
            drop(ctx);
            if let Some(found) = self.included_attribute(py, name)? {
                if let Found::Cached(x) = &found {
                    dict.set_item(name, x)?;
                }
                return Ok(found);
            }
            return Err(PyAttributeError::new_err(format!(
                "cffi library '{}' has no function, constant or global variable named '{name}'",
                self.module_name
            )));
        };
        let g = self.entry(i);
        let op = op32(g.type_op);
        let arg = usize::try_from(getarg(op)).unwrap_or(usize::MAX);
        let value: Py<PyAny> = match getop(op) {
            OP_CONSTANT_INT | OP_ENUM => {
                // SAFETY: the module's function for this constant.
                let (v, mismatch) = unsafe { int_constant(g.address) };
                if mismatch {
                    // upstream's wording: positive values also in hex
                    let hex = if v > 0 { format!(" ({v:#x})") } else { String::new() };
                    return Err(FFIError::new_err(format!(
                        "the C compiler says '{name}' is equal to {v}{hex}, but the cdef disagrees"
                    )));
                }
                crate::convert::int_to_py(py, v)?
            }
            OP_CPYTHON_BLTN_V | OP_CPYTHON_BLTN_N | OP_CPYTHON_BLTN_O => {
                // Realizing the function type writes its argument and result ctypes into the
                // module's types array, where its wrapper reads them.
                let t = tables.function_type(py, arg).map_err(into_pyerr)?;
                drop(ctx);
                let fast_entry = self.fastcall_entry(i);
                let (flags, entry) = match getop(op) {
                    OP_CPYTHON_BLTN_V if !fast_entry.is_null() => (ffi::METH_FASTCALL, fast_entry),
                    OP_CPYTHON_BLTN_V => (ffi::METH_VARARGS, g.address),
                    OP_CPYTHON_BLTN_N => (ffi::METH_NOARGS, g.address),
                    _ => (ffi::METH_O, g.address),
                };
                let decl = c_declaration(&t.get().name, name);
                let doc = format!("{decl};\n\nCFFI C function from {}.lib", self.module_name);
                let f = builtin(slf, name, entry, flags, &doc, &self.module_name)?;
                if !g.size_or_direct_fn.is_null() {
                    crate::directfn::register(f.bind(py), t.clone_ref(py), g.size_or_direct_fn.cast());
                }
                f
            }
            OP_CONSTANT => {
                let t = tables.global_type(py, arg).map_err(into_pyerr)?;
                drop(ctx);
                let size = t.get().size();
                if size < 0 {
                    return Err(FFIError::new_err(format!(
                        "constant '{name}' is of type '{}', whose size is not known",
                        t.get().name
                    )));
                }
                let mem = OwnedMem::zeroed((size as usize).max(1), t.get().align().max(1))?;
                // SAFETY: the module's `void (*)(char *)` writing the constant's value.
                let f: unsafe extern "C" fn(*mut c_char) = unsafe { std::mem::transmute(g.address) };
                unsafe { f(mem.ptr().cast()) };
                if t.get().is_record() {
                    CData::with(t.bind(py), Owner::own(mem, -1)).into_object(py)?.into_any()
                } else {
                    // SAFETY: `mem` holds a value of type `t`.
                    unsafe { crate::convert::read(py, t.bind(py), mem.ptr()) }?
                }
            }
            OP_GLOBAL_VAR | OP_GLOBAL_VAR_F => {
                let t = tables.global_type(py, arg).map_err(into_pyerr)?;
                drop(ctx);
                self.variables
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name.to_string(), (t.clone_ref(py), i));
                return Ok(Found::Variable(t, self.variable_address(i, name)?));
            }
            // `lib.f` of an extern "Python" function: a pointer to the C function the module
            // generated for it (what C code would call).
            OP_EXTERN_PYTHON => {
                let t = tables.function_type(py, arg).map_err(into_pyerr)?;
                drop(ctx);
                CData::borrowed(py, t.bind(py), g.size_or_direct_fn.cast())?.into_any()
            }
            op => return Err(PyNotImplementedError::new_err(format!("in lib_build_attr: op={op}"))),
        };
        dict.set_item(name, &value)?;
        Ok(Found::Cached(value))
    }
}

impl CLib {
    /// `name` in the libs this one includes (recursively): the same object, or the same
    /// variable, as there.
    fn included_attribute(&self, py: Python<'_>, name: &str) -> PyResult<Option<Found>> {
        for lib in &self.included_libs {
            let lib = lib.bind(py);
            match lib.get().attribute(lib, name) {
                Ok(found) => return Ok(Some(found)),
                Err(e) if e.is_instance_of::<PyAttributeError>(py) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

/// `int f(int)` from the function pointer type `int(*)(int)`, spaced as C programmers write
/// it (`void *f(void)`, not `void * f(void)`).
fn c_declaration(fnptr_type: &str, name: &str) -> String {
    match fnptr_type.split_once("(*)") {
        Some((result, args)) if result.ends_with('*') => format!("{result}{name}{args}"),
        Some((result, args)) => format!("{result} {name}{args}"),
        None => format!("{fnptr_type} {name}"),
    }
}

/// A builtin function object around one of the module's wrappers, bound to the lib as
/// upstream's (its `__module__` is the module's name; errors name it `module.Lib.f()`).
fn builtin(lib: &Bound<'_, CLib>, name: &str, wrapper: *mut c_void, flags: c_int, doc: &str, module: &str) -> PyResult<Py<PyAny>> {
    let py = lib.py();
    let name = CString::new(name).unwrap_or_default().into_raw();
    let doc = CString::new(doc).unwrap_or_default().into_raw();
    // SAFETY: a wrapper of the module has the PyCFunction signature (the flags say how it
    // takes its arguments).
    let meth: ffi::PyCFunction = unsafe { std::mem::transmute(wrapper) };
    // The definition must outlive the function object: it is leaked, one per C function.
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: name,
        ml_meth: ffi::PyMethodDefPointer { PyCFunction: meth },
        ml_flags: flags,
        ml_doc: doc,
    }));
    let module = pyo3::types::PyString::new(py, module);
    // SAFETY: a valid, immortal method definition; `lib` and `module` are borrowed (the
    // function takes its own references).
    let f = unsafe { ffi::PyCFunction_NewEx(def, lib.as_ptr(), module.as_ptr()) };
    Ok(unsafe { Bound::from_owned_ptr_or_err(py, f) }?.unbind())
}

/// The lib's own instance dict, its cache (`lib.__dict__` is a snapshot, see there).
fn instance_dict<'py>(lib: &Bound<'py, CLib>) -> PyResult<Bound<'py, PyDict>> {
    // SAFETY: `lib` is a live object whose type has an instance dict (`dict` pyclass option).
    let d = unsafe { ffi::PyObject_GenericGetDict(lib.as_ptr(), std::ptr::null_mut()) };
    Ok(unsafe { Bound::from_owned_ptr_or_err(lib.py(), d) }?.cast_into::<PyDict>()?)
}

#[pymethods]
impl CLib {
    /// A new dict of every name of the lib, as upstream's: functions and constants as
    /// `lib.name` gives them, global variables as `__FFIGlobSupport` objects (writing to the
    /// dict does not change the lib).
    #[getter(__dict__)]
    fn snapshot_dict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let d = PyDict::new(py);
        for name in crate::libobj::global_names(py, slf.get().ffi.get(), false)? {
            let value: Py<PyAny> = match slf.get().attribute(slf, &name)? {
                Found::Cached(x) => x,
                Found::Variable(t, addr) => {
                    Py::new(py, crate::globsupport::GlobSupport::new(&name, t, addr))?.into_any()
                }
            };
            d.set_item(name, value)?;
        }
        Ok(d)
    }

    /// `module`, so that help(lib) shows it as a module, as upstream's.
    #[getter(__class__)]
    fn module_class(&self, py: Python<'_>) -> Py<PyAny> {
        py.get_type::<PyModule>().into_any().unbind()
    }

    fn __getattr__(slf: &Bound<'_, Self>, name: &str) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        match slf.get().attribute(slf, name) {
            Ok(Found::Cached(x)) => Ok(x),
            // SAFETY: the variable's address and type, as the module declares them.
            Ok(Found::Variable(t, addr)) => unsafe { crate::convert::read(py, t.bind(py), addr) },
            Err(e) if e.is_instance_of::<PyAttributeError>(py) => {
                crate::libobj::module_like_attribute(py, slf.get().ffi.get(), &slf.get().module_name, name, e)
            }
            Err(e) => Err(e),
        }
    }

    fn __setattr__(slf: &Bound<'_, Self>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        match slf.get().attribute(slf, name)? {
            // SAFETY: as in __getattr__.
            Found::Variable(t, addr) => unsafe { crate::convert::write(py, t.bind(py), addr, value) },
            Found::Cached(_) => Err(PyAttributeError::new_err(format!("cannot write to function or constant '{name}'"))),
        }
    }

    fn __delattr__(&self, _name: &str) -> PyResult<()> {
        Err(PyAttributeError::new_err("C attribute cannot be deleted"))
    }

    fn __dir__(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        Ok(PyList::new(py, crate::libobj::global_names(py, self.ffi.get(), false)?)?.unbind())
    }

    fn __repr__(&self) -> String {
        format!("<Lib object for '{}'>", self.module_name)
    }
}

/// `ffi.addressof(lib, name)` for a compiled module: a pointer to a global variable, or the
/// function's direct C entry point as a function pointer cdata.
pub fn addressof(lib: &Bound<'_, CLib>, name: &str) -> PyResult<Py<CData>> {
    let py = lib.py();
    let this = lib.get();
    match this.attribute(lib, name)? {
        Found::Variable(t, addr) => {
            let ptr = ctype::new_pointer(py, t.bind(py))?;
            CData::borrowed(py, ptr.bind(py), addr)
        }
        // a constant function pointer (`int (*const f)(int);`): 'f == &f', as upstream
        Found::Cached(x) if x.bind(py).cast::<CData>().is_ok_and(|c| c.get().ctype.get().kind == ctype::Kind::Function) => {
            Ok(x.bind(py).cast::<CData>()?.clone().unbind())
        }
        Found::Cached(_) => {
            let mut ctx = this.ffi.get().context();
            let tables = ctx.tables.as_mut().ok_or_else(|| PyAttributeError::new_err(name.to_string()))?;
            let i = tables.search_global(py, name)?.ok_or_else(|| PyAttributeError::new_err(name.to_string()))?;
            let g = this.entry(i);
            let op = op32(g.type_op);
            if !matches!(getop(op), OP_CPYTHON_BLTN_V | OP_CPYTHON_BLTN_N | OP_CPYTHON_BLTN_O) || g.size_or_direct_fn.is_null() {
                return Err(PyAttributeError::new_err(format!("cannot take the address of the constant '{name}'")));
            }
            let t = tables.function_type(py, getarg(op).max(0) as usize).map_err(into_pyerr)?;
            drop(ctx);
            CData::borrowed(py, t.bind(py), g.size_or_direct_fn.cast())
        }
    }
}

/// `_backend._lib_set_extra(lib, name, value)`: an attribute of a compiled lib that is not a C
/// name (what ffi.verify() adds, as upstream's older engine did: `_cffi_python_module`, ...).
#[pyfunction]
fn _lib_set_extra(lib: &Bound<'_, CLib>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
    instance_dict(lib)?.set_item(name, value)
}

/// `_backend._lib_int_check(lib, name)`: for an integer constant or enumerator of a compiled
/// module, `(value the C compiler gives, whether the cdef agrees)`; None for other names. What
/// ffi.verify() checks when it loads a module (`lib.name` itself raises ffi.error on a mismatch).
#[pyfunction]
fn _lib_int_check(lib: &Bound<'_, CLib>, name: &str) -> PyResult<Option<(i128, bool)>> {
    let py = lib.py();
    let this = lib.get();
    let mut ctx = this.ffi.get().context();
    let Some(tables) = ctx.tables.as_mut() else { return Ok(None) };
    let Some(i) = tables.search_global(py, name)? else { return Ok(None) };
    let g = this.entry(i);
    if !matches!(getop(op32(g.type_op)), OP_CONSTANT_INT | OP_ENUM) || g.address.is_null() {
        return Ok(None);
    }
    // SAFETY: the module's function for this constant.
    let (value, mismatch) = unsafe { int_constant(g.address) };
    Ok(Some((value, !mismatch)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(init_external_module, m)?)?;
    m.add_function(wrap_pyfunction!(_lib_set_extra, m)?)?;
    m.add_function(wrap_pyfunction!(_lib_int_check, m)?)?;
    crate::capi::register(m)
}
