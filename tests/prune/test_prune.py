"""Pruning invariants: mask shapes, exact counts, earlier zeros kept through pruning and
fine-tuning, no-op all-ones masks, bad amounts rejected, baking preserves outputs."""

import copy

import numpy as np
import pytest
import torch
from torch.nn.utils import prune as torch_prune

from sparsegnn.export import to_ir
from sparsegnn.graph import Graph
from sparsegnn.nn import TrainConfig, build_model, evaluate, fit
from sparsegnn.nn.graph_tensors import TorchGraph
from sparsegnn.nn.recipes import make_model
from sparsegnn.nn.train import node_inputs, seed_everything
from sparsegnn.prune import (
    EdgePairs,
    GradientSaliency,
    MaskError,
    MaskSet,
    PruningMethod,
    PruningWarning,
    Unstructured,
    agreement_scores,
    degree_scores,
    influence_scores,
    learn_edge_scores,
    magnitude,
    prunable_weights,
    prune_edges,
    prune_model,
    prune_weights,
    random_scores,
    resolve_amount,
    resolve_edge_criterion,
    training_loss,
)
from sparsegnn.prune.structured import (
    channel_groups,
    channel_masks,
    channel_scores,
    slice_channels,
    taylor_channel_scores,
)

from ..reference import randomise_batch_norms


@pytest.fixture
def trained(synthetic):
    seed_everything(0)
    model = make_model("sage", synthetic, num_layers=3)
    fit(model, synthetic, 0, TrainConfig(epochs=30, progress=False))
    return model


def _outputs(model, dataset):
    x, graph, _ = node_inputs(dataset)
    model.eval()
    with torch.no_grad():
        return model(x, graph)


@pytest.mark.parametrize("scope", ["layer", "global"])
@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.9, 1.0])
def test_masks_have_parameter_shapes_and_exact_counts(trained, scope, sparsity):
    # emptying every matrix must be asked for explicitly (see the min_layer_density test)
    explicit = {"min_layer_density": 0.0} if sparsity == 1.0 else {}
    masks = prune_weights(trained, magnitude(trained), sparsity, scope=scope, **explicit)
    modules = prunable_weights(trained)
    assert set(masks.weights) == {f"{name}.weight" for name in modules}
    total, expected_layers = 0, 0
    for key, mask in masks.weights.items():
        weight = modules[key[: -len(".weight")]].weight
        assert mask.shape == tuple(weight.shape) and mask.dtype == bool
        expected_layers += int(round(sparsity * mask.size))
        if scope == "layer":
            assert int((~mask).sum()) == int(round(sparsity * mask.size))
        total += mask.size
    expected = expected_layers if scope == "layer" else int(round(sparsity * total))
    assert masks.summary()["overall"]["pruned"] == expected


def test_magnitude_prunes_the_smallest_weights(trained):
    masks = prune_weights(trained, magnitude(trained), 0.5, scope="global")
    kept = np.concatenate([np.abs(m.weight.detach().numpy())[masks.weights[f"{n}.weight"]]
                           for n, m in prunable_weights(trained).items()])
    pruned = np.concatenate([np.abs(m.weight.detach().numpy())[~masks.weights[f"{n}.weight"]]
                             for n, m in prunable_weights(trained).items()])
    assert pruned.max() <= kept.min()


def test_earlier_zeros_survive_more_pruning_and_fine_tuning(trained, synthetic):
    first = prune_weights(trained, random_scores(1)(trained), 0.5)
    second = prune_weights(trained, magnitude(trained), 0.8, prior=first)
    for key in first.weights:
        assert not np.any(second.weights[key] & ~first.weights[key])  # no zero came back
    second.apply(trained)
    fit(trained, synthetic, 0, TrainConfig(epochs=10, progress=False, weight_decay=5e-4))
    MaskSet.bake(trained)
    for name, module in prunable_weights(trained).items():
        weight = module.weight.detach().numpy()
        assert np.all(weight[~second.weights[f"{name}.weight"]] == 0)
    with pytest.raises(ValueError, match="already"):
        prune_weights(trained, magnitude(trained), 0.3, prior=second)


