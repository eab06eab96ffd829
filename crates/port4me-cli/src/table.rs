//! Plain-text tables for people (scripts use `--json`).

/// A left-aligned table with a header row; columns are two spaces apart and
/// the last column is not padded, so lines carry no trailing blanks.
pub(crate) fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut w: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut push = |cells: Vec<String>| {
        let n = cells.len();
        let mut l = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            let pad = if i + 1 == n { 0 } else { w[i] - c.chars().count() + 2 };
            l.push_str(&c);
            l.push_str(&" ".repeat(pad));
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    push(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn columns_align_without_trailing_blanks() {
        let t = table(
            &["A", "LONG", "Z"],
            vec![vec!["xyz".into(), "1".into(), "".into()], vec!["q".into(), "22".into(), "é".into()]],
        );
        assert_eq!(t, "A    LONG  Z\nxyz  1\nq    22    é\n");
    }
}
