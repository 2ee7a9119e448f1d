//! The type context of an out-of-line ABI module: what `_cffi_backend.FFI(module_name,
//! _version=..., _types=b'...', _globals=(...), _struct_unions=(...), _enums=(...),
//! _typenames=(...), _includes=(...))` is given (the protocol is `model::protocol`).
//!
//! A compiled (API-mode) module gives the same tables as C arrays (`table_source`).
//!
//! Loading costs next to nothing, however big the module: the types array is decoded (4 bytes
//! per entry) and the other tables are kept as they are (Python tuples, C arrays), searched by
//! binary search (each is sorted by name). A type becomes a ctype the first time something names it,
//! and is cached by its index in the types array.
//!
//! Structs reached through a pointer are laid out once the outermost realization is done (so
//! that `struct b { struct c *p; }; struct c { struct b x; };` works from either end); reached
//! by value, they are laid out at once.

use model::layout;
use model::protocol::*;
use pyo3::exceptions::{PyImportError, PyNotImplementedError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::table_source::TableSource;

use crate::ctype::{self, CType};
use crate::errors::FFIError;
use crate::ffi::Ffi;
use crate::realize::{into_pyerr, RResult, RealizeError};
use crate::record::{self, FieldDecl};

/// Realizations nest no deeper than this (bad tables could make them loop).
const MAX_DEPTH: u32 = 1000;
/// `ffi.include()` chains are followed no deeper than this.
const MAX_INCLUDE_DEPTH: usize = 100;

/// A realized entry of the types array: a ctype, or a function type (held as its
/// function-pointer ctype, which is what an `OP_POINTER` to it gives).
enum Realized {
    Type(Py<CType>),
    Func(Py<CType>),
}

impl Realized {
    fn clone_ref(&self, py: Python<'_>) -> Realized {
        match self {
            Realized::Type(t) => Realized::Type(t.clone_ref(py)),
            Realized::Func(t) => Realized::Func(t.clone_ref(py)),
        }
    }
}

fn nones<T>(n: usize) -> Vec<Option<T>> {
    (0..n).map(|_| None).collect()
}

pub struct Tables {
    pub module_name: String,
    types: Vec<u32>,
    realized: Vec<Option<Realized>>,
    source: TableSource,
    struct_types: Vec<Option<Py<CType>>>,
    enum_types: Vec<Option<Py<CType>>>,
    pub includes: Vec<Py<Ffi>>,
    /// Struct indexes reached through pointers, to lay out when the outermost call ends.
    pending: Vec<usize>,
    /// Struct indexes being laid out now.
    in_progress: Vec<usize>,
    depth: u32,
    /// For the tables of a compiled module: what its C compiler says.
    compiled: Option<CompiledLayouts>,
}

/// Of a compiled (API mode) module: its `_cffi_types` array, into which realized ctypes are
/// written back (the generated code reads them there). The layouts its C compiler gave are read
/// from its tables (`TableSource::compiled_struct_layout`).
pub struct CompiledLayouts {
    /// The address of the module's `_cffi_types` array (`num_types` pointer-sized entries).
    pub types_out: usize,
    pub num_types: usize,
}

/// A struct/union as the C compiler laid it out: size, alignment, and per field its name,
/// offset and size (-1 where not given) and its type in the cdef.
pub type CompiledLayout = (i64, i32, Vec<(String, i64, i64, Option<Py<CType>>)>);

/// What the constructor of `_cffi_backend.FFI` was given.
pub struct TableArgs<'py> {
    pub module_name: String,
    pub version: i64,
    pub types: Option<Bound<'py, PyBytes>>,
    pub globals: Option<Bound<'py, PyTuple>>,
    pub struct_unions: Option<Bound<'py, PyTuple>>,
    pub enums: Option<Bound<'py, PyTuple>>,
    pub typenames: Option<Bound<'py, PyTuple>>,
    pub includes: Option<Bound<'py, PyTuple>>,
}

/// Upstream's error for realizations that do not end.
const RECURSION_MESSAGE: &str = "type-building recursion too deep or infinite.  This is known to occur e.g. in ``struct s { void(*callable)(struct s); }''.  Please report if you get this error and really need support for your case.";

pub(crate) fn bad_table(what: &str) -> PyErr {
    FFIError::new_err(format!("corrupted out-of-line module tables ({what})"))
}

