"""Training and evaluation for node and graph classification (and graph regression).

``fit`` trains with Adam, keeps the weights of the epoch with the best validation score (the
dataset's metric: accuracy, ROC-AUC for binary sets scored so, RMSE for regression), and stops
early after ``patience`` epochs without improvement.
Runs are deterministic for a seed on CPU.
"""

from __future__ import annotations

import contextlib
import copy
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .. import metrics
from ..data.dataset import GRAPH_REGRESSION, Dataset
from ..sparse import CSRMatrix
from .graph_tensors import TorchGraph
from .models import BasicGNN

__all__ = ["TrainConfig", "TrainResult", "fit", "evaluate", "seed_everything", "cross_validate",
           "CrossValidation", "node_inputs", "graph_batches", "feature_tensor", "task_score",
           "BestEpoch"]


@dataclass
class TrainConfig:
    """Optimisation settings. ``patience=None`` trains all ``epochs``."""

    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 5e-4
    patience: int | None = 100
    batch_size: int = 32
    seed: int = 0
    progress: bool = True
    lr_step: int | None = None  # halve the learning rate every lr_step epochs (GIN paper: 50)
    l1: float = 0.0  # L1 penalty on every Linear weight (drives weights to zero before pruning)
    teacher: torch.nn.Module | None = None  # distil from this (trained) model's outputs
    distill_weight: float = 0.5  # share of the loss spent matching the teacher
    temperature: float = 2.0  # softmax temperature of the distillation term

    def __post_init__(self):
        if self.epochs < 1 or self.lr <= 0 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1 and lr > 0")
        if self.l1 < 0 or not 0 <= self.distill_weight <= 1 or self.temperature <= 0:
            raise ValueError("l1 must be >= 0, distill_weight in [0, 1] and temperature > 0")


@dataclass
class TrainResult:
    """What a run reached. Scores are in ``metric`` (the dataset's) on the chosen split."""

    best_epoch: int
    train_score: float
    val_score: float
    test_score: float
    epochs_run: int
    seconds: float
    metric: str
    history: list[dict] = field(default_factory=list)
    details: dict = field(default_factory=dict)  # task-specific figures (link prediction: AP)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("history")
        if not data["details"]:
            data.pop("details")
        return data


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextlib.contextmanager
def _progress(enabled: bool, total: int, description: str) -> Iterator[Callable[..., None]]:
    """Yield ``update(**fields)``; shows a rich progress bar when enabled and the output is a
    terminal (a redirected log gets no bar, and no blank line where one was)."""
    from rich.console import Console

    if not enabled or not Console().is_terminal:
        yield lambda **_: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"), TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(description, total=total, status="")

        def update(**fields):
            status = " ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in fields.items())
            bar.update(task, advance=1, status=status)

        yield update


# ----------------------------------------------------------------------------- node tasks
def feature_tensor(x: np.ndarray | CSRMatrix) -> torch.Tensor:
    """Features as a torch tensor: sparse COO when stored as a CSR matrix under 10% dense
    (bag-of-words inputs), dense otherwise. Shape: ``(N, F)``."""
    if isinstance(x, CSRMatrix):
        if x.density < 0.1:
            indices = torch.from_numpy(np.stack([x.row_ids(), x.indices.astype(np.int64)]))
            values = torch.from_numpy(x.data.astype(np.float32))
            return torch.sparse_coo_tensor(indices, values, x.shape, check_invariants=True).coalesce()
        x = x.toarray(np.float32)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def node_inputs(dataset: Dataset) -> tuple[torch.Tensor, TorchGraph, torch.Tensor]:
    """Features (see :func:`feature_tensor`), the torch graph and labels of a node task."""
    return feature_tensor(dataset.x), TorchGraph.from_graph(dataset.graph), torch.from_numpy(dataset.y)


def task_score(metric: str, output: torch.Tensor, target: torch.Tensor) -> float:
    """:func:`sparsegnn.metrics.score_outputs` of torch outputs and targets."""
    return metrics.score_outputs(metric, output.detach().double().numpy(), target.numpy())


def _node_scores(model, x, graph, y, split, metric: str) -> tuple[dict, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x, graph)
    scores = {part: task_score(metric, logits[getattr(split, part)], y[getattr(split, part)])
              for part in ("train", "val", "test")}
    val_loss = float(F.cross_entropy(logits[split.val], y[split.val])) if split.val.size else 0.0
    return scores, val_loss


