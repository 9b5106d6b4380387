"""torch model -> IR: bake the weights, fold batch norms, drop dropout, choose each weight's
storage (CSR where it is smaller, dense otherwise)."""

from __future__ import annotations

import numpy as np
import torch

from ..graph import Graph
from ..ir import STORED_GRAPH, Model, Node
from ..nn.layers import MLP, GATConv, GCNConv, GINConv, SAGEConv, SGConv
from ..nn.models import BasicGNN, plain_copy
from ..patterns import Pattern
from ..sparse import narrowest_index_dtype

__all__ = ["to_ir", "matrix_from_weight", "CSR_MAX_DENSITY"]

# CSR costs 6-8 bytes per stored weight (a float32 value and an int16/int32 index) plus the row
# pointers, so below this density it is smaller than dense float32. Storage only: the runtime
# prices its kernels on the matrix whatever its format (runtime.planner).
CSR_MAX_DENSITY = 0.4


class _Builder:
    def __init__(self, csr_max_density: float, pattern: Pattern):
        self.nodes: list[Node] = []
        self.tensors: dict[str, np.ndarray] = {}
        self.csr_max_density = csr_max_density
        self.pattern = pattern
        self.value = "x"

    def tensor(self, name: str, array) -> str:
        if isinstance(array, torch.Tensor):
            array = array.detach().cpu().numpy()
        self.tensors[name] = np.ascontiguousarray(array, dtype=np.float32)
        return name

    def matrix(self, name: str, weight_out_in) -> dict:
        """Store ``weight.T`` (``x @ M`` orientation) dense or sparse, in the pattern."""
        return matrix_from_weight(name, weight_out_in, self.tensors, self.csr_max_density,
                                  self.pattern)

    def add(self, op: str, attrs: dict, extra_inputs: tuple[str, ...] = ()) -> Node:
        output = f"v{len(self.nodes)}"
        node = Node(op=op, inputs=[self.value, *extra_inputs], outputs=[output], attrs=attrs)
        self.nodes.append(node)
        self.value = output
        return node