def test_all_ones_mask_changes_nothing_and_baking_keeps_outputs(trained, synthetic):
    before = _outputs(trained, synthetic)
    MaskSet.ones(trained).apply(trained)
    torch.testing.assert_close(_outputs(trained, synthetic), before, atol=0, rtol=0)
    masks = prune_weights(trained, magnitude(trained), 0.7)
    masks.apply(trained)
    masked = _outputs(trained, synthetic)
    MaskSet.bake(trained)
    torch.testing.assert_close(_outputs(trained, synthetic), masked, atol=0, rtol=0)


@pytest.mark.parametrize("amount", [-1, -0.1, 1.5, True, "half", None])
def test_bad_amounts_raise(amount):
    with pytest.raises(ValueError):
        Unstructured(amount=amount)
    with pytest.raises(ValueError, match="only 3 remain"):
        Unstructured(amount=4).compute_mask(np.zeros(3), np.ones(3, bool))
    with pytest.raises(ValueError):
        resolve_amount(amount, 10)


def test_unstructured_counts_only_still_kept_entries():
    prior = np.array([True, False, True, True, False, True])
    scores = np.array([5.0, 0.0, 1.0, 3.0, 0.0, 2.0])
    mask = Unstructured(amount=0.5).compute_mask(scores, prior)
    np.testing.assert_array_equal(mask, [True, False, False, True, False, False])
    np.testing.assert_array_equal(Unstructured(amount=0).compute_mask(scores, prior), prior)


def test_pruning_methods_must_declare_their_kind():
    with pytest.raises(TypeError, match="KIND"):
        class Misspelt(PruningMethod):  # noqa: F841 - the definition itself must fail
            KIND = "unstructurd"


def test_masks_save_load_and_torch_prune_interop(trained, tmp_path):
    masks = prune_weights(trained, magnitude(trained), 0.6)
    path = masks.save(tmp_path / "masks.safetensors")
    loaded = MaskSet.load(path)
    for key in masks.weights:
        np.testing.assert_array_equal(loaded.weights[key], masks.weights[key])
    # a model pruned with torch.nn.utils.prune directly imports the same masks
    for module in prunable_weights(trained).values():
        torch_prune.l1_unstructured(module, "weight", amount=0.6)
    imported = MaskSet.from_pruned(trained)
    layer = prune_weights(trained, magnitude(trained), 0.6, scope="layer")
    for key in imported.weights:
        assert imported.weights[key].sum() == layer.weights[key].sum()
    assert "overall" in masks.table() and "% pruned" in masks.table()
    wrong = MaskSet({"convs.0.lin_l.weight": np.ones((2, 2), bool)})
    with pytest.raises(MaskError, match="has bool shape"):
        wrong.check(trained)


def test_saliency_scores_every_weight(trained, synthetic):
    scores = GradientSaliency(training_loss(synthetic), steps=2)(trained)
    for key, module in prunable_weights(trained).items():
        assert scores[f"{key}.weight"].shape == tuple(module.weight.shape)
        assert np.all(scores[f"{key}.weight"] >= 0)


def test_magnitude_beats_random_at_90_percent(synthetic):
    results = {}
    for criterion in ("magnitude", "random"):
        seed_everything(0)
        model = make_model("gcn", synthetic)
        fit(model, synthetic, 0, TrainConfig(epochs=60, progress=False))
        result = prune_model(model, synthetic, 0.9, criterion=criterion,
                             finetune=TrainConfig(epochs=30, progress=False))
        results[criterion] = result.after["test"]
        assert result.masks.sparsity == pytest.approx(0.9, abs=1e-3)
        assert evaluate(model, synthetic)["test"] == pytest.approx(result.after["test"])
    assert results["magnitude"] > results["random"]


def test_iterative_schedule_reaches_the_target(synthetic):
    seed_everything(0)
    model = make_model("gcn", synthetic)
    result = prune_model(model, synthetic, 0.8, schedule="iterative", rounds=3, rewind=True,
                         finetune=TrainConfig(epochs=5, progress=False))
    sparsities = [r["sparsity"] for r in result.rounds]
    assert sparsities == sorted(sparsities) and sparsities[-1] == pytest.approx(0.8, abs=1e-3)


