//! Integer and character literals of C, as values. Nothing here panics: too large is an error.

/// Why a literal was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LiteralError {
    /// Not an integer literal at all (`1.5`, `08`, `0x`, `12abc`).
    Invalid,
    /// Does not fit in an i128.
    TooLarge,
}

/// Parses a C integer literal: decimal, hex (`0x`), octal (leading `0`) or binary (`0b`), with
/// any mix of `u`/`l` suffixes in any case (upstream strips them all alike). No sign.
pub(crate) fn parse_int(text: &str) -> Result<i128, LiteralError> {
    // Suffixes stripped bytewise (a char pattern decodes UTF-8 backwards); they are ASCII, so
    // the cut is on a char boundary.
    let mut end = text.len();
    while end > 0 && matches!(text.as_bytes()[end - 1], b'u' | b'U' | b'l' | b'L') {
        end -= 1;
    }
    let digits = &text[..end];
    let b = digits.as_bytes();
    let (radix, body) = if b.len() > 1 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') {
        (16, &digits[2..])
    } else if b.len() > 1 && b[0] == b'0' && (b[1] == b'b' || b[1] == b'B') {
        (2, &digits[2..])
    } else if b.len() > 1 && b[0] == b'0' {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() {
        return Err(LiteralError::Invalid);
    }
    // Up to 15 digits cannot overflow 64 bits in any radix up to 16: no checks on the way (a
    // header has hundreds of short literals).
    if body.len() <= 15 {
        let mut v: u64 = 0;
        for &c in body.as_bytes() {
            v = v * radix as u64 + digit(c, radix)? as u64;
        }
        return Ok(v as i128);
    }
    // Most longer literals fit in 64 bits too: accumulate there, and in 128 bits only from the
    // digit that would overflow it.
    let mut small: u64 = 0;
    let mut rest = body.as_bytes();
    while let Some((&c, tail)) = rest.split_first() {
        let d = digit(c, radix)? as u64;
        match small.checked_mul(radix as u64).and_then(|v| v.checked_add(d)) {
            Some(v) => small = v,
            None => break,
        }
        rest = tail;
    }
    let mut value = small as i128;
    for &c in rest {
        let d = digit(c, radix)? as i128;
        value = value
            .checked_mul(radix as i128)
            .and_then(|v| v.checked_add(d))
            .ok_or(LiteralError::TooLarge)?;
    }
    Ok(value)
}

/// The value of digit `c` in base `radix`.
#[inline]
fn digit(c: u8, radix: u32) -> Result<u32, LiteralError> {
    // One lookup instead of three range tests; a non-digit is too large for any radix.
    let d = DIGITS[c as usize] as u32;
    if d >= radix {
        return Err(LiteralError::Invalid);
    }
    Ok(d)
}

/// The value of each hexadecimal digit, 0xff for the other bytes.
static DIGITS: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Parses a C character constant including its quotes: `'A'`, `'\n'`, `'\x41'`, `'\101'`.
/// The value is that of a (signed) `char`, as gcc gives it. Multi-character constants and
/// non-ASCII characters are refused.
pub(crate) fn parse_char(text: &str) -> Result<i128, LiteralError> {
    let inner = text
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .ok_or(LiteralError::Invalid)?;
    let b = inner.as_bytes();
    let value: u32 = match b {
        [c] if c.is_ascii() && *c != b'\\' && *c != b'\'' => *c as u32,
        [b'\\', rest @ ..] => escape_value(rest)?,
        _ => return Err(LiteralError::Invalid),
    };
    // A char is signed on the ABI we target: '\xff' is -1.
    Ok(value as u8 as i8 as i128)
}

