//! Sweeps that grow: which budgets a search's schedule extends. Item k is decided from the
//! results of earlier items only, and most schedules' budgets only say where they stop, so a
//! larger budget decides the same first items and then more: its job is the smaller one's,
//! continued. Where the budget shapes the schedule itself (SHA's one bracket of `trials`,
//! Hyperband's last bracket cut to what is left, PBT's population), a different budget is a
//! different schedule, and the budget stays in the job's identity.

use crate::search::{Budget, Strategy, StrategyKind};

use super::ladder;

/// Why the budget is part of this search's identity (a new budget is a new job), or `None`
/// when a larger budget continues the search and a smaller one selects within it.
pub fn budget_in_identity(strategy: &Strategy, budget: &Budget) -> Option<String> {
    use StrategyKind::*;
    let trials = budget.trials?;
    match strategy.kind() {
        Sha => Some(format!(
            "sha's one bracket starts budget.trials ({trials}) trials, so another count is \
             another bracket (a time or epoch budget alone repeats brackets and grows)"
        )),
        Pbt => Some(format!(
            "pbt's population is at most budget.trials ({trials}), so another count is \
             another population"
        )),
        Hyperband | Bohb => {
            let r = strategy.rungs()?;
            let per: usize = ladder::hyperband(r.min_epochs, r.max_epochs, r.eta)
                .iter()
                .map(|b| b.rungs.first().map_or(0, |r| r.n))
                .sum();
            (per > 0 && trials % per != 0).then(|| {
                format!(
                    "budget.trials ({trials}) is not a whole number of iterations ({per} trials \
                     each): the last bracket is cut, so a larger budget is not a continuation \
                     (use a multiple of {per} to grow by iterations)"
                )
            })
        }
        Grid | Random | Bayes | Tpe | Evolution | Asha => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(kind: StrategyKind) -> Strategy {
        Strategy::of_kind(kind, 9, 2)
    }

    fn trials(n: usize) -> Budget {
        Budget {
            trials: Some(n),
            ..Budget::default()
        }
    }

    #[test]
    fn budgets_that_shape_the_schedule_stay_in_identity() {
        for kind in [
            StrategyKind::Grid,
            StrategyKind::Random,
            StrategyKind::Bayes,
            StrategyKind::Tpe,
            StrategyKind::Evolution,
            StrategyKind::Asha,
        ] {
            assert_eq!(budget_in_identity(&opts(kind), &trials(7)), None);
        }
        // One hyperband iteration for R = 9, eta 3 is 9 + 5 + 3 = 17 trials.
        let hb = opts(StrategyKind::Hyperband);
        assert_eq!(budget_in_identity(&hb, &trials(17)), None);
        assert_eq!(budget_in_identity(&hb, &trials(34)), None);
        assert!(budget_in_identity(&hb, &trials(20)).is_some());
        assert!(budget_in_identity(&opts(StrategyKind::Sha), &trials(9)).is_some());
        assert!(budget_in_identity(&opts(StrategyKind::Pbt), &trials(9)).is_some());
        // Time or epochs alone only say where the schedule stops.
        let time = Budget {
            time: Some(std::time::Duration::from_secs(60)),
            ..Budget::default()
        };
        assert_eq!(budget_in_identity(&opts(StrategyKind::Sha), &time), None);
    }
}
