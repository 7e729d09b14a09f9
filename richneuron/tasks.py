"""The nine tasks of the study, with generators we wrote and documented (the study published none),
and three tasks on real data shipped inside well-kept packages (`available("real")`).

`make(name, seed=0, **options)` returns a `Task`; the same name, seed and options give the same
tensors bit for bit (every draw goes through one `torch.Generator` seeded with `seed`).
Inputs live in [−1, 1] unless a docstring says otherwise. Training sets have 200–512 points (the study
never states its sizes; every size is an option): with ~5K parameters every model can in
principle fit them, so the tasks measure what a neuron makes easy, not raw capacity (except
`memorize`, whose point count is the capacity knob). Test sets are fresh draws from the same
generator, except `memorize` (scored on its training pairs, as the study does) and the shifted
tasks (`ood`, `freqgen`, `mixedfreq`), whose test range is the point of the task.

The real-data tasks (`camera`, `diabetes`, `digits`) read data bundled with scikit-image and
scikit-learn (nothing is downloaded); the data seed draws their train/test split.

Every task takes `validation=f` (0 < f ≤ 0.5) for learning-rate tuning: the last share f of the
training points is held out and scored in place of the test set, which is then not returned at
all. `memorize` ignores it: its score is the fit to its training pairs by definition.

How a task describes itself: the `task(...)` line above each generator registers it with its
facts (kind, group, whether it is one of the six standard tasks, whether its test set is shifted
away from the training range, its difficulty knob with three levels, easiest first) and the
constraints of its own options (beside `SHARED`, those of the options every task shares). Generic
code reads them (`check_options`, `available(...)`, `entry(name)`), and every list of tasks
elsewhere is derived from them. Adding a task is one generator and its `task(...)` line.
"""
import inspect
import math
from dataclasses import dataclass, field
from functools import lru_cache

import torch

from . import validate

__all__ = ["Task", "available", "make", "generator", "entry", "task", "register", "unregister", "REGISTRY",
           "STANDARD"]


@dataclass(eq=False)
class Task:
    """One data set. `metric` is "mse" (lower is better) or "accuracy" (higher is better)."""

    name: str
    kind: str                      # "regression" or "classification"
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    options: dict
    extra: dict = field(default_factory=dict)   # name -> (x, y): further evaluation sets

    @property
    def in_dim(self):
        return self.x_train.shape[1]

    @property
    def out_dim(self):
        return self.y_train.shape[1] if self.kind == "regression" else int(self.y_train.max()) + 1

    @property
    def metric(self):
        return "mse" if self.kind == "regression" else "accuracy"

    @property
    def baselines(self):
        """Sanity baselines on the test set: predict-zero and predict-train-mean MSE, or chance
        (majority-class) accuracy and the uniform-guess accuracy 1/classes."""
        if self.kind == "regression":
            mean = self.y_train.mean(0)
            return {"predict_zero_mse": float((self.y_test ** 2).mean()),
                    "predict_mean_mse": float(((self.y_test - mean) ** 2).mean())}
        counts = torch.bincount(self.y_test, minlength=self.out_dim)
        return {"chance_accuracy": float(counts.max() / counts.sum()),
                "uniform_accuracy": 1.0 / self.out_dim}

    def __repr__(self):
        return (f"Task({self.name!r}, {self.kind}, {self.in_dim}->{self.out_dim}, "
                f"train={len(self.x_train)}, test={len(self.x_test)}, options={self.options})")


# ----------------------------------------------------------------------------- the registry

KINDS = ("regression", "classification")


@dataclass(frozen=True)
class Entry:
    """A registered task: its generator and the facts generic code reads."""

    name: str
    generator: object
    kind: str                      # "regression" or "classification"
    group: str = "study"           # "study" or "real"
    standard: bool = False         # one of the study's six standard tasks
    shifted: bool = False          # the test set lies outside the training range
    difficulty: tuple = None       # (option, (three levels, easiest first)); the default is one of them
    holdout: bool = True           # `validation=f` holds out training points (memorize: scored on its pairs)
    constraints: dict = field(default_factory=dict)   # option -> declared constraint (validate)


REGISTRY = {}