/// The 4-byte number at `at` in `b`.
fn be32(b: &[u8], at: usize) -> PyResult<u32> {
    b.get(at..).and_then(read_be32).ok_or_else(|| bad_table("entry too short"))
}

/// `"xyz"` => `"struct xyz"`, `"$xyz"` => `"xyz"` (named by a typedef), `"$1"` => `"struct $1"`.
fn realize_name(prefix: &str, name: &str) -> String {
    let b = name.as_bytes();
    if b.first() == Some(&b'$') && b.get(1).is_some_and(|c| *c != b'$' && !c.is_ascii_digit()) {
        name[1..].to_string()
    } else {
        format!("{prefix}{name}")
    }
}

/// Binary search of `name` in a sorted table; `key` gives the name of entry `i`.
fn search(n: usize, name: &[u8], mut key: impl FnMut(usize) -> PyResult<Vec<u8>>) -> PyResult<Option<usize>> {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match key(mid)?.as_slice().cmp(name) {
            std::cmp::Ordering::Equal => return Ok(Some(mid)),
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Less => lo = mid + 1,
        }
    }
    Ok(None)
}

/// What a global entry is.
pub struct Global {
    pub op: u32,
    pub name: String,
}

impl Tables {
    /// Load the tables, or None for `FFI()`-like calls that give none (no version, no types).
    pub fn load(py: Python<'_>, a: TableArgs<'_>) -> PyResult<Option<Tables>> {
        let types_bytes = a.types.as_ref().map_or(&[][..], |b| b.as_bytes());
        if a.version == -1 && types_bytes.is_empty() {
            return Ok(None);
        }
        if !(VERSION_MIN..=VERSION_MAX).contains(&a.version) {
            return Err(PyImportError::new_err(format!(
                "cffi out-of-line Python module '{}' has unknown version {:#x}",
                a.module_name, a.version
            )));
        }
        let types: Vec<u32> = types_bytes.chunks_exact(4).filter_map(read_be32).collect();
        let mut includes = Vec::new();
        if let Some(inc) = &a.includes {
            for f in inc.iter() {
                let f = f.cast_into::<Ffi>().map_err(|_| PyTypeError::new_err("_includes must hold FFI objects"))?;
                includes.push(f.unbind());
            }
        }
        let source = TableSource::Tuples {
            globals: a.globals.map(Bound::unbind),
            structs: a.struct_unions.map(Bound::unbind),
            enums: a.enums.map(Bound::unbind),
            typenames: a.typenames.map(Bound::unbind),
        };
        Ok(Some(Tables::new(py, a.module_name, types, source, includes, None)))
    }

    /// The tables of a compiled module: its types array, its other tables read in place, and
    /// what its C compiler says of the layouts.
    pub fn compiled(
        py: Python<'_>,
        module_name: String,
        types: Vec<u32>,
        source: TableSource,
        includes: Vec<Py<Ffi>>,
        layouts: CompiledLayouts,
    ) -> Tables {
        Tables::new(py, module_name, types, source, includes, Some(layouts))
    }

    fn new(
        py: Python<'_>,
        module_name: String,
        types: Vec<u32>,
        source: TableSource,
        includes: Vec<Py<Ffi>>,
        compiled: Option<CompiledLayouts>,
    ) -> Tables {
        Tables {
            module_name,
            realized: nones(types.len()),
            types,
            struct_types: nones(source.n_structs(py)),
            enum_types: nones(source.n_enums(py)),
            source,
            includes,
            pending: Vec::new(),
            in_progress: Vec::new(),
            depth: 0,
            compiled,
        }
    }

    /// Write a realized ctype back into a compiled module's `_cffi_types` array, once (the
    /// entry keeps a reference for the life of the process, as the module's code may use it).
    fn write_back(&self, index: usize, t: &Py<CType>) {
        let Some(c) = &self.compiled else { return };
        if index >= c.num_types {
            return;
        }
        let slot = (c.types_out as *mut usize).wrapping_add(index);
        // SAFETY: the module's types array has `num_types` writable entries; an odd entry is
        // still an opcode, an even one a ctype written here before.
        unsafe {
            if *slot & 1 == 1 {
                *slot = t.clone_ref(pyo3::Python::assume_attached()).into_ptr() as usize;
            }
        }
    }

    // ---- the tables, searched by name --------------------------------------------------------

    /// The index of the global `name`.
    pub fn search_global(&self, py: Python<'_>, name: &str) -> PyResult<Option<usize>> {
        search(self.source.n_globals(py), name.as_bytes(), |i| self.source.global_name(py, i))
    }

