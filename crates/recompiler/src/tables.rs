//! The type context tables of an ABI-mode module, built from declarations in the order upstream's
//! `Recompiler` builds them (`collect_type_table()` then `collect_step_tables()`):
//!
//! 1. Every type the declarations use is collected, depth first, visiting declarations sorted by
//!    key. Types equal by value are one entry; the first object met gives its name.
//! 2. The types array: sorted by C name; function types first (each followed by its argument
//!    slots and an end marker), then the others (arrays of known length take a second slot).
//! 3. The globals, structs/unions (with their fields), enums and typenames, each sorted by name.

use std::collections::{HashMap, HashSet};

use model::protocol::*;

use crate::declare::{is_numbered_anonymous, DeclObj, Declarations};
use crate::typemodel::{CanonId, EnumId, Kind, Len, ObjId, RecId, TypeModel};
use crate::{ErrorKind, GResult, GenError};

/// One entry of the types array.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeOp {
    Op(u8, i32),
    /// The length slot after an `OP_ARRAY`.
    Length(Len),
    /// A primitive only the C compiler can describe (`typedef int... t;`): not expressible in a
    /// Python module.
    CExpr(String),
}

#[derive(Clone, Debug)]
pub struct GlobalEntry {
    pub name: String,
    pub op: u32,
    /// The value of integer constants and enumerators, else 0.
    pub value: i128,
    /// C mode: the `address` and `size_or_direct_fn` expressions of the `_cffi_global_s`.
    pub c_address: String,
    pub c_size: String,
}

#[derive(Clone, Debug)]
pub struct FieldEntry {
    pub name: String,
    pub op: u32,
    /// For `OP_BITFIELD` fields.
    pub bitsize: Option<i128>,
    /// C mode: the `field_offset` and `field_size` expressions.
    pub c_offset: String,
    pub c_size: String,
}

#[derive(Clone, Debug)]
pub struct StructEntry {
    pub name: String,
    pub type_index: usize,
    pub flags: i32,
    pub fields: Vec<FieldEntry>,
    /// Its number in `OP_STRUCT_UNION` opcodes.
    pub number: usize,
    /// C mode: the `size` and `alignment` expressions, the index of its first entry in
    /// [`Tables::c_fields`] (-1 if not expanded) and a comment.
    pub c_size: String,
    pub c_align: String,
    pub first_field: i64,
    pub comment: Option<String>,
}

#[derive(Clone, Debug)]
pub struct EnumEntry {
    pub name: String,
    pub type_index: usize,
    pub prim: i32,
    /// Comma-separated.
    pub enumerators: String,
    /// C mode: the arguments of `_cffi_prim_int(size, signed)`.
    pub c_size: String,
    pub c_signed: String,
}

#[derive(Clone, Debug)]
pub struct TypenameEntry {
    pub name: String,
    pub type_index: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Tables {
    pub types: Vec<TypeOp>,
    pub globals: Vec<GlobalEntry>,
    pub struct_unions: Vec<StructEntry>,
    pub enums: Vec<EnumEntry>,
    pub typenames: Vec<TypenameEntry>,
    /// C mode: the `_cffi_fields` array, in the order the structs were visited.
    pub c_fields: Vec<FieldEntry>,
    /// The index in `types` of every collected type.
    pub index: HashMap<CanonId, usize>,
    /// The C name of the type at each index that holds one (comments of the C source).
    pub names: HashMap<usize, String>,
}

struct Builder<'a> {
    m: &'a mut TypeModel,
    decls: &'a Declarations,
    /// The collected types: the first object met for each distinct type, in the order met.
    order: Vec<ObjId>,
    collected: HashSet<CanonId>,
    index: HashMap<CanonId, usize>,
    struct_index: HashMap<RecId, usize>,
    enum_index: HashMap<EnumId, usize>,
    seen_records: HashSet<RecId>,
    t: Tables,
    warnings: &'a mut Vec<String>,
    /// Building the tables of a C module (upstream's `target_is_python` false).
    c_mode: bool,
}