def _points(name, v):
    """A point count: a whole number >= 1 whose data fit in this machine's memory."""
    v = validate.integer(name, v, minimum=1)
    ram = validate.physical_memory()
    if ram and 16 * v > ram:                                   # ≥ 4 floats (x and y) per point
        raise ValueError(f"{name}={v:,} is too large: its data alone need at least {16 * v / 2**30:,.1f} GiB; "
                         f"this machine has {ram / 2**30:,.1f} GiB")
    return v


def _frequencies(name, v):
    v = validate.plain(v)
    if not isinstance(v, list) or not v:
        raise ValueError(f"{name} must be a non-empty list of positive frequencies, got {v!r}")
    return [validate.positive(name, f) for f in v]


POSITIVE, WHOLE = validate.positive, validate.declared(validate.integer, minimum=1)
SHARE = validate.declared(validate.real, low=0, high=1, what="a fraction in (0, 1)")
MODE = validate.declared(validate.choice, choices=("scaled", "direct"))

# The options several tasks share, with one meaning: declared once.
SHARED = {"n_train": _points, "n_test": _points,
          "noise": validate.declared(validate.real, low=0, low_open=False,
                                     what="a finite number >= 0 (the noise's standard deviation)"),
          "validation": validate.declared(validate.real, low=0, high=0.5, low_open=False, high_open=False,
                                          what="a fraction in [0, 0.5]")}


def register(name, generator, kind, group="study", standard=False, shifted=False, difficulty=None,
             holdout=True, **constraints):
    """Register `generator` (gen, **options) -> (kind, x_train, y_train, x_test, y_test[, extra]) as
    task `name`; `constraints` declare its own options' checks (beside `SHARED`). Every option the
    generator takes must be declared, so none goes unchecked."""
    validate.choice("kind", kind, KINDS)
    validate.choice("group", group, ("study", "real"))
    if name in REGISTRY:
        raise ValueError(f"task {name!r} is already registered")
    params = list(inspect.signature(generator).parameters)[1:]
    declared = {**{k: v for k, v in SHARED.items() if k in params or k == "validation"}, **constraints}
    missing = [p for p in params if p not in declared]
    if missing:
        raise ValueError(f"task {name!r}: declare a constraint for option(s) {', '.join(missing)}")
    if difficulty is not None and difficulty[0] not in params:
        raise ValueError(f"task {name!r}: its difficulty knob {difficulty[0]!r} is not one of its options")
    REGISTRY[name] = Entry(name, generator, kind, group, standard, shifted, difficulty, holdout, declared)
    return generator


def task(kind, **facts):
    """Decorator form of `register`: the task's name is the generator's."""
    return lambda generator: register(generator.__name__, generator, kind, **facts)


def unregister(name):
    """Remove task `name` (for tests that register a throwaway one)."""
    del REGISTRY[entry(name).name]


def _uniform(gen, n, d, lo=-1.0, hi=1.0):
    return lo + (hi - lo) * torch.rand(n, d, generator=gen)


def _noisy(gen, y, noise):
    return y + noise * torch.randn(y.shape, generator=gen) if noise else y


@task("regression", standard=True, difficulty=("scale", (1.0, 2.0, 4.0)), scale=POSITIVE)
def complex4d(gen, n_train=512, n_test=1024, noise=0.0, scale=1.0):
    """Complex compositional function of 4 inputs, x ~ U[−1, 1]⁴:

    y = sin(s·π·x1·x2) + x3·cos(s·π·x4) + 0.5·tanh(2·(x1 + x3))·x4

    Products, periodic pieces and a squashing composition. `scale` s sets the frequency
    (difficulty); `noise` is the std of Gaussian noise added to train targets only.
    """
    def f(x):
        x1, x2, x3, x4 = x.unbind(1)
        y = (torch.sin(scale * math.pi * x1 * x2) + x3 * torch.cos(scale * math.pi * x4)
             + 0.5 * torch.tanh(2 * (x1 + x3)) * x4)
        return y[:, None]
    xtr, xte = _uniform(gen, n_train, 4), _uniform(gen, n_test, 4)
    return "regression", xtr, _noisy(gen, f(xtr), noise), xte, f(xte)


