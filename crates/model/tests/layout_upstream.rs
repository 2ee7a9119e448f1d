//! Cases from upstream cffi 2.0.0's tests: src/c/test_c.py, testing/cffi0/backend_tests.py,
//! testing/cffi1/test_recompiler.py and test_verify1.py, and one test per error upstream's
//! `complete_struct_or_union` raises.

mod common;

use common::*;
use model::layout::*;
use LayoutErrorKind::*;

const REG: i32 = BS_REGULAR;

#[test]
fn complete_struct() {
    let l = strukt(&[f("a1", "long"), f("a2", "char"), f("a3", "short")]);
    assert_eq!(places(&l), [(0, REG, -1), (8, REG, -1), (10, REG, -1)]);
    assert_eq!((l.size, l.align), (16, 8));
    assert!(l
        .fields
        .iter()
        .all(|p| p.listing == FieldListing::Listed && !p.ignore_in_ctor));
    assert!(!l.has_var_array && !l.custom_field_pos && !l.with_packed_change);
}

#[test]
fn complete_union() {
    let l = union(&[f("a1", "long"), f("a2", "char")]);
    assert_eq!(offsets(&l), [0, 0]);
    assert_eq!((l.size, l.align), (8, 8));
    assert_eq!(
        l.fields
            .iter()
            .map(|p| p.ignore_in_ctor)
            .collect::<Vec<_>>(),
        [false, true]
    );
}

#[test]
fn struct_with_bitfields() {
    let l = strukt(&[
        f("a1", "long").bits(1),
        f("a2", "long").bits(2),
        f("a3", "long").bits(3),
        f("a4", "long").bits(64 - 5),
    ]);
    assert_eq!(places(&l), [(0, 0, 1), (0, 1, 2), (0, 3, 3), (8, 0, 59)]);
    assert_eq!((l.size, l.align), (16, 8));
}

/// Stores `value` in a bitfield the way cffi does: read the unit as a native (little-endian)
/// integer of the field's type, replace the bits, write it back.
fn store(buf: &mut [u8], p: &FieldPlacement, unit_size: usize, value: i64) {
    let unit = &mut buf[p.offset..p.offset + unit_size];
    let mut raw = [0u8; 8];
    raw[..unit_size].copy_from_slice(unit);
    let mut word = u64::from_le_bytes(raw);
    let mask = ((1u64 << p.bitsize) - 1) << p.bitshift;
    word = (word & !mask) | (((value as u64) << p.bitshift) & mask);
    unit.copy_from_slice(&word.to_le_bytes()[..unit_size]);
}

/// `_test_bitfield_details(flag)` from test_c.py.
fn bitfield_details(flag: u32) {
    let msvc = flag & SF_MSVC_BITFIELDS != 0;
    let fields = [
        f("a", "char"),
        f("b1", "int").bits(9),
        f("b2", "unsigned int").bits(7),
        f("c", "char"),
    ];
    let l = with_flags(flag, 0, &fields).unwrap();
    if msvc {
        assert_eq!((l.fields[3].offset, l.size), (8, 12));
    } else {
        assert_eq!((l.fields[3].offset, l.size), (3, 4));
    }
    assert_eq!(l.align, 4);
    let mut raw = vec![0u8; l.size];
    raw[l.fields[0].offset] = b'A';
    store(&mut raw, &l.fields[1], 4, -201);
    store(&mut raw, &l.fields[2], 4, 99);
    raw[l.fields[3].offset] = 0x9D;
    let expected: &[u8] = if msvc {
        b"A\x00\x00\x007\xC7\x00\x00\x9D\x00\x00\x00"
    } else if flag & SF_GCC_LITTLE_ENDIAN != 0 {
        b"A7\xC7\x9D"
    } else {
        b"A\xE3\x9B\x9D"
    };
    assert_eq!(raw, expected);

    let l = with_flags(
        flag,
        0,
        &[f("a", "char"), f("", "short").bits(9), f("c", "char")],
    )
    .unwrap();
    assert_eq!(l.fields[2].offset, 4);
    assert_eq!(l.fields[1].listing, FieldListing::Omitted);
    if flag & SF_GCC_X86_BITFIELDS != 0 {
        assert_eq!((l.size, l.align), (5, 1));
    } else {
        assert_eq!((l.size, l.align), (6, 2));
    }

    let fields = [
        f("a", "char"),
        f("", "int").bits(0),
        f("", "int").bits(0),
        f("c", "char"),
    ];
    let l = with_flags(flag, 0, &fields).unwrap();
    let got = (l.fields[3].offset, l.size, l.align);
    if msvc {
        assert_eq!(got, (1, 2, 1));
    } else if flag & SF_GCC_X86_BITFIELDS != 0 {
        assert_eq!(got, (4, 5, 1));
    } else {
        assert_eq!(got, (4, 8, 4));
    }
}

