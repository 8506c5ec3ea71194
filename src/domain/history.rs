//! Conversation turns and the normalisation that turns a client's chat history
//! into a valid, bounded Gemini conversation.
//!
//! The client owns the chat; the server keeps no state. What arrives may start
//! with the app's own greeting (a model turn), repeat a role, or carry empty
//! text; Gemini wants a conversation that starts with the user, so this module
//! drops leading model turns, merges runs of one role, skips empty text, and
//! keeps only the newest turns within a size budget.

/// Who said a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The person.
    User,
    /// The assistant.
    Model,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Who said it.
    pub role: Role,
    /// What was said (Markdown for model turns).
    pub text: String,
}

impl Turn {
    /// A turn of the given role.
    pub fn new(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            text: text.into(),
        }
    }
}

/// How much history is sent upstream at the most.
#[derive(Debug, Clone, Copy)]
pub struct HistoryBudget {
    /// Characters of all kept turns together, the new message included.
    pub max_chars: usize,
    /// Kept turns, the new message included.
    pub max_turns: usize,
}

impl Default for HistoryBudget {
    fn default() -> Self {
        // About 30k tokens at most: ample context for a chat, cheap on the free tier.
        Self {
            max_chars: 60_000,
            max_turns: 40,
        }
    }
}

/// Builds the conversation sent upstream from the client's history and the new
/// message. The result is never empty, starts with a user turn, alternates roles
/// and ends with the new message (merged into a trailing user turn if the history
/// ended with one).
pub fn normalise(history: Vec<Turn>, message: &str, budget: HistoryBudget) -> Vec<Turn> {
    let mut turns: Vec<Turn> = Vec::with_capacity(history.len() + 1);
    let all = history
        .into_iter()
        .chain(std::iter::once(Turn::new(Role::User, message)));
    for turn in all {
        let text = turn.text.trim();
        if text.is_empty() {
            continue;
        }
        if turns.is_empty() && turn.role == Role::Model {
            continue;
        }
        match turns.last_mut() {
            Some(last) if last.role == turn.role => {
                last.text.push_str("\n\n");
                last.text.push_str(text);
            }
            _ => turns.push(Turn::new(turn.role, text)),
        }
    }
    keep_newest(turns, budget)
}

/// Keeps the newest turns within the budget; the last turn (the new message) is
/// always kept, and the result still starts with a user turn.
fn keep_newest(turns: Vec<Turn>, budget: HistoryBudget) -> Vec<Turn> {
    let mut chars = 0usize;
    let mut start = turns.len();
    for (index, turn) in turns.iter().enumerate().rev() {
        let len = turn.text.chars().count();
        let kept = turns.len() - index;
        if start != turns.len() && (chars + len > budget.max_chars || kept > budget.max_turns) {
            break;
        }
        chars += len;
        start = index;
    }
    let mut kept: Vec<Turn> = turns.into_iter().skip(start).collect();
    if kept.first().is_some_and(|t| t.role == Role::Model) {
        kept.remove(0);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(role: Role, text: &str) -> Turn {
        Turn::new(role, text)
    }

    #[test]
    fn a_leading_greeting_is_dropped_and_the_message_appended() {
        let history = vec![t(Role::Model, "Здравствуйте! Я эксперт по сварке.")];
        let out = normalise(history, "Какой электрод?", HistoryBudget::default());
        assert_eq!(out, vec![t(Role::User, "Какой электрод?")]);
    }

    #[test]
    fn consecutive_turns_of_one_role_are_merged_and_empty_ones_skipped() {
        let history = vec![
            t(Role::User, "a"),
            t(Role::User, "b"),
            t(Role::Model, "  "),
            t(Role::Model, "c"),
            t(Role::Model, "d"),
            t(Role::User, ""),
        ];
        let out = normalise(history, "e", HistoryBudget::default());
        assert_eq!(
            out,
            vec![
                t(Role::User, "a\n\nb"),
                t(Role::Model, "c\n\nd"),
                t(Role::User, "e")
            ]
        );
    }

    #[test]
    fn a_history_ending_with_the_user_absorbs_the_new_message() {
        let out = normalise(vec![t(Role::User, "first")], "second", HistoryBudget::default());
        assert_eq!(out, vec![t(Role::User, "first\n\nsecond")]);
    }

    #[test]
    fn only_the_newest_turns_within_the_budget_are_kept_and_start_with_the_user() {
        let mut history = Vec::new();
        for i in 0..10 {
            history.push(t(Role::User, &format!("q{i}")));
            history.push(t(Role::Model, &format!("a{i}")));
        }
        let budget = HistoryBudget {
            max_chars: 1000,
            max_turns: 4,
        };
        let out = normalise(history, "new", budget);
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[0], t(Role::User, "q9"));
        assert_eq!(out[2], t(Role::User, "new"));

        let history = vec![t(Role::User, &"x".repeat(50)), t(Role::Model, &"y".repeat(50))];
        let budget = HistoryBudget {
            max_chars: 80,
            max_turns: 40,
        };
        let out = normalise(history, "zz", budget);
        assert_eq!(out, vec![t(Role::User, "zz")]);
    }

    #[test]
    fn the_new_message_is_kept_even_when_it_alone_exceeds_the_budget() {
        let budget = HistoryBudget {
            max_chars: 3,
            max_turns: 1,
        };
        let out = normalise(vec![t(Role::User, "old")], "a long message", budget);
        assert_eq!(out, vec![t(Role::User, "old\n\na long message")]);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn turn() -> impl Strategy<Value = Turn> {
            (any::<bool>(), ".{0,40}")
                .prop_map(|(user, text)| Turn::new(if user { Role::User } else { Role::Model }, text))
        }

        proptest! {
            #[test]
            fn normalised_history_is_valid_for_any_input(
                history in prop::collection::vec(turn(), 0..60),
                message in ".{1,50}".prop_filter("not blank", |m| !m.trim().is_empty()),
                max_chars in 1usize..500,
                max_turns in 1usize..20,
            ) {
                let out = normalise(history, &message, HistoryBudget { max_chars, max_turns });
                prop_assert!(!out.is_empty());
                prop_assert_eq!(out[0].role, Role::User);
                prop_assert_eq!(out.last().unwrap().role, Role::User);
                prop_assert!(out.last().unwrap().text.ends_with(message.trim()));
                for pair in out.windows(2) {
                    prop_assert_ne!(pair[0].role, pair[1].role);
                }
                prop_assert!(out.iter().all(|t| !t.text.trim().is_empty()));
                prop_assert!(out.len() <= max_turns.max(1) + 1);
            }
        }
    }
}