@task("regression", standard=True, difficulty=("k", (2.0, 4.0, 8.0)), k=POSITIVE)
def nested2d(gen, n_train=512, n_test=1024, noise=0.0, k=2.0):
    """Nested multiplicative periodic function of 2 inputs, x ~ U[−1, 1]²:

    y = sin(k·π·x1·x2) · cos(π·(x1 + x2))

    `k` sets the frequency of the inner product term (difficulty).
    """
    def f(x):
        x1, x2 = x.unbind(1)
        return (torch.sin(k * math.pi * x1 * x2) * torch.cos(math.pi * (x1 + x2)))[:, None]
    xtr, xte = _uniform(gen, n_train, 2), _uniform(gen, n_test, 2)
    return "regression", xtr, _noisy(gen, f(xtr), noise), xte, f(xte)


@task("regression", standard=True, freqs=_frequencies,
      difficulty=("freqs", ((2.5, 5.5, 8.5), (5.0, 11.0, 17.0), (10.0, 22.0, 34.0))))
def hifreq(gen, n_train=512, n_test=1024, noise=0.0, freqs=(5.0, 11.0, 17.0)):
    """High-frequency, audio-like 1-D signal on x ~ U[−1, 1]:

    y = Σ_j 2^{−j} · sin(2π·f_j·x + p_j),  f = `freqs` (default 5, 11, 17 cycles per unit),
    phases p_j ~ U[0, 2π) drawn from the task's generator. Interpolation: the test points are
    fresh draws on the same interval. The highest frequency sets the difficulty.
    """
    phases = 2 * math.pi * torch.rand(len(freqs), generator=gen)
    def f(x):
        return sum(2.0 ** -j * torch.sin(2 * math.pi * fj * x + p)
                   for j, (fj, p) in enumerate(zip(freqs, phases)))
    xtr, xte = _uniform(gen, n_train, 1), _uniform(gen, n_test, 1)
    return "regression", xtr, _noisy(gen, f(xtr), noise), xte, f(xte)


@task("regression", standard=True, holdout=False, difficulty=("n_points", (200, 400, 800)),
      n_points=_points, in_dim=WHOLE, out_dim=WHOLE)
def memorize(gen, n_points=200, in_dim=8, out_dim=4):
    """Memorisation (the study's only stated generator): `n_points` random pairs
    x ~ N(0, I₈) → y ~ N(0, I₄), unrelated to each other. Scored on the training pairs."""
    x = torch.randn(n_points, in_dim, generator=gen)
    y = torch.randn(n_points, out_dim, generator=gen)
    return "regression", x, y, x, y


@task("classification", standard=True, difficulty=("turns", (2.0, 3.0, 4.0)), turns=POSITIVE)
def spiral(gen, n_train=512, n_test=1024, turns=2.0, noise=0.02):
    """Two interleaved spirals, 2 classes. For t ~ U[0, 1]: radius r = t, angle θ = 2π·turns·t;
    class 0 at (r cos θ, r sin θ), class 1 at the point rotated by π; plus N(0, noise²) jitter.
    Classes alternate, so both have the same size. `turns` sets the difficulty."""
    def draw(n):
        t = torch.rand(n, generator=gen)
        label = torch.arange(n) % 2
        theta = 2 * math.pi * turns * t + math.pi * label
        x = torch.stack([t * torch.cos(theta), t * torch.sin(theta)], 1)
        return x + noise * torch.randn(x.shape, generator=gen), label
    (xtr, ytr), (xte, yte) = draw(n_train), draw(n_test)
    return "classification", xtr, ytr, xte, yte


@task("classification", standard=True, difficulty=("cells", (4, 8, 16)),
      cells=validate.declared(validate.integer, minimum=2))
def checkerboard(gen, n_train=512, n_test=1024, cells=4):
    """Checkerboard on [−1, 1]² with `cells`×`cells` squares, 2 classes:
    label = (⌊(x1+1)/2·cells⌋ + ⌊(x2+1)/2·cells⌋) mod 2, x uniform. `cells` sets the difficulty."""
    def draw(n):
        x = _uniform(gen, n, 2)
        idx = ((x + 1) / 2 * cells).floor().clamp(max=cells - 1).long()
        return x, (idx.sum(1) % 2)
    (xtr, ytr), (xte, yte) = draw(n_train), draw(n_test)
    return "classification", xtr, ytr, xte, yte