#[test]
fn bitfield_as_x86_gcc() {
    bitfield_details(SF_GCC_X86_BITFIELDS | SF_GCC_LITTLE_ENDIAN);
}

#[test]
fn bitfield_as_msvc() {
    bitfield_details(SF_MSVC_BITFIELDS | SF_GCC_LITTLE_ENDIAN);
}

#[test]
fn bitfield_as_arm_gcc() {
    bitfield_details(SF_GCC_ARM_BITFIELDS | SF_GCC_LITTLE_ENDIAN);
}

#[test]
fn bitfield_as_ppc_gcc() {
    bitfield_details(SF_GCC_X86_BITFIELDS | SF_GCC_BIG_ENDIAN);
}

#[test]
fn default_flags_are_gcc_x86_little_endian() {
    assert_eq!(
        complete_sflags(0),
        SF_GCC_X86_BITFIELDS | SF_GCC_LITTLE_ENDIAN
    );
    assert_eq!(
        complete_sflags(SF_MSVC_BITFIELDS),
        SF_MSVC_BITFIELDS | SF_GCC_LITTLE_ENDIAN
    );
    assert_eq!(
        complete_sflags(SF_GCC_BIG_ENDIAN),
        SF_GCC_X86_BITFIELDS | SF_GCC_BIG_ENDIAN
    );
    let fields = [
        f("a", "char"),
        f("b1", "int").bits(9),
        f("b2", "unsigned int").bits(7),
    ];
    assert_eq!(
        with_flags(0, 0, &fields),
        with_flags(SF_GCC_X86_BITFIELDS | SF_GCC_LITTLE_ENDIAN, 0, &fields)
    );
}

#[test]
fn packed() {
    for (sflags, pack) in [(SF_PACKED, 0), (0, 1)] {
        let l = with_flags(
            sflags,
            pack,
            &[f("a1", "long"), f("a2", "char"), f("a3", "short")],
        )
        .unwrap();
        assert_eq!(places(&l), [(0, REG, -1), (8, REG, -1), (9, REG, -1)]);
        assert_eq!((l.size, l.align), (11, 1));
        assert!(l.with_packed_change);
    }
    let l = with_flags(0, 2, &[f("b1", "char"), f("b2", "long")]).unwrap();
    assert_eq!(offsets(&l), [0, 2]);
    assert_eq!((l.size, l.align), (10, 2));
}

#[test]
fn packed_without_effect_is_no_packed_change() {
    let l = with_flags(SF_PACKED, 0, &[f("a", "char"), f("b", "char")]).unwrap();
    assert!(!l.with_packed_change);
    let l = with_flags(0, 8, &[f("a", "char"), f("b", "long")]).unwrap();
    assert!(!l.with_packed_change);
}

#[test]
fn packed_with_bitfields() {
    let (kind, msg) = error(with_flags(
        SF_PACKED,
        0,
        &[f("a1", "long").bits(30), f("a2", "char").bits(5)],
    ));
    assert_eq!(kind, NotImplementedError);
    assert_eq!(msg, "with 'packed', gcc would compile field 'struct foo.a2' to reuse some bits in the previous field");
    // pack=N implies the same check.
    let r = with_flags(0, 2, &[f("a1", "long").bits(30), f("a2", "char").bits(5)]);
    assert_eq!(error(r).0, NotImplementedError);
}

