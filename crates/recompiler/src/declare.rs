//! Replays an FFI's cdef() and include() calls into declarations, the way upstream's
//! `cparser.Parser` records them (its `_declarations`): keys like `typedef foo_t`,
//! `function f`, `struct s`, `anonymous foo_t`, `macro N`, each with a type of the
//! [`typemodel`](crate::typemodel) and qualifiers.
//!
//! What must match upstream because it shows in the output: which keys exist, the names given to
//! anonymous structs/unions/enums (`$1`, `$2`... counted per FFI in the order upstream's parser
//! meets them; `$foo_t` when a typedef names them directly), when a struct takes the name of a
//! typedef, and which types are pointers, arrays or functions after typedefs are resolved.
//! Errors that rcffi's own cdef() already reported are not re-checked carefully here.

use std::collections::{BTreeMap, HashMap, HashSet};

use cdecl::{ArrayLen, BaseType, Decl, DefineValue, Expr, ExternPython, FuncSig, Quals, RecordKind, Span, Ty};

use crate::typemodel::{CanonId, Field, Func, Kind, Len, ObjId, TypeModel, Q_CONST, Q_RESTRICT, Q_VOLATILE};
use crate::{ErrorKind, GResult, GenError, Step};

/// What a declaration key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclObj {
    Type(ObjId),
    /// `#define N 42` / `static const int N = 42;` (None for `#define N ...`).
    Macro(Option<i128>),
}

#[derive(Default)]
pub struct Declarations {
    /// Sorted by key, which is the order upstream's generator visits them in.
    pub map: BTreeMap<String, (DeclObj, u8)>,
    /// The types that came from an included FFI (as upstream's `_included_declarations`).
    pub included: HashSet<CanonId>,
    pub int_constants: HashMap<String, i128>,
}

/// Identifies one written struct/union/enum specifier: declarators sharing a specifier
/// (`typedef struct {...} a, *b;`) share it, as pycparser shares the node.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct NodeKey {
    cdef: usize,
    file: u16,
    line: u32,
    col: u32,
    kind: u8,
}

struct Parser<'m> {
    m: &'m mut TypeModel,
    d: Declarations,
    anon_counter: usize,
    nodes: HashMap<NodeKey, ObjId>,
    /// A number for the cdef() being replayed, unique across included FFIs too.
    cdef_uid: usize,
    next_uid: &'m mut usize,
    override_: bool,
    pack: i64,
    /// Inside `ffi.embedding_api()`: functions are exported (`dllexport_python`).
    dllexport: bool,
    /// Set when an array length `[...]` was met in the field being parsed.
    partial_length: bool,
}

/// The declarations of an FFI built by `steps`.
pub fn replay(m: &mut TypeModel, steps: &[Step]) -> GResult<Declarations> {
    let mut uid = 0;
    replay_with(m, steps, &mut uid)
}

fn replay_with(m: &mut TypeModel, steps: &[Step], uid: &mut usize) -> GResult<Declarations> {
    let mut p = Parser {
        m,
        d: Declarations::default(),
        anon_counter: 0,
        nodes: HashMap::new(),
        cdef_uid: 0,
        next_uid: uid,
        override_: false,
        pack: 0,
        dllexport: false,
        partial_length: false,
    };
    for step in steps {
        match step {
            Step::Cdef { source, override_, pack, dllexport } => {
                let cdef = cdecl::parse_cdef(source).map_err(|e| {
                    let kind = match e.kind {
                        cdecl::ErrorKind::Ffi { .. } => ErrorKind::FFIError,
                        _ => ErrorKind::CDefError,
                    };
                    GenError::new(kind, e.to_string())
                })?;
                *p.next_uid += 1;
                p.cdef_uid = *p.next_uid;
                p.override_ = *override_;
                p.pack = *pack;
                p.dllexport = *dllexport;
                for decl in &cdef.decls {
                    p.decl(decl)?;
                }
                p.override_ = false;
                p.pack = 0;
                p.dllexport = false;
            }
            Step::Include(sub) => {
                let other = replay_with(p.m, sub, p.next_uid)?;
                p.include(&other)?;
            }
        }
    }
    Ok(p.d)
}