# ----------------------------------------------------------------------------- edges


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.6, 1.0])
def test_edge_pruning_keeps_the_graph_symmetric_with_loops(rng, fraction):
    base = Graph.from_edge_index(rng.integers(0, 40, (2, 200)), 40).remove_self_loops()
    graph = base.symmetrize().add_self_loops()
    pairs = EdgePairs(graph)
    pruned = prune_edges(graph, rng.random(pairs.num_pairs), fraction)
    assert pruned.is_symmetric()
    assert pruned.num_self_loops == graph.num_self_loops == 40
    assert EdgePairs(pruned).num_pairs == pairs.num_pairs - int(round(fraction * pairs.num_pairs))
    kept = {tuple(e) for e in pruned.edge_index.T}
    assert kept <= {tuple(e) for e in graph.edge_index.T}


def test_edge_pruning_removes_the_lowest_scores(rng):
    graph = Graph.from_edge_index(np.array([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]]), 4)
    pairs = EdgePairs(graph)
    scores = np.zeros(pairs.num_pairs)
    scores[pairs.pair[0]] = 5.0  # {0, 1} scores highest
    scores[pairs.pair[2]] = 3.0  # {1, 2}
    pruned = prune_edges(graph, scores, 1 / 3)  # one of three pairs: {2, 3}
    assert sorted(map(tuple, pruned.edge_index.T.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1)]
    with pytest.raises(ValueError, match="scores must have shape"):
        prune_edges(graph, np.zeros(2), 0.5)
    with pytest.raises(ValueError, match="edge fraction"):
        prune_edges(graph, scores, 1.5)


def test_degree_scores_are_gcn_weights_of_pairs():
    star = Graph.from_edge_index(np.array([[0, 0, 0, 1], [1, 2, 3, 2]]), 4).symmetrize()
    scores, pairs = degree_scores(star), EdgePairs(star)
    degree = {0: 4, 1: 3, 2: 3, 3: 2}  # in-degree + the self loop GCN adds
    for e, (u, v) in enumerate(star.edge_index.T.tolist()):
        assert scores[pairs.pair[e]] == pytest.approx(1 / np.sqrt(degree[u] * degree[v]))
    assert scores.shape == (4,)


def test_agreement_scores_remove_edges_between_predicted_classes_first(synthetic):
    """Pairs whose ends the model assigns different classes score below every agreeing pair;
    within each group, the GCN degree weight orders them (checked against argmax and
    degree_scores computed independently)."""
    seed_everything(0)
    model = make_model("gcn", synthetic)
    fit(model, synthetic, 0, TrainConfig(epochs=20, progress=False))
    scores = agreement_scores(model, synthetic)
    pairs = EdgePairs(synthetic.graph)
    assert scores.shape == (pairs.num_pairs,)
    x, graph, _ = node_inputs(synthetic)
    with torch.no_grad():
        predicted = model(x, graph).argmax(dim=1).numpy()
    src, dst = synthetic.graph.indices, synthetic.graph.dst
    agree = np.zeros(pairs.num_pairs, dtype=bool)
    valid = pairs.pair >= 0
    agree[pairs.pair[valid]] = predicted[src[valid]] == predicted[dst[valid]]
    assert agree.any() and (~agree).any()
    assert scores[~agree].max() < scores[agree].min()
    np.testing.assert_allclose(scores - agree, degree_scores(synthetic.graph))
    pruned = prune_edges(synthetic.graph, scores, float((~agree).mean()))
    kept = pruned.indices != pruned.dst
    assert np.all(predicted[pruned.indices[kept]] == predicted[pruned.dst[kept]])


def _loops_per_node(graph):
    loops = graph.indices == graph.dst
    return np.bincount(graph.dst[loops], minlength=graph.num_nodes)