#[test]
fn struct_array_no_length() {
    let r = layout_record(
        &RecordSpec::new("foo", false),
        &[arr("x", "int", None), f("y", "int")],
    );
    assert_eq!(
        error(r),
        (
            TypeError,
            "field 'foo.x' has ctype 'int[]' of unknown size".into()
        )
    );

    let foo = strukt(&[f("x", "int"), arr("y", "int", None)]);
    assert_eq!(places(&foo), [(0, REG, -1), (4, BS_EMPTY_ARRAY, -1)]);
    assert_eq!(foo.size, 4);
    assert!(foo.has_var_array);

    // A struct with a varsize array may be used anywhere in another struct.
    let bar = strukt(&[rec("f", "foo", &foo, &["x", "y"]), f("n", "int")]);
    assert!(bar.has_var_array);
    assert_eq!((offsets(&bar), bar.size), (vec![0, 4], 8));
    let bar = strukt(&[f("head", "int"), rec("tail", "foo", &foo, &["x", "y"])]);
    assert!(bar.has_var_array);

    let test4 = strukt(&[arr("a", "int", Some(4))]);
    assert!(!test4.has_var_array);
    assert_eq!((test4.fields[0].bitshift, test4.size), (REG, 16));
}

#[test]
fn zero_length_array() {
    let l = strukt(&[f("x", "int"), arr("y", "long", Some(0)), f("z", "char")]);
    assert_eq!(
        places(&l),
        [(0, REG, -1), (8, BS_EMPTY_ARRAY, -1), (8, REG, -1)]
    );
    assert_eq!((l.size, l.align), (16, 8));
    assert!(!l.has_var_array);
}

#[test]
fn struct_array_no_length_explicit_position() {
    let l = strukt(&[arr("x", "int", None).at(0), f("y", "int").at(12)]);
    assert_eq!(places(&l), [(0, BS_EMPTY_ARRAY, -1), (12, REG, -1)]);
    assert_eq!(l.size, 16);
    assert!(l.has_var_array);
    assert!(l.custom_field_pos); // y is not where the cdef alone would put it
}

#[test]
fn struct_array_not_aligned() {
    let l = strukt(&[f("x", "int"), f("y", "char"), arr("z", "char", None)]);
    assert_eq!(offsets(&l), [0, 4, 5]);
    assert_eq!(l.size, 8);
}

#[test]
fn variable_length_struct() {
    let l = strukt(&[f("a1", "long"), arr("a2", "long", None)]);
    assert_eq!((l.size, l.align), (8, 8));
}

#[test]
fn sizeof_union() {
    let s = strukt(&[f("a1", "char"), f("a2", "char"), f("a3", "char")]);
    assert_eq!((s.size, s.align), (3, 1));
    let u = union(&[
        rec("s", "struct foo", &s, &["a1", "a2", "a3"]),
        f("i", "short"),
    ]);
    assert_eq!((u.size, u.align), (4, 2));
}

#[test]
fn unaligned_struct() {
    let spec = RecordSpec {
        totalsize: 5,
        totalalign: 1,
        ..RecordSpec::new("struct foo", false)
    };
    let l = layout_record(&spec, &[f("b", "int").at(1)]).unwrap();
    assert_eq!(offsets(&l), [1]);
    assert_eq!((l.size, l.align), (5, 1));
    assert!(l.custom_field_pos);
}

#[test]
fn huge_structure() {
    let l = strukt(&[arr("a1", "char", Some(i64::MAX))]);
    assert_eq!(l.size, i64::MAX as usize);
}

