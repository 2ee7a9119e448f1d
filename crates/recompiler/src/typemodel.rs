//! The C types the generator works on, modelled on upstream cffi's `model.py` where it shows in
//! the generated text:
//!
//! - Every type has a C name with a `&` where a declarator goes (`int *&`, `int(*&)(long)`). The
//!   types array is sorted by that name, so it must be exactly upstream's, spaces and all.
//! - A name is computed once, when the type is made, from the names of its parts at that moment.
//!   Only structs, unions and enums have a live name: a struct becomes `foo_t` when a later
//!   `typedef struct foo foo_t;` names it, and pointer types made before that keep saying
//!   `struct foo *`. So each written occurrence of a type is its own object ([`ObjId`]).
//! - Types compare by value (two `int *` are one type), except structs, unions and enums, which
//!   compare by identity. [`CanonId`] is that equality.

use std::collections::HashMap;

pub type ObjId = usize;
pub type CanonId = usize;
pub type RecId = usize;
pub type EnumId = usize;

pub const Q_CONST: u8 = 0x01;
pub const Q_RESTRICT: u8 = 0x02;
pub const Q_VOLATILE: u8 = 0x04;

/// An array length as upstream keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Len {
    /// `T[]`
    Open,
    Known(i128),
    /// `T[...]`
    Dots,
    /// A C expression only the compiler can evaluate (what `[...]` becomes in typedefs, globals
    /// and fields).
    CExpr(String),
}

#[derive(Clone, Debug)]
pub struct Func {
    pub args: Vec<ObjId>,
    pub result: ObjId,
    pub ellipsis: bool,
    pub stdcall: bool,
}

#[derive(Clone, Debug)]
pub enum Kind {
    Void,
    /// A primitive by its canonical name (`_cffi_float_complex_t` for `float _Complex`).
    Prim(&'static str),
    /// `typedef int... name;`
    UnknownInt(String),
    /// `typedef float... name;`
    UnknownFloat(String),
    /// A function type, `int(int)`: what function declarations have.
    RawFunc(Func),
    /// A pointer to a function: the only function ctypes there are at run time.
    FuncPtr(Func),
    Pointer { to: ObjId, quals: u8 },
    /// `typedef struct { ... } *name;`: a pointer to a struct that has no other name.
    NamedPointer { to: ObjId, name: String },
    Array { item: ObjId, len: Len },
    Record(RecId),
    Enum(EnumId),
}

struct Obj {
    kind: Kind,
    canon: CanonId,
    /// The C name with its `&`; None for records and enums, whose name is live.
    marker: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Field {
    /// Empty for an anonymous struct/union member.
    pub name: String,
    pub ty: ObjId,
    /// -1 if not a bitfield.
    pub bitsize: i128,
    /// `Q_CONST`/`Q_VOLATILE`/`Q_RESTRICT` of the field itself (`const int x;`).
    pub quals: u8,
}

pub struct Record {
    pub is_union: bool,
    /// The tag, or `$N` / `$typedefname` for anonymous ones, `$$name` for `typedef ... *name;`.
    pub name: String,
    /// The name it is called by in C when it is not `struct <name>` (set by the first typedef
    /// that names it directly).
    pub forcename: Option<String>,
    /// None while opaque.
    pub fields: Option<Vec<Field>>,
    pub partial: bool,
    /// The `pack` of the cdef() that gave the fields (1 for `packed=True`).
    pub packed: i64,
    /// Made by `typedef ... name;` (or the predeclared FILE): opaque, named by its typedef.
    pub origin_unknown: bool,
    pub obj: ObjId,
}

pub struct EnumType {
    pub name: String,
    pub forcename: Option<String>,
    /// Fixed at the first mention: `enum name&` or the typedef name that first named it.
    marker: String,
    pub enumerators: Vec<String>,
    pub values: Vec<i128>,
    pub partial: bool,
    pub obj: ObjId,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Void,
    Prim(&'static str),
    UnknownInt(String),
    UnknownFloat(String),
    Raw(Vec<CanonId>, CanonId, bool, bool),
    FnPtr(Vec<CanonId>, CanonId, bool, bool),
    // Upstream's PointerType equality includes the qualifiers of the pointed-to type.
    Ptr(CanonId, u8),
    // ... but a NamedPointerType's does not.
    Named(CanonId, String),
    Array(CanonId, Len),
    Record(RecId),
    Enum(EnumId),
}

#[derive(Default)]
pub struct TypeModel {
    objs: Vec<Obj>,
    canon: HashMap<Key, CanonId>,
    pub records: Vec<Record>,
    pub enums: Vec<EnumType>,
    /// The predeclared `FILE`, one object for every FFI (as upstream's COMMON_TYPES).
    file: Option<ObjId>,
}

/// `qualify()` of upstream: the qualifiers go in front of the declarator text.
pub(crate) fn qualify(quals: u8, replace_with: &str) -> String {
    let mut s = replace_with.to_string();
    if quals & Q_CONST != 0 {
        s = format!(" const {}", s.trim_start());
    }
    if quals & Q_VOLATILE != 0 {
        s = format!(" volatile {}", s.trim_start());
    }
    if quals & Q_RESTRICT != 0 {
        s = format!(" __restrict {}", s.trim_start());
    }
    s
}

impl TypeModel {
    fn add(&mut self, kind: Kind, key: Key, marker: Option<String>) -> ObjId {
        let next = self.canon.len();
        let canon = *self.canon.entry(key).or_insert(next);
        self.objs.push(Obj { kind, canon, marker });
        self.objs.len() - 1
    }

