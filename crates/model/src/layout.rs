//! Struct and union layout as GCC (and, on request, MSVC) computes it: field offsets, bitfield
//! placement, `packed`/`pack=N`, flexible array members, explicit offsets and total sizes given by
//! a compiler (API mode). The runtime checks field *types*; this module only places bytes and bits.
//!
//! This is the layout half of upstream cffi's
//! `_cffi_backend.complete_struct_or_union(ctype, fields, ignored, totalsize, totalalign, sflags,
//! pack)`, with the same results and the same error messages.
//!
//! # Using it
//!
//! ```text
//! layout_record(&RecordSpec, &[FieldSpec]) -> Result<RecordLayout, LayoutError>
//! ```
//!
//! * [`RecordSpec`] carries the record's cname (used in messages), struct-or-union, and the
//!   `totalsize`, `totalalign`, `sflags`, `pack` arguments exactly as the caller passed them
//!   (`-1`/`0` meaning "not given"; default flags are filled in as on x86-64 Linux).
//! * One [`FieldSpec`] per `(name, ctype, bitsize=-1, offset=-1)` item, in order. The runtime
//!   describes the ctype by its cname, size (`-1` if unknown), alignment and [`FieldType`].
//! * [`RecordLayout`] has one [`FieldPlacement`] per input field (same order), telling where it
//!   goes and whether it is listed in `ctype.fields` ([`FieldListing`]), plus the record's size,
//!   alignment and the flags upstream keeps on the ctype (`CT_WITH_VAR_ARRAY`,
//!   `CT_CUSTOM_FIELD_POS`, `CT_WITH_PACKED_CHANGE`).
//! * A [`LayoutError`] is the Python exception upstream raises: its [`LayoutErrorKind`] and the
//!   exact message.
//!
//! [`detect_custom_layout`] is public too: upstream's API-mode realization also calls it, for the
//! "wrong size for field" check, before completing the struct.
//!
//! # Left to the runtime
//!
//! Parsing the arguments, "first arg must be a non-initialized struct or union ctype", forcing
//! lazy nested structs, and copying the members of an anonymous nested struct/union (at
//! `placement.offset + member.offset`, flags OR-ed with the outer `ignore_in_ctor`). A field's
//! alignment is asked for only after its size is known, so upstream's "ctype '...' is of unknown
//! alignment" cannot happen here.
//!
//! # Deliberate differences from upstream
//!
//! * Upstream computes in C integers; a record whose size would not fit in a `ssize_t` is undefined
//!   behaviour there and an `OverflowError` here.
//! * With `SF_MSVC_BITFIELDS`, upstream lets a union member bitfield share the storage unit of the
//!   previous member and then reports a negative offset; here every union member starts afresh
//!   (offset 0, bit 0), as MSVC does.

use std::collections::HashSet;
use std::fmt;

use crate::primitive::{PrimKind, Primitive};

/// `complete_struct_or_union(..., sflags)` bits, with upstream's values.
pub const SF_MSVC_BITFIELDS: u32 = 0x01;
pub const SF_GCC_ARM_BITFIELDS: u32 = 0x02;
pub const SF_GCC_BIG_ENDIAN: u32 = 0x04;
pub const SF_PACKED: u32 = 0x08;
pub const SF_GCC_X86_BITFIELDS: u32 = 0x10;
pub const SF_GCC_LITTLE_ENDIAN: u32 = 0x40;
pub const SF_STD_FIELD_POS: u32 = 0x80;

/// `bitshift` of a field that is not a bitfield.
pub const BS_REGULAR: i32 = -1;
/// `bitshift` of a field declared `T[0]` or `T[]`.
pub const BS_EMPTY_ARRAY: i32 = -2;

/// The packing used when neither `SF_PACKED` nor `pack` is given: "no limit" (a huge power of
/// two), as on every non-Windows platform.
const SF_DEFAULT_PACKING: i128 = 0x4000_0000;

