#!/usr/bin/python3
"""Self-test of export_model (tools/export_torch.py): what the model format cannot hold is
refused with a ValueError naming the node and its op, and the files written parse back
(header CRC, file CRC, graph JSON, module records inside the data section, each with the
saved-module magic and a valid module CRC).

    /usr/bin/python3 tools/check_export_model.py [DIR]     (DIR: model files to parse, default
                                                            tests/data/models)
Also run by `tools/gen_model_cases.py --self-test`. Exits 1 on the first failure.
"""
import glob
import os
import struct
import sys
import zlib

import torch
from torch import nn
from torch.ao.quantization import DeQuantStub, QuantStub, convert, get_default_qconfig, prepare

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Net(nn.Module):
    """QuantStub -> Conv1d(4, 4, 3, padding 1) -> `middle` -> DeQuantStub, `middle` given as a
    function of (self, x)."""
    def __init__(self, middle, extra=None):
        super().__init__()
        self.quant, self.conv, self.dequant = QuantStub(), nn.Conv1d(4, 4, 3, padding=1), DeQuantStub()
        self.ff = nn.quantized.FloatFunctional()
        self.middle_fn = middle
        if extra is not None:
            self.extra = extra

    def forward(self, x):
        return self.dequant(self.middle_fn(self, self.conv(self.quant(x))))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.q1, self.q2, self.conv, self.dq = QuantStub(), QuantStub(), nn.Conv1d(4, 4, 1), DeQuantStub()
        self.ff = nn.quantized.FloatFunctional()

    def forward(self, x, y):
        return self.dq(self.ff.add(self.conv(self.q1(x)), self.q2(y)))


class TwoOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.conv, self.dq = QuantStub(), nn.Conv1d(4, 4, 1), DeQuantStub()

    def forward(self, x):
        y = self.conv(self.q(x))
        return self.dq(y), y


def quantized(model, shape=(2, 4, 12)):
    torch.backends.quantized.engine = 'qnnpack'
    torch.manual_seed(0)
    model.eval()
    model.qconfig = get_default_qconfig('qnnpack')
    prepared = prepare(model)
    inputs = [torch.randn(*shape) for _ in range(model.forward.__code__.co_argcount - 1)]
    with torch.no_grad():
        prepared(*inputs)
    return convert(prepared), inputs


REFUSALS = [
    ('tanh', lambda: Net(lambda s, x: torch.tanh(x)), 'node "tanh" (call_function torch.tanh): not supported'),
    ('sigmoid', lambda: Net(lambda s, x: s.extra(x), nn.Sigmoid()),
     'node "extra" (call_module extra: torch.nn.modules.activation.Sigmoid): not supported'),
    ('linear', lambda: Net(lambda s, x: s.extra(x), nn.Linear(12, 12)),
     'node "extra" (call_module extra: torch.ao.nn.quantized.modules.linear.Linear): not supported'),
    ('broadcast add', lambda: Net(lambda s, x: s.ff.add(x, s.extra(x)), nn.Conv1d(4, 1, 1)),
     'node "add" (call_function torch.ops.quantized.add): adds tensors of shapes [2, 4, 12] and [2, 1, 12]'),
    ('cat on dim 2', lambda: Net(lambda s, x: s.ff.cat([x, x], 2)),
     'node "cat" (call_function torch.ops.quantized.cat): concatenates along dim 2'),
    ('float op in the middle', lambda: Net(lambda s, x: s.extra[1](s.extra[0](x) * 2.0),
                                           nn.ModuleList([DeQuantStub(), QuantStub()])),
     'node "mul" (call_function operator.mul): its input is "extra_0", a dequantized (float) tensor'),
    ('slicing (a length change)', lambda: Net(lambda s, x: x[:, :, 1:]),
     'node "getitem" (call_function operator.getitem): not supported'),
    ('zero padding op', lambda: Net(lambda s, x: nn.functional.pad(x, (1, 1))),
     'node "pad" (call_function torch.nn.functional.pad): pads in mode \'constant\''),
    ('in-place relu read elsewhere', lambda: Net(lambda s, x: s.ff.add(x, torch.relu_(x))),
     'node "relu_" (call_function torch.relu_): works in place on "conv"'),
    ('two inputs', TwoInputs, 'node "y" (placeholder y): is a second input'),
    ('two outputs', TwoOutputs, 'node "output" (output output): returns 2 values'),
    ('control flow', lambda: Net(lambda s, x: x if x.sum() > 0 else x),
     'cannot trace Net with torch.fx'),
]


