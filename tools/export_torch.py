#!/usr/bin/python3
"""Exports a PyTorch quantized ConvTranspose1d / Conv1d to qconv-wasm's saved-module
format (docs/FORMAT.md), which `ConvTranspose1d.load(bytes)` / `Conv1d.load(bytes)`
read in JavaScript, and whole converted quantized models (eager or FX) to the model
format (docs/MODEL-FORMAT.md, `export_model`).

Accepted modules (torch 1.13, QNNPACK semantics, docs/FORMAT.md "Exporting from PyTorch"):
- quantized `torch.ao.nn.quantized.ConvTranspose1d` / `Conv1d` (exactly those types:
  fused ConvReLU modules compute something else and are refused);
- float `torch.nn.ConvTranspose1d` / `Conv1d`: quantized here the eager-mode way,
  `Sequential(QuantStub(), module, DeQuantStub())` with
  `get_default_qconfig('qnnpack')`, prepare, calibrate, convert. The QuantStub's
  qparams are stored as the module's input quantization.

Weights: per-tensor always; per-channel when QNNPACK reads the scales as one per
output channel (docs/SEMANTICS.md §2): Conv1d with axis 0, ConvTranspose1d with groups 1
and axis 1. Anything else raises ValueError rather than export a module whose
torch output is undefined.

Command line:
    /usr/bin/python3 tools/export_torch.py MODEL.pt OUT.qconv
        MODEL.pt: a module saved whole with torch.save(module, path). A float module
        is calibrated on --calibration DATA.pt (a float tensor [N, C, L] saved with
        torch.save), or on random normal data of --calibration-shape N,L (default 8,64).
    /usr/bin/python3 tools/export_torch.py MODEL.pt OUT.qconv --example-shape N,C,L [--name NAME]
        MODEL.pt: a whole converted quantized model (eager-mode convert, or convert_fx's
        GraphModule) saved with torch.save: writes a model file (docs/MODEL-FORMAT.md).
        The model runs once on a random normal input of that shape (--seed), or on
        --example DATA.pt. Any module that is not a single convolution, or --model, selects
        this mode.
    /usr/bin/python3 tools/export_torch.py --check-cases CASES.json OUTDIR
        Builds each module CASES.json describes (fresh, seeded), exports it and
        writes, for each case NAME: NAME.qconv, NAME.input.bin (a quantized input's
        uint8 bytes), NAME.output.bin (torch's output bytes) and NAME.pt (the module,
        torch.save'd; for a float case also NAME.float.pt, the float module), plus
        OUTDIR/manifest.json with shapes and qparams. A case with "expect_error"
        is only exported, and the manifest records the exporter's error.
        tests/js/export-torch.test.js uses this to compare qconv-wasm with torch.

From Python:
    from export_torch import export_module, quantize_float_module
    data = export_module(qmodule, 'out.qconv')             # bytes, also written
    qmodule, input_qparams = quantize_float_module(float_module, [calibration_batch])
    export_module(qmodule, 'out.qconv', input_quantization=input_qparams)
    from export_torch import export_model
    data = export_model(converted_model, example_input, 'model.qconv')  # bytes, also written
"""
import argparse
import copy
import json
import operator
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.ao.nn.quantized as nnq
from torch import nn
from torch.nn import functional as F
from torch.nn.intrinsic.quantized import ConvReLU1d as _ConvReLU1d

FORMAT_MAGIC = b'QCONV1D\x00'
FORMAT_VERSION = 2  # written only for a fused ReLU (flag bit 3); other files are version 1
HEADER_BYTES = 96
KINDS = {'Conv1d': 0, 'ConvTranspose1d': 1}
PADDING_KINDS = {'valid': 1, 'same': 2}
PADDING_MODES = {'zeros': 0, 'reflect': 1}
FLAG_BIAS, FLAG_PER_CHANNEL, FLAG_INPUT_QUANTIZATION, FLAG_RELU = 1, 2, 4, 8
# Everything up to the header CRC at offset 92 (docs/FORMAT.md's table).
HEADER = struct.Struct('<8sHBBI8IBBHiddiIIII')
assert HEADER.size == HEADER_BYTES - 4


def file_length(scale_count, weight_count, bias_count):
    weight_end = HEADER_BYTES + 12 * scale_count + weight_count
    return weight_end + (-weight_end % 4) + 4 * bias_count + 4


def encode(desc):
    """The file's bytes for a module description (the same fields as js/format.mjs):
    kind, in_channels, out_channels, kernel_size, stride, padding (int or
    'valid'/'same'), output_padding, dilation, groups, padding_mode, scale,
    zero_point, input_quantization ((scale, zero_point) or None), weight_data
    (int8 bytes, C order), weight_scales, weight_zero_points (lists; one entry
    means per-tensor unless per_channel is true), per_channel, bias (list of
    float32 values or None)."""
    padding = desc['padding']
    padding_kind = 0
    if isinstance(padding, str):
        padding_kind, padding = PADDING_KINDS[padding], 0
    scales, zero_points = list(desc['weight_scales']), list(desc['weight_zero_points'])
    weights, bias = bytes(desc['weight_data']), desc['bias']
    input_q = desc['input_quantization']
    relu = bool(desc.get('relu', False))
    flags = ((FLAG_BIAS if bias is not None else 0) | (FLAG_PER_CHANNEL if desc['per_channel'] else 0)
             | (FLAG_INPUT_QUANTIZATION if input_q is not None else 0) | (FLAG_RELU if relu else 0))
    bias_count = 0 if bias is None else len(bias)
    total = file_length(len(scales), len(weights), bias_count)
    header = HEADER.pack(
        FORMAT_MAGIC, 2 if relu else 1, KINDS[desc['kind']], flags, total,
        desc['in_channels'], desc['out_channels'], desc['kernel_size'], desc['stride'], padding,
        desc['output_padding'], desc['dilation'], desc['groups'],
        padding_kind, PADDING_MODES[desc['padding_mode']], 0,
        desc['zero_point'], desc['scale'],
        input_q[0] if input_q is not None else 0.0, input_q[1] if input_q is not None else 0,
        len(scales), len(weights), bias_count, 0)
    out = bytearray(header)
    out += struct.pack('<I', zlib.crc32(header))
    out += struct.pack(f'<{len(scales)}d', *scales)
    out += struct.pack(f'<{len(zero_points)}i', *zero_points)
    out += weights
    out += bytes(-len(out) % 4)
    if bias is not None:
        out += struct.pack(f'<{len(bias)}f', *bias)
    out += struct.pack('<I', zlib.crc32(out))
    assert len(out) == total
    return bytes(out)


def _single(module, name):
    value = getattr(module, name)
    if isinstance(value, (tuple, list)):
        # torch's prepack silently uses the last entry of a 2-tuple (docs/SEMANTICS.md §1).
        if len(value) != 1:
            raise ValueError(f'{type(module).__name__}.{name} is {value!r}: a 1-D module needs one value')
        value = value[0]
    return int(value)