    pub fn kind(&self, id: ObjId) -> &Kind {
        &self.objs[id].kind
    }

    pub fn canon(&self, id: ObjId) -> CanonId {
        self.objs[id].canon
    }

    /// The C name with its `&`, as of now.
    pub fn marker(&self, id: ObjId) -> String {
        let o = &self.objs[id];
        match (&o.marker, &o.kind) {
            (Some(m), _) => m.clone(),
            (None, Kind::Record(r)) => self.record_marker(*r),
            (None, Kind::Enum(e)) => self.enums[*e].marker.clone(),
            (None, _) => String::from("?&"),
        }
    }

    fn record_marker(&self, r: RecId) -> String {
        let rec = &self.records[r];
        match &rec.forcename {
            Some(f) => format!("{f}&"),
            None => format!("{} {}&", if rec.is_union { "union" } else { "struct" }, rec.name),
        }
    }

    /// The C name (upstream's `_get_c_name()`); `str(tp)` is this between `<` and `>`.
    pub fn c_name(&self, id: ObjId) -> String {
        self.marker(id).replacen('&', "", 1)
    }

    pub fn is_array(&self, id: ObjId) -> bool {
        matches!(self.kind(id), Kind::Array { .. })
    }

    pub fn is_raw_function(&self, id: ObjId) -> bool {
        matches!(self.kind(id), Kind::RawFunc(_))
    }

    /// Upstream's `is_integer_type()`: the integer primitives (`_Bool` too, `char` not) and
    /// `int...` typedefs; not enums.
    pub fn is_integer(&self, id: ObjId) -> bool {
        match self.kind(id) {
            Kind::Prim(name) => model::primitive(name).is_some_and(|p| p.is_integer()),
            Kind::UnknownInt(_) => true,
            _ => false,
        }
    }

    pub fn void(&mut self) -> ObjId {
        self.add(Kind::Void, Key::Void, Some("void&".into()))
    }

    pub fn prim(&mut self, name: &'static str) -> ObjId {
        self.add(Kind::Prim(name), Key::Prim(name), Some(format!("{name}&")))
    }

    pub fn unknown_int(&mut self, name: &str) -> ObjId {
        self.add(Kind::UnknownInt(name.into()), Key::UnknownInt(name.into()), Some(format!("{name}&")))
    }

    pub fn unknown_float(&mut self, name: &str) -> ObjId {
        self.add(Kind::UnknownFloat(name.into()), Key::UnknownFloat(name.into()), Some(format!("{name}&")))
    }