/// What the layout needs to know about a field's ctype beyond its size and alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType<'a> {
    /// A type that may be a bitfield: any integer (incl. `_Bool`), `char`, `wchar_t`,
    /// `char16_t`, `char32_t`, and enums.
    Integer,
    /// An array; `length` is negative for `T[]`, 0 for `T[0]`.
    Array { length: i64 },
    /// A completed struct or union. `has_var_array` is its own `CT_WITH_VAR_ARRAY` flag (it
    /// propagates outwards). `member_names` are the names in its `fields`, used only when this
    /// field is anonymous (its members then become members of the outer record).
    Record {
        has_var_array: bool,
        member_names: &'a [&'a str],
    },
    /// Anything else: floats, complex, pointers, function pointers.
    Other,
}

/// One `(name, ctype, bitsize, offset)` item of the `fields` list.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec<'a> {
    /// `""` for an unnamed field (anonymous struct/union, unnamed bitfield).
    pub name: &'a str,
    /// The ctype's cname, for messages.
    pub type_name: &'a str,
    pub ty: FieldType<'a>,
    /// The ctype's size; negative if unknown (`T[]`, opaque types).
    pub size: i64,
    /// The ctype's alignment (for an array, its item's).
    pub align: usize,
    /// Negative: not a bitfield (upstream parses it as a C `int`).
    pub bitsize: i32,
    /// Negative: computed here. `>= 0`: the offset the C compiler gave (API mode).
    pub offset: i64,
}

impl<'a> FieldSpec<'a> {
    /// A plain field: not a bitfield, offset computed.
    pub fn new(
        name: &'a str,
        type_name: &'a str,
        ty: FieldType<'a>,
        size: i64,
        align: usize,
    ) -> Self {
        FieldSpec {
            name,
            type_name,
            ty,
            size,
            align,
            bitsize: -1,
            offset: -1,
        }
    }
    /// A field of a primitive type.
    pub fn primitive(name: &'a str, p: &'a Primitive) -> Self {
        let ty = match p.kind {
            PrimKind::Float | PrimKind::LongDouble | PrimKind::Complex => FieldType::Other,
            _ => FieldType::Integer,
        };
        Self::new(name, p.name, ty, p.size as i64, p.align)
    }
    /// The same field declared `: bits`.
    pub fn bits(self, bitsize: i32) -> Self {
        FieldSpec { bitsize, ..self }
    }
    /// The same field at an offset given by the C compiler.
    pub fn at(self, offset: i64) -> Self {
        FieldSpec { offset, ..self }
    }
}

/// The record being completed and the keyword arguments of `complete_struct_or_union`.
#[derive(Clone, Copy, Debug)]
pub struct RecordSpec<'a> {
    /// The record's cname (`"struct foo"`), for messages.
    pub name: &'a str,
    pub is_union: bool,
    /// Negative: computed. Otherwise the size the C compiler gave.
    pub totalsize: i64,
    /// Negative: computed. Otherwise the alignment the C compiler gave.
    pub totalalign: i32,
    /// `SF_*` bits; missing bitfield-style and endianness bits default to GCC x86, little endian.
    pub sflags: u32,
    /// `#pragma pack(N)`; `<= 0` means not given. Implies `SF_PACKED`-style checks.
    pub pack: i32,
}

impl<'a> RecordSpec<'a> {
    /// A struct or union with every keyword argument left at its default.
    pub fn new(name: &'a str, is_union: bool) -> Self {
        RecordSpec {
            name,
            is_union,
            totalsize: -1,
            totalalign: -1,
            sflags: 0,
            pack: 0,
        }
    }
}

/// Whether and how a field appears in the record's `fields`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldListing {
    /// Listed under its own name (possibly `""` for an unnamed non-bitfield field).
    Listed,
    /// Not listed: an unnamed bitfield (including `: 0`).
    Omitted,
    /// An anonymous struct/union: its members are listed instead, shifted by `offset`.
    ExpandAnonymous,
}