    pub fn global(&self, py: Python<'_>, i: usize) -> PyResult<Global> {
        let b = self.source.global_entry(py, i)?;
        Ok(Global { op: be32(&b, 0)?, name: String::from_utf8_lossy(&b[4..]).into_owned() })
    }

    /// The value of an integer constant or enumerator: the integer after its entry, taken
    /// modulo 2**64 and read as signed if it is not positive, as upstream does.
    pub fn global_int(&self, py: Python<'_>, i: usize) -> PyResult<i128> {
        let v = self.source.global_value(py, i)?;
        Ok(if v <= 0 { v as i64 as i128 } else { v as u64 as i128 })
    }

    /// Every global name, in table order; without the global variables if `skip_variables`.
    pub fn global_names(&self, py: Python<'_>, skip_variables: bool) -> PyResult<Vec<String>> {
        let mut names = Vec::new();
        for i in 0..self.source.n_globals(py) {
            let g = self.global(py, i)?;
            if skip_variables && matches!(getop(g.op), OP_GLOBAL_VAR | OP_GLOBAL_VAR_F) {
                continue;
            }
            names.push(g.name);
        }
        Ok(names)
    }

    fn search_struct(&self, py: Python<'_>, name: &str) -> PyResult<Option<usize>> {
        search(self.source.n_structs(py), name.as_bytes(), |i| {
            Ok(self.source.struct_item(py, i, 0)?.get(8..).unwrap_or(&[]).to_vec())
        })
    }

    /// See `Ffi::_compiled_layout`.
    pub fn compiled_layout(&mut self, py: Python<'_>, name: &str) -> PyResult<Option<CompiledLayout>> {
        let Some(s) = self.search_struct(py, name)? else { return Ok(None) };
        let Some((size, align)) = self.source.compiled_struct_layout(s) else { return Ok(None) };
        let n_fields = self.source.struct_len(py, s)?.saturating_sub(1);
        let mut out = Vec::with_capacity(n_fields);
        for j in 0..n_fields {
            let (offset, fsize) = self.source.compiled_field_layout(s, j).unwrap_or((-1, -1));
            let b = self.source.struct_item(py, s, j + 1)?;
            let op = be32(&b, 0)?;
            let name_at = if getop(op) == OP_BITFIELD { 8 } else { 4 };
            let fname = String::from_utf8_lossy(b.get(name_at..).unwrap_or(&[])).into_owned();
            // the type the cdef gives the field; None if it cannot be realized
            let ftype = usize::try_from(getarg(op)).ok().and_then(|i| self.outermost(py, |t| t.realize_type(py, i)).ok());
            out.push((fname, offset, fsize, ftype));
        }
        Ok(Some((size, align, out)))
    }

    /// (type index, flags, name) of a struct/union entry.
    fn struct_head(&self, py: Python<'_>, i: usize) -> PyResult<(usize, i32, String)> {
        let b = self.source.struct_item(py, i, 0)?;
        Ok((be32(&b, 0)? as usize, be32(&b, 4)? as i32, String::from_utf8_lossy(b.get(8..).unwrap_or(&[])).into_owned()))
    }

    fn search_enum(&self, py: Python<'_>, name: &str) -> PyResult<Option<usize>> {
        search(self.source.n_enums(py), name.as_bytes(), |i| {
            let b = self.source.enum_entry(py, i)?;
            let rest = b.get(8..).unwrap_or(&[]);
            Ok(rest.split(|c| *c == 0).next().unwrap_or(&[]).to_vec())
        })
    }

    fn search_typename(&self, py: Python<'_>, name: &str) -> PyResult<Option<usize>> {
        search(self.source.n_typenames(py), name.as_bytes(), |i| {
            Ok(self.source.typename_entry(py, i)?.get(4..).unwrap_or(&[]).to_vec())
        })
    }

    fn typename_index(&self, py: Python<'_>, i: usize) -> PyResult<usize> {
        Ok(be32(&self.source.typename_entry(py, i)?, 0)? as usize)
    }