    pub fn pointer(&mut self, to: ObjId, quals: u8) -> ObjId {
        let extra = if self.is_array(to) { "(*&)" } else { " *&" };
        let marker = self.marker(to).replacen('&', &qualify(quals, extra), 1);
        let key = Key::Ptr(self.canon(to), quals);
        self.add(Kind::Pointer { to, quals }, key, Some(marker))
    }

    pub fn named_pointer(&mut self, to: ObjId, name: &str) -> ObjId {
        let key = Key::Named(self.canon(to), name.into());
        self.add(Kind::NamedPointer { to, name: name.into() }, key, Some(format!("{name}&")))
    }

    /// Upstream's `_global_type()`, the same for globals and typedefs (C modules): a `[...]`
    /// length becomes `_cffi_array_len(name)`, for the compiler to fill in, at every level.
    pub fn global_type(&mut self, ty: ObjId, name: &str) -> ObjId {
        let Kind::Array { item, len } = self.kind(ty).clone() else { return ty };
        let len = match len {
            Len::Dots => Len::CExpr(format!("_cffi_array_len({name})")),
            other => other,
        };
        let item = self.global_type(item, &format!("{name}[0]"));
        self.array(item, len)
    }

    pub fn array(&mut self, item: ObjId, len: Len) -> ObjId {
        let brackets = match &len {
            Len::Open => "&[]".to_string(),
            Len::Dots => "&[/*...*/]".to_string(),
            Len::Known(n) => format!("&[{n}]"),
            Len::CExpr(e) => format!("&[{e}]"),
        };
        let marker = self.marker(item).replacen('&', &brackets, 1);
        let key = Key::Array(self.canon(item), len.clone());
        self.add(Kind::Array { item, len }, key, Some(marker))
    }

    fn function(&mut self, f: Func, raw: bool) -> ObjId {
        let mut reprargs: Vec<String> = f.args.iter().map(|a| self.c_name(*a)).collect();
        if f.ellipsis {
            reprargs.push("...".into());
        }
        if reprargs.is_empty() {
            reprargs.push("void".into());
        }
        let pattern = if raw { "(&)" } else { "(*&)" };
        let mut replace_with = format!("{pattern}({})", reprargs.join(", "));
        if f.stdcall {
            replace_with.insert_str(1, "__stdcall ");
        }
        let marker = self.marker(f.result).replacen('&', &replace_with, 1);
        let args: Vec<CanonId> = f.args.iter().map(|a| self.canon(*a)).collect();
        let result = self.canon(f.result);
        let key = if raw {
            Key::Raw(args, result, f.ellipsis, f.stdcall)
        } else {
            Key::FnPtr(args, result, f.ellipsis, f.stdcall)
        };
        let kind = if raw { Kind::RawFunc(f) } else { Kind::FuncPtr(f) };
        self.add(kind, key, Some(marker))
    }

    pub fn raw_function(&mut self, f: Func) -> ObjId {
        self.function(f, true)
    }

    /// The function pointer type of a function type, or the function type of a function pointer
    /// type (a new object, named from its parts as of now, as upstream's conversions do).
    pub fn convert_function(&mut self, id: ObjId, to_raw: bool) -> ObjId {
        match self.kind(id) {
            Kind::RawFunc(f) | Kind::FuncPtr(f) => {
                let f = f.clone();
                self.function(f, to_raw)
            }
            _ => id,
        }
    }

    pub fn new_record(&mut self, is_union: bool, name: &str) -> ObjId {
        let r = self.records.len();
        let obj = self.add(Kind::Record(r), Key::Record(r), None);
        self.records.push(Record {
            is_union,
            name: name.into(),
            forcename: None,
            fields: None,
            partial: false,
            packed: 0,
            origin_unknown: false,
            obj,
        });
        obj
    }

    /// `typedef ... name;`: an opaque struct called `name`.
    pub fn unknown_type(&mut self, name: &str) -> ObjId {
        let obj = self.new_record(false, &format!("${name}"));
        let r = self.records.len() - 1;
        self.records[r].forcename = Some(name.into());
        self.records[r].origin_unknown = true;
        obj
    }

