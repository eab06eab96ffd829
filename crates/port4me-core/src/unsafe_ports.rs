//! Ports that web browsers refuse to connect to.
//!
//! A server on one of these ports cannot be opened in Chrome or Firefox, so
//! port4me skips them by default (`PORT4ME_EXCLUDE_UNSAFE={chrome},{firefox}`).
//! The lists are the ones the reference implementation ships (Chrome's
//! `net/base/port_util.cc` and Mozilla's port-banning list as of 2022-10-24),
//! byte for byte, because they change which ports a sequence yields and every
//! language must agree.

/// Chrome's blocked ports, as a specification string (the reference's default
/// for `PORT4ME_EXCLUDE_UNSAFE_CHROME`).
pub const CHROME_SPEC: &str = "1,7,9,11,13,15,17,19,20,21,22,23,25,37,42,43,53,69,77,79,87,95,101,102,103,104,109,110,111,113,115,117,119,123,135,137,139,143,161,179,389,427,465,512,513,514,515,526,530,531,532,540,548,554,556,563,587,601,636,989,990,993,995,1719,1720,1723,2049,3659,4045,5060,5061,6000,6566,6665,6666,6667,6668,6669,6697,10080";

/// Firefox's blocked ports, as a specification string (the reference's
/// default for `PORT4ME_EXCLUDE_UNSAFE_FIREFOX`).
pub const FIREFOX_SPEC: &str = "1,7,9,11,13,15,17,19,20,21,22,23,25,37,42,43,53,77,79,87,95,101,102,103,104,109,110,111,113,115,117,119,123,135,139,143,179,389,465,512,513,514,515,526,530,531,532,540,556,563,587,601,636,993,995,2049,4045,6000";

/// The default of `PORT4ME_EXCLUDE_UNSAFE`.
pub const DEFAULT_EXCLUDE_UNSAFE: &str = "{chrome},{firefox}";

/// Chrome's blocked ports, in the order of [`CHROME_SPEC`].
pub const CHROME: &[u16] = &[
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
    111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
    540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 5060, 5061, 6000,
    6566, 6665, 6666, 6667, 6668, 6669, 6697, 10080,
];

/// Firefox's blocked ports, in the order of [`FIREFOX_SPEC`].
pub const FIREFOX: &[u16] = &[
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111,
    113, 115, 117, 119, 123, 135, 139, 143, 179, 389, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 556, 563, 587,
    601, 636, 993, 995, 2049, 4045, 6000,
];

/// Whether any browser blocks `port`, and which.
pub fn blocked_by(port: u16) -> (bool, bool) {
    (CHROME.contains(&port), FIREFOX.contains(&port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{for_each_item, Expansions, Item};

    fn ports_of(spec: &str) -> ([u16; 128], usize) {
        let mut out = [0u16; 128];
        let mut n = 0;
        for_each_item(spec, &Expansions::NONE, "test", |item| {
            if let Item::Port(p) = item {
                out[n] = p;
                n += 1;
            }
        })
        .unwrap();
        (out, n)
    }

    #[test]
    fn arrays_match_spec_strings() {
        let (c, n) = ports_of(CHROME_SPEC);
        assert_eq!(&c[..n], CHROME);
        let (f, n) = ports_of(FIREFOX_SPEC);
        assert_eq!(&f[..n], FIREFOX);
    }
}
