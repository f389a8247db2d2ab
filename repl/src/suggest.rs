//! "Did you mean": the known name closest to a mistyped one, by edit
//! distance. Pure; the callers gather the candidates (globals, methods,
//! models, columns, tables).

/// The candidate nearest to `word` (case-insensitively), if one is close
/// enough to be what was meant: at most one edit for short names, about one
/// in three characters for longer ones. `word` itself is never suggested.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, c.len()))
        .map(|(_, c)| c)
}

/// `hint: did you mean `X`?` for `word` among `candidates`, if one is near.
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean(word, candidates).map(|c| format!("hint: did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_close_name() {
        let names = ["track", "album", "artist", "tracks_fts"];
        assert_eq!(did_you_mean("trak", names), Some("track"));
        assert_eq!(did_you_mean("Track", names), Some("track"));
        assert_eq!(did_you_mean("albun", names), Some("album"));
        assert_eq!(did_you_mean("zzz", names), None);
        assert_eq!(did_you_mean("track", names), None);
        assert_eq!(
            did_you_mean("fetchall", ["fetch_all", "fetch_one"]),
            Some("fetch_all")
        );
    }
}