/// Where one field goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldPlacement {
    /// Byte offset. For a bitfield, the start of the storage unit (of the field's type) that
    /// holds it.
    pub offset: usize,
    /// For a bitfield, the shift of its lowest bit inside the storage unit read as an integer of
    /// the field's type; otherwise `BS_REGULAR` or `BS_EMPTY_ARRAY`.
    pub bitshift: i32,
    /// The bit width, or -1 if not a bitfield.
    pub bitsize: i32,
    pub listing: FieldListing,
    /// Upstream's `BF_IGNORE_IN_CTOR`: set on every union member but the first.
    pub ignore_in_ctor: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordLayout {
    /// One per input field, in the same order.
    pub fields: Vec<FieldPlacement>,
    pub size: usize,
    pub align: usize,
    /// `CT_WITH_VAR_ARRAY`: ends with `T[]`, or holds a struct that does (at any depth).
    pub has_var_array: bool,
    /// `CT_CUSTOM_FIELD_POS`: the C compiler's offsets/size differ from the cdef's, or the record
    /// has an anonymous struct/union member. Such records cannot be passed by value.
    pub custom_field_pos: bool,
    /// `CT_WITH_PACKED_CHANGE`: packing moved some field. Cannot be passed by value (libffi).
    pub with_packed_change: bool,
}

/// The Python exception upstream raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutErrorKind {
    TypeError,
    KeyError,
    NotImplementedError,
    /// `ffi.error` (`_cffi_backend.FFIError`).
    FfiError,
    OverflowError,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutError {
    pub kind: LayoutErrorKind,
    pub message: String,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for LayoutError {}

fn err<T>(kind: LayoutErrorKind, message: String) -> Result<T, LayoutError> {
    Err(LayoutError { kind, message })
}

/// Adds the defaults for the target (x86-64 Linux) to `sflags`: GCC x86 bitfields unless a
/// bitfield style is given, little endian unless an endianness is given.
pub fn complete_sflags(mut sflags: u32) -> u32 {
    if sflags & (SF_MSVC_BITFIELDS | SF_GCC_ARM_BITFIELDS | SF_GCC_X86_BITFIELDS) == 0 {
        sflags |= SF_GCC_X86_BITFIELDS;
    }
    if sflags & (SF_GCC_BIG_ENDIAN | SF_GCC_LITTLE_ENDIAN) == 0 {
        sflags |= SF_GCC_LITTLE_ENDIAN;
    }
    sflags
}

/// Compares a value the cdef implies with the one the C compiler gave. Equal: `Ok(false)`.
/// Different: `Ok(true)` (the record gets `custom_field_pos`), or, under `SF_STD_FIELD_POS`
/// (the cdef claimed to be exact), an `ffi.error`. `what` is e.g. `wrong offset for field 'x'`.
pub fn detect_custom_layout(
    record_name: &str,
    sflags: u32,
    cdef_value: i64,
    compiler_value: i64,
    what: &str,
) -> Result<bool, LayoutError> {
    if cdef_value == compiler_value {
        return Ok(false);
    }
    if sflags & SF_STD_FIELD_POS != 0 {
        return err(
            LayoutErrorKind::FfiError,
            format!(
                "{record_name}: {what} (cdef says {cdef_value}, but C compiler says \
                 {compiler_value}). fix it or use \"...;\" as the last field in the cdef for \
                 {record_name} to make it flexible"
            ),
        );
    }
    Ok(true)
}

/// The layout rules selected by `sflags` and `pack`.
struct Rules {
    sflags: u32,
    /// MSVC bitfield placement (and MSVC's `: 0`).
    msvc: bool,
    /// GCC on ARM: every bitfield, even unnamed or `: 0`, raises the record's alignment.
    arm: bool,
    big_endian: bool,
    /// `SF_PACKED` or `pack=N`: GCC refuses some bitfields (see `place_gcc_bitfield`).
    packed: bool,
    /// The cap on any field's alignment.
    pack: i128,
}

impl Rules {
    fn new(spec: &RecordSpec) -> Rules {
        let mut sflags = complete_sflags(spec.sflags);
        let pack = if sflags & SF_PACKED != 0 {
            1
        } else if spec.pack <= 0 {
            SF_DEFAULT_PACKING
        } else {
            sflags |= SF_PACKED;
            spec.pack as i128
        };
        Rules {
            sflags,
            msvc: sflags & SF_MSVC_BITFIELDS != 0,
            arm: sflags & SF_GCC_ARM_BITFIELDS != 0,
            big_endian: sflags & SF_GCC_BIG_ENDIAN != 0,
            packed: sflags & SF_PACKED != 0,
            pack,
        }
    }

    /// Whether a field's alignment counts towards the record's. GCC x86 ignores unnamed
    /// bitfields, MSVC ignores `: 0`, GCC ARM counts them all.
    fn field_aligns_record(&self, f: &FieldSpec) -> bool {
        if f.bitsize < 0 || self.arm {
            true
        } else if self.msvc {
            f.bitsize > 0
        } else {
            !f.name.is_empty()
        }
    }
}

/// Rounds `x` up with the usual mask trick. Alignments are powers of two in practice; for any
/// other value (e.g. `pack=3`) this gives the same result as upstream's identical arithmetic.
fn align_up(x: i128, align: i128) -> i128 {
    (x + align - 1) & !(align - 1)
}

fn align_down(x: i128, align: i128) -> i128 {
    x & !(align - 1)
}

/// An MSVC storage unit that bitfields are being packed into.
#[derive(Clone, Copy)]
struct MsvcUnit {
    /// Size of the declared type that opened it; only bitfields of the same size share it.
    size: i128,
    free_bits: i128,
}

/// The running position. Offsets are computed in `i128` so that nothing can overflow before
/// the final range check.
#[derive(Default)]
struct Cursor {
    byte: i128,
    /// Bits already used in `byte` (0..8); only GCC bitfields leave this non-zero.
    bit: i128,
    /// The furthest byte reached so far, rounded up (upstream's `byteoffsetmax`).
    end: i128,
    msvc_unit: Option<MsvcUnit>,
}

impl Cursor {
    /// The first whole byte not (partly) used.
    fn next_byte(&self) -> i128 {
        self.byte + (self.bit > 0) as i128
    }

    fn skip_to_byte(&mut self, byte: i128) {
        self.byte = byte;
        self.bit = 0;
    }
}

/// The record-wide facts collected while placing fields.
struct Builder<'s, 'a> {
    spec: &'s RecordSpec<'a>,
    rules: Rules,
    cur: Cursor,
    align: i128,
    names: HashSet<&'a str>,
    has_var_array: bool,
    custom_field_pos: bool,
    with_packed_change: bool,
}

/// Computes the layout of a struct or union, or the error upstream's
/// `complete_struct_or_union` raises for it.
pub fn layout_record(spec: &RecordSpec, fields: &[FieldSpec]) -> Result<RecordLayout, LayoutError> {
    let mut b = Builder {
        spec,
        rules: Rules::new(spec),
        cur: Cursor::default(),
        align: 1,
        names: HashSet::new(),
        has_var_array: false,
        custom_field_pos: false,
        with_packed_change: false,
    };
    let mut placements = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        placements.push(b.place_field(f, i, i + 1 == fields.len())?);
    }
    b.finish(placements)
}

