//! Declarators: the `*`, `[N]`, `(params)` and parentheses around a name, and how they wrap the
//! base type. A declarator is first read into a list of type operations in the order they apply
//! to the base type (`int *(*x[3])(long)`: function, pointer, array), then folded into a [`Ty`].

use crate::ast::*;
use crate::lexer::{Token, T};
use crate::parser::{PResult, Parser, MAX_TREE_DEPTH};
use crate::specifiers::{Context, Dots, Specs};

/// Adds `t` to the qualifiers of a pointer (`* const volatile restrict`) if it is one of them.
#[inline]
fn add_pointer_qualifier(quals: &mut Quals, t: T) -> bool {
    match t {
        T::Const => quals.is_const = true,
        T::Volatile => quals.is_volatile = true,
        T::Restrict => quals.is_restrict = true,
        _ => return false,
    }
    true
}

/// Whether a declarator names something.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameMode {
    /// Declarations and fields: `int x`.
    Required,
    /// Parameters: `int x` or `int`.
    Optional,
    /// Type names: `int *`.
    Abstract,
}

pub(crate) enum Op {
    Pointer(Quals),
    Array(ArrayLen),
    Function(FuncOp),
}

/// A folded declarator: a type, or the signature of a declared function.
pub(crate) enum Applied {
    Ty(Ty),
    Function(FuncSig),
}

pub(crate) struct FuncOp {
    params: Vec<Param>,
    variadic: bool,
    /// Only `(...)`: upstream refuses it, naming the function.
    only_dots: bool,
    callconv: Option<CallConv>,
    /// The '(' (for error positions).
    open: Token,
    /// The depth of the deepest parameter type (see [`ty_depth`]).
    depth: u32,
}

pub(crate) struct Declarator {
    pub name: Option<Token>,
    /// Its operations are `Parser::ops[start..]`, in the order they apply to the base type (one
    /// stack shared by all declarators saves an allocation for each).
    start: usize,
    /// A calling convention not consumed by a function at this level: `(__stdcall *p)` gives it
    /// to the function type that follows the parentheses.
    callconv: Option<CallConv>,
}

/// More type operations than this in one declarator is surely not a real declaration.
const MAX_OPS: usize = 64;

impl<'a> Parser<'a> {
    pub(crate) fn declarator(&mut self, mode: NameMode) -> PResult<Declarator> {
        self.enter()?;
        let d = self.declarator_inner(mode);
        self.leave();
        d
    }

    /// If the declarator at the current token is simple, how many tokens it has. Simple means
    /// `*`s (each with its qualifiers) and then the name (optional in `mode`), with no suffix
    /// after: `char *s`, `FILE **f`, `x`, an unnamed `int *` parameter. Most declarators are,
    /// and [`Self::simple_declarator`] builds their type directly, without the list of
    /// operations and the fold the general form needs. None for everything else (parentheses,
    /// suffixes, calling conventions, a missing name, too many `*`, too deep a nesting): the
    /// general [`Self::declarator`] reads those, and reports their errors.
    #[inline(always)]
    pub(crate) fn simple_declarator_len(&self, mode: NameMode) -> Option<usize> {
        if self.depth >= crate::parser::MAX_NESTING || mode == NameMode::Abstract {
            return None;
        }
        let mut k = 0;
        let mut stars = 0;
        loop {
            match self.peek_at(k) {
                T::Star => stars += 1,
                T::Const | T::Volatile | T::Restrict if stars > 0 => {}
                // Before any `*`, pycparser's `(const *p)`: the general form drops it.
                T::Const | T::Volatile | T::Restrict => return None,
                _ => break,
            }
            k += 1;
        }
        if stars > MAX_OPS {
            return None;
        }
        if self.peek_at(k) == T::Ident {
            k += 1;
        } else if mode == NameMode::Required {
            return None;
        }
        // Whatever the general form would still read must not follow.
        match self.peek_at(k) {
            T::LParen | T::LBracket | T::Stdcall | T::Cdecl => None,
            _ => Some(k),
        }
    }