def _csr_arrays(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of a dense matrix with the narrowest index types."""
    rows, cols = matrix.shape
    row_ids, col_ids = np.nonzero(matrix)
    indptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_ids, minlength=rows), out=indptr[1:])
    return (indptr.astype(narrowest_index_dtype(int(indptr[-1]))),
            col_ids.astype(narrowest_index_dtype(max(cols - 1, 0))), matrix[row_ids, col_ids])


def _bsr_arrays(matrix: np.ndarray, block: tuple[int, int]):
    """Block-sparse rows of a dense ``matrix (in, out)`` with ``(R, C)`` blocks (zero-padded
    at the edges), narrowest index types. Values ``(blocks, R, C)``."""
    rows, cols = block
    padded = np.zeros((-(-matrix.shape[0] // rows) * rows, -(-matrix.shape[1] // cols) * cols),
                      matrix.dtype)
    padded[:matrix.shape[0], :matrix.shape[1]] = matrix
    blocks = padded.reshape(padded.shape[0] // rows, rows, padded.shape[1] // cols, cols)
    block_rows, block_cols = np.nonzero(blocks.any(axis=(1, 3)))
    indptr = np.zeros(blocks.shape[0] + 1, np.int64)
    np.cumsum(np.bincount(block_rows, minlength=blocks.shape[0]), out=indptr[1:])
    values = np.ascontiguousarray(blocks[block_rows, :, block_cols, :])
    return (indptr.astype(narrowest_index_dtype(int(indptr[-1]))),
            block_cols.astype(narrowest_index_dtype(max(blocks.shape[2] - 1, 0))), values)


def matrix_from_weight(name: str, weight_out_in, tensors: dict, csr_max_density: float,
                       pattern: Pattern | str = "unstructured") -> dict:
    """Describe ``weight.T`` as a matrix attr and put its arrays in ``tensors``.

    Dense when that is no larger (or denser than ``csr_max_density``); otherwise blocks
    (``bsr``) for an ``RxC`` pattern, else CSR in whichever orientation is smaller: ``csr``
    (rows = inputs) or ``csr_t`` (rows = outputs, the weight itself). A pattern other than
    unstructured is recorded in the attr (an N:M one is checked when the artifact loads).
    Shapes: ``weight_out_in (out, in)`` (a ``torch.nn.Linear`` weight) -> a matrix ``(in, out)``.
    """
    if isinstance(weight_out_in, torch.Tensor):
        weight_out_in = weight_out_in.detach().cpu().numpy()
    pattern = Pattern.parse(pattern)
    weight = np.ascontiguousarray(np.asarray(weight_out_in, dtype=np.float32))
    out_width, in_width = weight.shape
    attr = {"tensor": name, "shape": [in_width, out_width]}
    if pattern.kind != "unstructured":
        attr["pattern"] = pattern.name
    density = np.count_nonzero(weight) / weight.size if weight.size else 1.0
    if pattern.kind == "block":
        candidates = {"bsr": _bsr_arrays(weight.T, (pattern.inputs, pattern.outputs))}
        attr["block"] = [pattern.inputs, pattern.outputs]
    else:
        candidates = {"csr": _csr_arrays(weight.T), "csr_t": _csr_arrays(weight)}
    layout = min(candidates, key=lambda k: (sum(a.nbytes for a in candidates[k]), k))
    if density > csr_max_density or sum(a.nbytes for a in candidates[layout]) >= weight.nbytes:
        attr.pop("block", None)
        tensors[name] = np.ascontiguousarray(weight.T)
        return {"format": "dense", **attr}
    indptr, indices, values = candidates[layout]
    tensors[f"{name}.indptr"], tensors[f"{name}.indices"] = indptr, indices
    tensors[f"{name}.values"] = values
    return {"format": layout, **attr}


def _batch_norm_affine(norm: torch.nn.Module) -> tuple[np.ndarray, np.ndarray] | None:
    """``(scale, shift)`` of an eval-mode batch norm, or None for Identity."""
    if isinstance(norm, torch.nn.Identity):
        return None
    if not isinstance(norm, torch.nn.BatchNorm1d):
        raise TypeError(f"cannot export normalisation {type(norm).__name__}")
    mean = norm.running_mean.detach().double()
    scale = 1.0 / torch.sqrt(norm.running_var.detach().double() + norm.eps)
    shift = -mean * scale
    if norm.affine:
        scale, shift = scale * norm.weight.detach().double(), \
            shift * norm.weight.detach().double() + norm.bias.detach().double()
    scale, shift = scale.numpy(), shift.numpy()
    return scale.astype(np.float64), shift.astype(np.float64)


def _fold(weight_out_in: np.ndarray, bias: np.ndarray | None, scale, shift):
    """``bn(x W^T + b)`` as one affine map: scale output rows of W, rescale and shift b."""
    weight = weight_out_in * scale[:, None]
    bias = (bias if bias is not None else 0.0) * scale + shift
    return weight, bias


def _weight_and_bias(weight, bias, affine=None):
    """A layer's ``(weight (out, in), bias or None)`` in float64, with the batch norm after it
    (``affine``: its ``(scale, shift)``) folded in."""
    weight = weight.detach().numpy().astype(np.float64)
    bias = bias.detach().numpy().astype(np.float64) if bias is not None else None
    return _fold(weight, bias, *affine) if affine is not None else (weight, bias)


def _emit_norm(b: _Builder, prefix: str, norm: torch.nn.Module, activation: str) -> None:
    """A normalisation kept as an op of its own, then ``activation``: ``affine`` for a batch
    norm, ``layer_norm`` for a layer norm, a bare ``activation`` (or nothing) for Identity."""
    if isinstance(norm, torch.nn.LayerNorm):
        width = norm.normalized_shape[-1]
        weight = norm.weight if norm.weight is not None else torch.ones(width)
        bias = norm.bias if norm.bias is not None else torch.zeros(width)
        b.add("layer_norm", {"scale": b.tensor(f"{prefix}.weight", weight),
                             "shift": b.tensor(f"{prefix}.bias", bias), "eps": float(norm.eps),
                             "activation": activation})
        return
    affine = _batch_norm_affine(norm)
    if affine is not None:
        b.add("affine", {"scale": b.tensor(f"{prefix}.scale", affine[0]),
                         "shift": b.tensor(f"{prefix}.shift", affine[1]),
                         "activation": activation})
    elif activation != "identity":
        b.add("activation", {"activation": activation})


def _emit_linear(b: _Builder, name: str, lin: torch.nn.Linear, activation: str,
                 affine=None) -> None:
    """``act(x @ W.T + b)`` of a ``torch.nn.Linear``, with a batch norm after it (``affine``)
    folded in."""
    weight, bias = _weight_and_bias(lin.weight, lin.bias, affine)
    b.add("linear", {"weight": b.matrix(f"{name}.weight", weight),
                     "bias": b.tensor(f"{name}.bias", bias) if bias is not None else None,
                     "activation": activation})


def _emit_linear_stack(b: _Builder, prefix: str, mlp: MLP, act: str, last_affine=None,
                       last_activation: str = "identity") -> None:
    """The MLP's linears with their norms folded and activations fused (PyG MLP order); the
    last linear takes ``last_affine`` (a batch norm after the MLP, folded into it) and
    ``last_activation``. A norm that cannot be folded (after the activation, or a layer norm)
    is an op of its own."""
    last = len(mlp.lins) - 1
    for k, lin in enumerate(mlp.lins):
        if k == last:
            _emit_linear(b, f"{prefix}.lins.{k}", lin, last_activation, last_affine)
            break
        norm = mlp.norms[k]
        if mlp.act_first or isinstance(norm, torch.nn.LayerNorm):
            before, after = (act, "identity") if mlp.act_first else ("identity", act)
            _emit_linear(b, f"{prefix}.lins.{k}", lin, before)
            _emit_norm(b, f"{prefix}.norms.{k}", norm, after)
        else:
            _emit_linear(b, f"{prefix}.lins.{k}", lin, act, _batch_norm_affine(norm))


def _emit_conv(b: _Builder, index: int, conv, act: str | None, affine, act_first: bool) -> None:
    """One conv plus what follows it: (norm, act) or (act, norm), or nothing for the last conv
    (``act`` None). A norm after the conv is folded into its weights where the conv is affine
    in them; GAT (attention scores depend on the weights) and l2-normalised SAGE keep it as an
    ``affine`` op."""
    prefix = f"convs.{index}"
    foldable = not isinstance(conv, GATConv) and not (isinstance(conv, SAGEConv) and conv.normalize)
    fold, after = False, None  # after: (affine, activation) emitted as its own op
    if act is None:
        fused = "identity"
    elif affine is None:
        fused = act
    elif act_first:
        fused, after = act, (affine, "identity")
    elif foldable:
        fused, fold = act, True
    else:
        fused, after = "identity", (affine, act)

    if isinstance(conv, GCNConv):
        weight, bias = _weight_and_bias(conv.lin.weight, conv.bias, affine if fold else None)
        b.add("gcn_conv", {
            "weight": b.matrix(f"{prefix}.weight", weight),
            "bias": b.tensor(f"{prefix}.bias", bias) if bias is not None else None,
            "normalize": conv.normalize, "add_self_loops": conv.add_self_loops,
            "improved": conv.improved, "activation": fused}, ("graph",))
    elif isinstance(conv, SGConv):
        weight, bias = _weight_and_bias(conv.lin.weight, conv.lin.bias, affine if fold else None)
        b.add("sg_conv", {
            "weight": b.matrix(f"{prefix}.weight", weight),
            "bias": b.tensor(f"{prefix}.bias", bias) if bias is not None else None,
            "K": conv.K, "add_self_loops": conv.add_self_loops, "activation": fused}, ("graph",))
    elif isinstance(conv, SAGEConv):
        neighbor = conv.lin_l.weight.detach().numpy().astype(np.float64)
        bias = conv.lin_l.bias.detach().numpy().astype(np.float64) if conv.lin_l.bias is not None \
            else None
        root = conv.lin_r.weight.detach().numpy().astype(np.float64) if conv.lin_r is not None \
            else None
        if fold:
            neighbor, bias = _fold(neighbor, bias, *affine)
            if root is not None:
                root = root * affine[0][:, None]
        b.add("sage_conv", {
            "weight_neighbor": b.matrix(f"{prefix}.weight_neighbor", neighbor),
            "weight_root": b.matrix(f"{prefix}.weight_root", root) if root is not None else None,
            "bias": b.tensor(f"{prefix}.bias", bias) if bias is not None else None,
            "aggr": conv.aggr, "l2_normalize": conv.normalize, "activation": fused}, ("graph",))
    elif isinstance(conv, GINConv):
        b.add("gin_conv", {"eps": float(conv.eps.detach().reshape(-1)[0])}, ("graph",))
        _emit_linear_stack(b, f"{prefix}.nn", conv.nn, conv.nn.act_name,
                           affine if fold else None, fused)
    elif isinstance(conv, GATConv):
        heads, channels = conv.heads, conv.out_channels
        b.add("gat_conv", {
            "weight": b.matrix(f"{prefix}.weight", conv.lin.weight),
            "att_src": b.tensor(f"{prefix}.att_src", conv.att_src.reshape(heads, channels)),
            "att_dst": b.tensor(f"{prefix}.att_dst", conv.att_dst.reshape(heads, channels)),
            "bias": b.tensor(f"{prefix}.bias", conv.bias) if conv.bias is not None else None,
            "residual": b.matrix(f"{prefix}.residual", conv.res.weight) if conv.res is not None
            else None,
            "heads": heads, "channels": channels, "concat": conv.concat,
            "negative_slope": conv.negative_slope, "add_self_loops": conv.add_self_loops,
            "activation": fused}, ("graph",))
    else:
        raise TypeError(f"cannot export layer {type(conv).__name__}")

    if after is not None:
        (scale, shift), activation = after
        b.add("affine", {"scale": b.tensor(f"norms.{index}.scale", scale),
                         "shift": b.tensor(f"norms.{index}.shift", shift),
                         "activation": activation})


def _emit_convs(b: _Builder, model: BasicGNN) -> None:
    """The conv stack: PyG's (conv, norm, act) layers, or the residual blocks."""
    act = model.act_name
    if model.residual_blocks:
        _emit_linear(b, "lin_in", model.lin_in, act)
        for i, conv in enumerate(model.convs):
            skip = b.value
            _emit_norm(b, f"norms.{i}", model.norms[i], "identity")
            _emit_conv(b, i, conv, act, None, False)
            b.add("add", {}, (skip,))
        _emit_norm(b, f"norms.{len(model.convs)}", model.norms[-1], "identity")
        _emit_linear(b, "lin_out", model.lin_out, "identity")
        return
    for i, conv in enumerate(model.convs):
        last = i == model.num_layers - 1
        norm = None if last else model.norms[i]
        if isinstance(norm, torch.nn.LayerNorm):  # depends on each row: an op of its own
            _emit_conv(b, i, conv, act if model.act_first else None, None, False)
            _emit_norm(b, f"norms.{i}", norm, "identity" if model.act_first else act)
        else:
            affine = None if last else _batch_norm_affine(norm)
            _emit_conv(b, i, conv, None if last else act, affine, model.act_first)


def _link_to_ir(model, graph, metadata, csr_max_density, pattern) -> Model:
    """A link predictor: its encoder's IR (embeddings out), plus the pair decoder
    (``ir.DECODER_TENSORS``, declared in the metadata)."""
    if any(hasattr(module, "weight_mask") for module in model.modules()):
        model = plain_copy(model).eval()  # masks applied with torch.nn.utils.prune: baked
    ir = to_ir(model.encoder.eval(), graph=graph, metadata=metadata,
               csr_max_density=csr_max_density, pattern=pattern)
    ir.metadata.update(task="link_prediction", model_config=model.config,
                       decoder={"kind": model.decoder_name})
    if model.decoder is not None:
        first, second = model.decoder.lins
        with torch.no_grad():
            for index, layer in enumerate((first, second)):
                ir.tensors[f"decoder.{index}.weight"] = layer.weight.T.contiguous().numpy().astype(np.float32)
                ir.tensors[f"decoder.{index}.bias"] = layer.bias.numpy().astype(np.float32)
    ir.validate()
    return ir


def to_ir(model: BasicGNN, *, graph: Graph | None = None, metadata: dict | None = None,
          csr_max_density: float = CSR_MAX_DENSITY, pattern: str | None = None) -> Model:
    """Export an eval-mode sparsegnn model to the IR.

    Parameters
    ----------
    model : BasicGNN
        The (possibly pruned, masks baked) model; dropout is dropped, batch norms folded.
    graph : Graph, optional
        A graph to store in the model (transductive use: ``Session.run(x)`` without a graph).
    metadata : dict, optional
        Extra provenance (dataset, accuracy, pruning record) for the manifest.
    csr_max_density : float
        Weights at or below this density are stored sparse (when that is smaller).
    pattern : str, optional
        The sparsity pattern the weights were pruned in (``sparsegnn.patterns``; a checkpoint
        written by ``sparsegnn prune`` records it): block patterns are stored as blocks, and
        the pattern is recorded per matrix and in the metadata.
    """
    if model.training:
        raise ValueError("export an eval-mode model (call model.eval() first)")
    if getattr(model, "kind", None) == "link":
        return _link_to_ir(model, graph, metadata, csr_max_density, pattern)
    if any(hasattr(module, "weight_mask") for module in model.modules()):
        model = plain_copy(model)  # masks applied with torch.nn.utils.prune: bake into zeros
    pattern = Pattern.parse(pattern or "unstructured")
    b = _Builder(csr_max_density, pattern)
    with torch.no_grad():
        if model.input_norm == "row_sum":
            b.add("input_norm", {"kind": "row_sum"})
        _emit_convs(b, model)
        if model.pool is not None:
            b.add("global_pool", {"reduce": model.pool}, ("batch",))
            if model.head is not None:
                _emit_linear_stack(b, "head", model.head, model.head.act_name)
    inputs = [{"name": "x", "dtype": "float32", "shape": [None, model.in_channels]}]
    if model.pool is not None:
        inputs.append({"name": "batch", "dtype": "int64", "shape": [None]})
    outputs = [{"name": b.value, "dtype": "float32", "shape": [None, model.output_channels]}]
    tensors = b.tensors
    if graph is not None:
        tensors[f"{STORED_GRAPH}.indptr"] = graph.indptr.astype(
            narrowest_index_dtype(max(graph.num_edges, 2**15)))
        tensors[f"{STORED_GRAPH}.indices"] = graph.indices.astype(
            narrowest_index_dtype(max(graph.num_nodes - 1, 2**15)))
        if graph.edge_weight is not None:
            tensors[f"{STORED_GRAPH}.weight"] = graph.edge_weight.astype(np.float32)
    info = {"model_config": model.config,
            "task": "graph" if model.pool is not None else "node", "pattern": pattern.name}
    info.update(metadata or {})
    ir = Model(nodes=b.nodes, tensors=tensors, inputs=inputs, outputs=outputs, metadata=info)
    ir.validate()
    return ir
