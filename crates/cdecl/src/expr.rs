//! Integer constant expressions (enum values, array lengths, bitfield widths), kept unevaluated
//! as [`Expr`]: literals, names, unary and binary operators, `sizeof(type)` and casts.

use crate::ast::*;
use crate::lexer::T;
use crate::parser::{PResult, Parser, MAX_TREE_DEPTH};

/// Binary operators by precedence, loosest first (C's table, without `?:` and `,`).
fn binary_op(t: T) -> Option<(u8, BinaryOp)> {
    Some(match t {
        T::OrOr => (1, BinaryOp::Or),
        T::AndAnd => (2, BinaryOp::And),
        T::Pipe => (3, BinaryOp::BitOr),
        T::Caret => (4, BinaryOp::BitXor),
        T::Amp => (5, BinaryOp::BitAnd),
        T::EqEq => (6, BinaryOp::Eq),
        T::Ne => (6, BinaryOp::Ne),
        T::Lt => (7, BinaryOp::Lt),
        T::Gt => (7, BinaryOp::Gt),
        T::Le => (7, BinaryOp::Le),
        T::Ge => (7, BinaryOp::Ge),
        T::Shl => (8, BinaryOp::Shl),
        T::Shr => (8, BinaryOp::Shr),
        T::Plus => (9, BinaryOp::Add),
        T::Minus => (9, BinaryOp::Sub),
        T::Star => (10, BinaryOp::Mul),
        T::Slash => (10, BinaryOp::Div),
        T::Percent => (10, BinaryOp::Mod),
        _ => return None,
    })
}

impl<'a> Parser<'a> {
    pub(crate) fn constant_expr(&mut self) -> PResult<Expr> {
        let (e, _) = self.binary(1)?;
        if self.peek() == T::Question {
            return Err(self.unexpected("an operator other than '?:', which cdef does not support"));
        }
        Ok(e)
    }

    /// Precedence climbing: operands joined by operators of precedence `min` or more. Returns the
    /// expression with its depth, which is kept under [`MAX_TREE_DEPTH`].
    fn binary(&mut self, min: u8) -> PResult<(Expr, u32)> {
        let (mut lhs, mut depth) = self.unary()?;
        while let Some((prec, op)) = binary_op(self.peek()) {
            if prec < min {
                break;
            }
            let op_tok = self.bump();
            let (rhs, rdepth) = self.binary(prec + 1)?;
            depth = depth.max(rdepth) + 1;
            if depth > MAX_TREE_DEPTH {
                return Err(self.syntax_error(
                    op_tok,
                    format!("expression too long or too deeply nested (the limit is {MAX_TREE_DEPTH} levels)"),
                ));
            }
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok((lhs, depth))
    }

    fn unary(&mut self) -> PResult<(Expr, u32)> {
        let op = match self.peek() {
            T::Minus => Some(UnaryOp::Neg),
            T::Plus => Some(UnaryOp::Plus),
            T::Tilde => Some(UnaryOp::BitNot),
            T::Bang => Some(UnaryOp::Not),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            self.enter()?;
            let r = self.unary();
            self.leave();
            let (e, d) = r?;
            return Ok((Expr::Unary(op, Box::new(e)), d + 1));
        }
        let t = self.tok();
        match t.kind {
            T::Number => {
                self.bump();
                match self.int_literal_value(t)? {
                    Some(v) => Ok((Expr::Int(v), 1)),
                    None => Err(self.syntax_error(
                        t,
                        format!(
                            "unexpected floating-point constant {}: expected an integer",
                            self.text(t)
                        ),
                    )),
                }
            }
            T::CharLit => {
                self.bump();
                match crate::literal::parse_char(self.text(t)) {
                    Ok(v) => Ok((Expr::Char(v), 1)),
                    // Upstream's wording, with Python's repr() of the constant.
                    Err(_) => {
                        Err(self.decl_error(t, format!("invalid constant \"{}\"", self.text(t))))
                    }
                }
            }
            T::Ident => {
                self.bump();
                Ok((Expr::Name(Name::new(self.text(t)), self.span(t)), 1))
            }
            T::Sizeof => {
                self.bump();
                self.expect(
                    T::LParen,
                    "'(' after sizeof (only sizeof(type) is supported)",
                )?;
                self.enter()?;
                let ty = self.type_name();
                self.leave();
                let ty = ty?;
                self.expect(T::RParen, "')' after the type in sizeof")?;
                let d = crate::declarator::ty_depth(&ty, MAX_TREE_DEPTH) + 1;
                Ok((Expr::SizeofType(Box::new(ty)), d))
            }
            T::LParen => {
                self.bump();
                self.enter()?;
                let r = if self.is_cast() {
                    self.cast()
                } else {
                    self.paren()
                };
                self.leave();
                r
            }
            _ => Err(self.unexpected("an integer constant, a name, '(' or a unary operator")),
        }
    }

    /// After '(' in an expression: is this a cast? A type keyword says so; a lone identifier
    /// does if it is a known type name, or if an operand follows the ')' (`(foo_t)1`).
    fn is_cast(&mut self) -> bool {
        if self.starts_type_name(0) {
            return true;
        }
        self.peek() == T::Ident
            && self.peek_at(1) == T::RParen
            && matches!(
                self.peek_at(2),
                T::Number | T::CharLit | T::Ident | T::LParen | T::Tilde | T::Bang | T::Sizeof
            )
    }

    fn cast(&mut self) -> PResult<(Expr, u32)> {
        let ty = self.type_name()?;
        self.expect(T::RParen, "')' after the type of a cast")?;
        let (e, d) = self.unary()?;
        let d = d.max(crate::declarator::ty_depth(&ty, MAX_TREE_DEPTH)) + 1;
        Ok((Expr::Cast(Box::new(ty), Box::new(e)), d))
    }

    fn paren(&mut self) -> PResult<(Expr, u32)> {
        let (e, d) = self.binary(1)?;
        self.expect(T::RParen, "')' or an operator")?;
        Ok((e, d))
    }
}

/// The depth of an expression tree, counting at most up to `cap`.
pub(crate) fn expr_depth(e: &Expr, cap: u32) -> u32 {
    if cap == 0 {
        return 0;
    }
    1 + match e {
        Expr::Int(_) | Expr::Char(_) | Expr::Name(..) => 0,
        Expr::Unary(_, x) => expr_depth(x, cap - 1),
        Expr::Binary(_, a, b) => expr_depth(a, cap - 1).max(expr_depth(b, cap - 1)),
        Expr::SizeofType(ty) => crate::declarator::ty_depth(ty, cap - 1),
        Expr::Cast(ty, x) => crate::declarator::ty_depth(ty, cap - 1).max(expr_depth(x, cap - 1)),
    }
}
