//! The output layer and loss that follow the task: softmax + cross-entropy for more than two
//! classes, one sigmoid unit + binary cross-entropy for two, one linear unit + MSE for
//! regression; and the measurement of a model on a set of rows through `train::metrics`.

use std::collections::BTreeMap;

use tch::{Kind, Reduction, Tensor, nn::ModuleT};

use super::data::Part;
use hpflow::data::Task;
use hpflow::train::metrics;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Head {
    Classes(usize),
    Binary,
    Regression,
}

impl Head {
    pub fn new(task: Task, classes: usize) -> Result<Head, String> {
        match (task, classes) {
            (Task::Regression, _) => Ok(Head::Regression),
            (Task::Classification, 2) => Ok(Head::Binary),
            (Task::Classification, k) if k > 2 => Ok(Head::Classes(k)),
            (Task::Classification, k) => Err(format!(
                "classification needs at least 2 classes, the data has {k}"
            )),
        }
    }

    pub fn outputs(self) -> i64 {
        match self {
            Head::Classes(k) => k as i64,
            Head::Binary | Head::Regression => 1,
        }
    }

    /// Mean loss of a batch; `y` holds class indices (int64) or values (float).
    pub fn loss(self, out: &Tensor, y: &Tensor) -> Tensor {
        match self {
            Head::Classes(_) => out.cross_entropy_for_logits(y),
            Head::Binary => out
                .reshape([-1])
                .binary_cross_entropy_with_logits::<Tensor>(
                    &y.to_kind(Kind::Float),
                    None,
                    None,
                    Reduction::Mean,
                ),
            Head::Regression => out.reshape([-1]).mse_loss(y, Reduction::Mean),
        }
    }

    /// Class probabilities `[B, classes]` (binary: `[1-p, p]`) or predictions `[B]`.
    fn values(self, out: &Tensor) -> Tensor {
        match self {
            Head::Classes(_) => out.softmax(-1, Kind::Float),
            Head::Binary => {
                let p = out.reshape([-1, 1]).sigmoid();
                Tensor::cat(&[p.ones_like() - &p, p], 1)
            }
            Head::Regression => out.reshape([-1]),
        }
    }
}

/// Run `net` in evaluation mode over `rows` in chunks and compute the metrics in `names`
/// (every metric of the task when empty), keyed `prefix + name`. The loss is the training
/// loss averaged over rows. A non-finite loss comes back as `Err(loss)`.
pub fn measure(
    net: &dyn ModuleT,
    head: Head,
    rows: &Part,
    prefix: &str,
    names: &[&str],
) -> Result<BTreeMap<String, f64>, f64> {
    let n = rows.x.size()[0];
    if n == 0 {
        return Ok(BTreeMap::new());
    }
    const CHUNK: i64 = 1024;
    let (loss_sum, values) = tch::no_grad(|| {
        let mut loss_sum = Tensor::zeros([], (Kind::Double, rows.x.device()));
        let mut values = Vec::new();
        let mut start = 0;
        while start < n {
            let len = CHUNK.min(n - start);
            let out = net.forward_t(&rows.x.narrow(0, start, len), false);
            let y = rows.y.narrow(0, start, len);
            loss_sum += head.loss(&out, &y).to_kind(Kind::Double) * len as f64;
            values.push(head.values(&out));
            start += len;
        }
        (loss_sum, Tensor::cat(&values, 0))
    });
    let loss = loss_sum.double_value(&[]) / n as f64;
    if !loss.is_finite() {
        return Err(loss);
    }
    let values = to_vec_f32(&values);
    Ok(match head {
        Head::Regression => {
            let mut m = metrics::regression(prefix, names, &values, &to_vec_f32(&rows.y));
            if names.is_empty() || names.contains(&"loss") {
                m.insert(format!("{prefix}loss"), loss);
            }
            m
        }
        Head::Classes(_) | Head::Binary => {
            let labels: Vec<i64> =
                Vec::<i64>::try_from(rows.y.to_device(tch::Device::Cpu).reshape([-1]))
                    .unwrap_or_default();
            let k = if head == Head::Binary {
                2
            } else {
                head.outputs() as usize
            };
            metrics::classification(prefix, names, Some(loss), &values, &labels, k)
        }
    })
}

fn to_vec_f32(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(
        t.to_device(tch::Device::Cpu)
            .to_kind(Kind::Float)
            .reshape([-1]),
    )
    .unwrap_or_default()
}