    /// `typedef ... *name;`
    pub fn unknown_ptr_type(&mut self, name: &str) -> ObjId {
        let s = self.new_record(false, &format!("$${name}"));
        self.named_pointer(s, name)
    }

    /// The predeclared `FILE`: an opaque `struct _IO_FILE` called `FILE`.
    pub fn file(&mut self) -> ObjId {
        if let Some(f) = self.file {
            return f;
        }
        let obj = self.new_record(false, "_IO_FILE");
        let r = self.records.len() - 1;
        self.records[r].forcename = Some("FILE".into());
        self.records[r].origin_unknown = true;
        self.file = Some(obj);
        obj
    }

    pub fn new_enum(&mut self, name: &str, enumerators: Vec<String>, values: Vec<i128>, partial: bool) -> ObjId {
        let e = self.enums.len();
        let obj = self.add(Kind::Enum(e), Key::Enum(e), None);
        self.enums.push(EnumType {
            name: name.into(),
            forcename: None,
            marker: format!("enum {name}&"),
            enumerators,
            values,
            partial,
            obj,
        });
        obj
    }

    /// Upstream's `force_the_name()` of an enum, done once at its first mention: a typedef
    /// name renames it, otherwise it keeps `enum name` (and gets a placeholder forcename).
    pub fn force_enum_name(&mut self, e: EnumId, forcename: Option<&str>) {
        let en = &mut self.enums[e];
        match forcename {
            Some(f) => {
                en.forcename = Some(f.into());
                en.marker = format!("{f}&");
            }
            None => {
                let official = en.marker.trim_end_matches('&').replace(' ', "_");
                en.forcename = Some(format!("${official}"));
            }
        }
    }

    /// The record or enum an object is, if it is one.
    pub fn record_of(&self, id: ObjId) -> Option<RecId> {
        match self.kind(id) {
            Kind::Record(r) => Some(*r),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let mut m = TypeModel::default();
        let int = m.prim("int");
        let ch = m.prim("char");
        let p = m.pointer(ch, Q_CONST);
        assert_eq!(m.c_name(p), "char const *");
        let pp = m.pointer(p, Q_CONST);
        assert_eq!(m.c_name(pp), "char const * const *");
        let arr = m.array(int, Len::Known(5));
        assert_eq!(m.c_name(arr), "int[5]");
        let parr = m.pointer(arr, 0);
        assert_eq!(m.c_name(parr), "int(*)[5]");
        let f = Func { args: vec![int, p], result: int, ellipsis: true, stdcall: false };
        let raw = m.raw_function(f.clone());
        assert_eq!(m.c_name(raw), "int()(int, char const *, ...)");
        let fp = m.convert_function(raw, false);
        assert_eq!(m.c_name(fp), "int(*)(int, char const *, ...)");
        let fpa = m.array(fp, Len::Open);
        assert_eq!(m.c_name(fpa), "int(*[])(int, char const *, ...)");
        let none = m.raw_function(Func { args: vec![], result: int, ellipsis: false, stdcall: true });
        assert_eq!(m.c_name(none), "int(__stdcall )(void)");
        // value equality, except for records
        let p2 = m.pointer(ch, Q_CONST);
        assert_eq!(m.canon(p), m.canon(p2));
        let p0 = m.pointer(ch, 0);
        assert_ne!(m.canon(p), m.canon(p0));
        let s1 = m.new_record(false, "foo");
        let s2 = m.new_record(false, "foo");
        assert_ne!(m.canon(s1), m.canon(s2));
        // a pointer keeps the struct name it was made with
        let ps = m.pointer(s1, 0);
        m.records[0].forcename = Some("foo_t".into());
        assert_eq!(m.c_name(ps), "struct foo *");
        assert_eq!(m.c_name(s1), "foo_t");
        let ps2 = m.pointer(s1, 0);
        assert_eq!(m.canon(ps), m.canon(ps2));
    }
}