impl<'s, 'a> Builder<'s, 'a> {
    fn place_field(
        &mut self,
        f: &FieldSpec<'a>,
        index: usize,
        is_last: bool,
    ) -> Result<FieldPlacement, LayoutError> {
        self.check_size(f, is_last)?;
        if self.spec.is_union {
            // Every member starts at offset 0 (see the module doc for the MSVC unit reset).
            self.cur = Cursor {
                end: self.cur.end,
                ..Cursor::default()
            };
        }
        let natural_align = f.align as i128;
        let align = natural_align.min(self.rules.pack);
        if self.rules.field_aligns_record(f) && align > self.align {
            self.align = align;
        }
        let (offset, bitshift, listing) = if f.bitsize < 0 {
            self.place_regular(f, align, natural_align)?
        } else {
            self.place_bitfield(f, align)?
        };
        self.cur.end = self.cur.end.max(self.cur.next_byte());
        Ok(FieldPlacement {
            // Never negative; values too large are caught in `finish`.
            offset: offset.min(usize::MAX as i128) as usize,
            bitshift,
            bitsize: f.bitsize.max(-1),
            listing,
            ignore_in_ctor: self.spec.is_union && index > 0,
        })
    }

    /// Only a trailing `T[]` (or one placed by the C compiler) may have an unknown size.
    fn check_size(&mut self, f: &FieldSpec, is_last: bool) -> Result<(), LayoutError> {
        if f.size < 0 {
            let is_array = matches!(f.ty, FieldType::Array { .. });
            // Upstream tests `offset != -1` here but `offset >= 0` everywhere else.
            if is_array && f.bitsize < 0 && (is_last || f.offset != -1) {
                self.has_var_array = true;
                return Ok(());
            }
            return err(
                LayoutErrorKind::TypeError,
                format!(
                    "field '{}.{}' has ctype '{}' of unknown size",
                    self.spec.name, f.name, f.type_name
                ),
            );
        }
        if let FieldType::Record {
            has_var_array: true,
            ..
        } = f.ty
        {
            // GCC accepts such a struct anywhere, not only last, so no position check here.
            self.has_var_array = true;
        }
        Ok(())
    }