    /// Reads the simple declarator of `len` tokens (see [`Self::simple_declarator_len`]) and
    /// builds its type on the base type of `specs`, as [`Self::declarator`] and
    /// [`Self::apply_declarator_to`] would. The `last` declarator of the specifiers takes
    /// their base type, the others a copy (see [`Specs::base_for`]). Gives its name and the
    /// type with its depth.
    pub(crate) fn simple_declarator(
        &mut self,
        specs: &mut Specs,
        last: bool,
        len: usize,
    ) -> PResult<(Option<Token>, Ty, u32)> {
        let end = self.pos + len;
        let mut ty = Ty::Base {
            base: specs.base_for(last),
            quals: specs.quals,
        };
        let mut depth = if base_without_body(&ty) {
            1
        } else {
            ty_depth(&ty, MAX_TREE_DEPTH + 1)
        };
        let mut name = None;
        while self.pos < end {
            let t = self.bump();
            match t.kind {
                T::Star => {
                    let mut quals = Quals::default();
                    while add_pointer_qualifier(&mut quals, self.peek()) {
                        self.bump();
                    }
                    ty = Ty::Pointer {
                        to: Box::new(ty),
                        quals,
                    };
                    depth += 1;
                }
                _ => name = Some(t),
            }
        }
        if depth > MAX_TREE_DEPTH {
            return Err(self.type_too_deep(name.unwrap_or_else(|| self.tok())));
        }
        Ok((name, ty, depth))
    }

    fn declarator_inner(&mut self, mode: NameMode) -> PResult<Declarator> {
        let start = self.ops.len();
        // A calling convention before the pointers (`(__stdcall *p)(int)`) is for the function
        // outside the parentheses; after a pointer (`int * __stdcall f(int)`), for the function
        // at this level.
        let mut leading_cc = None;
        let mut callconv = None;
        loop {
            let cc = match self.peek() {
                T::Star => {
                    self.bump();
                    let mut quals = Quals::default();
                    loop {
                        match self.peek() {
                            t if add_pointer_qualifier(&mut quals, t) => {}
                            T::Stdcall => callconv = Some(CallConv::Stdcall),
                            T::Cdecl => callconv = callconv.or(Some(CallConv::Cdecl)),
                            _ => break,
                        }
                        self.bump();
                    }
                    self.ops.push(Op::Pointer(quals));
                    if self.ops.len() - start > MAX_OPS {
                        return Err(self.too_complex());
                    }
                    continue;
                }
                T::Stdcall => CallConv::Stdcall,
                T::Cdecl => CallConv::Cdecl,
                // `int (const *p)`: not C, but pycparser takes it; the qualifier is dropped.
                T::Const | T::Volatile | T::Restrict if self.ops.len() == start => {
                    self.bump();
                    continue;
                }
                _ => break,
            };
            self.bump();
            let slot = if self.ops.len() == start {
                &mut leading_cc
            } else {
                &mut callconv
            };
            if cc == CallConv::Stdcall || slot.is_none() {
                *slot = Some(cc);
            }
        }
        // The name, or a parenthesized declarator (whose operations come next on the stack).
        let inner_start = self.ops.len();
        let mut name = None;
        match self.peek() {
            T::Ident if mode != NameMode::Abstract => name = Some(self.bump()),
            T::LParen if self.is_grouping(mode) => {
                self.bump();
                let d = self.declarator(mode)?;
                self.expect(T::RParen, "')'")?;
                name = d.name;
                callconv = d.callconv.or(callconv);
            }
            _ if mode == NameMode::Required => {
                return Err(self.unexpected("a name to declare (an identifier or '(')"));
            }
            _ => {}
        }
        // Suffixes, in source order.
        let first_suffix = self.ops.len();
        loop {
            let op = match self.peek() {
                T::LBracket => Op::Array(self.array_suffix()?),
                T::LParen => Op::Function(self.params()?),
                _ => break,
            };
            self.ops.push(op);
            if self.ops.len() - start > MAX_OPS {
                return Err(self.too_complex());
            }
        }
        // A pending calling convention (from this level or from inside the parentheses) goes to
        // the first function suffix here, if any.
        if let Some(cc) = callconv {
            if let Some(Op::Function(f)) = self.ops[first_suffix..]
                .iter_mut()
                .find(|op| matches!(op, Op::Function(_)))
            {
                f.callconv.get_or_insert(cc);
                callconv = None;
            }
        }
        // The last suffix applies first (`x[2][3]` is an array of 2 arrays of 3), and the
        // parenthesized declarator's operations after all of them.
        // (Most declarators have no parentheses or no suffix: nothing to move then.)
        self.ops[first_suffix..].reverse();
        let inner_len = first_suffix - inner_start;
        if inner_len > 0 && self.ops.len() > first_suffix {
            self.ops[inner_start..].rotate_left(inner_len);
        }
        Ok(Declarator {
            name,
            start,
            callconv: leading_cc.or(callconv),
        })
    }

