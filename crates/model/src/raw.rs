//! Reading and writing C scalars at raw addresses: integers of any size, floats, `long double`
//! (x87 80-bit extended), complex numbers. All reads and writes are unaligned-safe.
//!
//! Every function here is `unsafe`: the caller guarantees that `ptr` is valid for the access.

/// Read an integer of `size` bytes (1, 2, 4 or 8).
///
/// # Safety
/// `ptr` must be valid for reading `size` bytes.
pub unsafe fn read_int(ptr: *const u8, size: usize, signed: bool) -> i128 {
    // SAFETY: the caller guarantees `size` readable bytes at `ptr`.
    unsafe {
        match (size, signed) {
            (1, true) => ptr.cast::<i8>().read_unaligned() as i128,
            (1, false) => ptr.read() as i128,
            (2, true) => ptr.cast::<i16>().read_unaligned() as i128,
            (2, false) => ptr.cast::<u16>().read_unaligned() as i128,
            (4, true) => ptr.cast::<i32>().read_unaligned() as i128,
            (4, false) => ptr.cast::<u32>().read_unaligned() as i128,
            (8, true) => ptr.cast::<i64>().read_unaligned() as i128,
            (8, false) => ptr.cast::<u64>().read_unaligned() as i128,
            _ => 0,
        }
    }
}

/// Write the low `size` bytes of `value`.
///
/// # Safety
/// `ptr` must be valid for writing `size` bytes.
pub unsafe fn write_int(ptr: *mut u8, size: usize, value: i128) {
    // SAFETY: the caller guarantees `size` writable bytes at `ptr`.
    unsafe {
        match size {
            1 => ptr.write(value as u8),
            2 => ptr.cast::<u16>().write_unaligned(value as u16),
            4 => ptr.cast::<u32>().write_unaligned(value as u32),
            8 => ptr.cast::<u64>().write_unaligned(value as u64),
            _ => {}
        }
    }
}

/// Whether `value` is representable in an integer of `size` bytes.
pub fn int_fits(value: i128, size: usize, signed: bool) -> bool {
    let bits = 8 * size as u32;
    if signed {
        let min = -(1i128 << (bits - 1));
        let max = (1i128 << (bits - 1)) - 1;
        (min..=max).contains(&value)
    } else {
        (0..=((1i128 << bits) - 1)).contains(&value)
    }
}

/// # Safety
/// `ptr` must be valid for reading `size` (4 or 8) bytes.
pub unsafe fn read_float(ptr: *const u8, size: usize) -> f64 {
    // SAFETY: the caller guarantees `size` readable bytes at `ptr`.
    unsafe {
        match size {
            4 => ptr.cast::<f32>().read_unaligned() as f64,
            _ => ptr.cast::<f64>().read_unaligned(),
        }
    }
}

/// # Safety
/// `ptr` must be valid for writing `size` (4 or 8) bytes.
pub unsafe fn write_float(ptr: *mut u8, size: usize, value: f64) {
    // SAFETY: the caller guarantees `size` writable bytes at `ptr`.
    unsafe {
        match size {
            4 => ptr.cast::<f32>().write_unaligned(value as f32),
            _ => ptr.cast::<f64>().write_unaligned(value),
        }
    }
}

/// Read an x87 80-bit `long double` (stored in 16 bytes) as the nearest f64.
///
/// # Safety
/// `ptr` must be valid for reading 10 bytes.
pub unsafe fn read_long_double(ptr: *const u8) -> f64 {
    let mut b = [0u8; 10];
    // SAFETY: the caller guarantees 10 readable bytes.
    unsafe { std::ptr::copy_nonoverlapping(ptr, b.as_mut_ptr(), 10) };
    extended_to_f64(b)
}

/// Write `value` as an x87 80-bit `long double`; the 6 padding bytes are zeroed.
///
/// # Safety
/// `ptr` must be valid for writing 16 bytes.
pub unsafe fn write_long_double(ptr: *mut u8, value: f64) {
    let b = f64_to_extended(value);
    // SAFETY: the caller guarantees 16 writable bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(b.as_ptr(), ptr, 10);
        std::ptr::write_bytes(ptr.add(10), 0, 6);
    }
}

fn f64_to_extended(v: f64) -> [u8; 10] {
    let bits = v.to_bits();
    let sign = (bits >> 63) as u16;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (e, m): (u16, u64) = if exp == 0 && frac == 0 {
        (0, 0)
    } else if exp == 0x7ff {
        (0x7fff, (1u64 << 63) | (frac << 11))
    } else if exp == 0 {
        // Subnormal double: normalise, extended has the range for it.
        let shift = frac.leading_zeros() - 11;
        let m = frac << (shift + 11);
        ((1 - 1023 + 16383 - shift as i32) as u16, m)
    } else {
        ((exp - 1023 + 16383) as u16, (1u64 << 63) | (frac << 11))
    };
    let mut out = [0u8; 10];
    out[..8].copy_from_slice(&m.to_le_bytes());
    out[8..].copy_from_slice(&((sign << 15) | e).to_le_bytes());
    out
}

fn extended_to_f64(b: [u8; 10]) -> f64 {
    let m = u64::from_le_bytes(b[..8].try_into().unwrap());
    let se = u16::from_le_bytes([b[8], b[9]]);
    let sign = if se & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = (se & 0x7fff) as i32;
    if e == 0 && m == 0 {
        return sign * 0.0;
    }
    if e == 0x7fff {
        return if m << 1 == 0 { sign * f64::INFINITY } else { f64::NAN };
    }
    // value = m * 2^(e - 16383 - 63)
    sign * ldexp(m as f64, e - 16383 - 63)
}