fn escape_value(rest: &[u8]) -> Result<u32, LiteralError> {
    let simple = |c: u8| -> Option<u32> {
        Some(match c {
            b'n' => 10,
            b't' => 9,
            b'r' => 13,
            b'0' => 0,
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            b'e' => 27,
            b'\\' | b'\'' | b'"' | b'?' => c as u32,
            _ => return None,
        })
    };
    match rest {
        [c] => simple(*c).ok_or(LiteralError::Invalid),
        [b'x' | b'X', hex @ ..] if !hex.is_empty() && hex.len() <= 2 => {
            let s = std::str::from_utf8(hex).map_err(|_| LiteralError::Invalid)?;
            u32::from_str_radix(s, 16).map_err(|_| LiteralError::Invalid)
        }
        oct if !oct.is_empty()
            && oct.len() <= 3
            && oct.iter().all(|c| (b'0'..=b'7').contains(c)) =>
        {
            let v = oct.iter().fold(0u32, |v, c| v * 8 + (c - b'0') as u32);
            if v > 0xff {
                Err(LiteralError::TooLarge)
            } else {
                Ok(v)
            }
        }
        _ => Err(LiteralError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(parse_int("42"), Ok(42));
        assert_eq!(parse_int("0x1F"), Ok(31));
        assert_eq!(parse_int("0X1f"), Ok(31));
        assert_eq!(parse_int("010"), Ok(8));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(parse_int("10UL"), Ok(10));
        assert_eq!(parse_int("10ull"), Ok(10));
        assert_eq!(parse_int("10lu"), Ok(10));
        assert_eq!(parse_int("0xffffffffffffffffULL"), Ok(u64::MAX as i128));
        assert_eq!(parse_int("08"), Err(LiteralError::Invalid));
        assert_eq!(parse_int("0x"), Err(LiteralError::Invalid));
        assert_eq!(parse_int("1.5"), Err(LiteralError::Invalid));
        assert_eq!(parse_int("12abc"), Err(LiteralError::Invalid));
        assert_eq!(parse_int(""), Err(LiteralError::Invalid));
        assert_eq!(parse_int("U"), Err(LiteralError::Invalid));
        assert_eq!(parse_int(&"9".repeat(50)), Err(LiteralError::TooLarge));
        assert_eq!(
            parse_int(&format!("0x{}", "f".repeat(40))),
            Err(LiteralError::TooLarge)
        );
        assert_eq!(parse_int(&i128::MAX.to_string()), Ok(i128::MAX));
        // Around the 15 digits read without overflow checks.
        assert_eq!(parse_int("0xfffffffffffffff"), Ok(0xfff_ffff_ffff_ffff));
        assert_eq!(parse_int("0xffffffffffffffffff"), Ok(0xff_ffff_ffff_ffff_ffff));
        assert_eq!(parse_int("999999999999999"), Ok(999_999_999_999_999));
        assert_eq!(parse_int("9999999999999999999999"), Ok(9_999_999_999_999_999_999_999));
        assert_eq!(parse_int("0777777777777777"), Ok(0o777_777_777_777_777));
        assert_eq!(parse_int("0b111111111111111"), Ok(0x7fff));
        assert_eq!(parse_int("0x12345678901234g"), Err(LiteralError::Invalid));
    }

    #[test]
    fn chars() {
        assert_eq!(parse_char("'A'"), Ok(65));
        assert_eq!(parse_char("'\\n'"), Ok(10));
        assert_eq!(parse_char("'\\0'"), Ok(0));
        assert_eq!(parse_char("'\\''"), Ok(39));
        assert_eq!(parse_char("'\\\\'"), Ok(92));
        assert_eq!(parse_char("'\\x41'"), Ok(65));
        assert_eq!(parse_char("'\\101'"), Ok(65));
        assert_eq!(parse_char("'\\xff'"), Ok(-1));
        assert_eq!(parse_char("'ab'"), Err(LiteralError::Invalid));
        assert_eq!(parse_char("''"), Err(LiteralError::Invalid));
        assert_eq!(parse_char("'é'"), Err(LiteralError::Invalid));
        assert_eq!(parse_char("'\\q'"), Err(LiteralError::Invalid));
        assert_eq!(parse_char("'\\777'"), Err(LiteralError::TooLarge));
        assert_eq!(parse_char("'"), Err(LiteralError::Invalid));
    }
}