@task("regression", shifted=True, difficulty=("noise", (0.0, 0.05, 0.2)))
def ood(gen, n_train=256, n_test=256, noise=0.0):
    """Distribution shift on a 1-D function, y = sin(3x) + 0.5·x (a periodic part on a trend).

    Fit on x ~ U[−1, 1]; the test set is x ~ U[1, 2] (outside the training range). The in-range
    error, on fresh x ~ U[−1, 1], is the extra set "in_range"; degradation = test / in-range.
    """
    f = lambda x: torch.sin(3 * x) + 0.5 * x
    xtr, xin, xte = _uniform(gen, n_train, 1), _uniform(gen, n_test, 1), _uniform(gen, n_test, 1, 1.0, 2.0)
    return "regression", xtr, _noisy(gen, f(xtr), noise), xte, f(xte), {"in_range": (xin, f(xin))}


def _frequency_task(gen, target, k_train, k_test, n_train, n_test, mode):
    """Shared generator of `freqgen` and `mixedfreq`; see their docstrings."""
    xtr, xte, xin = _uniform(gen, n_train, 1), _uniform(gen, n_test, 1), _uniform(gen, n_test, 1)
    if mode == "scaled":   # the model sees t = k·x; the target is the same function of t
        inp = lambda x, k: k * x
    else:                  # the model sees x only; the target's frequency changes under it
        inp = lambda x, k: x
    ytr, yte, yin = target(k_train * xtr), target(k_test * xte), target(k_train * xin)
    return ("regression", inp(xtr, k_train), ytr, inp(xte, k_test), yte,
            {"in_range": (inp(xin, k_train), yin)})


@task("regression", shifted=True, difficulty=("k_test", (5.0, 10.0, 20.0)), k_train=POSITIVE, k_test=POSITIVE,
      mode=MODE)
def freqgen(gen, n_train=256, n_test=1024, k_train=2.0, k_test=10.0, mode="scaled"):
    """Frequency generalisation: train on sin(k_train·π·x), test on sin(k_test·π·x), x ~ U[−1, 1]
    (the study's "2π → 10π").

    Why `mode="scaled"` (default): a network that sees only x and is trained on sin(2πx) has
    no information about sin(10πx) at the same x; its test error is a guess (the study's
    numbers sit above the predict-zero MSE of 0.5). We make the task well posed by giving
    the frequency to the model through its input, t = k·x: the target is then one function,
    sin(π·t), and generalising to an unseen frequency means extrapolating it from
    t ∈ [−2, 2] to t ∈ [−10, 10]. `mode="direct"` keeps the ill-posed reading (input x).
    """
    return _frequency_task(gen, lambda t: torch.sin(math.pi * t), k_train, k_test, n_train, n_test, mode)


@task("regression", shifted=True, difficulty=("k_test", (10.0, 20.0, 40.0)), k_train=POSITIVE, k_test=POSITIVE,
      mode=MODE)
def mixedfreq(gen, n_train=512, n_test=1024, k_train=4.0, k_test=20.0, mode="scaled"):
    """Mixed-frequency generalisation ("4π → 20π"): target 0.5·(sin(π·t) + sin(3π·t)) with
    t = k·x, trained at k = 4 and tested at k = 20; two frequency components at once.
    `mode` as in `freqgen` (default "scaled": the model sees t)."""
    target = lambda t: 0.5 * (torch.sin(math.pi * t) + torch.sin(3 * math.pi * t))
    return _frequency_task(gen, target, k_train, k_test, n_train, n_test, mode)


# ----------------------------------------------------------------------------- real data

CAMERA_SIZE = 512      # skimage.data.camera() is 512 x 512, 8-bit grey


@lru_cache(maxsize=None)
def _camera_pixels(size):
    from skimage import data
    img = torch.from_numpy(data.camera().astype("float64"))
    b = CAMERA_SIZE // size                                   # exact b x b block means, no interpolation
    return img.reshape(size, b, size, b).mean((1, 3)) / 255.0


def _camera_size(name, v):
    """A side that divides the photograph's 512 pixels (exact block means)."""
    v = validate.integer(name, v, minimum=2)
    if CAMERA_SIZE % v:
        raise ValueError(f"{name} must divide {CAMERA_SIZE}; valid choices: "
                         f"{', '.join(str(d) for d in range(2, CAMERA_SIZE + 1) if CAMERA_SIZE % d == 0)}; got {v}")
    return v