# ----------------------------------------------------------------------------- graph tasks
def graph_batches(dataset: Dataset, indices: np.ndarray, batch_size: int,
                  rng: np.random.Generator | None = None) -> Iterator[tuple]:
    """Yield ``(x, graph, batch, y, num_graphs)`` tensors for mini-batches of the chosen graphs,
    shuffled when ``rng`` is given."""
    order = rng.permutation(indices) if rng is not None else np.asarray(indices)
    for start in range(0, order.shape[0], batch_size):
        chosen = order[start : start + batch_size]
        graph, x, batch = dataset.select_graphs(chosen)
        yield (torch.from_numpy(x), TorchGraph.from_graph(graph), torch.from_numpy(batch),
               torch.from_numpy(dataset.y[chosen]), chosen.shape[0])


def _graph_loss(dataset: Dataset, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if dataset.task == GRAPH_REGRESSION:
        return F.mse_loss(output.view(-1), target.float())
    return F.cross_entropy(output, target)


def _objective(config: TrainConfig, model, loss: torch.Tensor, output: torch.Tensor,
               teacher_output: torch.Tensor | None, regression: bool) -> torch.Tensor:
    """The task loss plus the optional distillation and L1 terms.

    Distillation (Hinton et al.): ``(1 - a) * loss + a * T² * KL(teacher_T || student_T)`` over
    softmaxes at temperature ``T``; for regression, the squared error to the teacher's output.
    """
    if teacher_output is not None:
        if regression:
            match = F.mse_loss(output, teacher_output)
        else:
            temperature = config.temperature
            match = F.kl_div(F.log_softmax(output / temperature, dim=-1),
                             F.log_softmax(teacher_output / temperature, dim=-1),
                             log_target=True, reduction="batchmean") * temperature ** 2
        loss = (1 - config.distill_weight) * loss + config.distill_weight * match
    if config.l1:
        loss = loss + config.l1 * sum(m.weight.abs().sum() for m in model.modules()
                                      if isinstance(m, torch.nn.Linear))
    return loss


def _graph_scores(model, dataset: Dataset, split, batch_size: int = 1024,
                  parts: tuple[str, ...] = ("train", "val", "test")) -> tuple[dict, float]:
    model.eval()
    scores, val_loss = {}, 0.0
    with torch.no_grad():
        for part in parts:
            ids = getattr(split, part)
            if ids.size == 0:
                scores[part] = float("nan")
                continue
            outputs, targets = [], []
            for x, graph, batch, y, count in graph_batches(dataset, ids, batch_size):
                outputs.append(model(x, graph, batch, num_graphs=count))
                targets.append(y)
            output, target = torch.cat(outputs), torch.cat(targets)
            scores[part] = task_score(dataset.metric, output, target)
            if part == "val":
                val_loss = float(_graph_loss(dataset, output, target))
    return scores, val_loss


# ----------------------------------------------------------------------------- training
def _selection_key(score: float, loss: float, higher_better: bool) -> tuple[float, float]:
    """Larger is better: the validation score, then the validation loss; a NaN score (a
    validation part with one class under ROC-AUC) ranks by loss alone."""
    if np.isnan(score):
        return (-np.inf, -loss)
    return (score if higher_better else -score, -loss)


class BestEpoch:
    """The best epoch so far by a key (larger is better): its record and a copy of the model's
    weights; ``offer`` says when ``patience`` offers in a row brought no gain (None: never)."""

    def __init__(self, patience: int | None):
        self.patience, self.key, self.record, self.state, self.since = patience, None, None, None, 0

    def offer(self, key, record: dict, model: torch.nn.Module) -> bool:
        """Keep ``record`` and the weights if ``key`` beats the best; True means stop."""
        if self.key is None or key > self.key:
            self.key, self.record, self.since = key, record, 0
            self.state = copy.deepcopy(model.state_dict())
            return False
        self.since += 1
        return self.patience is not None and self.since >= self.patience

    def restore(self, model: torch.nn.Module) -> dict:
        """Load the best weights into ``model`` (left in eval mode); returns the record."""
        model.load_state_dict(self.state)
        model.eval()
        return self.record


def fit(model: BasicGNN, dataset: Dataset, split: int = 0, config: TrainConfig | None = None,
        *, on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Train ``model`` on ``dataset.splits[split]`` and restore its best validation epoch.

    ``on_epoch`` receives each epoch's record (loss and train/val/test scores).
    """
    config = config or TrainConfig()
    if not 0 <= split < len(dataset.splits):
        raise ValueError(f"split must lie in [0, {len(dataset.splits)}), got {split}")
    seed_everything(config.seed)
    chosen = dataset.splits[split]
    regression = dataset.task == GRAPH_REGRESSION
    higher_better = metrics.higher_is_better(dataset.metric)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = (torch.optim.lr_scheduler.StepLR(optimizer, config.lr_step, gamma=0.5)
                 if config.lr_step else None)
    rng = np.random.default_rng(config.seed)
    teacher = config.teacher
    if teacher is not None:
        teacher.eval()
    if not dataset.is_graph_task:
        x, graph, y = node_inputs(dataset)
        train_ids = torch.from_numpy(chosen.train)
        if teacher is not None:  # deterministic in eval mode: its outputs once for all epochs
            with torch.no_grad():
                teacher_logits = teacher(x, graph)[train_ids]

    best, history, started = BestEpoch(config.patience), [], time.perf_counter()
    with _progress(config.progress, config.epochs, f"training {model.kind} on {dataset.name}") as tick:
        for epoch in range(1, config.epochs + 1):
            model.train()
            if dataset.is_graph_task:
                total, count = 0.0, 0
                for bx, bgraph, bbatch, by, n in graph_batches(dataset, chosen.train,
                                                               config.batch_size, rng):
                    optimizer.zero_grad()
                    output = model(bx, bgraph, bbatch, num_graphs=n)
                    target = None
                    if teacher is not None:
                        with torch.no_grad():
                            target = teacher(bx, bgraph, bbatch, num_graphs=n)
                    loss = _objective(config, model, _graph_loss(dataset, output, by), output,
                                      target, regression)
                    loss.backward()
                    optimizer.step()
                    total, count = total + float(loss.detach()) * n, count + n
                train_loss = total / max(count, 1)
                # The training score is computed once, for the restored best epoch, below.
                scores, val_loss = _graph_scores(model, dataset, chosen, parts=("val", "test"))
                scores["train"] = float("nan")
            else:
                optimizer.zero_grad()
                output = model(x, graph)[train_ids]
                loss = _objective(config, model, F.cross_entropy(output, y[train_ids]), output,
                                  teacher_logits if teacher is not None else None, False)
                loss.backward()
                optimizer.step()
                train_loss = float(loss.detach())
                scores, val_loss = _node_scores(model, x, graph, y, chosen, dataset.metric)
            if scheduler is not None:
                scheduler.step()
            record = {"epoch": epoch, "loss": train_loss, "val_loss": val_loss, **scores}
            history.append(record)
            if on_epoch:
                on_epoch(record)
            tick(loss=train_loss, val=scores["val"])
            if best.offer(_selection_key(scores["val"], val_loss, higher_better), record, model):
                break
    best_record = best.restore(model)
    if dataset.is_graph_task:
        best_record["train"] = _graph_scores(model, dataset, chosen, parts=("train",))[0]["train"]
    return TrainResult(
        best_epoch=best_record["epoch"], train_score=best_record["train"],
        val_score=best_record["val"], test_score=best_record["test"], epochs_run=len(history),
        seconds=time.perf_counter() - started, metric=dataset.metric, history=history,
    )


def evaluate(model: BasicGNN, dataset: Dataset, split: int = 0) -> dict:
    """Scores of ``model`` on the train/val/test parts of ``dataset.splits[split]``."""
    chosen = dataset.splits[split]
    if dataset.is_graph_task:
        return _graph_scores(model, dataset, chosen)[0]
    x, graph, y = node_inputs(dataset)
    return _node_scores(model, x, graph, y, chosen, dataset.metric)[0]


@dataclass
class CrossValidation:
    """Results of k-fold cross-validation.

    ``paper_protocol``: the GIN paper's figure — mean and std over folds of the test-fold
    accuracy at the single epoch whose mean over folds is best. ``selected``: each fold's
    test-fold accuracy at its own best validation epoch (an unbiased estimate).
    """

    paper_protocol: tuple[float, float, int]
    selected: tuple[float, float]
    per_fold: list[TrainResult]


def cross_validate(make_model: Callable[[], BasicGNN], dataset: Dataset,
                   config: TrainConfig | None = None) -> CrossValidation:
    """Train a fresh model on every split of ``dataset`` for ``config.epochs`` epochs each."""
    config = copy.copy(config or TrainConfig())
    config.patience = None  # the paper protocol needs every epoch of every fold
    results = []
    for fold in range(len(dataset.splits)):
        seed_everything(config.seed + fold)
        results.append(fit(make_model(), dataset, fold, config))
    curves = np.array([[r["test"] for r in result.history] for result in results])
    mean_curve = curves.mean(axis=0)
    best = int(np.argmax(mean_curve))
    selected = np.array([result.test_score for result in results])
    return CrossValidation(
        paper_protocol=(float(mean_curve[best]), float(curves[:, best].std()), best + 1),
        selected=(float(selected.mean()), float(selected.std())),
        per_fold=results,
    )
