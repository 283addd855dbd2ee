"""B5's PyTorch training code, shared by the Optuna peer (b5_peer.py), the same code as a hpflow
`command` program (b5_trainer.py) and the controlled experiment (b5_control.py), so that the
three train with exactly one implementation.

A configuration is a dict: lr, units, hidden_layers, dropout, batch_size, and optionally
activation (relu) and optimizer (adam; sgd takes momentum, adamw weight_decay). Two switches
exist for the experiment only: `init="kaiming_relu"` draws the weights as tch's `nn::linear`
does by default (Kaiming uniform with ReLU's gain, bound sqrt(6/fan_in), 2.45x PyTorch's
1/sqrt(fan_in)), and the caller chooses the input normalisation (`per_pixel` or the split's).
"""
import torch

ACTIVATIONS = {
    "relu": torch.nn.ReLU,
    "leaky_relu": torch.nn.LeakyReLU,
    "elu": torch.nn.ELU,
    "tanh": torch.nn.Tanh,
    "gelu": torch.nn.GELU,
}


def per_pixel(x_train):
    """The peer's normalisation: (mean, std) of every input over the training rows."""
    return x_train.mean(0), x_train.std(0) + 1e-6


def model(cfg, inputs=784, classes=10, init="torch"):
    layers, width = [], inputs
    act = ACTIVATIONS[cfg.get("activation", "relu")]
    for _ in range(int(cfg["hidden_layers"])):
        layers += [torch.nn.Linear(width, int(cfg["units"])), act(), torch.nn.Dropout(float(cfg["dropout"]))]
        width = int(cfg["units"])
    net = torch.nn.Sequential(*layers, torch.nn.Linear(width, classes))
    if init == "kaiming_relu":
        for m in net:
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
    elif init != "torch":
        raise ValueError(f"unknown init {init}")
    return net


def optimizer(cfg, params):
    kind, lr = cfg.get("optimizer", "adam"), float(cfg["lr"])
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=float(cfg.get("weight_decay", 0.01)))
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=float(cfg.get("momentum", 0.0)))
    raise ValueError(f"unknown optimizer {kind}")


def train(cfg, x, y, seed, epochs, init="torch", after_epoch=None):
    """`epochs` passes in a seeded random order; `after_epoch(epoch, model)` after each (it
    must leave the model's mode and the random streams as it found them)."""
    torch.manual_seed(seed)
    # Trained where the data lies (the GPU check puts it on CUDA); on the CPU .to() is a no-op.
    m = model(cfg, x.shape[1], int(y.max()) + 1, init).to(x.device)
    opt = optimizer(cfg, m.parameters())
    g = torch.Generator().manual_seed(seed)
    bs = int(cfg["batch_size"])
    for epoch in range(1, epochs + 1):
        m.train()
        perm = torch.randperm(len(x), generator=g).to(x.device)
        for i in range(0, len(x), bs):
            b = perm[i : i + bs]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(m(x[b]), y[b]).backward()
            opt.step()
        if after_epoch is not None:
            after_epoch(epoch, m)
    return m


def accuracy(m, x, y):
    m.eval()
    with torch.no_grad():
        return (m(x).argmax(1) == y).float().mean().item()