    /// `ffi.list_types()`: (typedef names, struct names, union names), anonymous ones left out.
    pub fn list_types(&self, py: Python<'_>) -> PyResult<(Vec<String>, Vec<String>, Vec<String>)> {
        let mut typedefs = Vec::new();
        for i in 0..self.source.n_typenames(py) {
            let b = self.source.typename_entry(py, i)?;
            typedefs.push(String::from_utf8_lossy(b.get(4..).unwrap_or(&[])).into_owned());
        }
        let (mut structs, mut unions) = (Vec::new(), Vec::new());
        for i in 0..self.struct_types.len() {
            let (_, flags, name) = self.struct_head(py, i)?;
            if name.starts_with('$') {
                continue;
            }
            if flags & F_UNION != 0 {
                unions.push(name);
            } else {
                structs.push(name);
            }
        }
        Ok((typedefs, structs, unions))
    }

    // ---- entry points: each lays out the structs it left pending before returning ------------

    fn outermost<T>(&mut self, py: Python<'_>, f: impl FnOnce(&mut Self) -> RResult<T>) -> RResult<T> {
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        if self.depth == 0 {
            // Errors are left for a use that needs the layout to report (a pointer to a struct
            // that cannot be laid out is still a fine pointer).
            while let Some(s) = self.pending.pop() {
                if let Err(e) = self.complete_struct(py, s) {
                    if let Some(Some(t)) = self.struct_types.get(s) {
                        t.get().set_lazy_error(into_pyerr(e));
                    }
                }
            }
        }
        r
    }

    /// The ctype of the typedef `name`, if this module has one.
    pub fn typename(&mut self, py: Python<'_>, name: &str) -> Option<RResult<Py<CType>>> {
        let i = match self.search_typename(py, name) {
            Ok(Some(i)) => i,
            Ok(None) => return None,
            Err(e) => return Some(Err(e.into())),
        };
        // A function typedef gives its function pointer type (see `names_function`).
        Some(self.outermost(py, |s| {
            let index = s.typename_index(py, i)?;
            match s.realize(py, index)? {
                Realized::Type(t) | Realized::Func(t) => Ok(t),
            }
        }))
    }

    /// Whether the typedef `name` of this module is a function type.
    pub fn names_function(&self, py: Python<'_>, name: &str) -> bool {
        let Ok(Some(i)) = self.search_typename(py, name) else { return false };
        let Ok(mut index) = self.typename_index(py, i) else { return false };
        for _ in 0..MAX_DEPTH {
            match self.types.get(index).copied() {
                Some(x) if getop(x) == OP_FUNCTION => return true,
                Some(x) if getop(x) == OP_NOOP => index = getarg(x).max(0) as usize,
                _ => return false,
            }
        }
        false
    }

    /// `struct tag` / `union tag`, if this module declares it.
    pub fn struct_or_union(&mut self, py: Python<'_>, is_union: bool, tag: &str, defer: bool) -> Option<RResult<Py<CType>>> {
        let found = match self.search_struct(py, tag) {
            Ok(f) => f,
            Err(e) => return Some(Err(e.into())),
        };
        let Some(i) = found else {
            if !is_union && tag == "_IO_FILE" {
                return Some(ctype::file_type(py).map_err(Into::into));
            }
            return None;
        };
        Some(self.outermost(py, |s| {
            let (_, flags, _) = s.struct_head(py, i)?;
            if (flags & F_UNION != 0) != is_union {
                return Err(RealizeError::Lookup { message: "wrong kind of tag: struct vs union", name: tag.to_string(), span: None });
            }
            s.realize_struct(py, i as i32, !defer)
        }))
    }

    /// `enum tag`, if this module declares it.
    pub fn enum_named(&mut self, py: Python<'_>, tag: &str) -> Option<RResult<Py<CType>>> {
        match self.search_enum(py, tag) {
            Ok(Some(i)) => Some(self.outermost(py, |s| s.realize_enum(py, i))),
            Ok(None) => None,
            Err(e) => Some(Err(e.into())),
        }
    }

    /// The type of entry `index` of the types array, for a global.
    pub fn global_type(&mut self, py: Python<'_>, index: usize) -> RResult<Py<CType>> {
        self.outermost(py, |s| s.realize_type(py, index))
    }

    /// The function-pointer ctype of the function type at `index`.
    pub fn function_type(&mut self, py: Python<'_>, index: usize) -> RResult<Py<CType>> {
        self.outermost(py, |s| match s.realize(py, index)? {
            Realized::Func(t) | Realized::Type(t) => Ok(t),
        })
    }

