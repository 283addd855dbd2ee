"""The regret benchmark's functions in Python, for the peers (B3 and scripts/bench-strategies):
the same formulas, domains and optima as hpflow's (src/search/objectives.rs; the domains are
those of src/search/strategy/bench.rs). `b3_peers.py check` compares them with `hpflow run`."""
import math


def branin(x):
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s


ALPHA = [1.0, 1.2, 3.0, 3.2]
A6 = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P6 = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
      [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]
A3 = [[3, 10, 30], [0.1, 10, 35], [3, 10, 30], [0.1, 10, 35]]
P3 = [[0.3689, 0.1170, 0.2673], [0.4699, 0.4387, 0.7470], [0.1091, 0.8732, 0.5547], [0.03815, 0.5743, 0.8828]]


def hartmann(a, p, x):
    return -sum(ALPHA[i] * math.exp(-sum(a[i][j] * (x[j] - p[i][j]) ** 2 for j in range(len(x)))) for i in range(4))


def levy(x):
    w = [1 + (v - 1) / 4 for v in x]
    s = math.sin(math.pi * w[0]) ** 2
    for wi in w[:-1]:
        s += (wi - 1) ** 2 * (1 + 10 * math.sin(math.pi * wi + 1) ** 2)
    return s + (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)


def rosenbrock(x):
    return sum(100 * (b - a * a) ** 2 + (1 - a) ** 2 for a, b in zip(x, x[1:]))


def beale(x):
    a, b = x
    return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b * b) ** 2 + (2.625 - a + a * b**3) ** 2


def camel6(x):
    a, b = x
    return (4 - 2.1 * a * a + a**4 / 3) * a * a + a * b + (-4 + 4 * b * b) * b * b


def goldstein(x):
    a, b = x
    t1 = 1 + (a + b + 1) ** 2 * (19 - 14 * a + 3 * a * a - 14 * b + 6 * a * b + 3 * b * b)
    t2 = 30 + (2 * a - 3 * b) ** 2 * (18 - 32 * a + 12 * a * a + 48 * b - 36 * a * b + 27 * b * b)
    return t1 * t2


def styblinski4(x):
    return sum(v**4 - 16 * v * v + 5 * v for v in x) / 2


# name: (function, domain of x1..xd, known minimum)
FUNCS = {
    "branin": (branin, [(-5.0, 10.0), (0.0, 15.0)], 0.397887357729738),
    "hartmann6": (lambda x: hartmann(A6, P6, x), [(0.0, 1.0)] * 6, -3.32236801141551),
    "levy": (levy, [(-10.0, 10.0)] * 10, 0.0),
    "rosenbrock": (rosenbrock, [(-5.0, 10.0)] * 4, 0.0),
    "beale": (beale, [(-4.5, 4.5)] * 2, 0.0),
    "camel6": (camel6, [(-3.0, 3.0), (-2.0, 2.0)], -1.031628453489877),
    "goldstein": (goldstein, [(-2.0, 2.0)] * 2, 3.0),
    "hartmann3": (lambda x: hartmann(A3, P3, x), [(0.0, 1.0)] * 3, -3.86278214782076),
    "styblinski4": (styblinski4, [(-5.0, 5.0)] * 4, -156.6646628150857),
}
DOMAINS = {k: v[1] for k, v in FUNCS.items()}
OPTIMA = {k: v[2] for k, v in FUNCS.items()}