def describe_quantized(module, input_quantization=None, fused_relu=False, relu=False):
    """The format's description of a quantized nnq.ConvTranspose1d / nnq.Conv1d, or a
    fused ConvReLU1d (saved with the fused-ReLU flag, format version 2).
    fused_relu: a ConvReLU1d inside a model, described as its Conv1d (the model
    format stores the ReLU in the node, docs/MODEL-FORMAT.md).
    relu: the module is followed by a ReLU to fold into it (e.g. a ConvTranspose1d)."""
    if type(module) is nnq.ConvTranspose1d:
        kind = 'ConvTranspose1d'
    elif type(module) is nnq.Conv1d:
        kind = 'Conv1d'
    elif type(module) is _ConvReLU1d:
        kind = 'Conv1d'
        relu = not fused_relu
    else:
        raise TypeError('expected torch.ao.nn.quantized.ConvTranspose1d or Conv1d (float torch.nn ones go through '
                        f'quantize_float_module first), got {type(module).__name__}')
    cin, cout, groups = int(module.in_channels), int(module.out_channels), int(module.groups)
    k = _single(module, 'kernel_size')
    padding = module.padding
    if isinstance(padding, str):
        raise ValueError(f'padding {padding!r}: torch 1.13 quantized Conv1d has no string padding')
    w = module.weight()
    expected = [cin, cout // groups, k] if kind == 'ConvTranspose1d' else [cout, cin // groups, k]
    if list(w.shape) != expected:
        raise ValueError(f'weight shape {list(w.shape)} does not match the module ({expected})')
    if w.dtype != torch.qint8:
        raise ValueError(f'weight dtype {w.dtype}: QNNPACK takes qint8 weights only')
    if w.qscheme() == torch.per_tensor_affine:
        per_channel = False
        scales, zero_points = [float(w.q_scale())], [int(w.q_zero_point())]
    elif w.qscheme() == torch.per_channel_affine:
        per_channel = True
        axis = int(w.q_per_channel_axis())
        # QNNPACK reads entry c as output channel c whatever the axis (docs/SEMANTICS.md §2).
        if kind == 'Conv1d' and axis != 0:
            raise ValueError(f'per-channel Conv1d weight with axis {axis}: only axis 0 (output channels) is defined')
        if kind == 'ConvTranspose1d' and (groups != 1 or axis != 1):
            raise ValueError(f'per-channel ConvTranspose1d weight with groups {groups} and axis {axis}: torch 1.13 '
                             'reads it as per output channel only with groups 1 and axis 1 (docs/SEMANTICS.md §2)')
        scales = [float(v) for v in w.q_per_channel_scales().tolist()]
        zero_points = [int(v) for v in w.q_per_channel_zero_points().tolist()]
    else:
        raise ValueError(f'weight qscheme {w.qscheme()}: only per_tensor_affine and per_channel_affine are supported')
    bad = [z for z in zero_points if not -128 <= z <= 127]
    if bad:
        raise ValueError(f'weight zero point {bad[0]} outside [-128, 127] (torch wraps it, qconv-wasm rejects it)')
    bias = module.bias()
    if bias is not None:
        if bias.dtype != torch.float32:
            raise ValueError(f'bias dtype {bias.dtype}: torch needs float32')
        bias = bias.detach().tolist()
    zero_point = int(module.zero_point)
    if not 0 <= zero_point <= 255:
        raise ValueError(f'output zero point {zero_point} outside [0, 255]')
    if input_quantization is not None:
        input_quantization = (float(input_quantization[0]), int(input_quantization[1]))
    return {
        'kind': kind, 'in_channels': cin, 'out_channels': cout, 'kernel_size': k,
        'stride': _single(module, 'stride'), 'padding': _single(module, 'padding'),
        'output_padding': _single(module, 'output_padding') if kind == 'ConvTranspose1d' else 0,
        'dilation': _single(module, 'dilation'), 'groups': groups, 'padding_mode': module.padding_mode,
        'scale': float(module.scale), 'zero_point': zero_point, 'input_quantization': input_quantization,
        'weight_data': np.ascontiguousarray(w.int_repr().numpy()).astype(np.int8).tobytes(),
        'weight_scales': scales, 'weight_zero_points': zero_points, 'per_channel': per_channel,
        'bias': bias, 'relu': bool(relu),
    }


def export_module(module, path=None, input_quantization=None, relu=False):
    """Bytes of a quantized module in the format; written to `path` if given.
    input_quantization: (scale, zero_point) of the module's input, or None.
    relu: fold a following ReLU into the module (a ConvReLU1d has it already)."""
    data = encode(describe_quantized(module, input_quantization, relu=relu))
    if path is not None:
        with open(path, 'wb') as f:
            f.write(data)
    return data


def quantize_float_module(module, calibration, engine='qnnpack'):
    """Eager-mode post-training quantization of a float nn.ConvTranspose1d / nn.Conv1d
    with get_default_qconfig(engine): returns (quantized module, (input scale, input
    zero point)). calibration: an iterable of float tensors [N, C, L]."""
    if type(module) not in (nn.ConvTranspose1d, nn.Conv1d):
        raise TypeError(f'expected torch.nn.ConvTranspose1d or Conv1d, got {type(module).__name__}')
    if isinstance(module.padding, str):
        raise ValueError(f'padding {module.padding!r}: torch 1.13 quantized Conv1d has no string padding')
    torch.backends.quantized.engine = engine
    model = nn.Sequential(torch.ao.quantization.QuantStub(), copy.deepcopy(module),
                          torch.ao.quantization.DeQuantStub()).eval()
    model.qconfig = torch.ao.quantization.get_default_qconfig(engine)
    prepared = torch.ao.quantization.prepare(model)
    with torch.no_grad():
        for batch in calibration:
            prepared(batch)
    converted = torch.ao.quantization.convert(prepared)
    quant = converted[0]
    return converted[1], (float(quant.scale), int(quant.zero_point))


# ---------------------------------------------------------------------------
# Whole models: the model file of docs/MODEL-FORMAT.md.

MODEL_MAGIC = b'QCONVMDL'
MODEL_VERSION = 1
# Everything up to the header CRC at offset 28 (docs/MODEL-FORMAT.md's table).
MODEL_HEADER = struct.Struct('<8sHHIIII')
assert MODEL_HEADER.size == 28

SUPPORTED_MODEL_OPS = (
    'the input quantized by QuantStub / quantize_per_tensor; the output as it is or dequantized '
    '(DeQuantStub / dequantize); dequantize -> quantize_per_tensor (requantize); quantized Conv1d, '
    'ConvReLU1d, ConvTranspose1d (output_size from a size() or ints); relu; hardtanh, relu6; leaky_relu; '
    'quantized add, add_relu (same shapes); cat along dim 1; ReflectionPad1d / pad(mode="reflect"); '
    'Identity, Dropout in eval mode; size() / shape')


class _SizeOf:
    """A node's value that is (part of) a tensor's size: `source` is the FX node of the
    tensor, `dims` the dimensions listed (None: all)."""
    def __init__(self, source, dims=None):
        self.source, self.dims, self.scalar = source, dims, False


class _Dequantized:
    def __init__(self, tensor, node):
        self.tensor, self.node = tensor, node


class _FloatInput:
    pass


def _target_text(node, gm):
    if node.op == 'call_module':
        mod = gm.get_submodule(node.target)
        return f'call_module {node.target}: {type(mod).__module__}.{type(mod).__qualname__}'
    if node.op == 'call_function':
        try:
            name = torch.fx.node._get_qualified_name(node.target)
        except Exception:  # noqa: BLE001 - any callable FX recorded
            name = repr(node.target)
        return f'call_function {name.replace("_operator.", "operator.")}'
    return f'{node.op} {node.target}'


def _bind(node, names, defaults=None):
    """The node's arguments by name: positional args in the order of `names`, then kwargs."""
    if len(node.args) > len(names):
        raise _Refusal(node, f'takes {len(node.args)} positional arguments, expected at most {len(names)}')
    bound = dict(defaults or {})
    bound.update(zip(names, node.args))
    for key, value in node.kwargs.items():
        if key not in names:
            raise _Refusal(node, f'has an unexpected argument {key!r}')
        bound[key] = value
    return bound


class _Refusal(Exception):
    def __init__(self, node, message):
        super().__init__(message)
        self.node, self.message = node, message


class _Recorder(torch.fx.Interpreter):
    """Runs the graph once, keeping every node's value (quantized tensors cloned, so that a
    later in-place op does not change what was recorded). A quantized ConvTranspose1d called
    with output_size (which torch 1.13's quantized module refuses) runs as the same module
    with the output padding that gives that size, as the float module would."""
    def __init__(self, gm):
        super().__init__(gm)
        self.values = {}

    def run_node(self, n):
        result = super().run_node(n)
        self.values[n] = result.clone() if isinstance(result, torch.Tensor) and result.is_quantized else result
        return result

    def call_module(self, target, args, kwargs):
        mod = self.fetch_attr(target)
        if type(mod) is nnq.ConvTranspose1d and (len(args) > 1 or 'output_size' in kwargs):
            size = kwargs['output_size'] if 'output_size' in kwargs else args[1]
            x = args[0]
            want = int(list(size)[-1])
            k, s, p, d = (_single(mod, a) for a in ('kernel_size', 'stride', 'padding', 'dilation'))
            least = (x.shape[-1] - 1) * s - 2 * p + d * (k - 1) + 1
            extra = want - least
            if not 0 <= extra < max(s, d):
                raise ValueError(f'ConvTranspose1d {target}: output_size {want} is not between {least} and '
                                 f'{least + max(s, d) - 1}')
            twin = copy.deepcopy(mod)
            twin.output_padding = (extra,)
            twin.set_weight_bias(mod.weight(), mod.bias())
            return twin(x)
        return super().call_module(target, args, kwargs)


def trace_model(model):
    """A torch.fx.GraphModule of `model`: itself if it is one (convert_fx's output), else
    a symbolic trace keeping torch.nn / torch.ao.nn modules (quantized ones included) as
    leaves; QFunctional's add/cat are traced into torch.ops.quantized calls."""
    if isinstance(model, torch.fx.GraphModule):
        return model
    if not isinstance(model, nn.Module):
        raise TypeError(f'expected a torch.nn.Module or a torch.fx.GraphModule, got {type(model).__name__}')
    try:
        graph = torch.fx.Tracer().trace(model)
    except Exception as e:  # noqa: BLE001 - torch.fx raises many kinds
        raise ValueError(f'cannot trace {type(model).__name__} with torch.fx (the exporter needs a graph without '
                         f'data-dependent control flow): {type(e).__name__}: {e}') from e
    return torch.fx.GraphModule(model, graph, type(model).__name__)


class _ModelBuilder:
    def __init__(self, gm, values):
        self.gm, self.values = gm, values
        self.kind = {}          # FX node -> tensor index, _Dequantized, _FloatInput, _SizeOf, constant
        self.tensors, self.tensor_values, self.nodes = [], [], []
        self.data = bytearray()
        self.stored = {}        # id(module) -> (record, input qparams)
        self.skip = set()       # nodes folded into an earlier one
        self.input = self.output = None
        self.placeholder = None

    # -- helpers
    def module(self, node):
        return self.gm.get_submodule(node.target)

    def new_tensor(self, node, name=None):
        value = self.values[node]
        if not (isinstance(value, torch.Tensor) and value.is_quantized and value.dtype == torch.quint8):
            raise _Refusal(node, f'produced {self.describe_value(value)}, expected a quint8 tensor')
        if value.qscheme() != torch.per_tensor_affine:
            raise _Refusal(node, f'produced a {value.qscheme()} tensor; the model format has per-tensor ones only')
        if value.dim() != 3:
            raise _Refusal(node, f'produced a tensor of shape {list(value.shape)}; the model format has [N, C, L] ones')
        scale, zero_point = float(value.q_scale()), int(value.q_zero_point())
        if not (scale > 0 and np.isfinite(np.float32(scale)) and abs(np.float32(scale)) >= np.finfo(np.float32).tiny):
            raise _Refusal(node, f'has scale {scale}: not a normal float32 > 0')
        if self.tensors and value.shape[0] != self.tensor_values[0].shape[0]:
            raise _Refusal(node, f'changes the batch size from {self.tensor_values[0].shape[0]} to {value.shape[0]}')
        self.tensors.append({'name': name or self.node_name(node), 'channels': int(value.shape[1]),
                             'scale': scale, 'zeroPoint': zero_point})
        self.tensor_values.append(value)
        self.kind[node] = len(self.tensors) - 1
        return len(self.tensors) - 1

    @staticmethod
    def describe_value(value):
        if isinstance(value, torch.Tensor):
            return f'a {value.dtype} tensor of shape {list(value.shape)}'
        return f'a {type(value).__name__}'

    def node_name(self, node):
        return node.target if node.op == 'call_module' else node.name

    def tensor(self, node, arg, what='its input'):
        """The tensor index of a quantized-tensor argument."""
        if not isinstance(arg, torch.fx.Node):
            raise _Refusal(node, f'{what} is {arg!r}, not a tensor of the graph')
        k = self.kind.get(arg)
        if isinstance(k, int):
            return k
        if isinstance(k, _Dequantized):
            raise _Refusal(node, f'{what} is "{arg.name}", a dequantized (float) tensor: float ops between quantized '
                           'ones are not supported (a dequantize may feed only the output or a quantize_per_tensor)')
        if isinstance(k, _FloatInput):
            raise _Refusal(node, f'{what} is the float input "{arg.name}": ops on float tensors are not supported '
                           '(quantize the input first)')
        raise _Refusal(node, f'{what} is "{arg.name}", not a quantized tensor')

    def const(self, node, arg, what):
        if isinstance(arg, torch.fx.Node):
            if arg.op != 'get_attr':
                raise _Refusal(node, f'{what} is "{arg.name}", computed in the graph; it must be a constant')
            arg = self.values[arg]
        if isinstance(arg, torch.Tensor):
            if arg.numel() != 1:
                raise _Refusal(node, f'{what} is a tensor of {arg.numel()} elements, expected one value')
            arg = arg.item()
        return arg

    def same_qparams(self, node, out, source):
        a, b = self.tensors[out], self.tensors[source]
        if (a['scale'], a['zeroPoint']) != (b['scale'], b['zeroPoint']):
            raise _Refusal(node, f'changed the quantization from ({b["scale"]}, {b["zeroPoint"]}) to '
                           f'({a["scale"]}, {a["zeroPoint"]}); the model format\'s op keeps its input\'s')

    def expect_qparams(self, node, out, scale, zero_point):
        t = self.tensors[out]
        if (t['scale'], t['zeroPoint']) != (float(scale), int(zero_point)):
            raise _Refusal(node, f'output quantization ({t["scale"]}, {t["zeroPoint"]}) differs from its '
                           f'parameters ({float(scale)}, {int(zero_point)})')

    def add_node(self, node, op, inputs, output, **fields):
        record = {'name': self.node_name(node), 'op': op, 'inputs': inputs, 'output': output}
        record.update(fields)
        self.nodes.append(record)

    def store_module(self, node, mod, input_index):
        qparams = (self.tensors[input_index]['scale'], self.tensors[input_index]['zeroPoint'])
        if id(mod) in self.stored:
            record, first = self.stored[id(mod)]
            if first[0] != qparams[0]:
                raise _Refusal(node, f'calls a module called before with input scale {first[0]} with input scale '
                               f'{qparams[0]}: torch 1.13 keeps the first call\'s requantization (docs/SEMANTICS.md §6)')
            return dict(record)
        try:
            data = encode(describe_quantized(mod, fused_relu=True))
        except (TypeError, ValueError) as e:
            raise _Refusal(node, f'cannot be stored: {e}') from e
        self.data += bytes(-len(self.data) % 8)
        record = {'offset': len(self.data), 'length': len(data)}
        self.data += data
        self.stored[id(mod)] = (record, qparams)
        return dict(record)

    def inplace_check(self, node, source, inplace):
        if inplace and len(source.users) > 1:
            raise _Refusal(node, f'works in place on "{source.name}", which other nodes also read; the model format '
                           'has no in-place ops (make it out of place)')

    # -- classification of activation nodes: (op, fields, inplace) or None
    def activation(self, node):
        op, t = node.op, node.target
        if op == 'call_module':
            mod = self.module(node)
            if type(mod) is nn.ReLU:
                return 'relu', {}, mod.inplace
            if type(mod) in (nn.ReLU6, nnq.ReLU6):
                return 'hardtanh', {'min': 0.0, 'max': 6.0}, mod.inplace
            if type(mod) is nn.Hardtanh:
                return 'hardtanh', {'min': float(mod.min_val), 'max': float(mod.max_val)}, mod.inplace
            if type(mod) is nn.LeakyReLU:
                return 'leaky_relu', {'negativeSlope': float(mod.negative_slope)}, mod.inplace
            if type(mod) is nnq.LeakyReLU:
                return 'leaky_relu', {'negativeSlope': float(mod.negative_slope), '_q': (mod.scale, mod.zero_point)}, \
                    mod.inplace
            return None
        if op == 'call_function':
            if t in (torch.relu, F.relu, torch.relu_, F.relu_):
                b = _bind(node, ['input', 'inplace'], {'inplace': t in (torch.relu_, F.relu_)})
                return 'relu', {}, b['inplace']
            if t in (F.relu6, torch.ops.quantized.relu6):
                b = _bind(node, ['input', 'inplace'], {'inplace': False})
                return 'hardtanh', {'min': 0.0, 'max': 6.0}, b['inplace']
            if t in (F.hardtanh, F.hardtanh_):
                b = _bind(node, ['input', 'min_val', 'max_val', 'inplace'],
                          {'min_val': -1.0, 'max_val': 1.0, 'inplace': t is F.hardtanh_})
                return 'hardtanh', {'min': float(b['min_val']), 'max': float(b['max_val'])}, b['inplace']
            if t in (F.leaky_relu, F.leaky_relu_):
                b = _bind(node, ['input', 'negative_slope', 'inplace'],
                          {'negative_slope': 0.01, 'inplace': t is F.leaky_relu_})
                return 'leaky_relu', {'negativeSlope': float(b['negative_slope'])}, b['inplace']
            if t is torch.ops.quantized.leaky_relu:
                b = _bind(node, ['qx', 'negative_slope', 'inplace', 'output_scale', 'output_zero_point'])
                return 'leaky_relu', {'negativeSlope': float(b['negative_slope']),
                                      '_q': (b['output_scale'], b['output_zero_point'])}, b['inplace']
            return None
        if op == 'call_method':
            if t in ('relu', 'relu_'):
                return 'relu', {}, t == 'relu_'
            return None
        return None

    def first_arg(self, node):
        if node.args:
            return node.args[0]
        for key in ('input', 'qx', 'x', 'self'):
            if key in node.kwargs:
                return node.kwargs[key]
        raise _Refusal(node, 'has no input')

    # -- the graph
    def build(self):
        for node in self.gm.graph.nodes:
            if node in self.skip:
                continue
            self.visit(node)
        if self.placeholder is None:
            raise ValueError('the model has no input')
        if self.input is None:
            raise ValueError(f'the input "{self.placeholder.name}" is never quantized (no QuantStub or '
                             'quantize_per_tensor)')
        if self.output is None:
            raise ValueError('the model has no output')

    def visit(self, node):
        op, t = node.op, node.target
        if op == 'placeholder':
            if self.placeholder is not None:
                raise _Refusal(node, f'is a second input (after "{self.placeholder.name}"): the model format has '
                               'one input')
            value = self.values.get(node)
            if not (isinstance(value, torch.Tensor) and not value.is_quantized and value.dtype == torch.float32
                    and value.dim() == 3):
                raise _Refusal(node, f'is {self.describe_value(value)}: the input must be a float32 [N, C, L] tensor')
            self.placeholder = node
            self.kind[node] = _FloatInput()
            return
        if op == 'get_attr':
            self.kind[node] = ('const',)
            return
        if op == 'output':
            result = node.args[0]
            if isinstance(result, (tuple, list)):
                if len(result) != 1:
                    raise _Refusal(node, f'returns {len(result)} values: the model format has one output')
                result = result[0]
            k = self.kind.get(result) if isinstance(result, torch.fx.Node) else None
            if isinstance(k, _Dequantized):
                self.output = {'tensor': k.tensor, 'dequantize': True}
            elif isinstance(k, int):
                self.output = {'tensor': k, 'dequantize': False}
            elif isinstance(k, _FloatInput):
                raise _Refusal(node, 'returns the float input: there is nothing quantized to run')
            else:
                raise _Refusal(node, f'returns {result!r}, not a tensor of the graph')
            return

        # Quantize / dequantize.
        quant = None
        if op == 'call_function' and t is torch.quantize_per_tensor:
            b = _bind(node, ['input', 'scale', 'zero_point', 'dtype'])
            quant = (b['input'], self.const(node, b['scale'], 'the scale'),
                     self.const(node, b['zero_point'], 'the zero point'), b['dtype'])
        elif op == 'call_module' and type(self.module(node)) is nnq.Quantize:
            mod = self.module(node)
            if len(node.args) != 1 or node.kwargs:
                raise _Refusal(node, 'expected one argument')
            quant = (node.args[0], float(mod.scale), int(mod.zero_point), mod.dtype)
        if quant is not None:
            source, scale, zero_point, dtype = quant
            if dtype != torch.quint8:
                raise _Refusal(node, f'quantizes to {dtype}: the model format has quint8 tensors only')
            k = self.kind.get(source) if isinstance(source, torch.fx.Node) else None
            if isinstance(k, _FloatInput):
                if self.input is not None:
                    first = self.tensors[self.input]
                    if (first['scale'], first['zeroPoint']) != (float(scale), int(zero_point)):
                        raise _Refusal(node, 'quantizes the input a second time, with other parameters than '
                                       f'"{first["name"]}": the model format has one input quantization')
                    self.kind[node] = self.input
                    return
                self.input = self.new_tensor(node)
                self.expect_qparams(node, self.input, scale, zero_point)
                return
            if isinstance(k, _Dequantized):
                out = self.new_tensor(node)
                self.expect_qparams(node, out, scale, zero_point)
                self.add_node(node, 'requantize', [k.tensor], out)
                return
            raise _Refusal(node, f'quantizes "{getattr(source, "name", source)}", which is neither the float input '
                           'nor a dequantized tensor')
        if (op == 'call_method' and t == 'dequantize') or (op == 'call_function' and t is torch.dequantize) or \
                (op == 'call_module' and type(self.module(node)) is nnq.DeQuantize):
            if len(node.args) != 1 or node.kwargs:
                raise _Refusal(node, 'expected one argument')
            self.kind[node] = _Dequantized(self.tensor(node, node.args[0]), node)
            return

        # Sizes.
        if op == 'call_method' and t == 'size':
            b = _bind(node, ['self', 'dim'], {'dim': None})
            self.kind[node] = self.size_of(node, b['self'], None if b['dim'] is None else [b['dim']])
            self.kind[node].scalar = b['dim'] is not None
            return
        if op == 'call_function' and t is getattr and len(node.args) == 2 and node.args[1] == 'shape':
            self.kind[node] = self.size_of(node, node.args[0], None)
            return
        if op == 'call_function' and t is operator.getitem and isinstance(self.kind.get(node.args[0]), _SizeOf):
            size, index = self.kind[node.args[0]], node.args[1]
            dims = size.dims if size.dims is not None else [0, 1, 2]
            picked = dims[index]
            self.kind[node] = _SizeOf(size.source, picked if isinstance(index, slice) else [picked])
            self.kind[node].scalar = not isinstance(index, slice)
            return

        if op == 'call_module':
            mod = self.module(node)
            if type(mod) in (nnq.Conv1d, _ConvReLU1d, nnq.ConvTranspose1d):
                return self.conv(node, mod)
            if type(mod) is nn.ReflectionPad1d:
                if len(node.args) != 1 or node.kwargs:
                    raise _Refusal(node, 'expected one argument')
                return self.reflection_pad(node, node.args[0], list(mod.padding))
            if type(mod) is nn.Identity or (type(mod) is nn.Dropout and not mod.training):
                self.kind[node] = self.tensor(node, self.first_arg(node))
                return
        if op == 'call_function' and t is F.pad:
            b = _bind(node, ['input', 'pad', 'mode', 'value'], {'mode': 'constant', 'value': None})
            if b['mode'] != 'reflect':
                raise _Refusal(node, f'pads in mode {b["mode"]!r}: the model format has reflection padding only '
                               '(zero padding belongs in a convolution\'s padding)')
            return self.reflection_pad(node, b['input'], list(b['pad']))
        if op == 'call_method' and t == 'contiguous':
            self.kind[node] = self.tensor(node, node.args[0])
            return
        if op == 'call_function' and t in (torch.ops.quantized.add, torch.ops.quantized.add_relu):
            b = _bind(node, ['qa', 'qb', 'scale', 'zero_point'])
            a, bb = self.tensor(node, b['qa'], 'its first input'), self.tensor(node, b['qb'], 'its second input')
            sa, sb = list(self.tensor_values[a].shape), list(self.tensor_values[bb].shape)
            if sa != sb:
                raise _Refusal(node, f'adds tensors of shapes {sa} and {sb}: broadcast adds are not supported '
                               '(the model format\'s add takes two tensors of the same shape)')
            out = self.new_tensor(node)
            self.expect_qparams(node, out, self.const(node, b['scale'], 'the scale'),
                                self.const(node, b['zero_point'], 'the zero point'))
            self.add_node(node, 'add', [a, bb], out, relu=t is torch.ops.quantized.add_relu)
            return
        if op == 'call_function' and t in (torch.cat, torch.concat, torch.ops.quantized.cat):
            if t is torch.ops.quantized.cat:
                b = _bind(node, ['qx', 'dim', 'scale', 'zero_point'])
                parts, dim = b['qx'], b['dim']
            else:
                b = _bind(node, ['tensors', 'dim'], {'dim': 0})
                parts, dim = b['tensors'], b['dim']
            if not isinstance(parts, (list, tuple)) or not parts:
                raise _Refusal(node, 'expected a list of tensors')
            inputs = [self.tensor(node, p, f'input {i}') for i, p in enumerate(parts)]
            if not isinstance(dim, int) or dim not in (1, -2):
                raise _Refusal(node, f'concatenates along dim {dim}: the model format concatenates along dim 1 '
                               '(channels) only')
            shapes = [list(self.tensor_values[i].shape) for i in inputs]
            if any(s[0] != shapes[0][0] or s[2] != shapes[0][2] for s in shapes):
                raise _Refusal(node, f'concatenates shapes {shapes}: along channels they need the same N and L')
            out = self.new_tensor(node)
            if t is torch.ops.quantized.cat and b.get('scale') is not None:
                self.expect_qparams(node, out, self.const(node, b['scale'], 'the scale'),
                                    self.const(node, b['zero_point'], 'the zero point'))
            self.add_node(node, 'cat', inputs, out, dim=1)
            return
        act = self.activation(node)
        if act is not None:
            return self.activation_node(node, *act)
        for arg in node.all_input_nodes:
            if isinstance(self.kind.get(arg), (_Dequantized, _FloatInput)):
                self.tensor(node, arg)  # refuses, naming the float tensor
        raise _Refusal(node, f'not supported by the qconv model format (supported: {SUPPORTED_MODEL_OPS})')

    def size_of(self, node, source, dims):
        if not isinstance(source, torch.fx.Node) or \
                not isinstance(self.kind.get(source), (int, _FloatInput, _Dequantized)):
            raise _Refusal(node, 'takes the size of something that is not a tensor of the graph')
        return _SizeOf(source, dims)

    def activation_node(self, node, op, fields, inplace):
        source = self.first_arg(node)
        x = self.tensor(node, source)
        self.inplace_check(node, source, inplace)
        out = self.new_tensor(node)
        q = fields.pop('_q', None)
        if op in ('relu', 'hardtanh'):
            self.same_qparams(node, out, x)
        elif q is not None:
            self.expect_qparams(node, out, self.const(node, q[0], 'the scale'), self.const(node, q[1], 'the zero point'))
        self.add_node(node, op, [x], out, **fields)

    def reflection_pad(self, node, source, padding):
        x = self.tensor(node, source)
        length = self.tensor_values[x].shape[2]
        if len(padding) != 2 or any(not isinstance(p, int) or p < 0 or p >= length for p in padding):
            raise _Refusal(node, f'reflection padding {padding} of a length-{length} tensor: the model format needs '
                           'two paddings [left, right], each >= 0 and smaller than the input length')
        out = self.new_tensor(node)
        self.same_qparams(node, out, x)
        self.add_node(node, 'reflection_pad1d', [x], out, padding=[int(p) for p in padding])

    def output_size(self, node, size):
        if size is None:
            return None
        if isinstance(size, torch.fx.Node):
            k = self.kind.get(size)
            if not isinstance(k, _SizeOf):
                raise _Refusal(node, f'output_size "{size.name}" is not a size of a tensor of the graph')
            if getattr(k, 'scalar', False):
                entries = [size]
            else:
                dims = k.dims if k.dims is not None else [0, 1, 2]
                if not dims:
                    raise _Refusal(node, 'output_size is empty')
                return self.length_of(node, k.source, dims[-1])
        elif isinstance(size, (list, tuple)) and size:
            entries = list(size)
        elif isinstance(size, int):
            entries = [size]
        else:
            raise _Refusal(node, f'output_size {size!r} is not supported')
        last = entries[-1]
        if isinstance(last, int):
            return {'length': int(last)}
        k = self.kind.get(last) if isinstance(last, torch.fx.Node) else None
        if isinstance(k, _SizeOf) and getattr(k, 'scalar', False):
            return self.length_of(node, k.source, k.dims[0])
        raise _Refusal(node, f'output_size entry {last!r} is neither an int nor a tensor\'s length')

    def length_of(self, node, source, dim):
        if dim not in (2, -1):
            raise _Refusal(node, f'output_size takes dimension {dim} of "{source.name}"; its length is dimension 2')
        k = self.kind[source]
        if isinstance(k, _Dequantized):
            k = k.tensor
        if isinstance(k, _FloatInput):
            if self.input is None:
                raise _Refusal(node, f'output_size is the length of the input "{source.name}" before it is quantized')
            k = self.input
        return {'lengthOf': k}

    def conv(self, node, mod):
        transpose = type(mod) is nnq.ConvTranspose1d
        names = ['input', 'output_size'] if transpose else ['input']
        b = _bind(node, names, {'output_size': None})
        x = self.tensor(node, b['input'])
        output_size = self.output_size(node, b['output_size']) if transpose else None
        record = self.store_module(node, mod, x)
        relu = type(mod) is _ConvReLU1d
        out_node = node
        if transpose:
            users = list(node.users)
            if len(users) == 1:
                act = self.activation(users[0])
                if act is not None and act[0] == 'relu' and self.first_arg(users[0]) is node and \
                        len(users[0].args) + len(users[0].kwargs) <= 2:
                    out_node, relu = users[0], True
                    self.skip.add(users[0])
        out = self.new_tensor(out_node, self.node_name(node))
        if out_node is not node:
            self.kind[node] = out
        self.expect_qparams(node, out, mod.scale, mod.zero_point)
        length = self.tensor_values[out].shape[2]
        if output_size is not None:
            want = output_size.get('length', None)
            if want is None:
                want = self.tensor_values[output_size['lengthOf']].shape[2]
            if want != length:
                raise _Refusal(node, f'output_size {want} but torch gave length {length}')
        fields = {'module': record, 'relu': relu}
        if transpose:
            fields['outputSize'] = output_size
        self.add_node(node, 'conv_transpose1d' if transpose else 'conv1d', [x], out, **fields)


def build_model(model, example_input, name=None):
    """The model file's parts for a converted quantized model (see export_model): a dict
    with 'graph' (the JSON document), 'data' (the data section), 'tensors' (torch's value
    of each tensor, by index) and 'output' (torch's output for example_input)."""
    torch.backends.quantized.engine = 'qnnpack'
    gm = trace_model(model)
    if gm.training:
        raise ValueError('the model is in training mode: call .eval() before converting and exporting')
    placeholders = [n for n in gm.graph.nodes if n.op == 'placeholder']
    if len(placeholders) > 1:
        n = placeholders[1]
        raise ValueError(f'node "{n.name}" ({_target_text(n, gm)}): is a second input (after '
                         f'"{placeholders[0].name}"): the model format has one input')
    recorder = _Recorder(gm)
    with torch.no_grad():
        output = recorder.run(example_input)
    builder = _ModelBuilder(gm, recorder.values)
    try:
        builder.build()
    except _Refusal as e:
        raise ValueError(f'node "{e.node.name}" ({_target_text(e.node, gm)}): {e.message}') from None
    if name is None:
        name = model.__class__.__name__ if not isinstance(model, torch.fx.GraphModule) else \
            getattr(model, '_qconv_name', None) or type(model).__name__
    graph = {
        'format': 'qconv-model', 'version': MODEL_VERSION, 'name': name,
        'producer': f'tools/export_torch.py, torch {torch.__version__}',
        'input': {'tensor': builder.input}, 'output': builder.output,
        'tensors': builder.tensors, 'nodes': builder.nodes,
    }
    data = bytes(builder.data) + bytes(-len(builder.data) % 8)
    return {'graph': graph, 'data': data, 'tensors': builder.tensor_values, 'output': output}


def encode_model(graph, data):
    """The model file's bytes for a graph document and a data section (docs/MODEL-FORMAT.md)."""
    text = json.dumps(graph, separators=(',', ':'), allow_nan=False).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    data = bytes(data) + bytes(-len(data) % 8)
    total = 32 + len(text) + len(data) + 4
    header = MODEL_HEADER.pack(MODEL_MAGIC, MODEL_VERSION, 0, total, len(text), len(data), 0)
    out = bytearray(header)
    out += struct.pack('<I', zlib.crc32(header))
    out += text
    out += data
    out += struct.pack('<I', zlib.crc32(out))
    assert len(out) == total
    return bytes(out)


def decode_model(data):
    """(graph, data section) of a model file, checking its magic, version, CRCs, lengths,
    and that each module record lies in the data section and starts with the module
    magic. Raises ValueError otherwise."""
    data = bytes(data)
    if len(data) < 36 or data[:8] != MODEL_MAGIC:
        raise ValueError('not a qconv model file')
    magic, version, reserved, total, g, d, reserved2 = MODEL_HEADER.unpack_from(data)
    if version != MODEL_VERSION or reserved or reserved2:
        raise ValueError(f'version {version} / reserved fields {reserved}, {reserved2}')
    if struct.unpack_from('<I', data, 28)[0] != zlib.crc32(data[:28]):
        raise ValueError('header checksum mismatch')
    if total != len(data) or total != 32 + g + d + 4 or g % 8 or d % 8:
        raise ValueError(f'lengths: total {total} (file {len(data)}), graph {g}, data {d}')
    if struct.unpack_from('<I', data, total - 4)[0] != zlib.crc32(data[:total - 4]):
        raise ValueError('checksum mismatch')
    graph = json.loads(data[32:32 + g].decode('utf-8'))
    section = data[32 + g:32 + g + d]
    for i, node in enumerate(graph['nodes']):
        if 'module' in node:
            offset, length = node['module']['offset'], node['module']['length']
            if offset % 8 or offset + length > d:
                raise ValueError(f'node {i}: module at {offset}+{length} outside the data section ({d})')
            if section[offset:offset + 8] != FORMAT_MAGIC:
                raise ValueError(f'node {i}: no module magic at {offset}')
            if struct.unpack_from('<I', section, offset + 12)[0] != length:
                raise ValueError(f'node {i}: module length {length} differs from its header')
    return graph, section


def export_model(model, example_input, path=None, name=None):
    """Bytes of a model file (docs/MODEL-FORMAT.md) for a whole converted quantized model;
    written to `path` if given. model: an eager-mode model after torch.ao.quantization
    convert (QuantStub / DeQuantStub, FloatFunctional -> QFunctional), traced here with
    torch.fx, or a GraphModule from convert_fx. example_input: a float [N, C, L] tensor;
    the model runs once on it to learn each tensor's quantization and length. Raises
    ValueError naming the node for whatever the format cannot hold."""
    parts = build_model(model, example_input, name)
    data = encode_model(parts['graph'], parts['data'])
    if path is not None:
        with open(path, 'wb') as f:
            f.write(data)
    return data


def _random_quantized_module(case, rng):
    """A fresh nnq module with seeded random weights, bias and output qparams."""
    kind, cin, cout, k, g = case['module'], case['in'], case['out'], case['kernel'], case.get('groups', 1)
    geometry = dict(stride=case.get('stride', 1), padding=case.get('padding', 0),
                    dilation=case.get('dilation', 1), groups=g, bias=case.get('bias', True))
    if kind == 'ConvTranspose1d':
        m = nnq.ConvTranspose1d(cin, cout, k, output_padding=case.get('output_padding', 0), **geometry)
        shape, axis = (cin, cout // g, k), 1
    else:
        # relu: torch's fused ConvReLU1d.
        cls = _ConvReLU1d if case.get('relu') else nnq.Conv1d
        m = cls(cin, cout, k, padding_mode=case.get('padding_mode', 'zeros'), **geometry)
        shape, axis = (cout, cin // g, k), 0
    axis = case.get('weight_axis', axis)
    wf = torch.from_numpy(rng.normal(0, 0.3, shape).astype(np.float32))
    if case.get('qscheme', 'per_tensor') == 'per_channel':
        scales = torch.from_numpy(rng.uniform(0.002, 0.01, shape[axis]))
        zps = torch.from_numpy(rng.integers(-3, 4, shape[axis]))
        w = torch.quantize_per_channel(wf, scales, zps, axis, torch.qint8)
    else:
        w = torch.quantize_per_tensor(wf, float(rng.uniform(0.002, 0.01)), int(rng.integers(-3, 4)), torch.qint8)
    b = torch.from_numpy(rng.normal(0, 0.5, cout).astype(np.float32)) if case.get('bias', True) else None
    m.set_weight_bias(w, b)
    return m


def _output_qparams(m, xq, case):
    """Output scale and zero point covering most of the float output's range."""
    x, w = xq.dequantize(), m.weight().dequantize()
    b = m.bias() if case.get('bias', True) else None
    if case['module'] == 'ConvTranspose1d':
        y = torch.nn.functional.conv_transpose1d(x, w, b, m.stride, m.padding, m.output_padding, m.groups, m.dilation)
    else:
        if m.padding_mode == 'reflect':
            x = torch.nn.functional.pad(x, [m.padding[0]] * 2, mode='reflect')
        y = torch.nn.functional.conv1d(x, w, b, m.stride, 0 if m.padding_mode == 'reflect' else m.padding,
                                       m.dilation, m.groups)
    lo, hi = min(float(y.min()), 0.0), max(float(y.max()), 0.0)
    scale = max((hi - lo) / 230.0, 1e-3)  # a few values clip, as they do in real models
    return scale, int(min(255, max(0, round(-lo / scale))))


def run_check_cases(cases_path, out_dir):
    torch.backends.quantized.engine = 'qnnpack'
    with open(cases_path) as f:
        cases = json.load(f)
    os.makedirs(out_dir, exist_ok=True)
    manifest = []
    for case in cases:
        # Fresh modules and one forward each: torch 1.13 caches stale state (docs/SEMANTICS.md §6).
        rng = np.random.default_rng(case.get('seed', 0))
        torch.manual_seed(case.get('seed', 0))
        n, length = case['batch'], case['length']
        x = torch.from_numpy(rng.normal(0, 1, (n, case['in'], length)).astype(np.float32))
        input_quantization = None
        if case.get('float'):
            float_cls = nn.ConvTranspose1d if case['module'] == 'ConvTranspose1d' else nn.Conv1d
            extra = ({'output_padding': case.get('output_padding', 0)} if case['module'] == 'ConvTranspose1d'
                     else {'padding_mode': case.get('padding_mode', 'zeros')})
            fm = float_cls(case['in'], case['out'], case['kernel'], stride=case.get('stride', 1),
                           padding=case.get('padding', 0), dilation=case.get('dilation', 1),
                           groups=case.get('groups', 1), bias=case.get('bias', True), **extra)
            calibration = [torch.randn(4, case['in'], length) for _ in range(2)]
            torch.save(fm, os.path.join(out_dir, f'{case["name"]}.float.pt'))
            m, input_quantization = quantize_float_module(fm, calibration)
            xq = torch.quantize_per_tensor(x, input_quantization[0], input_quantization[1], torch.quint8)
        else:
            m = _random_quantized_module(case, rng)
            xq = torch.quantize_per_tensor(x, case.get('input_scale', 0.05), case.get('input_zero_point', 128),
                                           torch.quint8)
            m.scale, m.zero_point = _output_qparams(m, xq, case)
        name = case['name']
        if case.get('expect_error'):
            m.zero_point = case.get('output_zero_point', m.zero_point)
            try:
                export_module(m)
                manifest.append({'name': name, 'error': None})
            except (TypeError, ValueError) as e:
                manifest.append({'name': name, 'error': f'{type(e).__name__}: {e}'})
            continue
        y = m(xq)
        # relu on a ConvTranspose1d: torch has no fused module; the ReLU that follows it.
        folded = bool(case.get('relu')) and case['module'] == 'ConvTranspose1d'
        if folded:
            y = torch.relu(y)
        export_module(m, os.path.join(out_dir, f'{name}.qconv'), input_quantization, relu=folded)
        torch.save(m, os.path.join(out_dir, f'{name}.pt'))
        xq.int_repr().numpy().tofile(os.path.join(out_dir, f'{name}.input.bin'))
        y.int_repr().numpy().tofile(os.path.join(out_dir, f'{name}.output.bin'))
        manifest.append({
            'name': name, 'module': case['module'],
            'qscheme': 'per_channel' if m.weight().qscheme() == torch.per_channel_affine else 'per_tensor',
            'input': {'shape': list(xq.shape), 'scale': float(xq.q_scale()), 'zeroPoint': int(xq.q_zero_point())},
            'output': {'shape': list(y.shape), 'scale': float(y.q_scale()), 'zeroPoint': int(y.q_zero_point())},
            'inputQuantization': None if input_quantization is None
            else {'scale': input_quantization[0], 'zeroPoint': input_quantization[1]},
        })
    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(prog=os.environ.get("QCONV_EXPORT_PROG"), description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('model', nargs='?', help='a module saved with torch.save(module, path)')
    parser.add_argument('output', nargs='?', help='where to write the exported bytes')
    parser.add_argument('--calibration', help='float module: a torch.save\'d float tensor [N, C, L] to calibrate on')
    parser.add_argument('--calibration-shape', default='8,64',
                        help='float module without --calibration: N,L of random normal calibration data')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random calibration data')
    parser.add_argument('--model', dest='model_flag', action='store_true',
                        help='MODEL.pt is a whole converted quantized model (eager or FX): write a model file '
                             '(docs/MODEL-FORMAT.md); implied by --example-shape / --example and by any module '
                             'that is not a single convolution')
    parser.add_argument('--example-shape', metavar='N,C,L',
                        help='whole model: the shape of the random normal example input (seeded by --seed) the '
                             'model runs once on to learn each tensor\'s quantization')
    parser.add_argument('--name', help='whole model: the name stored in the file (default: the model\'s class name)')
    parser.add_argument('--example', metavar='DATA.pt', help='whole model: a torch.save\'d float example input')
    parser.add_argument('--check-cases', nargs=2, metavar=('CASES_JSON', 'OUTDIR'),
                        help='build, export and run the modules CASES_JSON describes (see the module docstring)')
    args = parser.parse_args(argv)
    args.model_flag = args.__dict__.pop('model_flag', False)
    if args.check_cases:
        manifest = run_check_cases(*args.check_cases)
        print(f'{len(manifest)} cases written to {args.check_cases[1]}')
        return 0
    if not args.model or not args.output:
        parser.error('give MODEL.pt and OUT.qconv (or --check-cases CASES.json OUTDIR)')
    torch.backends.quantized.engine = 'qnnpack'
    module = torch.load(args.model) if not (args.model_flag or args.example_shape or args.example) \
        else load_whole_model(args.model)
    if isinstance(module, nn.Module) and '_modules' not in vars(module):
        module = load_whole_model(args.model)  # a model whose modules torch 1.13 unpickles half-built
    single = (nn.ConvTranspose1d, nn.Conv1d, nnq.ConvTranspose1d, nnq.Conv1d, _ConvReLU1d)
    if args.model_flag or args.example_shape or args.example or \
            (isinstance(module, nn.Module) and type(module) not in single):
        return _main_model(parser, args, module)
    input_quantization = None
    if type(module) in (nn.ConvTranspose1d, nn.Conv1d):
        if args.calibration:
            calibration = [torch.load(args.calibration)]
        else:
            torch.manual_seed(args.seed)
            n, length = (int(v) for v in args.calibration_shape.split(','))
            calibration = [torch.randn(n, module.in_channels, length)]
        module, input_quantization = quantize_float_module(module, calibration)
    try:
        data = export_module(module, args.output, input_quantization)
    except (TypeError, ValueError) as e:
        parser.exit(1, f'{parser.prog}: cannot export {args.model}: {type(e).__name__}: {e}\n')
    print(f'{type(module).__name__}: {len(data)} bytes written to {args.output}')
    return 0


def _quantized_module_classes():
    import torch.ao.nn.quantized.modules as qmodules
    seen, stack = [], [nn.Module]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.append(sub)
                stack.append(sub)
    return [c for c in seen if '__setstate__' in vars(c) and c.__module__.startswith(
        (qmodules.__name__.rsplit('.', 1)[0], 'torch.ao.nn.intrinsic', 'torch.nn.intrinsic', 'torch.nn.quantized'))]


def load_whole_model(path):
    """torch.load of a whole quantized model (eager or GraphModule). torch 1.13's quantized
    modules unpickle without nn.Module's internal state (their __setstate__ sets only their
    own fields), which breaks a GraphModule's load and any later call; this loads with their
    __setstate__ first giving them that state."""
    patched = {}
    for cls in _quantized_module_classes():
        original = vars(cls)['__setstate__']

        def setstate(self, state, _original=original):
            if '_modules' not in self.__dict__:
                nn.Module.__init__(self)
            _original(self, state)
        patched[cls] = original
        cls.__setstate__ = setstate
    try:
        return torch.load(path)
    finally:
        for cls, original in patched.items():
            cls.__setstate__ = original


def _main_model(parser, args, model):
    """The CLI for a whole model: MODEL.pt OUT.qconv with --example-shape or --example."""
    if args.example:
        example = torch.load(args.example)
    elif args.example_shape:
        try:
            shape = [int(v) for v in args.example_shape.split(',')]
        except ValueError:
            shape = []
        if len(shape) != 3 or min(shape) < 1:
            parser.error(f'--example-shape {args.example_shape}: expected N,C,L (three positive integers)')
        torch.manual_seed(args.seed)
        example = torch.randn(*shape)
    else:
        parser.exit(2, f'{parser.prog}: {args.model} holds a whole model ({type(model).__name__}): give the '
                       'example input\'s shape with --example-shape N,C,L (or --example DATA.pt)\n')
    try:
        parts = build_model(model, example, args.name)
        data = encode_model(parts['graph'], parts['data'])
    except (TypeError, ValueError) as e:
        parser.exit(1, f'{parser.prog}: cannot export {args.model}: {type(e).__name__}: {e}\n')
    with open(args.output, 'wb') as f:
        f.write(data)
    print(f'Model {parts["graph"]["name"]}: {len(parts["graph"]["nodes"])} nodes, {len(data)} bytes written to '
          f'{args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
