#!/usr/bin/python3
"""Exports a PyTorch quantized ConvTranspose1d / Conv1d to qconv-wasm's saved-module
format (docs/FORMAT.md), which `ConvTranspose1d.load(bytes)` / `Conv1d.load(bytes)`
read in JavaScript.

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
"""
import argparse
import copy
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.ao.nn.quantized as nnq
from torch import nn

FORMAT_MAGIC = b'QCONV1D\x00'
FORMAT_VERSION = 1
HEADER_BYTES = 96
KINDS = {'Conv1d': 0, 'ConvTranspose1d': 1}
PADDING_KINDS = {'valid': 1, 'same': 2}
PADDING_MODES = {'zeros': 0, 'reflect': 1}
FLAG_BIAS, FLAG_PER_CHANNEL, FLAG_INPUT_QUANTIZATION = 1, 2, 4
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
    flags = ((FLAG_BIAS if bias is not None else 0) | (FLAG_PER_CHANNEL if desc['per_channel'] else 0)
             | (FLAG_INPUT_QUANTIZATION if input_q is not None else 0))
    bias_count = 0 if bias is None else len(bias)
    total = file_length(len(scales), len(weights), bias_count)
    header = HEADER.pack(
        FORMAT_MAGIC, FORMAT_VERSION, KINDS[desc['kind']], flags, total,
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


def describe_quantized(module, input_quantization=None):
    """The format's description of a quantized nnq.ConvTranspose1d / nnq.Conv1d."""
    if type(module) is nnq.ConvTranspose1d:
        kind = 'ConvTranspose1d'
    elif type(module) is nnq.Conv1d:
        kind = 'Conv1d'
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
        'bias': bias,
    }


def export_module(module, path=None, input_quantization=None):
    """Bytes of a quantized module in the format; written to `path` if given.
    input_quantization: (scale, zero_point) of the module's input, or None."""
    data = encode(describe_quantized(module, input_quantization))
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


def _random_quantized_module(case, rng):
    """A fresh nnq module with seeded random weights, bias and output qparams."""
    kind, cin, cout, k, g = case['module'], case['in'], case['out'], case['kernel'], case.get('groups', 1)
    geometry = dict(stride=case.get('stride', 1), padding=case.get('padding', 0),
                    dilation=case.get('dilation', 1), groups=g, bias=case.get('bias', True))
    if kind == 'ConvTranspose1d':
        m = nnq.ConvTranspose1d(cin, cout, k, output_padding=case.get('output_padding', 0), **geometry)
        shape, axis = (cin, cout // g, k), 1
    else:
        m = nnq.Conv1d(cin, cout, k, padding_mode=case.get('padding_mode', 'zeros'), **geometry)
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
        export_module(m, os.path.join(out_dir, f'{name}.qconv'), input_quantization)
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
    parser.add_argument('--check-cases', nargs=2, metavar=('CASES_JSON', 'OUTDIR'),
                        help='build, export and run the modules CASES_JSON describes (see the module docstring)')
    args = parser.parse_args(argv)
    if args.check_cases:
        manifest = run_check_cases(*args.check_cases)
        print(f'{len(manifest)} cases written to {args.check_cases[1]}')
        return 0
    if not args.model or not args.output:
        parser.error('give MODEL.pt and OUT.qconv (or --check-cases CASES.json OUTDIR)')
    torch.backends.quantized.engine = 'qnnpack'
    module = torch.load(args.model)
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


if __name__ == '__main__':
    sys.exit(main())