def _self_prediction_loss(model, dataset, pair_weight):
    """The model's summed cross-entropy against its own argmax on all nodes, every directed
    edge weighted by its pair's entry of ``pair_weight``, in float64: written out here, apart
    from the criterion's own weighting."""
    pairs = EdgePairs(dataset.graph)
    x, graph, _ = node_inputs(dataset)
    weight = np.where(pairs.pair >= 0, pair_weight[np.maximum(pairs.pair, 0)], 1.0)
    weighted = TorchGraph(graph.src, graph.dst, graph.num_nodes, torch.from_numpy(weight))
    with torch.no_grad():
        out = copy.deepcopy(model).double()(x.double(), weighted)
        return float(torch.nn.functional.cross_entropy(out, out.argmax(dim=1), reduction="sum"))


def test_influence_scores_remove_the_least_harmful_edges_first(synthetic):
    """One step: every pair removed raises the self-prediction loss less than any kept pair
    that could have gone (both nodes keep other neighbours), checked against central finite
    differences of that loss on the pairs either side of the cut and a random sample. More
    steps: the exact count goes, no node loses its last neighbour, the graph stays symmetric,
    the model is untouched."""
    seed_everything(0)
    model = make_model("gcn", synthetic)
    fit(model, synthetic, 0, TrainConfig(epochs=20, progress=False))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    pairs = EdgePairs(synthetic.graph)
    num_pairs = pairs.num_pairs
    scores = influence_scores(model, synthetic, 0.3, steps=1)
    count = int(round(0.3 * num_pairs))
    order = np.argsort(scores, kind="stable")
    alive = np.ones(num_pairs, dtype=bool)
    alive[order[:count]] = False
    degree = np.bincount(pairs.ends[:, alive].ravel(), minlength=synthetic.num_nodes)
    could_go = np.flatnonzero(alive & (degree[pairs.ends].min(axis=0) >= 2))
    rng = np.random.default_rng(0)
    removed = np.concatenate([order[count - 15:count], rng.choice(order[:count], 15)])
    kept_in_order = could_go[np.argsort(scores[could_go], kind="stable")]
    kept = np.concatenate([kept_in_order[:15], rng.choice(could_go, 15)])

    def derivative(pair, step=1e-3):
        up, down = np.ones(num_pairs), np.ones(num_pairs)
        up[pair], down[pair] = 1 + step, 1 - step
        return (_self_prediction_loss(model, synthetic, up)
                - _self_prediction_loss(model, synthetic, down)) / (2 * step)

    removed_slopes = np.array([derivative(p) for p in removed])
    kept_slopes = np.array([derivative(p) for p in kept])
    tolerance = 1e-4 * max(np.abs(removed_slopes).max(), np.abs(kept_slopes).max())
    assert removed_slopes.min() >= kept_slopes.max() - tolerance

    greedy = influence_scores(model, synthetic, 0.4, steps=4)
    pruned = prune_edges(synthetic.graph, greedy, 0.4)
    had_neighbours = synthetic.graph.in_degree() - _loops_per_node(synthetic.graph) > 0
    assert np.all(pruned.in_degree()[had_neighbours] - _loops_per_node(pruned)[had_neighbours] > 0)
    assert pruned.is_symmetric()
    assert pruned.num_self_loops == synthetic.graph.num_self_loops
    pairs_left = EdgePairs(pruned).num_pairs
    assert num_pairs - pairs_left == int(round(0.4 * num_pairs))
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key

    with pytest.raises(ValueError, match="gcn"):
        influence_scores(make_model("gat", synthetic), synthetic, 0.3)
    assert resolve_edge_criterion("auto", model) == "influence"
    assert resolve_edge_criterion("auto", make_model("sage", synthetic)) == "agreement"


def test_learned_edge_scores_need_a_gcn(synthetic):
    with pytest.raises(ValueError, match="gcn"):
        learn_edge_scores(make_model("gat", synthetic), synthetic, epochs=1)
    seed_everything(0)
    scores = learn_edge_scores(make_model("gcn", synthetic), synthetic, epochs=5)
    assert scores.shape == (EdgePairs(synthetic.graph).num_pairs,) and np.all(scores >= 0)


