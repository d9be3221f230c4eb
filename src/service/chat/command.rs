//! What a chat line asks for: a message or a `/command`. Pure parsing and validation.

pub use super::rules::{is_valid_name, MAX_NAME};

/// A parsed input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// A line to relay to the room (`//text` arrives here as `/text`).
    Say(&'a str),
    /// `/nick NAME` with a valid name.
    Nick(&'a str),
    /// `/join ROOM` with a valid room name.
    Join(&'a str),
    /// `/rooms`.
    Rooms,
    /// `/who`.
    Who,
    /// `/msg NICK TEXT`.
    Msg(&'a str, &'a str),
    /// `/me ACTION`.
    Me(&'a str),
    /// `/quit`.
    Quit,
    /// `/help`.
    Help,
    /// Nothing to do (an empty line).
    Nothing,
    /// A command used wrongly; the text says how to use it.
    Invalid(String),
}

/// The `/help` text, one notice per line.
pub const HELP: &[&str] = &[
    "commands:",
    "  /nick NAME      take a nickname (1-32 of A-Z a-z 0-9 _ -)",
    "  /join ROOM      leave this room for ROOM (everyone starts in lobby)",
    "  /rooms          list rooms and how many are in each",
    "  /who            list who is in this room",
    "  /msg NICK TEXT  private message",
    "  /me ACTION      tell the room what you are doing",
    "  /quit           leave",
    "  //text          send a line that starts with /",
];

/// Parses one line (already decoded, ending stripped).
pub fn parse(line: &str) -> Input<'_> {
    if line.is_empty() {
        return Input::Nothing;
    }
    let Some(command) = line.strip_prefix('/') else {
        return Input::Say(line);
    };
    if command.starts_with('/') {
        return Input::Say(command);
    }
    let (verb, rest) = match command.split_once(' ') {
        Some((v, r)) => (v, r.trim()),
        None => (command, ""),
    };
    match verb.to_ascii_lowercase().as_str() {
        "nick" => named(rest, "/nick NAME", Input::Nick),
        "join" => named(rest, "/join ROOM", Input::Join),
        "rooms" => Input::Rooms,
        "who" => Input::Who,
        "msg" => match rest.split_once(' ') {
            Some((nick, text)) if !text.trim().is_empty() => Input::Msg(nick, text.trim_start()),
            _ => Input::Invalid("usage: /msg NICK TEXT".into()),
        },
        "me" if !rest.is_empty() => Input::Me(rest),
        "me" => Input::Invalid("usage: /me ACTION".into()),
        "quit" => Input::Quit,
        "help" => Input::Help,
        _ => Input::Invalid(format!(
            "unknown command /{verb} (/help lists them; //text sends a line starting with /)"
        )),
    }
}

fn named<'a>(arg: &'a str, usage: &str, make: fn(&'a str) -> Input<'a>) -> Input<'a> {
    if is_valid_name(arg) {
        make(arg)
    } else if arg.is_empty() {
        Input::Invalid(format!("usage: {usage}"))
    } else {
        Input::Invalid(format!(
            "invalid name '{arg}': use 1-{MAX_NAME} of A-Z a-z 0-9 _ -"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_and_escapes() {
        assert_eq!(parse("Client 1 says hi!"), Input::Say("Client 1 says hi!"));
        assert_eq!(parse("//etc/passwd"), Input::Say("/etc/passwd"));
        assert_eq!(parse(""), Input::Nothing);
        assert_eq!(parse(" "), Input::Say(" "));
    }

    #[test]
    fn commands() {
        assert_eq!(parse("/nick alice"), Input::Nick("alice"));
        assert_eq!(parse("/NICK alice"), Input::Nick("alice"));
        assert_eq!(parse("/join games"), Input::Join("games"));
        assert_eq!(parse("/rooms"), Input::Rooms);
        assert_eq!(parse("/who"), Input::Who);
        assert_eq!(
            parse("/msg bob hello there"),
            Input::Msg("bob", "hello there")
        );
        assert_eq!(parse("/me waves"), Input::Me("waves"));
        assert_eq!(parse("/quit"), Input::Quit);
        assert_eq!(parse("/help"), Input::Help);
    }

    #[test]
    fn invalid_commands_say_why() {
        let invalid = |l: &str| match parse(l) {
            Input::Invalid(why) => why,
            other => panic!("{l}: {other:?}"),
        };
        assert!(invalid("/nick").contains("usage"));
        assert!(invalid("/nick al ice").contains("invalid name"));
        assert!(invalid("/nick ümlaut").contains("invalid name"));
        assert!(invalid(&format!("/nick {}", "a".repeat(33))).contains("invalid name"));
        assert!(invalid("/join").contains("usage"));
        assert!(invalid("/msg bob").contains("usage"));
        assert!(invalid("/msg bob   ").contains("usage"));
        assert!(invalid("/me").contains("usage"));
        assert!(invalid("/frob").contains("unknown command /frob"));
    }

    #[test]
    fn name_rules() {
        assert!(is_valid_name("a"));
        assert!(is_valid_name("Alice_the-2nd"));
        assert!(is_valid_name(&"x".repeat(32)));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name(&"x".repeat(33)));
        assert!(!is_valid_name("a b"));
        assert!(!is_valid_name("a.b"));
    }
}
