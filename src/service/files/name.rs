//! File names chosen by clients (framed uploads): sanitized into one safe name in the store
//! directory, and numbered `photo (1).jpg`, `photo (2).jpg`... when the name is taken.
//!
//! Rules, applied in order to the bytes the client sent:
//! 1. Invalid UTF-8 is replaced by U+FFFD (lossy decoding).
//! 2. Only the last path component is kept: everything up to the last `/` or `\` is dropped,
//!    so `../../etc/passwd` becomes `passwd`.
//! 3. `.` and `..` become empty.
//! 4. Control characters (below 0x20, and 0x7f) become `_`.
//! 5. A leading `.` becomes `_`: no hidden files, and no clash with the store's temporaries.
//! 6. At most [`MAX_NAME`] bytes, cut on a character boundary, keeping a short extension.
//! 7. An empty result becomes `upload`.

/// Longest file name most file systems accept, in bytes.
pub const MAX_NAME: usize = 255;
/// An extension (with its dot) longer than this is not worth keeping when shortening a name.
const MAX_KEPT_EXTENSION: usize = 16;
/// The name used when nothing usable is left.
pub const FALLBACK: &str = "upload";

/// The safe name for `raw`, a name a client asked for.
pub fn sanitize(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let last = text.rsplit(['/', '\\']).next().unwrap_or("");
    let last = if last == "." || last == ".." {
        ""
    } else {
        last
    };
    let mut name: String = last
        .chars()
        .map(|c| if c < ' ' || c == '\x7f' { '_' } else { c })
        .collect();
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    let name = fit(&name, "", MAX_NAME);
    if name.is_empty() {
        FALLBACK.to_string()
    } else {
        name
    }
}

/// The `n`th alternative of a sanitized `name`: `photo.jpg` -> `photo (n).jpg`, `README` ->
/// `README (n)`; `n == 0` is the name itself. Still at most [`MAX_NAME`] bytes.
pub fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_string();
    }
    fit(name, &format!(" ({n})"), MAX_NAME)
}

/// `name` with `tag` inserted before its extension, shortened to `max` bytes: the stem is cut
/// (on a character boundary) and the extension kept when it is short, else the end is cut.
fn fit(name: &str, tag: &str, max: usize) -> String {
    let (stem, ext) = split_extension(name);
    if stem.len() + tag.len() + ext.len() <= max {
        return format!("{stem}{tag}{ext}");
    }
    if ext.len() <= MAX_KEPT_EXTENSION && tag.len() + ext.len() < max {
        let room = max - tag.len() - ext.len();
        return format!("{}{tag}{ext}", cut(stem, room));
    }
    let room = max.saturating_sub(tag.len());
    format!("{}{tag}", cut(name, room))
}

/// (`photo`, `.jpg`) for `photo.jpg`; no extension for `README` or `_hidden.` endings.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 && i + 1 < name.len() => name.split_at(i),
        _ => (name, ""),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_only_their_last_component() {
        assert_eq!(sanitize(b"../../etc/passwd"), "passwd");
        assert_eq!(sanitize(b"C:\\Users\\me\\photo.jpg"), "photo.jpg");
        assert_eq!(sanitize(b"dir/"), FALLBACK);
        assert_eq!(sanitize(b".."), FALLBACK);
        assert_eq!(sanitize(b"."), FALLBACK);
        assert_eq!(sanitize(b"a/.."), FALLBACK);
        assert_eq!(sanitize(b""), FALLBACK);
    }

    #[test]
    fn control_characters_hidden_names_and_bad_utf8_are_replaced() {
        assert_eq!(sanitize(b"a\nb\tc\x7fd\x00e.txt"), "a_b_c_d_e.txt");
        assert_eq!(sanitize(b".hidden"), "_hidden");
        assert_eq!(sanitize(b".upload-1-1.partial"), "_upload-1-1.partial");
        assert_eq!(sanitize(b"...x"), "_..x");
        assert_eq!(sanitize(b"caf\xe9.txt"), "caf\u{fffd}.txt");
        assert_eq!(sanitize("photo (1) é.jpg".as_bytes()), "photo (1) é.jpg");
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary_keeping_the_extension() {
        let long = format!("{}.txt", "a".repeat(300));
        let s = sanitize(long.as_bytes());
        assert_eq!(s.len(), MAX_NAME);
        assert!(s.ends_with("a.txt"));
        // Two-byte characters: never cut in the middle of one.
        let wide = format!("{}.jpeg", "é".repeat(200));
        let s = sanitize(wide.as_bytes());
        assert!(
            s.len() <= MAX_NAME && s.len() >= MAX_NAME - 1,
            "{}",
            s.len()
        );
        assert!(s.ends_with("é.jpeg"));
        // An absurd extension is not kept whole.
        let s = sanitize(format!("x.{}", "e".repeat(300)).as_bytes());
        assert_eq!(s.len(), MAX_NAME);
        assert!(s.starts_with("x.eee"));
    }

    #[test]
    fn numbered_alternatives() {
        assert_eq!(numbered("photo.jpg", 0), "photo.jpg");
        assert_eq!(numbered("photo.jpg", 1), "photo (1).jpg");
        assert_eq!(numbered("README", 2), "README (2)");
        assert_eq!(numbered("archive.tar.gz", 3), "archive.tar (3).gz");
        assert_eq!(numbered("_hidden", 1), "_hidden (1)");
        let long = sanitize(format!("{}.txt", "a".repeat(300)).as_bytes());
        let n = numbered(&long, 12);
        assert_eq!(n.len(), MAX_NAME);
        assert!(n.ends_with("a (12).txt"), "{n}");
    }
}