def camera_grid(size=64):
    """The `camera` task on its whole pixel grid: (coordinates (size², 2) as (column, row) in
    [−1, 1], row-major pixel order; intensities (size, size) in [−1, 1])."""
    grid = torch.linspace(-1.0, 1.0, size, dtype=torch.float64)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], 1), 2.0 * _camera_pixels(size) - 1.0


def pixel_index(x, size):
    """Row-major pixel index of `camera` coordinates `x` (n, 2)."""
    col, row = ((x + 1) / 2 * (size - 1)).round().long().unbind(1)
    return row * size + col


@task("regression", group="real", size=_camera_size, train_share=SHARE)
def camera(gen, size=64, train_share=0.5):
    """Image fitting (SIREN's experiment), real data: scikit-image's bundled grey-scale photograph
    `camera()` (512×512, 8-bit), downsampled to `size`×`size` by exact block means (`size` divides
    512), as a function of the pixel centre's coordinates in [−1, 1]² → intensity scaled to [−1, 1]
    (2·value/255 − 1). A random `train_share` of the size² pixels (drawn by the data seed) is the
    training set, the other pixels the test set: interpolation between seen pixels. Default: 64×64,
    2,048 training and 2,048 test pixels. PSNR = 10·log10(2² / MSE) (the peak-to-peak range is 2)."""
    x, img = camera_grid(size)
    y = img.reshape(-1, 1)
    perm = torch.randperm(size * size, generator=gen)
    n_train = max(1, min(size * size - 1, round(train_share * size * size)))
    tr, te = perm[:n_train], perm[n_train:]
    return "regression", x[tr], y[tr], x[te], y[te]


@lru_cache(maxsize=None)
def _sklearn_data(name):
    from sklearn import datasets
    x, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return torch.from_numpy(x.astype("float64")), torch.from_numpy(y)


def _split_standardised(gen, x, y, test_share, regression):
    """Random train/test split by the data seed; inputs (and regression targets) standardised
    with the training split's mean and standard deviation (a constant input column keeps std 1)."""
    perm = torch.randperm(len(x), generator=gen)
    n_test = max(1, min(len(x) - 2, round(test_share * len(x))))
    te, tr = perm[:n_test], perm[n_test:]
    def standardise(v):
        mu, sd = v[tr].mean(0), v[tr].std(0)
        return (v - mu) / torch.where(sd > 0, sd, torch.ones_like(sd))
    x = standardise(x)
    y = standardise(y[:, None].double()) if regression else y.long()
    return x[tr], y[tr], x[te], y[te]


@task("regression", group="real", test_share=SHARE)
def diabetes(gen, test_share=0.25):
    """Tabular regression, real data: scikit-learn's bundled diabetes set (442 patients, 10
    baseline variables → disease progression after one year). A random `test_share` of the
    patients (drawn by the data seed) is the test set (default 110 test, 332 training); inputs and
    target are standardised with the training split's mean and std, so predicting the training
    mean scores an MSE near 1."""
    x, y = _sklearn_data("diabetes")
    return ("regression", *_split_standardised(gen, x, y, test_share, True))


@task("classification", group="real", test_share=SHARE)
def digits(gen, test_share=0.25):
    """Tabular classification, real data: scikit-learn's bundled 8×8 hand-written digits (1,797
    images, 64 grey levels 0–16 as inputs, 10 classes). A random `test_share` of the images (drawn
    by the data seed) is the test set (default 449 test, 1,348 training); each input is
    standardised with the training split's mean and std (constant pixels keep std 1)."""
    x, y = _sklearn_data("digits")
    return ("classification", *_split_standardised(gen, x, y, test_share, False))


GROUPS = ("study", "real", "all", "standard", "shifted", "classification", "regression")


