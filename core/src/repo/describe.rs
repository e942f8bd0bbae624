//! What a check found, as sentences for people: the CLI prints them and the FFI hands them to
//! apps, so both surfaces say the same thing about the same problem.

use std::fmt;

use super::check::{Problem, Verdict};

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::DamagedIndexObject { name, reason } => write!(
                f,
                "index object {name} is damaged ({reason}); its packs are found through their \
                 trailers"
            ),
            Problem::LostPack { name } => write!(f, "pack {name} is missing from the store"),
            Problem::ResizedPack { name } => write!(
                f,
                "pack {name} has another size than the index recorded (cut short or replaced)"
            ),
            Problem::UnreadablePack { name, reason } => write!(
                f,
                "pack {name}, which no index names, does not authenticate ({reason})"
            ),
            Problem::DamagedTrailer { name, reason } => {
                write!(f, "the trailer of pack {name} is damaged ({reason})")
            }
            Problem::DamagedChunk { copy, healed } => write!(
                f,
                "a chunk copy in pack {} at offset {} is damaged; {}",
                copy.pack,
                copy.offset,
                if *healed {
                    "another copy is intact"
                } else {
                    "no intact copy is left"
                }
            ),
            Problem::DamagedSnapshot { name, reason } => {
                write!(f, "snapshot object {name} is damaged ({reason})")
            }
            Problem::IndexIncomplete { id, chunks } => write!(
                f,
                "snapshot {id} needs {chunks} chunk(s) that no index names; they are found \
                 through their packs' trailers and the next backup indexes them again"
            ),
            Problem::UnrestorableSnapshot { id, reason } => {
                write!(f, "snapshot {id} cannot be restored: {reason}")
            }
            Problem::LostMedia { id, reason } => {
                write!(f, "snapshot {id} lost some media: {reason}")
            }
            Problem::UnreadableLock { name } => {
                write!(f, "{name} under locks/ is not a readable lock")
            }
            Problem::StrayObject { name } => {
                write!(f, "{name} is not part of the repository's layout")
            }
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Healthy => "healthy",
            Verdict::Healed => "healed",
            Verdict::Broken => "broken",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::SnapshotId;

    #[test]
    fn each_problem_reads_as_a_sentence_naming_what_it_concerns() {
        let id = SnapshotId([7; 16]);
        let cases = [
            (
                Problem::LostPack {
                    name: "data/ab".into(),
                },
                "data/ab",
            ),
            (
                Problem::UnrestorableSnapshot {
                    id,
                    reason: "chunk lost".into(),
                },
                "chunk lost",
            ),
            (Problem::IndexIncomplete { id, chunks: 3 }, "3 chunk(s)"),
        ];
        for (problem, needle) in cases {
            let text = problem.to_string();
            assert!(text.contains(needle), "{text}");
            assert!(!text.ends_with('.'), "a clause the surfaces end: {text}");
        }
        assert!(Problem::UnrestorableSnapshot {
            id,
            reason: String::new()
        }
        .to_string()
        .contains(&id.to_string()));
        assert_eq!(Verdict::Healed.to_string(), "healed");
    }
}