#[test]
fn too_huge_structure_is_an_overflow() {
    let r = strukt_result(&[arr("a1", "char", Some(i64::MAX)), f("b", "char")]);
    assert_eq!(error(r).0, OverflowError);
    let r = strukt_result(&[arr("a1", "char", Some(i64::MAX)), f("b", "short")]);
    assert_eq!(error(r).0, OverflowError);
}

fn strukt_result(fields: &[FieldSpec]) -> Result<RecordLayout, LayoutError> {
    layout_record(&RecordSpec::new("struct foo", false), fields)
}

// backend_tests.py

#[test]
fn backend_bitfield() {
    let l = strukt(&[
        f("a", "int").bits(10),
        f("b", "int").bits(20),
        f("c", "int").bits(3),
    ]);
    assert_eq!(places(&l), [(0, 0, 10), (0, 10, 20), (4, 0, 3)]);
    assert_eq!(l.size, 8);
}

#[test]
fn backend_bitfield_enum() {
    let e = FieldSpec::new("f", "foo_e", FieldType::Integer, 4, 4).bits(2);
    let l = strukt(&[e]);
    assert_eq!(places(&l), [(0, 0, 2)]);
    assert_eq!((l.size, l.align), (4, 4));
}

#[test]
fn backend_alignof() {
    let l = strukt(&[f("a", "char"), f("b", "short"), f("c", "char")]);
    assert_eq!((l.size, l.align), (6, 2));
}

#[test]
fn backend_offsetof_nested() {
    let foo = strukt(&[f("a", "int"), f("b", "int"), f("c", "int")]);
    let bar = strukt(&[
        rec("d", "struct foo", &foo, &["a", "b", "c"]),
        rec("e", "struct foo", &foo, &["a", "b", "c"]),
    ]);
    assert_eq!(offsets(&bar), [0, 12]);
}

#[test]
fn backend_nested_anonymous_struct() {
    let s = strukt(&[f("a", "int"), f("b", "int")]);
    let u = union(&[f("c", "int"), f("d", "int")]);
    let l = strukt(&[
        rec("", "struct $1", &s, &["a", "b"]),
        rec("", "union $2", &u, &["c", "d"]),
    ]);
    assert_eq!(offsets(&l), [0, 8]);
    assert_eq!(l.size, 12);
    assert!(l
        .fields
        .iter()
        .all(|p| p.listing == FieldListing::ExpandAnonymous));
    assert!(l.custom_field_pos);

    let l = union(&[
        rec("", "struct $1", &s, &["a", "b"]),
        rec("", "union $2", &u, &["c", "d"]),
    ]);
    assert_eq!((offsets(&l), l.size), (vec![0, 0], 8));
    assert!(l.fields[1].ignore_in_ctor);
}

#[test]
fn backend_nested_field_offset_align() {
    let s = strukt(&[f("a", "int"), f("b", "char")]);
    let u = union(&[f("c", "char")]);
    let l = strukt(&[
        rec("", "struct $1", &s, &["a", "b"]),
        rec("", "union $2", &u, &["c"]),
    ]);
    assert_eq!((offsets(&l), l.size), (vec![0, 8], 12));
}

#[test]
fn backend_nested_anonymous_struct_2() {
    let inner = union(&[f("c", "int"), f("d", "int")]);
    let middle = union(&[f("b", "int"), rec("", "union $1", &inner, &["c", "d"])]);
    let l = strukt(&[
        f("a", "int"),
        rec("", "union $2", &middle, &["b", "c", "d"]),
        f("e", "int"),
    ]);
    assert_eq!((offsets(&l), l.size), (vec![0, 4, 8], 12));
}

#[test]
fn backend_struct_packed() {
    let fields = [f("a", "char"), f("b", "int")];
    let cases = [
        ((0, 0), (8, 4)),
        ((SF_PACKED, 0), (5, 1)),
        ((0, 1), (5, 1)),
        ((0, 2), (6, 2)),
        ((0, 4), (8, 4)),
        ((0, 8), (8, 4)),
    ];
    for ((sflags, pack), expected) in cases {
        let l = with_flags(sflags, pack, &fields).unwrap();
        assert_eq!((l.size, l.align), expected, "sflags={sflags} pack={pack}");
    }
}

