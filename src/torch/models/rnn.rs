//! `rnn`: stacked LSTM or GRU over a sequence (an image's rows, or a table's features one per
//! step); the last layer's final hidden state (both directions) feeds the output layer.
//!
//! The weights are created here rather than with `nn::lstm` because that fixes dropout's
//! train/eval switch at construction; `Tensor::lstm`/`gru` take it per call.

use tch::{Tensor, nn};

use super::dropout::MaskDropout;
use super::sequence;
use crate::hparams::Cell;

#[derive(Debug)]
pub struct Rnn {
    cell: Cell,
    weights: Vec<Tensor>,
    units: i64,
    layers: i64,
    bidirectional: bool,
    dropout: f64,
    shape: Vec<usize>,
    out: nn::Linear,
}

pub struct RnnShape {
    pub cell: Cell,
    pub units: usize,
    pub layers: usize,
    pub bidirectional: bool,
}

pub fn build(p: &nn::Path, shape: &[usize], a: &RnnShape, dropout: f64, outputs: i64) -> Rnn {
    let RnnShape {
        cell,
        units,
        layers,
        bidirectional,
    } = *a;
    let (_, features) = sequence::dims(shape, 0);
    let gates = match cell {
        Cell::Lstm => 4,
        Cell::Gru => 3,
    } * units as i64;
    let dirs = if bidirectional { 2 } else { 1 };
    let units = units as i64;
    let mut weights = Vec::new();
    // PyTorch's layout and initialisation: U(-1/sqrt(units), 1/sqrt(units)) for everything.
    let bound = 1.0 / (units as f64).sqrt();
    let init = nn::Init::Uniform {
        lo: -bound,
        up: bound,
    };
    for layer in 0..layers {
        for dir in 0..dirs {
            let input = if layer == 0 { features } else { units * dirs };
            let sfx = if dir == 1 { "_reverse" } else { "" };
            weights.push(p.var(&format!("weight_ih_l{layer}{sfx}"), &[gates, input], init));
            weights.push(p.var(&format!("weight_hh_l{layer}{sfx}"), &[gates, units], init));
            weights.push(p.var(&format!("bias_ih_l{layer}{sfx}"), &[gates], init));
            weights.push(p.var(&format!("bias_hh_l{layer}{sfx}"), &[gates], init));
        }
    }
    Rnn {
        cell,
        weights,
        units,
        layers: layers as i64,
        bidirectional,
        dropout,
        shape: shape.to_vec(),
        out: nn::linear(p / "out", units * dirs, outputs, Default::default()),
    }
}

impl nn::ModuleT for Rnn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let seq = sequence::rows(xs, &self.shape);
        let dirs = if self.bidirectional { 2 } else { 1 };
        let batch = seq.size()[0];
        let h0 = Tensor::zeros(
            [self.layers * dirs, batch, self.units],
            (seq.kind(), seq.device()),
        );
        let hn = match self.cell {
            Cell::Lstm => {
                let c0 = h0.zeros_like();
                let (_, hn, _) = seq.lstm(
                    &[&h0, &c0],
                    &self.weights.iter().collect::<Vec<_>>(),
                    true,
                    self.layers,
                    self.dropout,
                    train,
                    self.bidirectional,
                    true,
                );
                hn
            }
            Cell::Gru => {
                let (_, hn) = seq.gru(
                    &h0,
                    &self.weights,
                    true,
                    self.layers,
                    self.dropout,
                    train,
                    self.bidirectional,
                    true,
                );
                hn
            }
        };
        // hn: [layers * dirs, batch, units]; the last layer's directions, side by side.
        let last = hn
            .narrow(0, (self.layers - 1) * dirs, dirs)
            .transpose(0, 1)
            .reshape([batch, -1]);
        last.mask_dropout(self.dropout, train).apply(&self.out)
    }
}