    fn too_complex(&self) -> Box<crate::error::CdefError> {
        self.syntax_error(
            self.tok(),
            format!(
                "declarator too complex: more than {MAX_OPS} '*', '[]' and '()' in one declarator"
            ),
        )
    }

    /// At a '(' where a name could start: is it parentheses around a declarator, or a parameter
    /// list? As in C, this depends on whether what follows is a type.
    fn is_grouping(&mut self, mode: NameMode) -> bool {
        match self.peek_at(1) {
            // No parameter starts with '(' or '[': these can only be parentheses for grouping.
            T::Star | T::LParen | T::LBracket | T::Stdcall | T::Cdecl => true,
            // `(const void *)` is a parameter list; `(const *p)` (accepted by pycparser) groups.
            T::Const | T::Volatile | T::Restrict => {
                let mut k = 2;
                while matches!(self.peek_at(k), T::Const | T::Volatile | T::Restrict) {
                    k += 1;
                }
                match self.peek_at(k) {
                    T::Star | T::LParen | T::LBracket | T::RParen => true,
                    T::Ident => !self.starts_type_name(k),
                    _ => false,
                }
            }
            T::Ident => match mode {
                NameMode::Required => true,
                NameMode::Optional => !self.starts_type_name(1),
                NameMode::Abstract => false,
            },
            _ => false,
        }
    }

    /// `[]`, `[...]`, `[expr]` (C99's `[static N]` and qualifiers inside are skipped).
    fn array_suffix(&mut self) -> PResult<ArrayLen> {
        self.bump(); // [
        while matches!(
            self.peek(),
            T::Static | T::Const | T::Volatile | T::Restrict
        ) {
            self.bump();
        }
        let len = match self.peek() {
            T::RBracket => ArrayLen::Unspecified,
            T::Ellipsis => {
                self.bump();
                ArrayLen::Dotdotdot
            }
            _ => ArrayLen::Expr(self.constant_expr()?),
        };
        self.expect(T::RBracket, "']'")?;
        Ok(len)
    }

    /// `(params)`: `()` and `(void)` are no parameters; `, ...` makes it variadic.
    fn params(&mut self) -> PResult<FuncOp> {
        let open = self.bump(); // (
        self.enter()?;
        let mut f = FuncOp {
            params: Vec::new(),
            variadic: false,
            only_dots: false,
            callconv: None,
            open,
            depth: 0,
        };
        if self.peek() == T::Void && self.peek_at(1) == T::RParen {
            self.bump();
        }
        if self.peek() != T::RParen {
            loop {
                if self.eat(T::Ellipsis) {
                    f.variadic = true;
                    f.only_dots = f.params.is_empty();
                    break;
                }
                let mut specs = self.specifiers(Context::Param)?;
                let (name_tok, ty, depth) = match self.simple_declarator_len(NameMode::Optional) {
                    Some(len) => self.simple_declarator(&mut specs, true, len)?,
                    None => {
                        let d = self.declarator(NameMode::Optional)?;
                        let name_tok = d.name;
                        let base = specs.base_for(true);
                        let (ty, depth) = self.apply_to_ty(base, &specs, d)?;
                        (name_tok, ty, depth)
                    }
                };
                let name = name_tok.map(|t| Name::new(self.text(t)));
                self.check_dotdotdot_base(&specs, &ty, false, name_tok.unwrap_or(open))?;
                f.depth = f.depth.max(depth);
                f.params.push(Param { name, ty });
                if !self.eat(T::Comma) {
                    break;
                }
            }
        }
        self.expect(T::RParen, "',' or ')' in the parameter list")?;
        self.leave();
        Ok(f)
    }

    /// A type name as in `sizeof(T)` or `(T)x`: specifiers and an abstract declarator.
    pub(crate) fn type_name(&mut self) -> PResult<Ty> {
        let specs = self.specifiers(Context::TypeName)?;
        let at = self.toks[specs.type_tok];
        let d = self.declarator(NameMode::Abstract)?;
        let mut specs = specs;
        let base = std::mem::replace(&mut specs.base, BaseType::Void);
        let (ty, _) = self.apply_to_ty(base, &specs, d)?;
        self.check_dotdotdot_base(&specs, &ty, false, at)?;
        Ok(ty)
    }

