//! The states a job, a search item and a trial go through, as recorded in `hpflow.db`. Each
//! is an enum that serialises to the same lowercase word the database holds (a CHECK
//! constraint there admits only these words), so every reader is checked by the compiler.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

/// Defines a state enum with its words: `as_str`, `Display`, `ALL`, `FromStr`, and SQL.
macro_rules! states {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("unknown {} {s:?}", stringify!($name)))
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e: String| FromSqlError::Other(e.into()))
            }
        }
    };
}

states! {
    /// A job's state in the `jobs` table.
    JobState {
        Running = "running",
        /// Its outputs are in place (see `store::RunningJob::commit`, the only way here).
        Done = "done",
        Failed = "failed",
        /// Stopped (a signal, a full disk); the next run resumes it.
        Interrupted = "interrupted",
    }
}

states! {
    /// A search item's state in the `items` table.
    ItemState {
        /// Decided and handed to a worker (or waiting for one).
        Issued = "issued",
        Done = "done",
        Failed = "failed",
        /// Decided before a retry changed what came before it: kept (under a negative item
        /// number) to reuse its result if the same decision comes again.
        Stale = "stale",
    }
}

states! {
    /// A trial's state in the `trials` table.
    TrialRowState {
        Queued = "queued",
        Running = "running",
        Done = "done",
        Failed = "failed",
        Diverged = "diverged",
        Infeasible = "infeasible",
        /// The same configuration as an earlier trial: its result taken, not trained again.
        Duplicate = "duplicate",
        /// Only ever read, never written: `running` while no `hpflow run` is alive.
        Interrupted = "interrupted",
    }
}

impl JobState {
    /// The CHECK constraint's list (`'running', 'done', ...`).
    pub fn sql_list() -> String {
        sql_list(Self::ALL.iter().map(|s| s.as_str()))
    }
}

impl ItemState {
    pub fn sql_list() -> String {
        sql_list(Self::ALL.iter().map(|s| s.as_str()))
    }
}

impl TrialRowState {
    /// The written states (not `interrupted`, which readers make of `running`).
    pub fn sql_list() -> String {
        sql_list(
            Self::ALL
                .iter()
                .filter(|s| **s != TrialRowState::Interrupted)
                .map(|s| s.as_str()),
        )
    }

    /// A trial that ended without a value (failed, diverged, infeasible).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            TrialRowState::Failed | TrialRowState::Diverged | TrialRowState::Infeasible
        )
    }
}

fn sql_list<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_through_text_serde_and_sql() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for s in TrialRowState::ALL {
            assert_eq!(s.as_str().parse::<TrialRowState>().unwrap(), *s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            let back: TrialRowState = conn.query_row("SELECT ?1", [s], |r| r.get(0)).unwrap();
            assert_eq!(back, *s);
        }
        for s in JobState::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        let bad: rusqlite::Result<JobState> = conn.query_row("SELECT 'finished'", [], |r| r.get(0));
        assert!(bad.is_err());
    }
}