pub fn build(m: &mut TypeModel, decls: &Declarations, warnings: &mut Vec<String>) -> GResult<Tables> {
    build_for(m, decls, warnings, false)
}

/// The tables of an API-mode (C) module.
pub fn build_c(m: &mut TypeModel, decls: &Declarations, warnings: &mut Vec<String>) -> GResult<Tables> {
    build_for(m, decls, warnings, true)
}

/// Only the types array (upstream's `collect_type_table()` without `collect_step_tables()`): no
/// error or warning that only the other tables would give.
pub fn build_types(m: &mut TypeModel, decls: &Declarations, c_mode: bool) -> GResult<Vec<TypeOp>> {
    let mut warnings = Vec::new();
    let mut b = Builder::new(m, decls, &mut warnings, c_mode);
    b.collect_all()?;
    b.types_array()?;
    Ok(b.t.types)
}

fn build_for(m: &mut TypeModel, decls: &Declarations, warnings: &mut Vec<String>, c_mode: bool) -> GResult<Tables> {
    let mut b = Builder::new(m, decls, warnings, c_mode);
    b.collect_all()?;
    b.types_array()?;
    b.step_tables()?;
    b.t.index = std::mem::take(&mut b.index);
    Ok(b.t)
}

fn verification(msg: impl Into<String>) -> GenError {
    GenError::new(ErrorKind::VerificationError, msg)
}

impl<'a> Builder<'a> {
    fn new(m: &'a mut TypeModel, decls: &'a Declarations, warnings: &'a mut Vec<String>, c_mode: bool) -> Self {
        Builder {
            c_mode,
            m,
            decls,
            order: Vec::new(),
            collected: HashSet::new(),
            index: HashMap::new(),
            struct_index: HashMap::new(),
            enum_index: HashMap::new(),
            seen_records: HashSet::new(),
            t: Tables::default(),
            warnings,
        }
    }
}

