//! Counting `$n` placeholders in SQL text, skipping literals, quoted names and
//! comments. SQLite binds missing parameters as NULL without complaint; dbridge
//! refuses a statement given fewer or more parameters than it uses instead.

/// The highest `$n` in `sql`, or 0.
pub(crate) fn highest(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut max = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        // A doubled quote is an escaped quote inside the literal.
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'[' => {
                while i < b.len() && b[i] != b']' {
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'$' => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end].is_ascii_digit() {
                    end += 1;
                }
                if end > start {
                    let n: usize = sql[start..end].parse().unwrap_or(usize::MAX);
                    max = max.max(n);
                }
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::highest;

    #[test]
    fn finds_the_highest_placeholder_outside_literals_and_comments() {
        assert_eq!(highest("SELECT 1"), 0);
        assert_eq!(highest("SELECT $2, $1, $10"), 10);
        assert_eq!(highest("SELECT '$9', \"$8\", $1 -- $7\n /* $6 */"), 1);
        assert_eq!(highest("SELECT 'it''s $5', $3"), 3);
        assert_eq!(highest("SELECT [$4], $2"), 2);
        assert_eq!(highest("SELECT 5$"), 0);
    }
}