// testing/cffi1: unnamed bitfields

#[test]
fn unnamed_bitfield_1() {
    let l = strukt(&[f("", "char").bits(1)]);
    assert_eq!((l.size, l.align), (1, 1));
    assert_eq!(l.fields[0].listing, FieldListing::Omitted);
}

#[test]
fn unnamed_bitfield_2() {
    let l = strukt(&[
        f("c", "short").bits(1),
        f("", "short").bits(1),
        f("d", "short").bits(1),
        f("", "short").bits(1),
    ]);
    assert_eq!((l.size, l.align), (2, 2));
    assert_eq!(places(&l)[2], (0, 2, 1));
}

#[test]
fn unnamed_bitfield_3_and_4() {
    let b = strukt(&[f("", "char").bits(1), f("", "char").bits(1)]);
    assert_eq!(b.size, 1);
    let a = strukt(&[rec("b", "struct $1", &b, &[])]);
    assert_eq!(a.size, 1);

    let inner = strukt(&[
        f("c", "unsigned int").bits(1),
        f("", "unsigned int").bits(1),
        f("d", "unsigned int").bits(1),
        f("", "unsigned int").bits(1),
    ]);
    let a = strukt(&[rec("a", "struct $1", &inner, &["c", "d"])]);
    let b = strukt(&[rec("a", "struct A", &a, &["a"])]);
    assert_eq!((a.size, b.size), (4, 4));
}

#[test]
fn empty_struct_and_union() {
    let l = strukt(&[]);
    assert_eq!((l.size, l.align), (1, 1));
    let l = union(&[]);
    assert_eq!((l.size, l.align), (1, 1));
    // The C compiler may say 0 (e.g. ctypes): allowed, just "custom".
    let spec = RecordSpec {
        totalsize: 0,
        ..RecordSpec::new("struct foo", false)
    };
    let l = layout_record(&spec, &[]).unwrap();
    assert_eq!(l.size, 0);
    assert!(l.custom_field_pos);
}

#[test]
fn union_with_bitfields() {
    let l = union(&[f("a", "int").bits(3), f("b", "int").bits(5), f("c", "char")]);
    assert_eq!(places(&l), [(0, 0, 3), (0, 0, 5), (0, REG, -1)]);
    assert_eq!((l.size, l.align), (4, 4));
    // MSVC: each member starts afresh too (upstream would give 'b' a negative offset).
    let spec = RecordSpec {
        sflags: SF_MSVC_BITFIELDS,
        ..RecordSpec::new("union foo", true)
    };
    let l = layout_record(&spec, &[f("a", "int").bits(3), f("b", "int").bits(5)]).unwrap();
    assert_eq!(places(&l), [(0, 0, 3), (0, 0, 5)]);
}

#[test]
fn msvc_bitfield_runs() {
    // Shares a unit only with same-size types; a regular field or ':0' closes the unit.
    let fields = [
        f("a", "int").bits(3),
        f("b", "unsigned int").bits(29),
        f("c", "int").bits(1),
        f("d", "short").bits(2),
        f("", "short").bits(0),
        f("e", "short").bits(2),
        f("g", "char"),
        f("h", "char").bits(1),
    ];
    let l = with_flags(SF_MSVC_BITFIELDS, 0, &fields).unwrap();
    assert_eq!(
        places(&l),
        [
            (0, 0, 3),
            (0, 3, 29),
            (4, 0, 1),
            (8, 0, 2),
            (10, 0, 0),
            (10, 0, 2),
            (12, REG, -1),
            (13, 0, 1)
        ]
    );
    assert_eq!((l.size, l.align), (16, 4));
}

#[test]
fn big_endian_shifts() {
    let l = with_flags(
        SF_GCC_BIG_ENDIAN,
        0,
        &[f("a", "int").bits(3), f("b", "int").bits(5)],
    )
    .unwrap();
    assert_eq!(places(&l), [(0, 29, 3), (0, 24, 5)]);
}

