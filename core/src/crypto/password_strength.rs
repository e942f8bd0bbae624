//! The strength rule for a new password, in words a user understands.
//!
//! A password slot is the one slot whose secret a person chooses, and the cloud store keeps every
//! backup forever: it can guess offline at leisure, each guess costing one Argon2id run. The rule
//! refuses what guessers try first, and says why:
//!
//! 1. at least [`MIN_PASSWORD_CHARS`] characters (Unicode scalar values after NFC): "add N more
//!    characters";
//! 2. at least [`MIN_FREE_CHARS`] characters that are *not* part of a predictable piece: a word
//!    from the list of passwords people use most ([`COMMON`], matched case-insensitively with
//!    common letter-for-digit swaps undone: `p@ssw0rd` is `password`), a run of one character
//!    (`aaa`), a sequence (`abcd`, `4321`) or a keyboard row (`qwer`, `asdf`), or a year
//!    (`1987`, `2024`): "too common" / "too predictable", naming what was found.
//!
//! An estimator such as zxcvbn judges better, but its dictionaries add about 800 KiB to the
//! mobile library, whose budget is 3 MiB (`docs/FORMAT.md` §3.4 has the measurement); this rule
//! costs a few KiB and catches the passwords at the top of every leaked list, which are what an
//! offline guesser tries first. A phrase of four or more unrelated words passes easily.

use unicode_normalization::UnicodeNormalization;

use crate::{Error, Result};

use super::password::MAX_PASSWORD_LEN;

/// Fewest characters (Unicode scalar values, after NFC) a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Fewest characters of a new password that must lie outside every predictable piece.
pub const MIN_FREE_CHARS: usize = 8;