    /// Folds the declarator's operations onto the base type. `dots_ok`: whether `[...]` may be
    /// used (globals, typedefs and fields, and only on the outer array dimensions).
    /// `base` is `specs.base` or a copy of it (the last declarator of several takes it).
    pub(crate) fn apply_declarator(
        &mut self,
        base: BaseType,
        specs: &Specs,
        d: Declarator,
        dots_ok: bool,
    ) -> PResult<Ty> {
        match self.apply_declarator_to(base, specs, d, dots_ok, false)?.0 {
            Applied::Ty(ty) => Ok(ty),
            Applied::Function(sig) => Ok(Ty::Function(Box::new(sig))),
        }
    }

    /// [`Self::apply_declarator`], where with `function_decl` a function type comes back unboxed.
    /// Also gives the depth of the type (as [`ty_depth`] counts it, and as a signature inside a
    /// [`Ty::Function`] would have it).
    pub(crate) fn apply_declarator_to(
        &mut self,
        base: BaseType,
        specs: &Specs,
        d: Declarator,
        dots_ok: bool,
        function_decl: bool,
    ) -> PResult<(Applied, u32)> {
        let at = d.name.unwrap_or_else(|| self.tok());
        // Take the stack out of `self` for the time of the fold, to pop from it while using `self`.
        let mut stack = std::mem::take(&mut self.ops);
        let ops = &stack[d.start..];
        let n = ops.len();
        // `[...]` needs the compiler to know the array: only arrays may wrap it.
        let outer_arrays = ops
            .iter()
            .rev()
            .take_while(|op| matches!(op, Op::Array(_)))
            .count();
        let mut pending_cc = d.callconv.or(specs.callconv);
        let mut ty = Ty::Base {
            base,
            quals: specs.quals,
        };
        // Counted as the type is built, each operation on top of what it wraps (whose depth was
        // counted when it was built), instead of walking the finished tree.
        // (A base without a body is one level: no call for the common case.)
        let mut depth = if base_without_body(&ty) {
            1
        } else {
            ty_depth(&ty, MAX_TREE_DEPTH + 1)
        };
        let mut sig = None;
        // Popped off the end in application order (reversed first): a `Drain` costs more to set
        // up and drop than the fold of the usual one or two operations.
        stack[d.start..].reverse();
        for i in 0..n {
            let Some(op) = stack.pop() else { break };
            depth = 1 + match &op {
                Op::Pointer(_) => depth,
                Op::Array(ArrayLen::Expr(e)) => {
                    depth.max(crate::expr::expr_depth(e, MAX_TREE_DEPTH + 1))
                }
                Op::Array(_) => depth,
                Op::Function(f) => depth.max(f.depth),
            };
            ty = match op {
                Op::Pointer(quals) => Ty::Pointer {
                    to: Box::new(ty),
                    quals,
                },
                Op::Array(len) => {
                    if len == ArrayLen::Dotdotdot && (!dots_ok || i < n - outer_arrays) {
                        return Err(self.ffi_error(
                            at,
                            "unsupported '[...]' here, cannot derive the actual array length in \
                             this context"
                                .into(),
                        ));
                    }
                    Ty::Array {
                        of: Box::new(ty),
                        len,
                    }
                }
                Op::Function(f) => {
                    if f.only_dots {
                        let who = match d.name {
                            Some(name) if i == n - 1 => self.text(name),
                            _ => "in expression",
                        };
                        return Err(self.decl_error(
                            d.name.unwrap_or(f.open),
                            format!(
                                "{who}: a function with only '(...)' as argument is not correct C"
                            ),
                        ));
                    }
                    let callconv = f.callconv.or_else(|| pending_cc.take()).unwrap_or_default();
                    pending_cc = None;
                    let s = FuncSig {
                        result: ty,
                        params: f.params,
                        variadic: f.variadic,
                        callconv,
                    };
                    if function_decl && i == n - 1 {
                        // The last operation: the signature is the result, `ty` is not used.
                        sig = Some(s);
                        Ty::Base {
                            base: BaseType::Void,
                            quals: Quals::default(),
                        }
                    } else {
                        Ty::Function(Box::new(s))
                    }
                }
            };
        }
        self.ops = stack;
        let applied = match sig {
            Some(sig) => Applied::Function(sig),
            None => Applied::Ty(ty),
        };
        if depth > MAX_TREE_DEPTH {
            return Err(self.type_too_deep(at));
        }
        Ok((applied, depth))
    }