fn quals_bits(q: &Quals) -> u8 {
    (if q.is_const { Q_CONST } else { 0 })
        | (if q.is_volatile { Q_VOLATILE } else { 0 })
        | (if q.is_restrict { Q_RESTRICT } else { 0 })
}

fn ffi_error(msg: impl Into<String>) -> GenError {
    GenError::new(ErrorKind::FFIError, msg)
}

/// `$` followed by digits only: the name of a struct nobody named.
pub fn is_numbered_anonymous(name: &str) -> bool {
    name.strip_prefix('$').is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

impl Parser<'_> {
    fn declare(&mut self, key: String, obj: DeclObj, quals: u8, included: bool) -> GResult<()> {
        if let Some((prev, prev_quals)) = self.d.map.get(&key) {
            if *prev == obj && *prev_quals == quals {
                return Ok(());
            }
            // Redeclarations that rcffi's cdef() accepted replace the earlier one.
        }
        if included {
            if let DeclObj::Type(o) = obj {
                self.d.included.insert(self.m.canon(o));
            }
        }
        self.d.map.insert(key, (obj, quals));
        Ok(())
    }

    fn add_constant(&mut self, name: &str, value: i128) -> GResult<()> {
        if let Some(old) = self.d.int_constants.get(name) {
            if *old == value || self.override_ {
                return Ok(());
            }
            return Err(ffi_error(format!("multiple declarations of constant: {name}")));
        }
        self.d.int_constants.insert(name.to_string(), value);
        Ok(())
    }

    fn parse_constant(&self, e: &Expr) -> GResult<i128> {
        let consts = &self.d.int_constants;
        cdecl::eval::eval(e, &mut |n| consts.get(n).copied(), &mut |_| None)
            .map_err(|m| ffi_error(format!("unsupported expression: expected a simple numeric constant ({m})")))
    }

    fn decl(&mut self, decl: &Decl) -> GResult<()> {
        match decl {
            Decl::Define { name, value, .. } => match value {
                DefineValue::Int(v) => {
                    self.add_constant(name, *v)?;
                    self.declare(format!("macro {name}"), DeclObj::Macro(Some(*v)), 0, false)
                }
                DefineValue::Dotdotdot => self.declare(format!("macro {name}"), DeclObj::Macro(None), 0, false),
            },
            Decl::Typedef { name, ty, .. } => {
                let (tp, quals) = match ty {
                    Ty::Base { base: BaseType::Opaque, .. } => (self.m.unknown_type(name), 0),
                    Ty::Base { base: BaseType::UnknownInt, .. } => (self.m.unknown_int(name), 0),
                    Ty::Base { base: BaseType::UnknownFloat, .. } => (self.m.unknown_float(name), 0),
                    Ty::Pointer { to, .. } if matches!(**to, Ty::Base { base: BaseType::Opaque, .. }) => {
                        (self.m.unknown_ptr_type(name), 0)
                    }
                    _ => self.type_and_quals(ty, Some(name), true, Some(format!("*({name} *)0")))?,
                };
                self.declare(format!("typedef {name}"), DeclObj::Type(tp), quals, false)
            }
            Decl::Function { name, sig, extern_python, .. } => {
                let raw = self.function_type(sig)?;
                self.declare_function(raw, name, *extern_python)
            }
            Decl::Variable { name, ty, .. } => self.variable(name, ty, None),
            Decl::IntConstant { name, ty, value, .. } => self.variable(name, ty, Some(*value)),
            Decl::Tag { base, .. } => {
                match base {
                    BaseType::Record(r) => {
                        self.record_type(r, None)?;
                    }
                    BaseType::Enum(e) => {
                        self.enum_type(e, None)?;
                    }
                    _ => {}
                }
                Ok(())
            }
        }
    }

    fn variable(&mut self, name: &str, ty: &Ty, init: Option<i128>) -> GResult<()> {
        let (tp, quals) = self.type_and_quals(ty, None, true, None)?;
        if self.m.is_raw_function(tp) {
            return self.declare_function(tp, name, ExternPython::No);
        }
        if let (Some(v), true) = (init, self.m.is_integer(tp)) {
            self.add_constant(name, v)?;
            return self.declare(format!("macro {name}"), DeclObj::Macro(Some(v)), 0, false);
        }
        let kind = if quals & Q_CONST != 0 && !self.m.is_array(tp) { "constant" } else { "variable" };
        self.declare(format!("{kind} {name}"), DeclObj::Type(tp), quals, false)
    }

    fn declare_function(&mut self, raw: ObjId, name: &str, ext: ExternPython) -> GResult<()> {
        let fp = self.m.convert_function(raw, false);
        let tag = match ext {
            // upstream: embedding_api() exports every function it declares, extern "Python" or not
            _ if self.dllexport => "dllexport_python",
            ExternPython::No => "function",
            ExternPython::Python => "extern_python",
            ExternPython::PythonPlusC => "extern_python_plus_c",
        };
        self.declare(format!("{tag} {name}"), DeclObj::Type(fp), 0, false)
    }

    /// Upstream's `_get_type_and_quals()`: the type of a declarator and the qualifiers of its
    /// outermost level. `name` is given for the declarator of a typedef (it names anonymous
    /// structs and pointers to them); `typedef_example` is the C expression of the typedef,
    /// for array lengths `[...]`.
    fn type_and_quals(&mut self, ty: &Ty, name: Option<&str>, partial_ok: bool, typedef_example: Option<String>) -> GResult<(ObjId, u8)> {
        match ty {
            Ty::Base { base: BaseType::Name(n), quals } => {
                if let Some((DeclObj::Type(tp), q)) = self.d.map.get(&format!("typedef {n}")) {
                    return Ok((*tp, q | quals_bits(quals)));
                }
                Ok((self.common_type(n)?, quals_bits(quals)))
            }
            Ty::Array { of, len } => {
                let mut length = match len {
                    ArrayLen::Unspecified => Len::Open,
                    ArrayLen::Expr(e) => Len::Known(self.parse_constant(e)?),
                    ArrayLen::Dotdotdot if partial_ok => {
                        self.partial_length = true;
                        Len::Dots
                    }
                    ArrayLen::Dotdotdot => {
                        return Err(ffi_error(
                            "unsupported '[...]' here, cannot derive the actual array length in this context",
                        ))
                    }
                };
                let mut example = typedef_example;
                if let Some(ex) = &example {
                    if length == Len::Dots {
                        length = Len::CExpr(format!("_cffi_array_len({ex})"));
                    }
                    example = Some(format!("*{ex}"));
                }
                let (item, quals) = self.type_and_quals(of, None, partial_ok, example)?;
                Ok((self.m.array(item, length), quals))
            }
            Ty::Pointer { to, quals } => {
                let (item, item_quals) = self.type_and_quals(to, None, false, None)?;
                let tp = self.type_pointer(item, item_quals, name);
                Ok((tp, quals_bits(quals)))
            }
            Ty::Base { base, quals } => {
                let q = quals_bits(quals);
                let tp = match base {
                    BaseType::Void => self.m.void(),
                    BaseType::Primitive(p) => {
                        let prim = model::primitive(p).ok_or_else(|| ffi_error(format!("unknown primitive type '{p}'")))?;
                        self.m.prim(prim.name)
                    }
                    BaseType::Record(r) => self.record_type(r, name)?,
                    BaseType::Enum(e) => self.enum_type(e, name)?,
                    BaseType::Name(n) => self.common_type(n)?,
                    BaseType::Opaque | BaseType::UnknownInt | BaseType::UnknownFloat => {
                        return Err(ffi_error("bad usage of \"...\""))
                    }
                };
                Ok((tp, q))
            }
            Ty::Function(sig) => Ok((self.function_type(sig)?, 0)),
        }
    }

    /// A type name that is not a typedef of this FFI: a standard one (`size_t`, `FILE`...).
    fn common_type(&mut self, n: &str) -> GResult<ObjId> {
        if n == "FILE" {
            return Ok(self.m.file());
        }
        if n == "bool" {
            return Ok(self.m.prim("_Bool"));
        }
        match model::primitive(n) {
            Some(p) => Ok(self.m.prim(p.name)),
            None => Err(ffi_error(format!("Unsupported type: '{n}'"))),
        }
    }

    fn function_type(&mut self, sig: &FuncSig) -> GResult<ObjId> {
        let mut args = Vec::with_capacity(sig.params.len());
        for p in &sig.params {
            let (t, q) = self.type_and_quals(&p.ty, None, false, None)?;
            args.push(self.as_func_arg(t, q));
        }
        let (result, _) = self.type_and_quals(&sig.result, None, false, None)?;
        Ok(self.m.raw_function(Func {
            args,
            result,
            ellipsis: sig.variadic,
            stdcall: sig.callconv == cdecl::CallConv::Stdcall,
        }))
    }

    /// A parameter of array type is a pointer, one of function type a function pointer.
    fn as_func_arg(&mut self, t: ObjId, quals: u8) -> ObjId {
        match self.m.kind(t) {
            Kind::Array { item, .. } => {
                let item = *item;
                self.m.pointer(item, quals)
            }
            Kind::RawFunc(_) => self.m.convert_function(t, false),
            _ => t,
        }
    }

    fn type_pointer(&mut self, item: ObjId, quals: u8, declname: Option<&str>) -> ObjId {
        if self.m.is_raw_function(item) {
            return self.m.convert_function(item, false);
        }
        if let (Some(r), Some(declname)) = (self.m.record_of(item), declname) {
            let rec = &self.m.records[r];
            if is_numbered_anonymous(&rec.name) && rec.forcename.is_none() {
                return self.m.named_pointer(item, declname);
            }
        }
        self.m.pointer(item, quals)
    }

    fn node(&self, span: Span, kind: u8) -> NodeKey {
        NodeKey { cdef: self.cdef_uid, file: span.file, line: span.line, col: span.col, kind }
    }

    fn anonymous_name(&mut self, force_name: Option<&str>) -> String {
        match force_name {
            Some(f) => format!("${f}"),
            None => {
                self.anon_counter += 1;
                format!("${}", self.anon_counter)
            }
        }
    }

    /// Upstream's `_get_struct_union_enum_type()` for structs and unions.
    fn record_type(&mut self, r: &cdecl::Record, force_name: Option<&str>) -> GResult<ObjId> {
        let is_union = r.kind == RecordKind::Union;
        let node = self.node(r.span, if is_union { 1 } else { 0 });
        if let Some(o) = self.nodes.get(&node) {
            return Ok(*o);
        }
        let kw = if is_union { "union" } else { "struct" };
        let obj = match &r.tag {
            None => {
                let explicit = self.anonymous_name(force_name);
                self.m.new_record(is_union, &explicit)
            }
            Some(tag) => {
                let key = format!("{kw} {tag}");
                match self.d.map.get(&key) {
                    Some((DeclObj::Type(o), _)) => *o,
                    _ => {
                        let o = self.m.new_record(is_union, tag);
                        self.declare(key, DeclObj::Type(o), 0, false)?;
                        o
                    }
                }
            }
        };
        let Some(rid) = self.m.record_of(obj) else {
            return Err(ffi_error(format!("'{kw}' names something that is not a {kw}")));
        };
        if self.m.records[rid].forcename.is_none() {
            self.m.records[rid].forcename = force_name.map(str::to_string);
        }
        if let Some(f) = self.m.records[rid].forcename.clone() {
            if self.m.records[rid].name.contains('$') {
                self.declare(format!("anonymous {f}"), DeclObj::Type(obj), 0, false)?;
            }
        }
        self.nodes.insert(node, obj);
        let Some(body) = &r.body else { return Ok(obj) };
        if self.m.records[rid].fields.is_some() {
            return Err(GenError::new(
                ErrorKind::CDefError,
                format!("duplicate declaration of struct {}", r.tag.as_deref().unwrap_or("None")),
            ));
        }
        let mut partial = body.partial;
        let mut fields = Vec::with_capacity(body.fields.len());
        for f in &body.fields {
            let bitsize = match &f.bits {
                Some(e) => self.parse_constant(e)?,
                None => -1,
            };
            self.partial_length = false;
            let (ft, quals) = self.type_and_quals(&f.ty, None, true, None)?;
            if self.partial_length {
                partial = true;
            }
            if let Some(fr) = self.m.record_of(ft) {
                if !self.m.records[fr].is_union && self.m.records[fr].partial {
                    partial = true;
                }
            }
            fields.push(Field { name: f.name.as_deref().unwrap_or_default().to_string(), ty: ft, bitsize, quals });
        }
        if partial && !is_union && fields.iter().any(|f| f.bitsize >= 0) {
            return Err(GenError::new(
                ErrorKind::NotImplementedError,
                format!("<{}>: using both bitfields and '...;'", self.m.c_name(obj)),
            ));
        }
        let rec = &mut self.m.records[rid];
        rec.fields = Some(fields);
        rec.partial = partial;
        rec.packed = self.pack;
        Ok(obj)
    }

    /// Upstream's `_get_struct_union_enum_type()` for enums.
    fn enum_type(&mut self, e: &cdecl::Enum, force_name: Option<&str>) -> GResult<ObjId> {
        let node = self.node(e.span, 2);
        if let Some(o) = self.nodes.get(&node) {
            return Ok(*o);
        }
        let (explicit, existing) = match &e.tag {
            None => (self.anonymous_name(force_name), None),
            Some(tag) => {
                let found = match self.d.map.get(&format!("enum {tag}")) {
                    Some((DeclObj::Type(o), _)) => Some(*o),
                    _ => None,
                };
                (tag.to_string(), found)
            }
        };
        let obj = match existing {
            Some(o) => {
                if e.body.is_some() {
                    return Err(GenError::new(
                        ErrorKind::NotImplementedError,
                        format!(
                            "enum {explicit}: the '{{}}' declaration should appear on the first time the enum is mentioned, not later"
                        ),
                    ));
                }
                o
            }
            None => {
                let o = self.build_enum(&explicit, e.body.as_deref())?;
                if e.tag.is_some() {
                    self.declare(format!("enum {explicit}"), DeclObj::Type(o), 0, false)?;
                }
                o
            }
        };
        let Kind::Enum(eid) = *self.m.kind(obj) else { return Ok(obj) };
        if self.m.enums[eid].forcename.is_none() {
            self.m.force_enum_name(eid, force_name);
        }
        if let Some(f) = self.m.enums[eid].forcename.clone() {
            if self.m.enums[eid].name.contains('$') {
                self.declare(format!("anonymous {f}"), DeclObj::Type(obj), 0, false)?;
            }
        }
        self.nodes.insert(node, obj);
        Ok(obj)
    }

    fn build_enum(&mut self, name: &str, body: Option<&cdecl::EnumBody>) -> GResult<ObjId> {
        let Some(body) = body else {
            return Ok(self.m.new_enum(name, Vec::new(), Vec::new(), false));
        };
        let mut names = Vec::with_capacity(body.items.len());
        let mut values = Vec::with_capacity(body.items.len());
        let mut next = 0i128;
        for item in &body.items {
            if let Some(v) = &item.value {
                next = self.parse_constant(v)?;
            }
            names.push(item.name.to_string());
            values.push(next);
            self.add_constant(&item.name, next)?;
            next = next.saturating_add(1);
        }
        Ok(self.m.new_enum(name, names, values, body.partial))
    }

    /// `ffi.include(other)`: its types (not its functions, globals or constants' names) become
    /// declarations here, marked as included; its integer constants are known here.
    fn include(&mut self, other: &Declarations) -> GResult<()> {
        for (name, (obj, quals)) in &other.map {
            if name.starts_with("anonymous $enum_$") {
                continue;
            }
            let kind = name.split(' ').next().unwrap_or("");
            if matches!(kind, "struct" | "union" | "enum" | "anonymous" | "typedef") {
                self.declare(name.clone(), *obj, *quals, true)?;
            }
        }
        let mut consts: Vec<(&String, &i128)> = other.int_constants.iter().collect();
        consts.sort();
        for (k, v) in consts {
            self.add_constant(k, *v)?;
        }
        Ok(())
    }
}
