//! The chat's naming rules, one set for every transport: what a nickname or a room name may be,
//! which names are reserved, and how names compare (ignoring ASCII case).

/// Longest nickname or room name.
pub const MAX_NAME: usize = 32;

/// The room everyone starts in; it exists even when empty.
pub const LOBBY: &str = "lobby";

/// True if `name` is 1 to [`MAX_NAME`] characters of `[A-Za-z0-9_-]`.
pub fn is_valid_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The form under which names (nicknames and rooms) are compared: `Games` and `games` are one.
pub fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The name a member has before it takes a nickname.
pub fn guest_label(id: u64) -> String {
    format!("guest{id}")
}

/// True for `guest` followed by digits (in any case): names only the chat hands out.
pub fn is_reserved(name: &str) -> bool {
    let lower = key(name);
    lower
        .strip_prefix("guest")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_name("alice_2-b"));
        assert!(is_valid_name(&"x".repeat(MAX_NAME)));
        assert!(!is_valid_name(&"x".repeat(MAX_NAME + 1)));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("bad!room"));
        assert!(!is_valid_name("ünï"));
        assert_eq!(key("Games"), key("gAMES"));
        assert!(is_reserved("guest12") && is_reserved("GUEST7"));
        assert!(!is_reserved("guest") && !is_reserved("guests") && !is_reserved("guest1a"));
        assert_eq!(guest_label(5), "guest5");
    }
}