def test_joint_weight_and_edge_pruning_returns_the_pruned_graph(synthetic):
    seed_everything(0)
    model = make_model("gcn", synthetic)
    result = prune_model(model, synthetic, 0.8, edge_sparsity=0.3, edge_criterion="degree",
                         finetune=TrainConfig(epochs=5, progress=False))
    assert result.graph is not None and result.graph.is_symmetric()
    assert result.edges_kept == pytest.approx(0.7, abs=1e-3)
    assert result.report()["edges"]["fraction_pruned"] == pytest.approx(0.3, abs=1e-3)


# ----------------------------------------------------------------------------- channels


@pytest.mark.parametrize("kind, options", [
    ("gcn", {}), ("sage", {}), ("gcn", {"norm": "batch_norm", "num_layers": 3}),
    ("gat", {"heads": 4}), ("gat", {"heads": 4, "num_layers": 3, "residual": True, "last_heads": 2}),
    ("gin", {}), ("gin", {"norm": "batch_norm", "num_layers": 3}),
])
def test_sliced_model_equals_the_masked_model(synthetic, kind, options):
    seed_everything(0)
    model = make_model(kind, synthetic, hidden_channels=32, **options)
    randomise_batch_norms(model)
    keep, masks = channel_masks(model, 0.5)
    masks.apply(model)
    fit(model, synthetic, 0, TrainConfig(epochs=5, progress=False))
    sliced = slice_channels(model, keep)
    assert sliced.hidden_channels == 16
    if kind == "gat":  # whole heads removed: 2 of 4 hidden heads left, output heads unchanged
        assert [conv.heads for conv in sliced.convs] == [2] * (len(sliced.convs) - 1) + [
            model.convs[-1].heads]
        for kept in keep.values():
            heads = kept.reshape(4, 8)
            assert (heads.all(axis=1) | ~heads.any(axis=1)).all() and heads.all(axis=1).sum() == 2
    torch.testing.assert_close(_outputs(sliced, synthetic), _outputs(model, synthetic),
                               atol=1e-5, rtol=1e-5)
    if kind == "gin":  # every Linear inside the hidden convs' MLPs is half as wide
        widths = [tuple(lin.weight.shape) for conv in sliced.convs[:-1] for lin in conv.nn.lins]
    else:
        widths = [n.attrs.get("weight", n.attrs.get("weight_neighbor"))["shape"]
                  for n in to_ir(sliced).nodes if n.op.endswith("_conv")]
    assert all(16 in shape for shape in widths)  # physically half as wide


def test_channel_groups_and_scores(synthetic):
    model = make_model("sage", synthetic, hidden_channels=8, num_layers=3)
    groups = channel_groups(model)
    assert [g["layer"] for g in groups] == [0, 1]
    assert groups[0]["producers"] == ["convs.0.lin_l", "convs.0.lin_r"]
    assert groups[0]["consumers"] == ["convs.1.lin_l", "convs.1.lin_r"]
    scores = channel_scores(model, "l1")
    expected = sum(model.convs[0].__getattr__(n).weight.detach().abs().sum(1)
                   for n in ("lin_l", "lin_r"))
    expected = expected + sum(model.convs[1].__getattr__(n).weight.detach().abs().sum(0)
                              for n in ("lin_l", "lin_r"))
    np.testing.assert_allclose(scores[0], expected.numpy(), rtol=1e-5)
    keep, _ = channel_masks(model, 3)
    assert all(int((~k).sum()) == 3 for k in keep.values())
    with pytest.raises(ValueError, match="every channel"):
        channel_masks(model, 8)
    gin = channel_groups(make_model("gin", synthetic, num_layers=3))
    assert [(g["layer"], g["producers"], g["consumers"]) for g in gin[:2]] == [
        (0, ["convs.0.nn.lins.0"], ["convs.0.nn.lins.1"]),
        (0, ["convs.0.nn.lins.1"], ["convs.1.nn.lins.0"])]
    assert len(gin) == 4  # inner and output boundary of each hidden conv
    with pytest.raises(ValueError, match="concatenate"):
        channel_groups(make_model("gat", synthetic, concat=False))