    fn type_too_deep(&self, at: Token) -> Box<crate::error::CdefError> {
        self.syntax_error(
            at,
            format!("type too deeply nested (the limit is {MAX_TREE_DEPTH} levels)"),
        )
    }

    /// Folds a parameter's or type name's declarator, where `[...]` is never valid. Also gives
    /// the type's depth.
    fn apply_to_ty(&mut self, base: BaseType, specs: &Specs, d: Declarator) -> PResult<(Ty, u32)> {
        match self.apply_declarator_to(base, specs, d, false, false)? {
            (Applied::Ty(ty), depth) => Ok((ty, depth)),
            (Applied::Function(sig), depth) => Ok((Ty::Function(Box::new(sig)), depth)),
        }
    }

    /// The `...` base types are only valid in typedefs: `typedef int... t;`, `typedef ... t;` and
    /// `typedef ... *p;`.
    pub(crate) fn check_dotdotdot_base(
        &self,
        specs: &Specs,
        ty: &Ty,
        is_typedef: bool,
        at: Token,
    ) -> PResult<()> {
        let ok = match specs.dots {
            Dots::No => return Ok(()),
            _ if !is_typedef => return Err(self.ffi_error(at, "bad usage of \"...\"".into())),
            Dots::Int | Dots::Float => matches!(ty, Ty::Base { .. }),
            Dots::Opaque => match ty {
                Ty::Base { .. } => true,
                Ty::Pointer { to, .. } => matches!(**to, Ty::Base { .. }),
                _ => false,
            },
        };
        if ok {
            Ok(())
        } else if specs.dots == Dots::Opaque && matches!(ty, Ty::Pointer { .. }) {
            Err(self.ffi_error(at, "bad usage of \"...\"".into()))
        } else {
            Err(self.ffi_error(at, "unsupported usage of \"...\" in typedef".into()))
        }
    }
}

/// Whether `ty` is a base type without a struct/union/enum body: [`ty_depth`] 1.
#[inline(always)]
fn base_without_body(ty: &Ty) -> bool {
    match ty {
        Ty::Base { base, .. } => !matches!(
            base,
            BaseType::Record(Record { body: Some(_), .. }) | BaseType::Enum(Enum { body: Some(_), .. })
        ),
        _ => false,
    }
}

/// The depth of a type tree, counting at most up to `cap` (so that this never recurses deeper).
pub(crate) fn ty_depth(ty: &Ty, cap: u32) -> u32 {
    if cap == 0 {
        return 0;
    }
    1 + match ty {
        Ty::Base { base, .. } => base_depth(base, cap - 1),
        Ty::Pointer { to, .. } => ty_depth(to, cap - 1),
        Ty::Array { of, len } => {
            let l = match len {
                ArrayLen::Expr(e) => crate::expr::expr_depth(e, cap - 1),
                _ => 0,
            };
            ty_depth(of, cap - 1).max(l)
        }
        Ty::Function(sig) => {
            let mut d = ty_depth(&sig.result, cap - 1);
            for p in &sig.params {
                if d >= cap - 1 {
                    break;
                }
                d = d.max(ty_depth(&p.ty, cap - 1));
            }
            d
        }
    }
}

fn base_depth(base: &BaseType, cap: u32) -> u32 {
    if cap == 0 {
        return 0;
    }
    match base {
        BaseType::Record(Record {
            body: Some(body), ..
        }) => {
            let mut d = 0;
            for f in &body.fields {
                if d >= cap - 1 {
                    break;
                }
                d = d.max(ty_depth(&f.ty, cap - 1));
                if let Some(bits) = &f.bits {
                    d = d.max(crate::expr::expr_depth(bits, cap - 1));
                }
            }
            1 + d
        }
        BaseType::Enum(Enum {
            body: Some(body), ..
        }) => {
            let mut d = 0;
            for item in &body.items {
                if let Some(v) = &item.value {
                    d = d.max(crate::expr::expr_depth(v, cap - 1));
                }
            }
            1 + d
        }
        _ => 0,
    }
}