def check_refusals():
    failures = 0
    for title, build, expected in REFUSALS:
        model, inputs = quantized(build())
        try:
            export_torch.export_model(model, inputs[0])
            message = None
        except Exception as e:  # noqa: BLE001 - reported below
            message = f'{type(e).__name__}: {e}'
        ok = message is not None and message.startswith('ValueError: ') and expected in message
        shown = message if message is None else message.split(' (supported: ')[0]
        print(f'{"ok  " if ok else "FAIL"} refuses {title}: {shown}')
        failures += not ok
    return failures


def check_file(path):
    data = open(path, 'rb').read()
    graph, section = export_torch.decode_model(data)
    assert graph['format'] == 'qconv-model' and graph['version'] == 1, path
    assert set(graph) == {'format', 'version', 'name', 'producer', 'input', 'output', 'tensors', 'nodes'}, path
    tensors, produced = graph['tensors'], {graph['input']['tensor']}
    for t in tensors:
        assert set(t) == {'name', 'channels', 'scale', 'zeroPoint'} and t['scale'] > 0 and 0 <= t['zeroPoint'] <= 255
    for i, node in enumerate(graph['nodes']):
        assert all(j in produced for j in node['inputs']), f'{path}: node {i} reads a tensor not yet produced'
        assert node['output'] not in produced, f'{path}: node {i} writes tensor {node["output"]} a second time'
        produced.add(node['output'])
        if 'module' in node:
            offset, length = node['module']['offset'], node['module']['length']
            record = section[offset:offset + length]
            assert struct.unpack_from('<I', record, 92)[0] == zlib.crc32(record[:92]), f'{path}: node {i} header CRC'
            assert struct.unpack_from('<I', record, length - 4)[0] == zlib.crc32(record[:length - 4]), \
                f'{path}: node {i} module CRC'
            assert record[11] & 4 == 0, f'{path}: node {i}: input quantization flag set'
            assert record[10] == (1 if node['op'] == 'conv_transpose1d' else 0), f'{path}: node {i} kind'
    assert produced == set(range(len(tensors))), f'{path}: tensors never produced'
    assert graph['output']['tensor'] in produced
    # Zero bytes between and after the modules.
    used = bytearray(len(section))
    for node in graph['nodes']:
        if 'module' in node:
            used[node['module']['offset']:node['module']['offset'] + node['module']['length']] = \
                b'\x01' * node['module']['length']
    assert all(b == 0 for b, u in zip(section, used) if not u), f'{path}: non-zero padding'
    print(f'ok   {os.path.relpath(path, ROOT)} parses: {len(graph["nodes"])} nodes, {len(tensors)} tensors, '
          f'{len(data)} bytes')


def check_round_trip():
    """A written file parses back to the graph and data build_model made."""
    model, inputs = quantized(Net(lambda s, x: s.ff.add_relu(x, s.extra(x)), nn.Conv1d(4, 4, 3, padding=1)))
    parts = export_torch.build_model(model, inputs[0])
    graph, section = export_torch.decode_model(export_torch.encode_model(parts['graph'], parts['data']))
    assert graph == parts['graph'] and section == parts['data']
    assert [n['op'] for n in graph['nodes']] == ['conv1d', 'conv1d', 'add'] and graph['nodes'][2]['relu']
    print('ok   round trip: encode_model / decode_model')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    failures = check_refusals()
    check_round_trip()
    directory = argv[0] if argv else os.path.join(ROOT, 'tests', 'data', 'models')
    for path in sorted(glob.glob(os.path.join(directory, '*.qconv'))):
        check_file(path)
    if failures:
        print(f'{failures} refusal checks failed')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
