# A PyTorch program written with the hpflow helper (python/): tests/python_helper.rs.
import hpflow
import torch

torch.set_num_threads(1)
lr, units = hpflow.param("lr", float), hpflow.param("units", int)


def model(features):
    torch.manual_seed(hpflow.seed())
    l1 = torch.nn.Linear(features, units)
    return torch.nn.Sequential(l1, torch.nn.ReLU(), torch.nn.Linear(units, hpflow.classes()))


def accuracy(net, x, y):
    with torch.no_grad():
        return (net(x).argmax(1) == y).float().mean().item()


if hpflow.mode() == "evaluate":
    x, y = map(torch.from_numpy, hpflow.test_rows())
    net = model(x.shape[1])
    net.load_state_dict(hpflow.load_checkpoint(folder=hpflow.model_dir())["model"])
    hpflow.evaluate(accuracy=accuracy(net, x, y))
    raise SystemExit(0)
x, y = map(torch.from_numpy, hpflow.train_rows())
val = hpflow.val_rows()
net = model(x.shape[1])
opt = torch.optim.Adam(net.parameters(), lr=lr)
state = hpflow.load_checkpoint()
if state:
    net.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
for epoch in hpflow.epochs(state):
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(hpflow.seed() + epoch))
    for i in range(0, len(x), 64):
        b = order[i : i + 64]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x[b]), y[b]).backward()
        opt.step()
    hpflow.save_checkpoint({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch})
    metrics = {} if val is None else {"val_accuracy": accuracy(net, *map(torch.from_numpy, val))}
    hpflow.report(epoch, **metrics)