/// Whether the x87 `long double` at `ptr` is zero (also true of -0.0; values too small for a
/// `double` are not zero).
///
/// # Safety
/// `ptr` must be valid for reading 8 bytes.
pub unsafe fn long_double_is_zero(ptr: *const u8) -> bool {
    // SAFETY: the caller guarantees 8 readable bytes (the significand, which holds the explicit
    // integer bit: all zero only for zero).
    unsafe { ptr.cast::<u64>().read_unaligned() == 0 }
}

/// The x87 `long double` at `ptr` written as C's `printf("%.6LE")` does (what cffi shows in the
/// repr of such a cdata): also the values beyond `double`'s range, like `1.000000E-500`.
///
/// # Safety
/// `ptr` must be valid for reading 10 bytes.
pub unsafe fn format_long_double_e(ptr: *const u8) -> String {
    let mut b = [0u8; 10];
    // SAFETY: the caller guarantees 10 readable bytes.
    unsafe { std::ptr::copy_nonoverlapping(ptr, b.as_mut_ptr(), 10) };
    let m = u64::from_le_bytes(b[..8].try_into().unwrap());
    let se = u16::from_le_bytes([b[8], b[9]]);
    let sign = if se & 0x8000 != 0 { "-" } else { "" };
    let e = (se & 0x7fff) as i32;
    if e == 0x7fff {
        return if m << 1 == 0 { format!("{sign}INF") } else { "NAN".into() };
    }
    if m == 0 {
        return format!("{sign}0.000000E+00");
    }
    let as_f64 = extended_to_f64(b);
    let (mut digits, mut exp10) = if as_f64.is_finite() && as_f64.abs() >= f64::MIN_POSITIVE {
        // Within double's normal range: its 53 bits are plenty for 7 significant digits.
        let t = format!("{:.6E}", as_f64.abs());
        let (d, x) = t.split_once('E').unwrap_or((&t, "0"));
        (d.to_string(), x.parse::<i32>().unwrap_or(0))
    } else {
        // value = m * 2^e2: its decimal exponent and leading digits from logarithms, exact
        // enough (about 12 digits) for the 7 shown.
        let e2 = if e == 0 { 1 } else { e } - 16383 - 63;
        let log10 = (m as f64).log10() + e2 as f64 * std::f64::consts::LOG10_2;
        let exp10 = log10.floor();
        let lead = 10f64.powf(log10 - exp10);
        (format!("{lead:.6}"), exp10 as i32)
    };
    if digits.starts_with("10") {
        // rounding carried into a new digit
        digits = "1.000000".into();
        exp10 += 1;
    }
    format!("{sign}{digits}E{}{:02}", if exp10 < 0 { '-' } else { '+' }, exp10.abs())
}

/// `x * 2^exp`, scaling in steps so that no intermediate power of two under- or overflows.
fn ldexp(mut x: f64, mut exp: i32) -> f64 {
    while exp > 1000 {
        x *= 2f64.powi(1000);
        exp -= 1000;
    }
    while exp < -1000 {
        x *= 2f64.powi(-1000);
        exp += 1000;
    }
    x * 2f64.powi(exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld_repr(bytes: [u8; 10]) -> String {
        let mut b = [0u8; 16];
        b[..10].copy_from_slice(&bytes);
        // SAFETY: 16 readable bytes.
        unsafe { format_long_double_e(b.as_ptr()) }
    }

    fn extended(sign: bool, e: u16, m: u64) -> [u8; 10] {
        let mut b = [0u8; 10];
        b[..8].copy_from_slice(&m.to_le_bytes());
        b[8..].copy_from_slice(&((e & 0x7fff) | if sign { 0x8000 } else { 0 }).to_le_bytes());
        b
    }

    #[test]
    fn long_double_repr_like_printf() {
        assert_eq!(ld_repr(f64_to_extended(1.5)), "1.500000E+00");
        assert_eq!(ld_repr(f64_to_extended(-1e-300)), "-1.000000E-300");
        assert_eq!(ld_repr(f64_to_extended(0.0)), "0.000000E+00");
        assert_eq!(ld_repr(f64_to_extended(123456789.0)), "1.234568E+08");
        // beyond double's range: 2^-1661 and 2^16383 (values from Python's decimal module)
        assert_eq!(ld_repr(extended(false, 16383 - 1661, 1 << 63)), "9.753875E-501");
        assert_eq!(ld_repr(extended(false, 0x7ffe, 1 << 63)), "5.948657E+4931");
        assert_eq!(ld_repr(extended(true, 0x7fff, 1 << 63)), "-INF");
    }

    #[test]
    fn long_double_roundtrip() {
        for v in [0.0, -0.0, 1.0, -2.5, 1e300, 1e-300, 5e-324, f64::MAX, f64::INFINITY] {
            assert_eq!(extended_to_f64(f64_to_extended(v)).to_bits(), v.to_bits(), "{v}");
        }
        assert!(extended_to_f64(f64_to_extended(f64::NAN)).is_nan());
    }

    #[test]
    fn fits() {
        assert!(int_fits(127, 1, true));
        assert!(!int_fits(128, 1, true));
        assert!(int_fits(255, 1, false));
        assert!(!int_fits(-1, 1, false));
        assert!(int_fits(u64::MAX as i128, 8, false));
    }
}
