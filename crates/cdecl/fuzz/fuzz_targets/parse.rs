//! Feeds arbitrary input to both parsers: they must return Ok or Err, never panic, hang or
//! overflow the stack. Valid UTF-8 is used as is; other bytes are converted lossily.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match cdecl::parse_cdef(&text) {
        Ok(cdef) => {
            // Rendering exercises Display on whatever was built.
            for d in &cdef.decls {
                if let cdecl::Decl::Typedef { ty, .. } | cdecl::Decl::Variable { ty, .. } = d {
                    let _ = ty.to_string();
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match cdecl::parse_type_name(&text) {
        Ok(ty) => {
            let _ = ty.to_string();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