    fn place_regular(
        &mut self,
        f: &FieldSpec<'a>,
        align: i128,
        natural_align: i128,
    ) -> Result<(i128, i32, FieldListing), LayoutError> {
        let bitshift = match f.ty {
            FieldType::Array { length } if length <= 0 => BS_EMPTY_ARRAY,
            _ => BS_REGULAR,
        };
        let start = self.cur.next_byte();
        let offset = align_up(start, align);
        if offset != align_up(start, natural_align) {
            self.with_packed_change = true;
        }
        self.cur.skip_to_byte(offset);
        if f.offset >= 0 {
            let what = format!("wrong offset for field '{}'", f.name);
            let computed = offset.min(i64::MAX as i128) as i64;
            if detect_custom_layout(self.spec.name, self.rules.sflags, computed, f.offset, &what)? {
                self.custom_field_pos = true;
            }
            self.cur.skip_to_byte(f.offset as i128);
        }
        let offset = self.cur.byte;
        let listing = match f.ty {
            FieldType::Record { member_names, .. } if f.name.is_empty() => {
                for name in member_names {
                    self.add_name(name)?;
                }
                // Calls by value would lose track of the nesting.
                self.custom_field_pos = true;
                FieldListing::ExpandAnonymous
            }
            _ => {
                self.add_name(f.name)?;
                FieldListing::Listed
            }
        };
        if f.size >= 0 {
            self.cur.byte += f.size as i128;
        }
        self.cur.msvc_unit = None;
        Ok((offset, bitshift, listing))
    }

    fn place_bitfield(
        &mut self,
        f: &FieldSpec<'a>,
        align: i128,
    ) -> Result<(i128, i32, FieldListing), LayoutError> {
        let (rec, name) = (self.spec.name, f.name);
        if f.offset >= 0 {
            return err(
                LayoutErrorKind::TypeError,
                format!("field '{rec}.{name}' is a bitfield, but a fixed offset is specified"),
            );
        }
        if f.ty != FieldType::Integer {
            return err(
                LayoutErrorKind::TypeError,
                format!(
                    "field '{rec}.{name}' declared as '{}' cannot be a bit field",
                    f.type_name
                ),
            );
        }
        let bits = f.bitsize as i128;
        let type_bits = 8 * f.size as i128;
        if bits > type_bits {
            return err(
                LayoutErrorKind::TypeError,
                format!(
                    "bit field '{rec}.{name}' is declared '{}:{}', which exceeds the width of the type",
                    f.type_name, f.bitsize
                ),
            );
        }
        if bits == 0 {
            return self.place_zero_width(f, align);
        }
        let (offset, mut shift) = if self.rules.msvc {
            self.place_msvc_bitfield(f.size as i128, bits, align)
        } else {
            self.place_gcc_bitfield(f, bits, align)?
        };
        if self.rules.big_endian {
            shift = type_bits - bits - shift;
        }
        let listing = if name.is_empty() {
            FieldListing::Omitted
        } else {
            self.add_name(name)?;
            FieldListing::Listed
        };
        Ok((offset, shift as i32, listing))
    }

    /// `T : 0`: GCC moves on to the next `T`-aligned position (if not already there); MSVC only
    /// closes the current storage unit.
    fn place_zero_width(
        &mut self,
        f: &FieldSpec,
        align: i128,
    ) -> Result<(i128, i32, FieldListing), LayoutError> {
        if !f.name.is_empty() {
            return err(
                LayoutErrorKind::TypeError,
                format!("field '{}.{}' is declared with :0", self.spec.name, f.name),
            );
        }
        if !self.rules.msvc {
            let mut unit = align_down(self.cur.byte, align);
            if self.cur.next_byte() > unit {
                unit += align;
            }
            self.cur.skip_to_byte(unit);
        }
        self.cur.msvc_unit = None;
        Ok((self.cur.byte, 0, FieldListing::Omitted))
    }