    /// An integer constant or enumerator of this module or (recursively) of the modules it
    /// includes. `Some(Err)` for a name that is something else here.
    pub fn int_constant(&self, py: Python<'_>, name: &str, depth: usize) -> Option<PyResult<i128>> {
        match self.search_global(py, name) {
            Err(e) => return Some(Err(e)),
            Ok(Some(i)) => {
                return Some(self.global(py, i).and_then(|g| match getop(g.op) {
                    OP_CONSTANT_INT | OP_ENUM => self.global_int(py, i),
                    _ => Err(FFIError::new_err(format!(
                        "function, global variable or non-integer constant '{name}' must be fetched from its original 'lib' object"
                    ))),
                }))
            }
            Ok(None) => {}
        }
        if depth > MAX_INCLUDE_DEPTH {
            return Some(Err(PyRuntimeError::new_err("recursion overflow in ffi.include() delegations")));
        }
        for inc in &self.includes {
            let ctx = inc.get().context();
            if let Some(t) = &ctx.tables {
                if let Some(r) = t.int_constant(py, name, depth + 1) {
                    return Some(r);
                }
            }
        }
        None
    }

    // ---- realization -------------------------------------------------------------------------

    fn op_at(&self, index: usize) -> RResult<u32> {
        self.types.get(index).copied().ok_or_else(|| bad_table("type index out of range").into())
    }

    /// A ctype (not a bare function type).
    fn realize_type(&mut self, py: Python<'_>, index: usize) -> RResult<Py<CType>> {
        match self.realize(py, index)? {
            Realized::Type(t) => Ok(t),
            Realized::Func(f) => {
                let t = f.get();
                // `int(*)(long)` shown as the function type `int(long)`.
                let name = t.name.replacen("(*)", "", 1);
                Err(FFIError::new_err(format!("the type '{name}' is a function type, not a pointer-to-function type")).into())
            }
        }
    }

    fn realize(&mut self, py: Python<'_>, index: usize) -> RResult<Realized> {
        if let Some(Some(r)) = self.realized.get(index) {
            return Ok(r.clone_ref(py));
        }
        if self.depth >= MAX_DEPTH {
            return Err(PyRuntimeError::new_err(RECURSION_MESSAGE).into());
        }
        self.depth += 1;
        let r = self.realize_now(py, index);
        self.depth -= 1;
        let r = r?;
        if let Realized::Type(t) = &r {
            self.write_back(index, t);
        }
        // Structs and enums have their own caches (see realize_struct/realize_enum); a struct
        // not laid out yet is not cached here, so that its next use lays it out.
        let cacheable = match &r {
            Realized::Type(t) => !(t.get().is_record() && t.get().record.get().is_none()),
            Realized::Func(_) => true,
        };
        if cacheable && !matches!(getop(self.types[index]), OP_STRUCT_UNION | OP_ENUM) {
            if let Some(slot) = self.realized.get_mut(index) {
                *slot = Some(r.clone_ref(py));
            }
        }
        Ok(r)
    }

    fn realize_now(&mut self, py: Python<'_>, index: usize) -> RResult<Realized> {
        let x = self.op_at(index)?;
        let arg = getarg(x);
        Ok(match getop(x) {
            OP_PRIMITIVE => Realized::Type(primitive(py, arg)?),
            OP_POINTER => {
                let target = usize::try_from(arg).map_err(|_| bad_table("pointer"))?;
                // Through a pointer, a struct need not be laid out yet.
                let item = match self.struct_at(target)? {
                    Some(s) => Realized::Type(self.realize_struct(py, s, false)?),
                    None => self.realize(py, target)?,
                };
                match item {
                    Realized::Type(t) => Realized::Type(ctype::new_pointer(py, t.bind(py))?),
                    Realized::Func(f) => Realized::Type(f),
                }
            }
            OP_ARRAY | OP_OPEN_ARRAY => {
                let length = if getop(x) == OP_ARRAY {
                    let l = self.op_at(index + 1)?;
                    Some(isize::try_from(l).map_err(|_| bad_table("array length"))?)
                } else {
                    None
                };
                let item = self.realize_type(py, usize::try_from(arg).map_err(|_| bad_table("array"))?)?;
                let ptr = ctype::new_pointer(py, item.bind(py))?;
                Realized::Type(ctype::new_array(py, ptr.bind(py), length)?)
            }
            OP_STRUCT_UNION => Realized::Type(self.realize_struct(py, arg, true)?),
            OP_ENUM => Realized::Type(self.realize_enum(py, usize::try_from(arg).map_err(|_| bad_table("enum"))?)?),
            OP_FUNCTION => Realized::Func(self.realize_function(py, index, arg)?),
            OP_NOOP => self.realize(py, usize::try_from(arg).map_err(|_| bad_table("noop"))?)?,
            OP_TYPENAME => {
                let i = usize::try_from(arg).map_err(|_| bad_table("typename"))?;
                let target = self.typename_index(py, i)?;
                self.realize(py, target)?
            }
            op => return Err(PyNotImplementedError::new_err(format!("op={op}")).into()),
        })
    }

