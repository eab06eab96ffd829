//! Plain-text tables for people (scripts use `--json`).

/// A left-aligned table with a header row; columns are two spaces apart and
/// the last column is not padded, so lines carry no trailing blanks. Cells
/// are shown escaped ([`port4me::text::escape_text`]): names, labels and
/// descriptions come from a database others may write, and a terminal
/// escape, a U+202E or a newline must not change what the table shows.
pub(crate) fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.into_iter().map(|c| port4me::text::escape_text(&c).into_owned()).collect())
        .collect();
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

    #[test]
    fn cells_are_escaped() {
        let t = table(&["A", "B"], vec![vec!["x\ny".into(), "\u{1b}[2J\u{202e}z".into()]]);
        assert_eq!(t, "A     B\nx\\ny  \\x1b[2J\\u202ez\n");
    }
}
