//! Which rows a retrain trains on: the workflow's `retrain.on`, the retrain stage's output and
//! the worker protocol's, one enum written as the same text in each.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetrainOn {
    /// The train rows; the val rows are still measured after every epoch.
    #[serde(rename = "train")]
    Train,
    /// The train and val rows together; nothing is measured while training.
    #[serde(rename = "train+val")]
    TrainVal,
}

impl RetrainOn {
    pub const ALL: [RetrainOn; 2] = [RetrainOn::Train, RetrainOn::TrainVal];

    pub fn as_str(self) -> &'static str {
        match self {
            RetrainOn::Train => "train",
            RetrainOn::TrainVal => "train+val",
        }
    }

    /// The value written in a workflow, or `None` for another text.
    pub fn parse(s: &str) -> Option<RetrainOn> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_is_written_as_it_is_read() {
        for on in RetrainOn::ALL {
            assert_eq!(RetrainOn::parse(on.as_str()), Some(on));
            assert_eq!(serde_json::to_value(on).unwrap(), on.as_str());
        }
        assert_eq!(RetrainOn::parse("val"), None);
    }
}