impl Builder<'_> {
    fn included(&self, obj: ObjId) -> bool {
        self.decls.included.contains(&self.m.canon(obj))
    }

    /// Upstream's `_do_collect_type()`, depth first in preorder (with an explicit stack: struct
    /// chains in real headers go deep).
    fn collect(&mut self, root: ObjId) {
        let mut stack = vec![root];
        while let Some(obj) = stack.pop() {
            if !self.collected.insert(self.m.canon(obj)) {
                continue;
            }
            self.order.push(obj);
            let mut children: Vec<ObjId> = Vec::new();
            match self.m.kind(obj).clone() {
                Kind::FuncPtr(_) => children.push(self.m.convert_function(obj, true)),
                Kind::RawFunc(f) => {
                    children.extend(&f.args);
                    children.push(f.result);
                }
                Kind::Pointer { to, .. } | Kind::NamedPointer { to, .. } => children.push(to),
                Kind::Array { item, .. } => children.push(item),
                Kind::Record(r) if !self.included(obj) => {
                    let fields = if self.m.records[r].fields.is_some() { self.enum_fields(r) } else { Vec::new() };
                    for f in fields {
                        children.push(self.field_type(r, &f.name, f.ty));
                    }
                }
                _ => {}
            }
            stack.extend(children.into_iter().rev());
        }
    }

    /// Upstream's `_field_type()`: array fields are rebuilt, with `[...]` replaced by the C
    /// expression of the length.
    fn field_type(&mut self, r: RecId, field: &str, ty: ObjId) -> ObjId {
        let Kind::Array { item, len } = self.m.kind(ty).clone() else { return ty };
        let len = match len {
            Len::Dots => {
                let ptr = self.m.marker(self.m.records[r].obj).replacen('&', " *", 1);
                Len::CExpr(format!("_cffi_array_len((({ptr})0)->{field})"))
            }
            other => other,
        };
        let item = self.field_type(r, &format!("{field}[0]"), item);
        self.m.array(item, len)
    }


    /// Upstream's `_enum_fields()`: a C module expands the fields of anonymous struct/union
    /// members into their parent (so that the compiler checks their offsets), recursively.
    pub(crate) fn enum_fields(&self, r: RecId) -> Vec<crate::typemodel::Field> {
        let mut out = Vec::new();
        for f in self.m.records[r].fields.iter().flatten() {
            match self.m.record_of(f.ty) {
                Some(inner) if self.c_mode && f.name.is_empty() => out.extend(self.enum_fields(inner)),
                _ => out.push(f.clone()),
            }
        }
        out
    }

    fn struct_collect(&mut self, obj: ObjId) {
        self.collect(obj);
        if self.c_mode {
            return;
        }
        // In ABI mode the anonymous members stay as they are and need their own entries.
        let Some(r) = self.m.record_of(obj) else { return };
        for f in self.m.records[r].fields.clone().unwrap_or_default() {
            if f.name.is_empty() && self.m.record_of(f.ty).is_some() {
                self.struct_collect(f.ty);
            }
        }
    }

    fn collect_all(&mut self) -> GResult<()> {
        let decls: Vec<(String, DeclObj)> = self.decls.map.iter().map(|(k, (o, _))| (k.clone(), *o)).collect();
        for (key, obj) in decls {
            let (kind, name) = key.split_once(' ').unwrap_or((key.as_str(), ""));
            let DeclObj::Type(tp) = obj else { continue };
            match kind {
                "typedef" => {
                    let t = self.m.global_type(tp, &format!("(*({name} *)0)"));
                    self.collect(t);
                }
                "function" => {
                    let raw = self.m.convert_function(tp, true);
                    self.collect(raw);
                    if self.c_mode && matches!(self.m.kind(tp), Kind::FuncPtr(f) if f.ellipsis) {
                        self.collect(tp);
                    }
                }
                "constant" if self.c_mode && self.m.is_integer(tp) => {}
                "struct" | "union" => self.struct_collect(tp),
                "anonymous" => {
                    if self.m.record_of(tp).is_some() {
                        self.struct_collect(tp)
                    } else {
                        self.collect(tp)
                    }
                }
                "variable" => {
                    let t = self.m.global_type(tp, name);
                    self.collect(t);
                }
                "extern_python" | "extern_python_plus_c" | "dllexport_python" => {
                    let raw = self.m.convert_function(tp, true);
                    self.collect(raw);
                }
                "constant" | "enum" => self.collect(tp),
                _ => return Err(verification(format!("not implemented in recompile(): '{key}'"))),
            }
        }
        Ok(())
    }

    fn idx(&self, obj: ObjId) -> usize {
        self.index.get(&self.m.canon(obj)).copied().unwrap_or(0)
    }

    fn types_array(&mut self) -> GResult<()> {
        // Sorted by str(tp), i.e. '<' + C name + '>'; stable, like Python's sort.
        let mut all: Vec<(String, ObjId)> = self.order.iter().map(|&o| (format!("<{}>", self.m.c_name(o)), o)).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let all: Vec<ObjId> = all.into_iter().map(|(_, o)| o).collect();

        // Slots: function types first, with their argument slots and end marker.
        let mut slots = 0usize;
        for &o in &all {
            if let Kind::RawFunc(f) = self.m.kind(o).clone() {
                self.index.insert(self.m.canon(o), slots);
                slots += 1;
                for a in &f.args {
                    self.index.entry(self.m.canon(*a)).or_insert(slots);
                    slots += 1;
                }
                slots += 1;
            }
        }
        for &o in &all {
            let c = self.m.canon(o);
            if self.index.contains_key(&c) {
                continue;
            }
            self.index.insert(c, slots);
            slots += 1;
            if matches!(self.m.kind(o), Kind::Array { len, .. } if *len != Len::Open) {
                slots += 1;
            }
        }

        // Structs/unions and enums are numbered by name.
        let mut recs: Vec<RecId> = all.iter().filter_map(|&o| self.m.record_of(o)).collect();
        recs.sort_by(|a, b| self.m.records[*a].name.cmp(&self.m.records[*b].name));
        self.struct_index = recs.iter().enumerate().map(|(i, r)| (*r, i)).collect();
        let mut ens: Vec<EnumId> =
            all.iter().filter_map(|&o| if let Kind::Enum(e) = self.m.kind(o) { Some(*e) } else { None }).collect();
        ens.sort_by(|a, b| self.m.enums[*a].name.cmp(&self.m.enums[*b].name));
        self.enum_index = ens.iter().enumerate().map(|(i, e)| (*e, i)).collect();

        let mut types = vec![TypeOp::Op(0, 0); slots];
        for &o in &all {
            let at = self.idx(o);
            self.t.names.insert(at, self.m.c_name(o));
            match self.m.kind(o).clone() {
                Kind::Void => types[at] = TypeOp::Op(OP_PRIMITIVE, PRIM_VOID),
                Kind::Prim(name) => types[at] = TypeOp::Op(OP_PRIMITIVE, prim_index(name).unwrap_or(PRIM_VOID)),
                Kind::UnknownInt(n) => {
                    types[at] = TypeOp::CExpr(format!(
                        "_cffi_prim_int(sizeof({n}), (\n           (({n})-1) | 0 /* check that {n} is an integer type */\n         ) <= 0)"
                    ))
                }
                Kind::UnknownFloat(n) => {
                    types[at] = TypeOp::CExpr(format!(
                        "_cffi_prim_float(sizeof({n}) *\n           ((({n})1) / 2) * 2 /* integer => 0, float => 1 */\n         )"
                    ))
                }
                Kind::RawFunc(f) => {
                    types[at] = TypeOp::Op(OP_FUNCTION, self.idx(f.result) as i32);
                    let mut i = at + 1;
                    for a in &f.args {
                        let real = self.idx(*a);
                        if i != real {
                            types[i] = match self.m.kind(*a) {
                                Kind::Prim(name) => TypeOp::Op(OP_PRIMITIVE, prim_index(name).unwrap_or(PRIM_VOID)),
                                _ => TypeOp::Op(OP_NOOP, real as i32),
                            };
                        }
                        i += 1;
                    }
                    types[i] = TypeOp::Op(OP_FUNCTION_END, f.ellipsis as i32 | (f.stdcall as i32) << 1);
                }
                Kind::Pointer { to, .. } | Kind::NamedPointer { to, .. } => {
                    types[at] = TypeOp::Op(OP_POINTER, self.idx(to) as i32)
                }
                Kind::FuncPtr(_) => {
                    let raw = self.m.convert_function(o, true);
                    types[at] = TypeOp::Op(OP_POINTER, self.idx(raw) as i32);
                }
                Kind::Array { item, len } => match len {
                    Len::Open => types[at] = TypeOp::Op(OP_OPEN_ARRAY, self.idx(item) as i32),
                    Len::Dots => {
                        let shown = self.m.c_name(o).replace("/*...*/", "...");
                        return Err(verification(format!(
                            "type {shown} badly placed: the '...' array length can only be used on global arrays or on fields of structures"
                        )));
                    }
                    len => {
                        types[at] = TypeOp::Op(OP_ARRAY, self.idx(item) as i32);
                        types[at + 1] = TypeOp::Length(len);
                    }
                },
                Kind::Record(r) => {
                    types[at] = TypeOp::Op(OP_STRUCT_UNION, self.struct_index.get(&r).copied().unwrap_or(0) as i32)
                }
                Kind::Enum(e) => types[at] = TypeOp::Op(OP_ENUM, self.enum_index.get(&e).copied().unwrap_or(0) as i32),
            }
        }
        self.t.types = types;
        Ok(())
    }

    fn step_tables(&mut self) -> GResult<()> {
        let decls: Vec<(String, DeclObj)> = self.decls.map.iter().map(|(k, (o, _))| (k.clone(), *o)).collect();
        for (key, obj) in decls {
            self.decl_ctx(&key, obj).map_err(|e| e.about(&key))?;
        }
        self.add_missing_struct_unions()?;
        self.t.globals.sort_by(|a, b| a.name.cmp(&b.name));
        // By name; entries of one name stay in struct-index order, so that entry i is the
        // struct that OP_STRUCT_UNION i means.
        self.t.struct_unions.sort_by(|a, b| a.name.cmp(&b.name).then(a.number.cmp(&b.number)));
        self.t.enums.sort_by(|a, b| a.name.cmp(&b.name));
        self.t.typenames.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(())
    }

    fn global(&mut self, name: &str, opcode: u8, arg: i32, value: i128) {
        let c_address = format!("_cffi_const_{name}");
        self.global_c(name, opcode, arg, value, c_address, "0".into());
    }

    fn global_c(&mut self, name: &str, opcode: u8, arg: i32, value: i128, c_address: String, c_size: String) {
        self.t.globals.push(GlobalEntry { name: name.to_string(), op: op(opcode, arg), value, c_address, c_size });
    }

    /// Upstream's `_struct_names()`: the C name of a named struct/union, and the name its
    /// helper declarations are derived from.
    fn struct_names(&self, r: RecId) -> GResult<(String, String)> {
        let cname = crate::c_source::get_c_name(self.m, self.m.records[r].obj, "", 0, "a C file")?;
        let approx = if cname.contains(' ') { cname.replace(' ', "_") } else { format!("_{cname}") };
        Ok((cname, approx))
    }

    fn decl_ctx(&mut self, key: &str, obj: DeclObj) -> GResult<()> {
        let (kind, name) = key.split_once(' ').unwrap_or((key, ""));
        let tp = match obj {
            DeclObj::Macro(None) if self.c_mode => {
                self.global(name, OP_CONSTANT_INT, -1, 0);
                return Ok(());
            }
            DeclObj::Macro(None) => {
                return Err(verification(format!(
                    "cannot use the syntax '...' in '#define {name} ...' when using the ABI mode"
                )))
            }
            DeclObj::Macro(Some(v)) => {
                self.global(name, OP_CONSTANT_INT, -1, v);
                return Ok(());
            }
            DeclObj::Type(tp) => tp,
        };
        match kind {
            "typedef" => {
                let t = self.m.global_type(tp, &format!("(*({name} *)0)"));
                let type_index = self.idx(t);
                self.t.typenames.push(TypenameEntry { name: name.to_string(), type_index });
                match self.m.kind(t).clone() {
                    Kind::Record(r) if self.m.records[r].origin_unknown => {
                        let cname = self.m.records[r].name.clone();
                        self.struct_ctx(r, None, Some(cname), None)?
                    }
                    Kind::NamedPointer { to, name: ptr_name } => {
                        if let Some(r) = self.m.record_of(to) {
                            let cname = self.m.records[r].name.clone();
                            self.struct_ctx(r, Some(t), Some(cname), Some(ptr_name))?;
                        }
                    }
                    _ => {}
                }
            }
            "function" => {
                let ellipsis = matches!(self.m.kind(tp), Kind::FuncPtr(f) if f.ellipsis);
                let nargs = match self.m.kind(tp) {
                    Kind::FuncPtr(f) => f.args.len(),
                    _ => 0,
                };
                if self.c_mode && ellipsis {
                    // a constant function pointer, without a CPython wrapper
                    let i = self.idx(tp) as i32;
                    self.global(name, OP_CONSTANT, i, 0);
                    return Ok(());
                }
                let raw = self.m.convert_function(tp, true);
                let i = self.idx(raw) as i32;
                if self.c_mode {
                    let kind = match nargs {
                        0 => OP_CPYTHON_BLTN_N,
                        1 => OP_CPYTHON_BLTN_O,
                        _ => OP_CPYTHON_BLTN_V,
                    };
                    self.global_c(name, kind, i, 0, format!("_cffi_f_{name}"), format!("_cffi_d_{name}"));
                } else {
                    self.global(name, OP_DLOPEN_FUNC, i, 0);
                }
            }
            "struct" | "union" => {
                if let Some(r) = self.m.record_of(tp) {
                    let (cname, approx) = if self.c_mode { self.struct_names(r)? } else { Default::default() };
                    self.struct_ctx(r, None, Some(cname), Some(approx))?;
                }
            }
            "anonymous" => match self.m.kind(tp).clone() {
                Kind::Enum(e) => self.enum_ctx(e, Some(name.to_string()))?,
                Kind::Record(r) => self.struct_ctx(r, None, Some(name.to_string()), Some(format!("typedef_{name}")))?,
                _ => {}
            },
            "constant" => {
                if self.c_mode && self.m.is_integer(tp) {
                    self.global(name, OP_CONSTANT_INT, -1, 0);
                } else {
                    let i = self.idx(tp) as i32;
                    self.global(name, if self.c_mode { OP_CONSTANT } else { OP_DLOPEN_CONST }, i, 0);
                }
            }
            "enum" => {
                if let Kind::Enum(e) = *self.m.kind(tp) {
                    let cname = self.m.c_name(tp);
                    self.enum_ctx(e, Some(cname))?;
                }
            }
            "variable" => {
                let t = self.m.global_type(tp, name);
                let i = self.idx(t) as i32;
                if self.c_mode {
                    self.global_c(name, OP_GLOBAL_VAR_F, i, 0, format!("_cffi_var_{name}"), "0".into());
                } else {
                    self.global(name, OP_GLOBAL_VAR, i, 0);
                }
            }
            "extern_python" | "extern_python_plus_c" | "dllexport_python" if self.c_mode => {
                if matches!(self.m.kind(tp), Kind::FuncPtr(f) if f.ellipsis) {
                    return Err(GenError::new(ErrorKind::NotImplementedError, "a vararg function is extern \"Python\""));
                }
                let raw = self.m.convert_function(tp, true);
                let i = self.idx(raw) as i32;
                // the C function itself as the last word: `lib.name` gives a pointer to it
                self.global_c(name, OP_EXTERN_PYTHON, i, 0, format!("&_cffi_externpy__{name}"), name.to_string());
            }
            "extern_python" | "extern_python_plus_c" | "dllexport_python" => {
                return Err(verification("cannot use 'extern \"Python\"' in the ABI mode"))
            }
            _ => return Err(verification(format!("not implemented in recompile(): '{key}'"))),
        }
        Ok(())
    }

    /// Upstream's `_struct_ctx()` for a Python module: flags, and the fields unless opaque or
    /// from an included FFI.
    /// In C mode, `cname` is the C name of the struct (None for the unnamed ones of
    /// `add_missing_struct_unions()`) and `approx` the name of its `_cffi_align_` struct.
    fn struct_ctx(
        &mut self,
        r: RecId,
        named_ptr: Option<ObjId>,
        cname: Option<String>,
        approx: Option<String>,
    ) -> GResult<()> {
        if !self.seen_records.insert(r) {
            return Ok(());
        }
        let rec = &self.m.records[r];
        let obj = rec.obj;
        let mut flags = 0;
        if rec.is_union {
            flags |= F_UNION;
        }
        let opaque = rec.fields.is_none();
        if opaque {
            flags |= F_OPAQUE;
        }
        let included = self.included(obj) || named_ptr.is_some_and(|n| self.included(n));
        if !included {
            let anonymous_members = rec
                .fields
                .iter()
                .flatten()
                .any(|f| f.name.is_empty() && self.m.record_of(f.ty).is_some());
            if !opaque && !rec.partial && !anonymous_members {
                flags |= F_CHECK_FIELDS;
            }
            if rec.packed > 1 {
                return Err(GenError::new(
                    ErrorKind::NotImplementedError,
                    format!(
                        "<{}> is declared with 'pack={}'; only 0 or 1 are supported in API mode (try to use \"...;\", which does not require a 'pack' declaration)",
                        self.m.c_name(obj),
                        rec.packed
                    ),
                ));
            }
            if rec.packed == 1 {
                flags |= F_PACKED;
            }
        } else {
            flags |= F_EXTERNAL;
        }
        let mut fields = Vec::new();
        let expanded = !opaque && !included;
        // C mode: `T *` for the field expressions (the named pointer type itself if any)
        let ptr_name = match named_ptr {
            Some(n) => self.m.c_name(n),
            // (the unnamed ones of `add_missing_struct_unions()` have no C name to use)
            None if self.c_mode && cname.is_some() => crate::c_source::get_c_name(self.m, obj, "*", 0, "a C file")?,
            None => String::new(),
        };
        if expanded {
            let rec_name = rec.name.clone();
            let all = self.enum_fields(r);
            for f in all {
                let ft = self.field_type(r, &f.name, f.ty);
                self.check_not_opaque(ft, &format!("field '{rec_name}.{}'", f.name))?;
                let (opcode, bitsize) = if f.bitsize >= 0 { (OP_BITFIELD, Some(f.bitsize)) } else { (OP_NOOP, None) };
                let (c_offset, c_size) = if !self.c_mode {
                    (String::new(), String::new())
                } else {
                    let size = if let Some(b) = bitsize {
                        format!("{b} /* bits */")
                    } else if cname.is_none() || matches!(self.m.kind(ft), Kind::Array { len: Len::Open, .. }) {
                        "(size_t)-1".to_string()
                    } else {
                        format!("sizeof((({ptr_name})0)->{})", f.name)
                    };
                    let offset = if cname.is_none() || bitsize.is_some() {
                        "(size_t)-1".to_string()
                    } else if named_ptr.is_some() {
                        format!("(size_t)(((char *)&(({ptr_name})4096)->{}) - (char *)4096)", f.name)
                    } else {
                        let plain = crate::c_source::get_c_name(self.m, obj, "", 0, "a C file")?;
                        format!("offsetof({plain}, {})", f.name)
                    };
                    (offset, size)
                };
                fields.push(FieldEntry { name: f.name.clone(), op: op(opcode, self.idx(ft) as i32), bitsize, c_offset, c_size });
            }
        }
        let (c_size, c_align, first_field, comment) = if !self.c_mode {
            (String::new(), String::new(), -1, None)
        } else if expanded {
            let first = self.t.c_fields.len() as i64;
            self.t.c_fields.extend(fields.iter().cloned());
            match (&cname, named_ptr) {
                (None, _) => ("(size_t)-2".to_string(), "-2".to_string(), first, Some("unnamed".to_string())),
                (Some(_), Some(_)) => {
                    (format!("sizeof(*({ptr_name})0)"), "-1 /* unknown alignment */".to_string(), first, None)
                }
                (Some(c), None) => (
                    format!("sizeof({c})"),
                    format!("offsetof(struct _cffi_align_{}, y)", approx.clone().unwrap_or_default()),
                    first,
                    None,
                ),
            }
        } else {
            let reason = if opaque { "opaque" } else { "external" };
            ("(size_t)-1".to_string(), "-1".to_string(), -1, Some(reason.to_string()))
        };
        let number = self.struct_index.get(&r).copied().unwrap_or(usize::MAX);
        let entry = StructEntry {
            name: self.m.records[r].name.clone(),
            type_index: self.idx(obj),
            flags,
            fields,
            number,
            c_size,
            c_align,
            first_field,
            comment,
        };
        self.t.struct_unions.push(entry);
        Ok(())
    }

    fn check_not_opaque(&self, mut t: ObjId, location: &str) -> GResult<()> {
        while let Kind::Array { item, .. } = self.m.kind(t) {
            t = *item;
        }
        if let Some(r) = self.m.record_of(t) {
            if self.m.records[r].fields.is_none() {
                return Err(GenError::new(
                    ErrorKind::TypeError,
                    format!("{location} is of an opaque type (not declared in cdef())"),
                ));
            }
        }
        Ok(())
    }

    fn enum_ctx(&mut self, e: EnumId, cname: Option<String>) -> GResult<()> {
        let en = &self.m.enums[e];
        if en.partial && !self.c_mode {
            return Err(GenError::new(ErrorKind::VerificationMissing, self.m.c_name(en.obj)));
        }
        let obj = en.obj;
        let items: Vec<(String, i128)> = en.enumerators.iter().cloned().zip(en.values.iter().copied()).collect();
        for (name, value) in &items {
            self.global(name, OP_ENUM, -1, *value);
        }
        let c_name = cname.filter(|c| self.c_mode && !c.contains('$'));
        let (size, signed) = if c_name.is_some() { (4, false) } else { self.enum_base(obj, &items)? };
        let (c_size, c_signed) = match &c_name {
            Some(c) => (format!("sizeof({c})"), format!("(({c})-1) <= 0")),
            None => (size.to_string(), (signed as i32).to_string()),
        };
        let entry = EnumEntry {
            name: self.m.enums[e].name.clone(),
            type_index: self.idx(obj),
            prim: prim_int(size, signed).unwrap_or(PRIM_UINT32),
            enumerators: self.m.enums[e].enumerators.join(","),
            c_size,
            c_signed,
        };
        self.t.enums.push(entry);
        Ok(())
    }

    /// The integer type upstream gives an enum: (size, signed).
    fn enum_base(&mut self, obj: ObjId, items: &[(String, i128)]) -> GResult<(usize, bool)> {
        if items.is_empty() {
            self.warnings.push(format!(
                "'{}' has no values explicitly defined; guessing that it is equivalent to 'unsigned int'",
                self.m.c_name(obj)
            ));
            return Ok((4, false));
        }
        let min = items.iter().map(|i| i.1).min().unwrap_or(0);
        let max = items.iter().map(|i| i.1).max().unwrap_or(0);
        let signed = min < 0;
        for size in [4usize, 8] {
            let bits = 8 * size as u32;
            let lo = -(1i128 << (bits - 1));
            let hi = 1i128 << (bits - signed as u32);
            if min >= lo && max < hi {
                return Ok((size, signed));
            }
        }
        Err(GenError::new(
            ErrorKind::CDefError,
            format!("{} values don't all fit into either 'long' or 'unsigned long'", self.m.c_name(obj)),
        ))
    }

    /// Structs that no declaration names (anonymous ones reached through fields or variables,
    /// and FILE) get their entries too.
    fn add_missing_struct_unions(&mut self) -> GResult<()> {
        let mut recs: Vec<(usize, RecId)> = self.struct_index.iter().map(|(r, i)| (*i, *r)).collect();
        recs.sort();
        for (_, r) in recs {
            if self.seen_records.contains(&r) {
                continue;
            }
            let rec = &self.m.records[r];
            let shown = format!("<{}>", self.m.c_name(rec.obj));
            if rec.partial {
                return Err(GenError::new(
                    ErrorKind::NotImplementedError,
                    format!("internal inconsistency: {shown} is partial but was not seen at this point"),
                ));
            }
            if is_numbered_anonymous(&rec.name) {
            } else if rec.name == "_IO_FILE" && rec.forcename.as_deref() == Some("FILE") {
                let type_index = self.idx(rec.obj);
                self.t.typenames.push(TypenameEntry { name: "FILE".into(), type_index });
            } else {
                return Err(GenError::new(ErrorKind::NotImplementedError, format!("internal inconsistency: {shown}")));
            }
            self.struct_ctx(r, None, None, None)?;
        }
        Ok(())
    }
}
