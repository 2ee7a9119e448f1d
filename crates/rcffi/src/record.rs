//! Struct and union layouts as the runtime uses them: the flattened field list (members of
//! anonymous nested structs/unions appear as fields of the outer one), lookup by name, and the
//! `CField` objects that `ctype.fields` shows.


use pyo3::prelude::*;

use crate::ctype::{CType, Kind};
use crate::fxhash::FxHashMap;

/// Field flag: a union member after the first, skipped by list initializers.
pub const BF_IGNORE_IN_CTOR: i32 = 1;

pub struct Field {
    pub name: String,
    pub ctype: Py<CType>,
    pub offset: usize,
    /// -1 for a regular field, -2 for a `T[]`/`T[0]` array, else the bit position.
    pub bitshift: i32,
    /// -1 unless a bitfield.
    pub bitsize: i32,
    pub flags: i32,
    /// The `CField` shown by `ctype.fields`.
    pub descr: Py<CField>,
}

impl Field {
    pub fn ignore_in_ctor(&self) -> bool {
        self.flags & BF_IGNORE_IN_CTOR != 0
    }

    /// A trailing `T[]` whose length is set per instance.
    pub fn is_varsize_array(&self, py: Python<'_>) -> bool {
        let t = self.ctype.bind(py).get();
        t.kind == Kind::Array && t.length < 0
    }
}

pub struct RecordInfo {
    pub fields: Vec<Field>,
    by_name: FxHashMap<String, usize>,
    pub size: usize,
    pub align: usize,
    /// Ends with a `T[]` (directly or in a nested struct): `ffi.new()` may size it.
    pub varsize: bool,
    /// Offsets/size differ from the cdef's, or anonymous members: not passable by value.
    pub custom_field_pos: bool,
    /// Packing moved a field: not passable by value (libffi would lay it out differently).
    pub with_packed_change: bool,
}

impl RecordInfo {
    pub fn new(fields: Vec<Field>, size: usize, align: usize, varsize: bool) -> RecordInfo {
        let by_name = fields.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect();
        RecordInfo { fields, by_name, size, align, varsize, custom_field_pos: false, with_packed_change: false }
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        // Most structs are small: a scan of a few short names beats hashing the name.
        if self.fields.len() <= 12 {
            return self.fields.iter().find(|f| f.name.len() == name.len() && f.name == name);
        }
        self.by_name.get(name).map(|&i| &self.fields[i])
    }

    pub fn names_sorted(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.by_name.keys().map(|s| s.as_str()).collect();
        v.sort_unstable();
        v
    }
}

/// `_cffi_backend.CField`: what `ctype.fields` lists for each field.
#[pyclass(module = "_cffi_backend", name = "CField", frozen)]
pub struct CField {
    #[pyo3(get, name = "type")]
    pub ctype: Py<CType>,
    #[pyo3(get)]
    pub offset: usize,
    #[pyo3(get)]
    pub bitshift: i32,
    #[pyo3(get)]
    pub bitsize: i32,
    #[pyo3(get)]
    pub flags: i32,
}

// ---- completion ------------------------------------------------------------------------------

use model::layout::{self, FieldListing, FieldSpec, FieldType, LayoutErrorKind, RecordSpec};
use pyo3::exceptions::{PyKeyError, PyNotImplementedError, PyOverflowError, PyTypeError};

/// One `(name, ctype, bitsize=-1, offset=-1)` item given to `complete_struct_or_union`.
pub struct FieldDecl {
    pub name: String,
    pub ctype: Py<CType>,
    pub bitsize: i32,
    pub offset: i64,
}

/// Lay out `ct` (an incomplete struct/union) with `fields`, and set its layout.
/// A layout error as the Python exception upstream raises.
pub fn layout_error(e: layout::LayoutError) -> PyErr {
    match e.kind {
        LayoutErrorKind::TypeError => PyTypeError::new_err(e.message),
        LayoutErrorKind::KeyError => PyKeyError::new_err(e.message),
        LayoutErrorKind::NotImplementedError => PyNotImplementedError::new_err(e.message),
        LayoutErrorKind::FfiError => crate::errors::FFIError::new_err(e.message),
        LayoutErrorKind::OverflowError => PyOverflowError::new_err(e.message),
    }
}

