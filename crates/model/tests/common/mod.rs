//! Shorthands shared by the layout tests.
#![allow(dead_code)]

use model::layout::*;
use model::primitive;

/// A field of a primitive type, by C name.
pub fn f(name: &'static str, ty: &'static str) -> FieldSpec<'static> {
    FieldSpec::primitive(name, primitive(ty).expect(ty))
}

/// `ty name[len]`, or `ty name[]` when `len` is `None`.
pub fn arr(name: &'static str, ty: &'static str, len: Option<i64>) -> FieldSpec<'static> {
    let p = primitive(ty).expect(ty);
    let type_name: &'static str = match len {
        Some(n) => Box::leak(format!("{ty}[{n}]").into_boxed_str()),
        None => Box::leak(format!("{ty}[]").into_boxed_str()),
    };
    let size = len.map_or(-1, |n| n * p.size as i64);
    FieldSpec::new(
        name,
        type_name,
        FieldType::Array {
            length: len.unwrap_or(-1),
        },
        size,
        p.align,
    )
}

/// A field whose type is an already laid-out record with these member names.
pub fn rec(
    name: &'static str,
    type_name: &'static str,
    layout: &RecordLayout,
    members: &'static [&'static str],
) -> FieldSpec<'static> {
    let ty = FieldType::Record {
        has_var_array: layout.has_var_array,
        member_names: members,
    };
    FieldSpec::new(name, type_name, ty, layout.size as i64, layout.align)
}

pub fn strukt(fields: &[FieldSpec]) -> RecordLayout {
    layout_record(&RecordSpec::new("struct foo", false), fields).unwrap()
}

pub fn union(fields: &[FieldSpec]) -> RecordLayout {
    layout_record(&RecordSpec::new("union foo", true), fields).unwrap()
}

pub fn with_flags(
    sflags: u32,
    pack: i32,
    fields: &[FieldSpec],
) -> Result<RecordLayout, LayoutError> {
    let spec = RecordSpec {
        sflags,
        pack,
        ..RecordSpec::new("struct foo", false)
    };
    layout_record(&spec, fields)
}

/// (offset, bitshift, bitsize) of every field.
pub fn places(l: &RecordLayout) -> Vec<(usize, i32, i32)> {
    l.fields
        .iter()
        .map(|p| (p.offset, p.bitshift, p.bitsize))
        .collect()
}

pub fn offsets(l: &RecordLayout) -> Vec<usize> {
    l.fields.iter().map(|p| p.offset).collect()
}

pub fn error(r: Result<RecordLayout, LayoutError>) -> (LayoutErrorKind, String) {
    let e = r.expect_err("expected a layout error");
    (e.kind, e.message)
}