/// Checks a new password against the rule above; an unlock accepts any input. The error
/// ([`Error::InvalidArgument`]) says what to change.
pub fn check_new_password(password: &str) -> Result<()> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(Error::InvalidArgument(format!(
            "a password may have at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    let chars: Vec<char> = password.nfc().collect();
    if chars.len() < MIN_PASSWORD_CHARS {
        let missing = MIN_PASSWORD_CHARS - chars.len();
        return Err(Error::InvalidArgument(format!(
            "this password is too short: add {missing} more character{} (at least \
             {MIN_PASSWORD_CHARS}; a phrase of four or more unrelated words is easy to remember)",
            if missing == 1 { "" } else { "s" }
        )));
    }
    let found = predictable_pieces(&chars);
    let free = found.covered.iter().filter(|covered| !**covered).count();
    if free < MIN_FREE_CHARS {
        let missing = MIN_FREE_CHARS - free;
        let why = if found.common.is_empty() {
            "too predictable".to_owned()
        } else {
            format!(
                "too common: it is built on {}, among the passwords people use most",
                quoted(&found.common)
            )
        };
        let patterns = if found.patterns.is_empty() {
            String::new()
        } else {
            format!(" ({} are easy to guess)", quoted(&found.patterns))
        };
        return Err(Error::InvalidArgument(format!(
            "this password is {why}{patterns}: add {missing} more character{} of your own, or \
             use a phrase of four or more unrelated words",
            if missing == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'` (at most three, the first found).
fn quoted(pieces: &[String]) -> String {
    let shown: Vec<String> = pieces.iter().take(3).map(|p| format!("'{p}'")).collect();
    match shown.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Which characters belong to a predictable piece, and the pieces found.
struct Found {
    covered: Vec<bool>,
    common: Vec<String>,
    patterns: Vec<String>,
}

fn predictable_pieces(chars: &[char]) -> Found {
    let folded: Vec<char> = chars.iter().map(|c| fold(*c)).collect();
    let mut found = Found {
        covered: vec![false; chars.len()],
        common: Vec::new(),
        patterns: Vec::new(),
    };
    let mark = |found: &mut Found, start: usize, len: usize, common: bool| {
        let piece: String = chars[start..start + len].iter().collect();
        let list = if common {
            &mut found.common
        } else {
            &mut found.patterns
        };
        if !list.contains(&piece) {
            list.push(piece);
        }
        for covered in &mut found.covered[start..start + len] {
            *covered = true;
        }
    };
    for start in 0..folded.len() {
        // Longest common word starting here.
        if let Some(len) = COMMON
            .iter()
            .filter(|word| starts_with(&folded[start..], word))
            .map(|word| word.len())
            .max()
        {
            mark(&mut found, start, len, true);
        }
    }
    let mut start = 0;
    while start < chars.len() {
        let len = pattern_len(&chars[start..]);
        if len > 0 {
            mark(&mut found, start, len, false);
            start += len;
        } else {
            start += 1;
        }
    }
    found
}

/// Lowercase, with the usual digit-and-symbol stand-ins for letters read as those letters.
fn fold(c: char) -> char {
    match c {
        '0' => 'o',
        '1' | '!' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        other => other.to_lowercase().next().unwrap_or(other),
    }
}

fn starts_with(text: &[char], word: &str) -> bool {
    let mut chars = text.iter();
    word.chars().all(|w| chars.next() == Some(&w))
}

/// Length of a predictable pattern at the start of `text`: a run of one character (3+), an
/// ascending or descending sequence of letters or digits (3+), a keyboard-row run (4+), a year
/// 1900..=2099; 0 if none.
fn pattern_len(text: &[char]) -> usize {
    let lower: Vec<char> = text
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    let run = lower.iter().take_while(|c| **c == lower[0]).count();
    let sequence = sequence_len(&lower);
    let keyboard = KEYBOARD_ROWS
        .iter()
        .map(|row| keyboard_len(&lower, row))
        .max()
        .unwrap_or(0);
    let year = usize::from(is_year(&lower)) * 4;
    [
        if run >= 3 { run } else { 0 },
        if sequence >= 3 { sequence } else { 0 },
        if keyboard >= 4 { keyboard } else { 0 },
        year,
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

fn sequence_len(text: &[char]) -> usize {
    let step_of = |a: char, b: char| {
        let same_class = (a.is_ascii_lowercase() && b.is_ascii_lowercase())
            || (a.is_ascii_digit() && b.is_ascii_digit());
        same_class.then(|| {
            i32::try_from(u32::from(b)).unwrap_or(0) - i32::try_from(u32::from(a)).unwrap_or(0)
        })
    };
    let Some(step) = text.get(1).and_then(|b| step_of(text[0], *b)) else {
        return 0;
    };
    if step != 1 && step != -1 {
        return 0;
    }
    1 + text
        .windows(2)
        .take_while(|pair| step_of(pair[0], pair[1]) == Some(step))
        .count()
}

const KEYBOARD_ROWS: [&str; 6] = [
    "1234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "azertyuiop",
    "qwertzuiop",
];

/// Length of a forward or backward run along `row` at the start of `text`.
fn keyboard_len(text: &[char], row: &str) -> usize {
    let row: Vec<char> = row.chars().collect();
    let Some(first) = row.iter().position(|c| *c == text[0]) else {
        return 0;
    };
    let forward = text
        .iter()
        .zip(&row[first..])
        .take_while(|(a, b)| a == b)
        .count();
    let backward = text
        .iter()
        .zip(row[..=first].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    forward.max(backward)
}

fn is_year(text: &[char]) -> bool {
    let digits: String = text.iter().take(4).collect();
    digits.len() == 4
        && digits.chars().all(|c| c.is_ascii_digit())
        && (digits.starts_with("19") || digits.starts_with("20"))
}

/// Words at the top of leaked-password lists and the words they are built from (at least four
/// letters, lowercase, after [`fold`]), written for this rule; a password made of them and of
/// patterns is among the first an offline guesser tries.
#[rustfmt::skip]
const COMMON: &[&str] = &[
    "password", "passwort", "passe", "motdepasse", "contrasena", "senha", "qwerty", "azerty",
    "letmein", "welcome", "admin", "administrator", "login", "master", "secret", "iloveyou",
    "loveyou", "love", "lovely", "lover", "princess", "prince", "dragon", "monkey", "sunshine",
    "shadow", "football", "baseball", "basketball", "soccer", "hockey", "superman", "batman",
    "spiderman", "starwars", "pokemon", "naruto", "trustno", "freedom", "whatever", "nothing",
    "hello", "charlie", "michael", "jennifer", "jessica", "ashley", "michelle", "daniel", "thomas",
    "jordan", "hunter", "ranger", "buster", "tigger", "ginger", "pepper", "maggie", "summer",
    "winter", "spring", "autumn", "flower", "purple", "orange", "yellow", "silver", "golden",
    "diamond", "cookie", "chocolate", "cheese", "banana", "apple", "computer", "internet",
    "google", "facebook", "samsung", "iphone", "android", "killer", "access", "matrix", "mustang",
    "corvette", "ferrari", "harley", "yankees", "liverpool", "chelsea", "arsenal", "barcelona",
    "madrid", "london", "paris", "berlin", "america", "canada", "france", "germany", "jesus",
    "christ", "angel", "angels", "heaven", "blessed", "family", "friend", "friends", "forever",
    "happy", "smile", "music", "guitar", "money", "dollar", "pass", "word", "test", "testing",
    "demo", "user", "guest", "root", "default", "changeme", "qazwsx", "baby", "babygirl", "sweet",
    "sweetie", "honey", "mother", "father", "sister", "brother", "daddy", "mommy", "lucky", "star",
    "stars", "tiger", "lion", "bear", "wolf", "eagle", "falcon", "phoenix", "dolphin", "butterfly",
    "kitty", "kitten", "puppy", "doggy", "horse", "fish", "black", "white", "blue", "green",
    "pink", "rock", "rockyou", "metal", "rocket", "soleil", "amour", "bonjour", "hallo", "ciao",
    "amore", "liebe", "schatz", "keepsake", "backup", "chat", "phone", "mobile", "secure",
    "security", "private", "holiday", "birthday", "december", "january", "monday", "friday",
    "sunday", "hotmail", "gmail", "yahoo", "pussy", "sexy", "ninja", "gamer", "player", "zombie",
    "wizard", "magic", "mickey", "minnie", "snoopy", "scooby", "garfield", "homer", "simpsons",
    "matthew", "andrew", "joshua", "david", "robert", "william", "richard", "joseph", "maria",
    "anna", "sarah", "nicole", "amanda", "melissa", "hannah", "emma", "olivia", "sophie",
    "alexander", "alex", "john", "james", "peter", "george", "oliver", "harry", "potter",
    "hogwarts",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(password: &str) -> String {
        match check_new_password(password) {
            Err(Error::InvalidArgument(why)) => why,
            other => panic!("{password:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn short_passwords_are_told_how_many_characters_to_add() {
        assert!(refused("tiny7x!").contains("add 5 more characters"));
        assert!(refused("elevenchars").contains("add 1 more character "));
        // Counted in characters after NFC: six composed "é" plus "e" and combining marks.
        assert!(refused("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}e\u{301}e\u{301}").contains("add 5 more"));
    }

    #[test]
    fn common_passwords_and_their_decorations_are_too_common() {
        for password in [
            "Password123456",
            "P@ssw0rd2024!!",
            "iloveyou123456",
            "qwertyuiop123",
            "monkeydragonsunshine",
            "letmeinletmein",
        ] {
            let why = refused(password);
            assert!(
                why.contains("too common") || why.contains("too predictable"),
                "{password}: {why}"
            );
        }
        assert!(refused("P@ssw0rd2024!!").contains("'P@ssw0rd'"));
    }

    #[test]
    fn runs_sequences_keyboard_rows_and_years_are_too_predictable() {
        for password in [
            "aaaaaaaaaaaaaa",
            "abcdefghijklmn",
            "1234567890987",
            "qwertasdfgzxcvb",
            "19871988198919",
        ] {
            assert!(refused(password).contains("too predictable"), "{password}");
        }
    }

    #[test]
    fn passphrases_and_random_strings_pass() {
        for password in [
            "correct horse battery staple",
            "a long walk on the beach at dawn",
            "Tx9#vL2qRm8$",
            "moule frite velo nuage",
            "gr\u{fc}n gestreifte Giraffe",
        ] {
            assert!(
                check_new_password(password).is_ok(),
                "{password}: {:?}",
                check_new_password(password)
            );
        }
        assert!(check_new_password(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }
}