pub fn complete(
    py: Python<'_>,
    ct: &Bound<'_, CType>,
    fields: Vec<FieldDecl>,
    totalsize: i64,
    totalalign: i32,
    sflags: u32,
    pack: i32,
) -> PyResult<()> {
    let t = ct.get();
    if !t.is_record() || t.record.get().is_some() {
        return Err(PyTypeError::new_err("first arg must be a non-initialized struct or union ctype"));
    }
    // Member names of nested records, kept alive for the specs that borrow them.
    let member_names: Vec<Vec<&str>> = fields
        .iter()
        .map(|f| match f.ctype.get().record.get() {
            Some(r) => r.fields.iter().map(|m| m.name.as_str()).collect(),
            None => Vec::new(),
        })
        .collect();
    let specs: Vec<FieldSpec<'_>> = fields
        .iter()
        .zip(&member_names)
        .map(|(f, names)| field_spec(py, f, names))
        .collect();
    let spec = RecordSpec {
        name: &t.name,
        is_union: t.kind == Kind::Union,
        totalsize,
        totalalign,
        sflags,
        pack,
    };
    let lay = layout::layout_record(&spec, &specs).map_err(layout_error)?;

    let mut out = Vec::new();
    for (f, place) in fields.iter().zip(&lay.fields) {
        let flags = if place.ignore_in_ctor { BF_IGNORE_IN_CTOR } else { 0 };
        match place.listing {
            FieldListing::Omitted => {}
            FieldListing::Listed => out.push(make_field(
                py,
                f.name.clone(),
                f.ctype.clone_ref(py),
                place.offset,
                place.bitshift,
                place.bitsize,
                flags,
            )?),
            FieldListing::ExpandAnonymous => {
                let inner = f.ctype.get().record.get().expect("anonymous member is complete");
                for m in &inner.fields {
                    out.push(make_field(
                        py,
                        m.name.clone(),
                        m.ctype.clone_ref(py),
                        place.offset + m.offset,
                        m.bitshift,
                        m.bitsize,
                        m.flags | flags,
                    )?);
                }
            }
        }
    }
    let mut info = RecordInfo::new(out, lay.size, lay.align, lay.has_var_array);
    info.custom_field_pos = lay.custom_field_pos;
    info.with_packed_change = lay.with_packed_change;
    let _ = t.record.set(info);
    Ok(())
}

fn make_field(
    py: Python<'_>,
    name: String,
    ctype: Py<CType>,
    offset: usize,
    bitshift: i32,
    bitsize: i32,
    flags: i32,
) -> PyResult<Field> {
    let descr = Py::new(py, CField { ctype: ctype.clone_ref(py), offset, bitshift, bitsize, flags })?;
    Ok(Field { name, ctype, offset, bitshift, bitsize, flags, descr })
}

fn field_spec<'a>(py: Python<'_>, f: &'a FieldDecl, member_names: &'a [&'a str]) -> FieldSpec<'a> {
    let t = f.ctype.get();
    let ty = match t.kind {
        Kind::Primitive | Kind::Enum if t.is_integer() || t.is_char() || t.prim_kind() == Some(model::PrimKind::WideChar) => {
            FieldType::Integer
        }
        Kind::Array => FieldType::Array { length: t.length as i64 },
        Kind::Struct | Kind::Union if t.record.get().is_some() => FieldType::Record {
            has_var_array: t.record.get().unwrap().varsize,
            member_names,
        },
        _ => FieldType::Other,
    };
    let align = match t.kind {
        Kind::Array => array_item_align(py, t),
        _ => t.align(),
    };
    FieldSpec {
        name: &f.name,
        type_name: &t.name,
        ty,
        size: t.size() as i64,
        align,
        bitsize: f.bitsize,
        offset: f.offset,
    }
}

fn array_item_align(py: Python<'_>, t: &CType) -> usize {
    let mut t = t;
    while t.kind == Kind::Array {
        t = t.item_ref(py);
    }
    t.align()
}