def test_gat_head_scores_sum_whole_heads(synthetic):
    model = make_model("gat", synthetic, hidden_channels=16, heads=4)
    scores = channel_scores(model, "l2")[0]
    assert scores.shape == (4,)
    conv0, conv1 = model.convs
    head = 2  # channels 8..11 of the hidden layer
    rows, cols = slice(8, 12), slice(8, 12)
    expected = (conv0.lin.weight[rows].pow(2).sum() + conv1.lin.weight[:, cols].pow(2).sum()
                + conv0.att_src[0, head].pow(2).sum() + conv0.att_dst[0, head].pow(2).sum()).sqrt()
    assert scores[head] == pytest.approx(float(expected.detach()), rel=1e-5)


def test_taylor_scores_predict_the_loss_change_of_removing_a_channel(synthetic):
    """(Σ w·g)² is the squared first-order change of the loss when a group is zeroed: check it
    against the change measured by actually zeroing each group (small weights: near-linear)."""
    seed_everything(0)
    model = make_model("gcn", synthetic, hidden_channels=8, dropout=0.0, input_dropout=0.0)
    with torch.no_grad():
        for param in model.parameters():
            param.mul_(0.05)
    x, graph, _ = node_inputs(synthetic)
    y = torch.from_numpy(synthetic.y)

    def loss_fn(m):
        return torch.nn.functional.cross_entropy(m(x, graph), y)

    scores = taylor_channel_scores(model, loss_fn)[0]
    base = float(loss_fn(model))
    measured = []
    for channel in range(8):
        trial = build_model(model.config)
        trial.load_state_dict(model.state_dict())
        with torch.no_grad():
            trial.convs[0].lin.weight[channel] = 0
            trial.convs[0].bias[channel] = 0
            trial.convs[1].lin.weight[:, channel] = 0
        measured.append((float(loss_fn(trial)) - base) ** 2)
    np.testing.assert_allclose(scores, measured, rtol=0.1, atol=1e-9)
    assert np.argsort(scores)[-1] == np.argsort(measured)[-1]


def test_gradual_schedule_ramps_cubically(synthetic):
    seed_everything(0)
    model = make_model("gcn", synthetic)
    result = prune_model(model, synthetic, 0.9, schedule="gradual", rounds=4,
                         finetune=TrainConfig(epochs=16, progress=False))
    targets = [0.9 * (1 - (1 - r / 4) ** 3) for r in range(1, 5)]
    assert [r["sparsity"] for r in result.rounds] == pytest.approx(targets, abs=1e-3)
    MaskSet.bake(model)
    zeros = sum(int((m.weight == 0).sum()) for m in prunable_weights(model).values())
    total = sum(m.weight.numel() for m in prunable_weights(model).values())
    assert zeros >= int(round(0.9 * total))


# ----------------------------------------------------------------------------- L1, distillation
def _linear_l1(model) -> float:
    return float(sum(m.weight.detach().abs().sum() for m in model.modules()
                     if isinstance(m, torch.nn.Linear)))


def test_l1_regularised_training_shrinks_weights_and_prunes_exactly(synthetic):
    norms = {}
    for l1 in (0.0, 1e-3):
        seed_everything(0)
        model = make_model("gcn", synthetic)
        fit(model, synthetic, 0, TrainConfig(epochs=30, patience=None, progress=False, l1=l1))
        norms[l1] = _linear_l1(model)
    assert norms[1e-3] < 0.8 * norms[0.0]
    seed_everything(0)
    model = make_model("gcn", synthetic)
    result = prune_model(model, synthetic, 0.8, criterion="l1",
                         finetune=TrainConfig(epochs=10, patience=None, progress=False))
    overall = result.masks.summary()["overall"]
    assert overall["pruned"] == round(0.8 * overall["total"])
    with pytest.raises(ValueError):
        TrainConfig(l1=-1.0)