#[test]
fn api_mode_offsets() {
    // Offsets given by the compiler are used as is; sflags=0 only records that they differ.
    let spec = RecordSpec {
        totalsize: 24,
        totalalign: 8,
        ..RecordSpec::new("struct foo", false)
    };
    let l = layout_record(&spec, &[f("a", "int").at(8), f("b", "long").at(16)]).unwrap();
    assert_eq!(offsets(&l), [8, 16]);
    assert_eq!((l.size, l.align), (24, 8));
    assert!(l.custom_field_pos);
    // The same numbers as computed: not custom.
    let spec = RecordSpec {
        totalsize: 16,
        totalalign: 8,
        sflags: SF_STD_FIELD_POS,
        ..spec
    };
    let l = layout_record(&spec, &[f("a", "int").at(0), f("b", "long").at(8)]).unwrap();
    assert!(!l.custom_field_pos);
    // Bitfields come without an offset in API mode.
    let l = layout_record(
        &RecordSpec {
            totalsize: 4,
            totalalign: 4,
            ..spec
        },
        &[f("a", "int").bits(2)],
    )
    .unwrap();
    assert_eq!(places(&l), [(0, 0, 2)]);
}

// Errors, with upstream's messages.

#[test]
fn error_wrong_offset_std_field_pos() {
    let spec = RecordSpec {
        sflags: SF_STD_FIELD_POS,
        totalsize: 8,
        totalalign: 4,
        ..RecordSpec::new("struct foo_s", false)
    };
    let r = layout_record(&spec, &[f("b", "int").at(4), f("a", "short").at(0)]);
    assert_eq!(
        error(r),
        (
            FfiError,
            "struct foo_s: wrong offset for field 'b' (cdef says 0, but C compiler says 4). \
        fix it or use \"...;\" as the last field in the cdef for struct foo_s to make it flexible"
                .into()
        )
    );
}

#[test]
fn error_wrong_total_size_and_alignment() {
    let spec = RecordSpec {
        sflags: SF_STD_FIELD_POS,
        totalsize: 24,
        totalalign: 8,
        ..RecordSpec::new("struct foo_s", false)
    };
    let fields = [
        f("x", "char").at(0),
        f("y", "int").at(4),
        f("z", "long").at(8),
    ];
    let (kind, msg) = error(layout_record(&spec, &fields));
    assert_eq!(kind, FfiError);
    assert!(
        msg.starts_with("struct foo_s: wrong total size (cdef says 16, but C compiler says 24)."),
        "{msg}"
    );

    let spec = RecordSpec {
        totalsize: 16,
        totalalign: 16,
        ..spec
    };
    let (kind, msg) = error(layout_record(&spec, &fields));
    assert_eq!(kind, FfiError);
    assert!(
        msg.starts_with(
            "struct foo_s: wrong total alignment (cdef says 8, but C compiler says 16)."
        ),
        "{msg}"
    );

    // Without SF_STD_FIELD_POS the compiler's numbers win.
    let spec = RecordSpec { sflags: 0, ..spec };
    let l = layout_record(&spec, &fields).unwrap();
    assert_eq!((l.size, l.align, l.custom_field_pos), (16, 16, true));
}

#[test]
fn error_detect_custom_layout_for_field_size() {
    // Used by the runtime in API mode before completing.
    assert_eq!(
        detect_custom_layout("struct foo_s", 0, 4, 4, "wrong size for field 'y'"),
        Ok(false)
    );
    assert_eq!(
        detect_custom_layout("struct foo_s", 0, 4, 2, "wrong size for field 'y'"),
        Ok(true)
    );
    let e = detect_custom_layout(
        "struct foo_s",
        SF_STD_FIELD_POS,
        4,
        2,
        "wrong size for field 'y'",
    )
    .unwrap_err();
    assert_eq!(e.kind, FfiError);
    assert!(e.message.starts_with(
        "struct foo_s: wrong size for field 'y' (cdef says 4, but C compiler says 2)"
    ));
}