    /// The struct index an entry leads to (following NOOP and TYPENAME), if it is a struct.
    fn struct_at(&self, mut index: usize) -> RResult<Option<i32>> {
        for _ in 0..MAX_DEPTH {
            let x = self.op_at(index)?;
            match getop(x) {
                OP_STRUCT_UNION => return Ok(Some(getarg(x))),
                OP_NOOP => index = usize::try_from(getarg(x)).map_err(|_| bad_table("noop"))?,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    fn realize_function(&mut self, py: Python<'_>, index: usize, result_index: i32) -> RResult<Py<CType>> {
        let result = self.realize_type(py, usize::try_from(result_index).map_err(|_| bad_table("function"))?)?;
        crate::call::check_result_type(py, result.bind(py))?;
        let mut args = Vec::new();
        let mut i = index + 1;
        loop {
            let x = self.op_at(i)?;
            if getop(x) == OP_FUNCTION_END {
                let flags = getarg(x);
                let abi = match flags & 0xFE {
                    // __stdcall means nothing on x86-64 Linux.
                    0 | 2 => crate::lowlevel::FFI_DEFAULT_ABI,
                    n => return Err(FFIError::new_err(format!("abi number {n} not supported")).into()),
                };
                return Ok(ctype::new_function(py, args, result, flags & 1 != 0, abi)?);
            }
            let t = self.realize_type(py, i)?;
            args.push(crate::call::check_arg_type(py, t.bind(py))?);
            i += 1;
        }
    }

    fn realize_struct(&mut self, py: Python<'_>, sindex: i32, by_value: bool) -> RResult<Py<CType>> {
        if sindex == IO_FILE_STRUCT {
            return Ok(ctype::file_type(py)?);
        }
        let s = usize::try_from(sindex).map_err(|_| bad_table("struct index"))?;
        if let Some(Some(t)) = self.struct_types.get(s) {
            let t = t.clone_ref(py);
            if t.get().record.get().is_none() && self.has_fields(py, s)? {
                if self.in_progress.contains(&s) {
                    if by_value {
                        // needed complete while being laid out: upstream's realization recurses
                        // until its depth limit here
                        return Err(PyRuntimeError::new_err(RECURSION_MESSAGE).into());
                    }
                } else if by_value {
                    self.complete_struct(py, s)?;
                } else {
                    self.pending.push(s);
                }
            }
            return Ok(t);
        }
        let (_, flags, name) = self.struct_head(py, s)?;
        let is_union = flags & F_UNION != 0;
        let t = if flags & F_EXTERNAL != 0 {
            let t = self.fetch_external(py, &name, flags, 0)?.ok_or_else(|| {
                FFIError::new_err(format!(
                    "'{} {name}' should come from ffi.include() but was not found",
                    if is_union { "union" } else { "struct" }
                ))
            })?;
            if flags & F_OPAQUE == 0 && t.get().record.get().is_none() {
                let kw = if is_union { "union" } else { "struct" };
                return Err(PyNotImplementedError::new_err(format!(
                    "'{kw} {name}' is opaque in the ffi.include(), but no longer in the ffi doing the include (workaround: don't use ffi.include() but duplicate the declarations of everything using {kw} {name})"
                ))
                .into());
            }
            t
        } else {
            let full = realize_name(if is_union { "union " } else { "struct " }, &name);
            if full == "struct _IO_FILE" {
                ctype::file_type(py)?
            } else {
                ctype::new_record(py, &full, is_union)?
            }
        };
        if let Some(slot) = self.struct_types.get_mut(s) {
            *slot = Some(t.clone_ref(py));
        }
        if flags & (F_OPAQUE | F_EXTERNAL) == 0 {
            if by_value {
                if let Err(e) = self.complete_struct(py, s) {
                    // Not usable: forget it, so that the next use reports the error again.
                    if let Some(slot) = self.struct_types.get_mut(s) {
                        *slot = None;
                    }
                    return Err(e);
                }
            } else {
                self.pending.push(s);
            }
        }
        Ok(t)
    }

    fn has_fields(&self, py: Python<'_>, s: usize) -> PyResult<bool> {
        let (_, flags, _) = self.struct_head(py, s)?;
        Ok(flags & (F_OPAQUE | F_EXTERNAL) == 0)
    }

    /// A struct/union of an included FFI (looked up by name, recursively through its includes).
    fn fetch_external(&self, py: Python<'_>, name: &str, flags: i32, depth: usize) -> RResult<Option<Py<CType>>> {
        if depth > MAX_INCLUDE_DEPTH {
            return Err(PyRuntimeError::new_err("recursion overflow in ffi.include() delegations").into());
        }
        for inc in &self.includes {
            let mut ctx = inc.get().context();
            let Some(t) = ctx.tables.as_mut() else { continue };
            if let Some(i) = t.search_struct(py, name)? {
                let (_, their_flags, _) = t.struct_head(py, i)?;
                if their_flags & (F_EXTERNAL | F_UNION) == flags & F_UNION {
                    return t.outermost(py, |t| t.realize_struct(py, i as i32, true)).map(Some);
                }
            }
            if let Some(found) = t.fetch_external(py, name, flags, depth + 1)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn complete_struct(&mut self, py: Python<'_>, s: usize) -> RResult<()> {
        let Some(Some(t)) = self.struct_types.get(s) else { return Ok(()) };
        let t = t.clone_ref(py);
        if t.get().record.get().is_some() || self.in_progress.contains(&s) {
            return Ok(());
        }
        self.in_progress.push(s);
        let r = self.complete_struct_inner(py, s, &t);
        self.in_progress.retain(|&x| x != s);
        r
    }

    fn complete_struct_inner(&mut self, py: Python<'_>, s: usize, t: &Py<CType>) -> RResult<()> {
        let n_items = self.source.struct_len(py, s)?;
        let (_, flags, _) = self.struct_head(py, s)?;
        let mut decls = Vec::with_capacity(n_items.saturating_sub(1));
        for j in 1..n_items {
            let b = self.source.struct_item(py, s, j)?;
            let op = be32(&b, 0)?;
            let (bitsize, name_at) = match getop(op) {
                OP_NOOP => (-1, 4),
                OP_BITFIELD => (be32(&b, 4)? as i32, 8),
                other => return Err(PyNotImplementedError::new_err(format!("field op={other}")).into()),
            };
            let name = String::from_utf8_lossy(b.get(name_at..).unwrap_or(&[])).into_owned();
            let index = usize::try_from(getarg(op)).map_err(|_| bad_table("field type"))?;
            let ctype = self.realize_type(py, index)?;
            let (offset, size) = self.source.compiled_field_layout(s, j - 1).unwrap_or((-1, -1));
            if offset != -1 {
                // the C compiler's size of the field must be that of the cdef's type (even when
                // the layout is otherwise taken from the compiler)
                let what = format!("wrong size for field '{name}'");
                let tname = &t.get().name;
                layout::detect_custom_layout(tname, layout::SF_STD_FIELD_POS, ctype.get().size() as i64, size, &what)
                    .map_err(record::layout_error)?;
            }
            decls.push(FieldDecl { name, ctype, bitsize, offset });
        }
        let (totalsize, totalalign) = self.source.compiled_struct_layout(s).unwrap_or((-1, -1));
        let mut sflags = 0;
        if flags & F_CHECK_FIELDS != 0 {
            sflags |= model::layout::SF_STD_FIELD_POS;
        }
        if flags & F_PACKED != 0 {
            sflags |= model::layout::SF_PACKED;
        }
        record::complete(py, t.bind(py), decls, totalsize, totalalign, sflags, 0)?;
        Ok(())
    }

    fn realize_enum(&mut self, py: Python<'_>, e: usize) -> RResult<Py<CType>> {
        if let Some(Some(t)) = self.enum_types.get(e) {
            return Ok(t.clone_ref(py));
        }
        let b = self.source.enum_entry(py, e)?;
        let prim = be32(&b, 4)? as i32;
        let rest = b.get(8..).unwrap_or(&[]);
        let mut parts = rest.splitn(2, |c| *c == 0);
        let name = String::from_utf8_lossy(parts.next().unwrap_or(&[])).into_owned();
        let enumerators = parts.next().unwrap_or(&[]);
        let mut items = Vec::new();
        if !enumerators.is_empty() {
            for item in enumerators.split(|c| *c == b',') {
                let item = String::from_utf8_lossy(item).into_owned();
                let i = self.search_global(py, &item)?.ok_or_else(|| bad_table("enumerator without a global"))?;
                items.push((item, self.global_int(py, i)?));
            }
        }
        let base = primitive(py, prim)?;
        let t = ctype::new_enum(py, &realize_name("enum ", &name), items, base.bind(py))?;
        if let Some(slot) = self.enum_types.get_mut(e) {
            *slot = Some(t.clone_ref(py));
        }
        Ok(t)
    }
}

/// The ctype of primitive number `n`.
fn primitive(py: Python<'_>, n: i32) -> PyResult<Py<CType>> {
    match n {
        PRIM_VOID => ctype::new_void(py),
        PRIM_UNKNOWN_INT => Err(FFIError::new_err(
            "primitive integer type with an unexpected size (or not an integer type at all)",
        )),
        PRIM_UNKNOWN_FLOAT => Err(FFIError::new_err(
            "primitive floating-point type with an unexpected size (or not a float type at all)",
        )),
        PRIM_UNKNOWN_LONG_DOUBLE => Err(FFIError::new_err(
            "primitive floating-point type is 'long double', not supported for now with the syntax 'typedef double... xxx;'",
        )),
        _ => {
            let prim = usize::try_from(n)
                .ok()
                .and_then(|i| PRIM_NAMES.get(i))
                .and_then(|name| model::primitive(name))
                .ok_or_else(|| PyNotImplementedError::new_err(format!("prim={n}")))?;
            ctype::new_primitive(py, prim)
        }
    }
}

impl<'py> TableArgs<'py> {
    /// The arguments of `FFI(module_name, _version, _types, _globals, _struct_unions, _enums,
    /// _typenames, _includes)`, all optional, by position or keyword.
    pub fn parse(args: &Bound<'py, PyTuple>, kwargs: Option<&Bound<'py, pyo3::types::PyDict>>) -> PyResult<Self> {
        const NAMES: [&str; 8] =
            ["module_name", "_version", "_types", "_globals", "_struct_unions", "_enums", "_typenames", "_includes"];
        if args.len() > NAMES.len() {
            return Err(PyTypeError::new_err(format!(
                "FFI() takes at most {} arguments ({} given)",
                NAMES.len(),
                args.len()
            )));
        }
        let mut given: [Option<Bound<'py, PyAny>>; 8] = Default::default();
        for (i, a) in args.iter().enumerate() {
            given[i] = Some(a);
        }
        if let Some(kw) = kwargs {
            for (k, v) in kw.iter() {
                let k: String = k.extract()?;
                let Some(i) = NAMES.iter().position(|n| *n == k) else {
                    return Err(PyTypeError::new_err(format!("'{k}' is an invalid keyword argument for FFI()")));
                };
                if given[i].is_some() {
                    return Err(PyTypeError::new_err(format!("argument for FFI() given by name ('{k}') and position ({})", i + 1)));
                }
                given[i] = Some(v);
            }
        }
        let tuple = |i: usize| -> PyResult<Option<Bound<'py, PyTuple>>> {
            match &given[i] {
                None => Ok(None),
                Some(v) => v.clone().cast_into::<PyTuple>().map(Some).map_err(|_| {
                    PyTypeError::new_err(format!(
                        "FFI() argument {} must be tuple, not {}",
                        i + 1,
                        crate::convert::type_name(v)
                    ))
                }),
            }
        };
        Ok(TableArgs {
            module_name: match &given[0] {
                Some(v) => v.extract()?,
                None => "?".to_string(),
            },
            version: match &given[1] {
                Some(v) => v.extract()?,
                None => -1,
            },
            types: match &given[2] {
                Some(v) => Some(v.clone().cast_into::<PyBytes>().map_err(|_| {
                    PyTypeError::new_err(format!("FFI() argument 3 must be bytes, not {}", crate::convert::type_name(v)))
                })?),
                None => None,
            },
            globals: tuple(3)?,
            struct_unions: tuple(4)?,
            enums: tuple(5)?,
            typenames: tuple(6)?,
            includes: tuple(7)?,
        })
    }
}
