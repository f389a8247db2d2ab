//! Default names of constraints and indexes, kept within the 63-byte identifier limit.

use crate::error::Result;
use crate::ident::{Ident, MAX_PORTABLE_LEN};

/// FNV-1a: a small stable hash, so that a shortened name is the same on every run.
fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// `prefix_part_part...`, shortened with a hash suffix when longer than 63 bytes.
pub(crate) fn constraint_name(prefix: &str, parts: &[&str]) -> Result<Ident> {
    let mut name = prefix.to_owned();
    for p in parts {
        name.push('_');
        name.push_str(p);
    }
    if name.len() > MAX_PORTABLE_LEN {
        let mut cut = MAX_PORTABLE_LEN - 9;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        let hash = fnv1a(&name);
        name = format!("{}_{hash:08x}", &name[..cut]);
    }
    Ident::new(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_joined() {
        assert_eq!(
            constraint_name("uq", &["users", "email"]).unwrap().as_str(),
            "uq_users_email"
        );
    }

    #[test]
    fn long_names_are_shortened_stably() {
        let long = "c".repeat(80);
        let a = constraint_name("ix", &["t", &long]).unwrap();
        let b = constraint_name("ix", &["t", &long]).unwrap();
        assert_eq!(a, b);
        assert!(a.as_str().len() <= 63);
        assert_ne!(a, constraint_name("ix", &["u", &long]).unwrap());
    }
}