def available(group="study"):
    """The registered task ids of `group`, in registration order: "study" (the nine: the six
    standard tasks, then ood, freqgen, mixedfreq), "real" (camera, diabetes, digits), "all", or
    those with a fact: "standard", "shifted", "classification", "regression"."""
    if group not in GROUPS:
        raise ValueError(f"unknown task group {group!r}; valid choices: {', '.join(GROUPS)}")
    keep = {"all": lambda e: True, "study": lambda e: e.group == "study", "real": lambda e: e.group == "real",
            "standard": lambda e: e.standard, "shifted": lambda e: e.shifted,
            "classification": lambda e: e.kind == "classification", "regression": lambda e: e.kind == "regression"}
    return [n for n, e in REGISTRY.items() if keep[group](e)]


STANDARD = tuple(available("standard"))     # the six standard tasks, in the study's order


def entry(name):
    """The registered `Entry` of task `name`; ValueError listing the valid ids otherwise (TypeError
    for a name that is no str)."""
    if not isinstance(name, str):
        raise TypeError(f"a task is given by its name (a str), got {name!r} ({type(name).__name__}); "
                        f"valid choices: {', '.join(available('all'))}")
    if name not in REGISTRY:
        raise ValueError(f"unknown task {name!r}; valid choices: {', '.join(available('all'))}")
    return REGISTRY[name]


def difficulty(name):
    """(option, three levels easiest first) of task `name`'s difficulty knob, or None."""
    return entry(name).difficulty


def options_at(name, difficulty, size):
    """The generator options of task `name` at difficulty level `difficulty` (0-2, easiest first, as
    the task declares its knob; None: the task's default) and training-set share `size` (of its
    default n_train, at least 16 points; a task without n_train has no size)."""
    opts = {}
    own = options_of(name)
    if difficulty is not None and not (isinstance(difficulty, float) and math.isnan(difficulty)):
        option, levels = entry(name).difficulty
        v = levels[int(difficulty)]
        opts[option] = list(v) if isinstance(v, tuple) else v
    if size != 1.0 and "n_train" in own:
        opts["n_train"] = max(16, int(round(own["n_train"] * size)))
    return opts


def options_of(name):
    """The keyword options (difficulty, sizes, noise, `validation`) task `name` accepts, with defaults."""
    params = list(inspect.signature(entry(name).generator).parameters.values())[1:]
    return {**{p.name: p.default for p in params}, "validation": 0.0}


def generator(name):
    """The generator function of task `name` (any group); its docstring is the task's definition."""
    return entry(name).generator


def check_options(name, options):
    """Task `name`'s `options` checked against its declared constraints and normalised (plain
    Python numbers), or a ValueError naming the option, the value and what is allowed. Used by
    `make` and by `Experiment`, so a bad option fails before any training."""
    return validate.options(f"task {name!r}", entry(name).constraints, options)


def make(name, seed=0, **options):
    """Build task `name` with `seed` (a whole number in [0, 2**63), as `Experiment` takes it);
    `options` override the generator's keyword defaults."""
    e = entry(name)
    valid = options_of(name)
    options = check_options(name, options)
    seed = validate.seed("seed", seed)
    validation = options.get("validation", 0.0)
    gen = torch.Generator().manual_seed(seed)
    out = e.generator(gen, **{k: v for k, v in options.items() if k != "validation"})
    kind, xtr, ytr, xte, yte = out[:5]
    if kind != e.kind:
        raise ValueError(f"task {name!r} is registered as {e.kind} but its generator returned {kind}")
    extra = out[5] if len(out) > 5 else {}
    if validation and e.holdout:
        # Hyper-parameter tuning: the last `validation` share of the (i.i.d.) training points
        # becomes the scored set; the test set proper and the extra sets are not returned.
        n_val = max(1, round(validation * len(xtr)))
        if n_val >= len(xtr):
            given = ", ".join(f"{k}={options[k]!r}" for k in ("n_train", "validation") if k in options)
            raise ValueError(f"task {name!r} with {given} leaves no training point: validation={validation!r} holds "
                             f"out {n_val} of its {len(xtr)} training points; give more training points (n_train) "
                             f"or a smaller validation share")
        xtr, ytr, xte, yte, extra = xtr[:-n_val], ytr[:-n_val], xtr[-n_val:], ytr[-n_val:], {}
    return Task(name, kind, xtr.float(), ytr.float() if kind == "regression" else ytr.long(),
                xte.float(), yte.float() if kind == "regression" else yte.long(),
                {**valid, **options}, extra)