def test_distillation_objective_matches_its_formula():
    """(1 - a) * CE + a * T² * KL(teacher_T || student_T), computed here from its definition."""
    from sparsegnn.nn.train import _objective

    generator = torch.Generator().manual_seed(0)
    student = torch.randn(6, 4, generator=generator)
    teacher = torch.randn(6, 4, generator=generator)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    config = TrainConfig(distill_weight=0.3, temperature=2.5)
    ce = torch.nn.functional.cross_entropy(student, labels)
    p_teacher = torch.softmax(teacher / 2.5, dim=1)
    kl = (p_teacher * (p_teacher.log() - torch.log_softmax(student / 2.5, dim=1))).sum(1).mean()
    expected = 0.7 * ce + 0.3 * 2.5 ** 2 * kl
    actual = _objective(config, torch.nn.Identity(), ce, student, teacher, regression=False)
    assert float(actual) == pytest.approx(float(expected), rel=1e-5)
    regression = _objective(TrainConfig(distill_weight=1.0), torch.nn.Identity(), ce, student,
                            teacher, regression=True)
    assert float(regression) == pytest.approx(float(((student - teacher) ** 2).mean()), rel=1e-5)
    with pytest.raises(ValueError):
        TrainConfig(distill_weight=1.5)


def test_prune_with_distillation_keeps_masks_and_teacher_untouched(synthetic):
    seed_everything(0)
    model = make_model("gcn", synthetic)
    fit(model, synthetic, 0, TrainConfig(epochs=20, progress=False))
    result = prune_model(model, synthetic, 0.9, distill=True,
                         finetune=TrainConfig(epochs=10, patience=None, progress=False))
    MaskSet.bake(model)
    state = model.state_dict()
    for key, mask in result.masks.weights.items():
        assert not state[key][torch.from_numpy(~mask)].any()  # pruned weights stay exactly zero
    assert result.after["test"] > 0.5


def _small_head_model():
    """A GCN whose output layer's weights are 1000x smaller than the hidden layer's: ranked
    globally by magnitude, it is the first to go."""
    torch.manual_seed(0)
    model = build_model({"kind": "gcn", "in_channels": 40, "hidden_channels": 64,
                         "num_layers": 2, "out_channels": 3})
    with torch.no_grad():
        model.convs[1].lin.weight.mul_(1e-3)
    return model


def test_global_pruning_keeps_a_share_of_every_matrix():
    model = _small_head_model()
    head = "convs.1.lin.weight"
    bare = prune_weights(model, magnitude(model), 0.9, scope="global", min_layer_density=0)
    assert bare.weights[head].sum() == 0  # unguarded, the output layer vanishes
    guarded = prune_weights(model, magnitude(model), 0.9, scope="global")
    kept = guarded.weights[head]
    assert kept.sum() == int(np.ceil(0.01 * kept.size))  # its best weights, no more
    scores = magnitude(model)[head]
    assert scores[kept.astype(bool)].min() >= scores[~kept.astype(bool)].max()
    assert guarded.sparsity == pytest.approx(bare.sparsity)  # the target is met all the same
    with pytest.raises(ValueError, match="min_layer_density"):
        prune_weights(model, magnitude(model), 0.9999, scope="global")


def test_a_layer_left_nearly_empty_is_named(synthetic):
    model = make_model("gcn", synthetic)
    with pytest.warns(PruningWarning, match="convs.0.lin.weight.*less than 1%"):
        prune_model(model, synthetic, 0.995, scope="layer",
                    finetune=TrainConfig(epochs=1, progress=False))


@pytest.mark.parametrize("pattern", ["unstructured", "1x16", "4x1"])
def test_the_guard_changes_nothing_where_every_matrix_keeps_enough(trained, pattern):
    """Where unguarded global pruning leaves every matrix at least 1 %, the guard keeps the
    same masks. (Protecting a block pattern's best weights instead of its best blocks once
    protected every block that held one, up to 16x the share: a Cora GCN pruned 95 % in 1x16
    blocks kept 7 of its output layer's 112 weights instead of 91, and fell to 51 %.)"""
    scores = magnitude(trained)
    bare = prune_weights(trained, scores, 0.9, scope="global", pattern=pattern,
                         min_layer_density=0)
    assert not bare.thin_layers(0.01)
    guarded = prune_weights(trained, scores, 0.9, scope="global", pattern=pattern)
    for key, mask in bare.weights.items():
        np.testing.assert_array_equal(guarded.weights[key], mask)