    /// GCC: the bitfield goes right after the previous bits if it fits entirely inside one
    /// aligned unit of its type; otherwise it starts the next such unit. Returns the unit's
    /// offset and the little-endian shift inside it.
    fn place_gcc_bitfield(
        &mut self,
        f: &FieldSpec,
        bits: i128,
        align: i128,
    ) -> Result<(i128, i128), LayoutError> {
        let mut unit = align_down(self.cur.byte, align);
        let used = (self.cur.byte - unit) * 8 + self.cur.bit;
        let shift = if used + bits <= 8 * f.size as i128 {
            used
        } else {
            if self.rules.packed && used % 8 != 0 {
                // Packed GCC lets the field straddle units, which a (unit, shift) can't describe.
                return err(
                    LayoutErrorKind::NotImplementedError,
                    format!(
                        "with 'packed', gcc would compile field '{}.{}' to reuse some bits in \
                         the previous field",
                        self.spec.name, f.name
                    ),
                );
            }
            unit += align;
            self.cur.skip_to_byte(unit);
            0
        };
        let bit = self.cur.bit + bits;
        self.cur.byte += bit / 8;
        self.cur.bit = bit % 8;
        Ok((unit, shift))
    }

    /// MSVC: a bitfield occupies a whole unit of its type, shared only with the bitfields right
    /// before it if they have a type of the same size and there are enough free bits left.
    fn place_msvc_bitfield(&mut self, size: i128, bits: i128, align: i128) -> (i128, i128) {
        let shift = match &mut self.cur.msvc_unit {
            Some(unit) if unit.size == size && unit.free_bits >= bits => {
                let shift = 8 * size - unit.free_bits;
                unit.free_bits -= bits;
                shift
            }
            _ => {
                let start = align_up(self.cur.next_byte(), align);
                self.cur.skip_to_byte(start + size);
                self.cur.msvc_unit = Some(MsvcUnit {
                    size,
                    free_bits: 8 * size - bits,
                });
                0
            }
        };
        (self.cur.byte - size, shift)
    }

    /// Each name may be listed once; anonymous records bring their members' names.
    fn add_name(&mut self, name: &'a str) -> Result<(), LayoutError> {
        if self.names.insert(name) {
            return Ok(());
        }
        err(
            LayoutErrorKind::KeyError,
            format!("duplicate field name '{name}'"),
        )
    }

    /// The total size (rounded up to the alignment, never 0) and alignment, checked against the
    /// ones the C compiler gave, if any.
    fn finish(mut self, fields: Vec<FieldPlacement>) -> Result<RecordLayout, LayoutError> {
        let rec = self.spec.name;
        let end = self.cur.end;
        let aligned = align_up(end, self.align).max(1);
        if aligned > i64::MAX as i128 {
            return err(
                LayoutErrorKind::OverflowError,
                format!("{rec}: size would overflow a ssize_t"),
            );
        }
        let (aligned, end) = (aligned as i64, end as i64);
        let sflags = self.rules.sflags;

        let size = if self.spec.totalsize < 0 {
            aligned
        } else {
            let given = self.spec.totalsize;
            self.custom_field_pos |=
                detect_custom_layout(rec, sflags, aligned, given, "wrong total size")?;
            if given < end {
                return err(
                    LayoutErrorKind::TypeError,
                    format!(
                        "{rec} cannot be of size {given}: there are fields at least up to {end}"
                    ),
                );
            }
            given
        };
        let align = if self.spec.totalalign < 0 {
            self.align as i64
        } else {
            let given = self.spec.totalalign as i64;
            let computed = self.align as i64;
            self.custom_field_pos |=
                detect_custom_layout(rec, sflags, computed, given, "wrong total alignment")?;
            given
        };
        Ok(RecordLayout {
            fields,
            size: size as usize,
            align: align as usize,
            has_var_array: self.has_var_array,
            custom_field_pos: self.custom_field_pos,
            with_packed_change: self.with_packed_change,
        })
    }
}