#[test]
fn error_total_size_too_small() {
    let spec = RecordSpec {
        totalsize: 6,
        ..RecordSpec::new("struct foo", false)
    };
    let r = layout_record(&spec, &[f("a", "int"), f("b", "int")]);
    assert_eq!(
        error(r),
        (
            TypeError,
            "struct foo cannot be of size 6: there are fields at least up to 8".into()
        )
    );
}

#[test]
fn error_unknown_size() {
    let void = FieldSpec::new("v", "void", FieldType::Other, -1, 1);
    assert_eq!(
        error(strukt_result(&[void])),
        (
            TypeError,
            "field 'struct foo.v' has ctype 'void' of unknown size".into()
        )
    );
    let opaque = FieldSpec::new(
        "s",
        "struct bar",
        FieldType::Record {
            has_var_array: false,
            member_names: &[],
        },
        -1,
        1,
    );
    assert_eq!(error(strukt_result(&[opaque])).0, TypeError);
    // T[] as a bitfield is rejected by the size check.
    assert_eq!(
        error(strukt_result(&[arr("a", "int", None).bits(3)])).1,
        "field 'struct foo.a' has ctype 'int[]' of unknown size"
    );
}

#[test]
fn error_bitfield_with_fixed_offset() {
    let r = strukt_result(&[f("a", "int").bits(3).at(0)]);
    assert_eq!(
        error(r),
        (
            TypeError,
            "field 'struct foo.a' is a bitfield, but a fixed offset is specified".into()
        )
    );
}

#[test]
fn error_not_a_bitfield_type() {
    let r = strukt_result(&[f("x", "double").bits(3)]);
    assert_eq!(
        error(r),
        (
            TypeError,
            "field 'struct foo.x' declared as 'double' cannot be a bit field".into()
        )
    );
    let r = strukt_result(&[arr("x", "int", Some(2)).bits(3)]);
    assert_eq!(
        error(r).1,
        "field 'struct foo.x' declared as 'int[2]' cannot be a bit field"
    );
}

#[test]
fn error_bitfield_too_wide() {
    let r = strukt_result(&[f("x", "short").bits(17)]);
    assert_eq!(
        error(r),
        (
            TypeError,
            "bit field 'struct foo.x' is declared 'short:17', which exceeds the width of the type"
                .into()
        )
    );
    assert!(strukt_result(&[f("x", "short").bits(16)]).is_ok());
}

#[test]
fn error_named_zero_width() {
    let r = strukt_result(&[f("x", "int").bits(0)]);
    assert_eq!(
        error(r),
        (TypeError, "field 'struct foo.x' is declared with :0".into())
    );
}

#[test]
fn error_duplicate_field_name() {
    let r = strukt_result(&[f("x", "int"), f("x", "char")]);
    assert_eq!(error(r), (KeyError, "duplicate field name 'x'".into()));
    let r = strukt_result(&[f("x", "int").bits(2), f("x", "int").bits(2)]);
    assert_eq!(error(r).0, KeyError);
    // Through an anonymous struct.
    let s = strukt(&[f("x", "int")]);
    let r = strukt_result(&[f("x", "int"), rec("", "struct $1", &s, &["x"])]);
    assert_eq!(error(r), (KeyError, "duplicate field name 'x'".into()));
    // Unnamed bitfields are not listed, so they never clash.
    assert!(strukt_result(&[
        f("", "int").bits(2),
        f("", "int").bits(2),
        f("", "int").bits(0)
    ])
    .is_ok());
}

#[test]
fn errors_come_in_field_order() {
    // Upstream stops at the first failing field.
    let r = strukt_result(&[f("x", "int"), f("x", "int"), f("y", "double").bits(1)]);
    assert_eq!(error(r).0, KeyError);
    let r = strukt_result(&[f("y", "double").bits(1), f("x", "int"), f("x", "int")]);
    assert_eq!(error(r).0, TypeError);
}
