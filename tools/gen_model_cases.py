#!/usr/bin/python3
"""Builds, calibrates, converts and exports small quantized PyTorch models (torch 1.13,
QNNPACK) to the model format (docs/MODEL-FORMAT.md) with torch's value of every tensor, for
the model runner's tests. Seeded and deterministic.

    /usr/bin/python3 tools/gen_model_cases.py [OUTDIR]      (default tests/data/models)
        writes OUTDIR/<case>.qconv, OUTDIR/<case>.json and OUTDIR/manifest.json
    /usr/bin/python3 tools/gen_model_cases.py --self-test
        checks that the exporter refuses what the format cannot hold, naming the node, and
        that the files it writes parse back
    /usr/bin/python3 tools/gen_model_cases.py --melgan-size OUT.qconv
        a MelGAN-size generator (80 mel bins, upsampling 8, 8, 2, 2: 256x; channels
        512 -> 32), random weights, calibrated on randn, eager workflow (for benchmarks)
    /usr/bin/python3 tools/gen_model_cases.py --example OUT.qconv
        a tiny 16-bin "mel" -> waveform toy for a web demo

<case>.json: name, workflow ("eager"/"fx"), description, torch, input (float32 values
base64 little-endian, shape; quantized: torch's quint8 bytes base64, scale, zeroPoint),
tensors (in the file's tensor index order: index, name, shape, scale, zeroPoint, torch's
bytes base64, C order), output (tensor index, dequantize, shape, torch's float output
base64 f32 when dequantized), notes.
"""
import argparse
import base64
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.ao.quantization import (DeQuantStub, MinMaxObserver, QConfig, default_weight_observer, QuantStub, convert, default_per_channel_weight_observer,
                                   get_default_qconfig, get_default_qconfig_mapping, prepare)
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINE = 'qnnpack'


def b64(array):
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode('ascii')


def calibration_batches(seed, shape, count=4):
    """Realistic-ish float data: sine mixtures with random frequencies and phases plus noise."""
    g = torch.Generator().manual_seed(seed)
    n, c, length = shape
    t = torch.arange(length, dtype=torch.float32)
    batches = []
    for _ in range(count):
        freqs = torch.rand(n, c, 3, 1, generator=g) * 0.5 + 0.02
        phases = torch.rand(n, c, 3, 1, generator=g) * 6.283
        amps = torch.rand(n, c, 3, 1, generator=g)
        x = (amps * torch.sin(freqs * t + phases)).sum(2) + 0.3 * torch.randn(n, c, length, generator=g)
        batches.append(x)
    return batches


# --- a. MelGAN / HiFi-GAN-style generator, eager workflow ---------------------------------

class ResUnit(nn.Module):
    """LeakyReLU -> ReflectionPad1d(d) -> Conv1d(k3, dilation d) -> LeakyReLU -> Conv1d(k1), + input."""
    def __init__(self, channels, dilation):
        super().__init__()
        self.act1 = nn.LeakyReLU(0.2)
        self.pad = nn.ReflectionPad1d(dilation)
        self.conv1 = nn.Conv1d(channels, channels, 3, dilation=dilation)
        self.act2 = nn.LeakyReLU(0.2)
        self.conv2 = nn.Conv1d(channels, channels, 1)
        self.skip = nn.quantized.FloatFunctional()

    def forward(self, x):
        return self.skip.add(x, self.conv2(self.act2(self.conv1(self.pad(self.act1(x))))))


class MelGANEager(nn.Module):
    def __init__(self, mels=16, channels=(32, 16, 8), ratios=((16, 8, 4), (4, 2, 1)), dilations=(1, 3),
                 final_hardtanh=True, extras=False):
        super().__init__()
        self.quant = QuantStub()
        self.pad_in = nn.ReflectionPad1d(3)
        self.conv_in = nn.Conv1d(mels, channels[0], 7)
        layers = []
        for i, (k, s, p) in enumerate(ratios):
            layers += [nn.LeakyReLU(0.2), nn.ConvTranspose1d(channels[i], channels[i + 1], k, stride=s, padding=p)]
            layers += [ResUnit(channels[i + 1], d) for d in dilations]
        self.body = nn.Sequential(*layers)
        self.act_out = nn.LeakyReLU(0.2)
        self.extras = extras
        if extras:
            # A stretch in float (DeQuantStub, QuantStub: requantize after convert) and a cat of
            # tensors with different quantization (QFunctional.cat).
            self.dequant_mid, self.quant_mid = DeQuantStub(), QuantStub()
            # Min/max rather than the histogram observer: other qparams than the input's.
            self.quant_mid.qconfig = QConfig(activation=MinMaxObserver.with_args(dtype=torch.quint8),
                                             weight=default_weight_observer)
            self.skip_cat = nn.quantized.FloatFunctional()
        self.conv_out = nn.Conv1d(channels[-1] * (2 if extras else 1), 1, 7, padding=3, padding_mode='reflect')
        # MelGAN ends in tanh, which the model format does not have: a hardtanh clamps instead.
        self.clamp = nn.Hardtanh(-1.0, 1.0) if final_hardtanh else nn.Identity()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.conv_in(self.pad_in(self.quant(x)))
        x = self.body(x)
        if self.extras:
            x = self.quant_mid(self.dequant_mid(x))
            x = self.conv_out(self.skip_cat.cat([self.act_out(x), x], 1))
        else:
            x = self.conv_out(self.act_out(x))
        return self.dequant(self.clamp(x))


def quantize_eager(model, calibration):
    torch.backends.quantized.engine = ENGINE
    model.eval()
    model.qconfig = get_default_qconfig(ENGINE)
    prepared = prepare(model)
    with torch.no_grad():
        for batch in calibration:
            prepared(batch)
    return convert(prepared)


# --- b. Wave-U-Net-style, FX workflow ----------------------------------------------------

class WaveUNet(nn.Module):
    def __init__(self, cin=2, ch=(8, 16, 32)):
        super().__init__()
        self.enc = nn.Conv1d(cin, ch[0], 5, padding=2)
        self.down1 = nn.Conv1d(ch[0], ch[1], 4, stride=2, padding=1)
        self.down2 = nn.Conv1d(ch[1], ch[2], 4, stride=2, padding=1)
        self.up2 = nn.ConvTranspose1d(ch[2], ch[1], 4, stride=2, padding=1)
        self.dec2 = nn.Conv1d(2 * ch[1], ch[1], 3, padding=1)
        self.up1 = nn.ConvTranspose1d(ch[1], ch[0], 4, stride=2, padding=1)
        self.dec1 = nn.Conv1d(2 * ch[0], ch[0], 3, padding=1)
        self.mix = nn.Conv1d(ch[0], ch[0], 1)
        self.final = nn.Conv1d(ch[0], 1, 1)
        self.relu = nn.ReLU()

    def forward(self, x):
        e1 = self.relu(self.enc(x))
        d1 = self.relu(self.down1(e1))
        d2 = self.relu(self.down2(d1))
        u2 = self.up2(d2, output_size=d1.size())
        h2 = F.relu(self.dec2(torch.cat([u2, d1], 1)))
        u1 = self.up1(h2, output_size=e1.shape)       # odd length: output padding 1
        h1 = self.dec1(torch.cat([u1, e1], 1))
        y = torch.relu(h1 + e1)
        return self.final(self.mix(y) + y)


# --- c. depthwise-separable upsampler, FX workflow ---------------------------------------

class DWSepUpsampler(nn.Module):
    def __init__(self, cin=4):
        super().__init__()
        self.conv_in = nn.Conv1d(cin, 8, 3, padding=1)
        self.act_in = nn.ReLU6()
        self.dw1 = nn.ConvTranspose1d(8, 8, 4, stride=2, padding=1, groups=8)
        self.pw1 = nn.Conv1d(8, 16, 1)
        self.dw2 = nn.ConvTranspose1d(16, 16, 8, stride=4, padding=2, groups=16)
        self.pw2 = nn.Conv1d(16, 8, 1)
        self.dil = nn.Conv1d(8, 8, 3, padding=2, dilation=2, groups=2)
        self.up = nn.ConvTranspose1d(8, 4, 3, stride=2, padding=1, output_padding=1, dilation=1)
        self.up_act = nn.ReLU()
        self.out = nn.Conv1d(4, 1, 3, padding=1)

    def forward(self, x):
        x = self.act_in(self.conv_in(x))
        x = F.relu(self.pw1(self.dw1(x)))
        x = F.hardtanh(self.pw2(self.dw2(x)), -0.5, 2.0)
        x = F.relu(self.dil(x))
        x = self.up_act(self.up(x))                     # ConvTranspose1d + ReLU: folded
        x = F.relu6(x)
        return self.out(x)


def fx_qconfig_mapping():
    """The default QNNPACK mapping with per-channel (axis 0) weights for Conv1d. The ReLUs get
    the same QConfig, since FX fuses Conv1d + ReLU only when their QConfigs match."""
    default = get_default_qconfig(ENGINE)
    per_channel = QConfig(activation=default.activation, weight=default_per_channel_weight_observer)
    mapping = get_default_qconfig_mapping(ENGINE)
    for kind in (nn.Conv1d, nn.ReLU, F.relu, torch.relu, 'relu', 'relu_'):
        mapping.set_object_type(kind, per_channel)
    return mapping


def quantize_fx(model, calibration):
    torch.backends.quantized.engine = ENGINE
    model.eval()
    prepared = prepare_fx(model, fx_qconfig_mapping(), (calibration[0],))
    with torch.no_grad():
        for batch in calibration:
            prepared(batch)
    return convert_fx(prepared)


# --- cases -------------------------------------------------------------------------------

CASES = {
    'melgan_eager': dict(workflow='eager', shape=(2, 16, 9), seed=1, build=lambda: MelGANEager(extras=True),
                         description='MelGAN/HiFi-GAN-style generator: ReflectionPad1d + Conv1d k7, LeakyReLU(0.2), '
                                     'ConvTranspose1d k16 s8 p4 and k4 s2 p1, dilated residual units (dilations 1, 3) '
                                     'with FloatFunctional.add, DeQuantStub + QuantStub (requantize), FloatFunctional.cat of '
                                     'differently quantized tensors, Conv1d padding_mode reflect, Hardtanh(-1, 1)'),
    'waveunet_fx': dict(workflow='fx', shape=(2, 2, 37), seed=2, build=lambda: WaveUNet(),
                        description='Wave-U-Net-style: ConvReLU1d stride-2 downsampling, ConvTranspose1d with '
                                    'output_size=skip.size()/skip.shape on odd lengths, cat([up, skip], 1), '
                                    'add_relu, add, per-channel Conv1d weights'),
    'dwsep_fx': dict(workflow='fx', shape=(3, 4, 11), seed=3, build=lambda: DWSepUpsampler(),
                     description='depthwise-separable upsampler: grouped ConvTranspose1d (stride 2, 4) + pointwise '
                                 'ConvReLU1d, ReLU6, hardtanh, dilated grouped Conv1d, ConvTranspose1d + ReLU '
                                 '(folded), per-channel Conv1d weights'),
}


def build_case(name):
    spec = CASES[name]
    torch.manual_seed(spec['seed'])
    model = spec['build']().eval()
    calibration = calibration_batches(spec['seed'] + 100, spec['shape'])
    quantized = (quantize_eager if spec['workflow'] == 'eager' else quantize_fx)(model, calibration)
    example = calibration_batches(spec['seed'] + 200, spec['shape'], 1)[0]
    return spec, quantized, example


def check_spread(name, parts):
    for i, value in enumerate(parts['tensors']):
        q = value.int_repr().numpy()
        distinct = len(np.unique(q))
        if distinct < 8:
            raise AssertionError(f'{name}: tensor {i} ("{parts["graph"]["tensors"][i]["name"]}") has only '
                                 f'{distinct} distinct values')


def write_case(name, out_dir):
    spec, quantized, example = build_case(name)
    parts = export_torch.build_model(quantized, example, name=name)
    check_spread(name, parts)
    graph = parts['graph']
    data = export_torch.encode_model(graph, parts['data'])
    with open(os.path.join(out_dir, f'{name}.qconv'), 'wb') as f:
        f.write(data)
    qin = parts['tensors'][graph['input']['tensor']]
    output = parts['output']
    notes = []
    if name == 'waveunet_fx':
        notes.append('torch 1.13\'s quantized ConvTranspose1d refuses output_size: the exporter ran those calls as '
                     'the same module with the output padding that gives the size (0 for up2, 1 for up1), '
                     'so these bytes are torch\'s for that module')
    doc = {
        'name': name, 'workflow': spec['workflow'], 'description': spec['description'],
        'torch': torch.__version__, 'engine': ENGINE, 'file': f'{name}.qconv', 'fileLength': len(data),
        'input': {
            'shape': list(example.shape), 'float32': b64(example.numpy().astype('<f4')),
            'quantized': {'tensor': graph['input']['tensor'], 'scale': float(qin.q_scale()),
                          'zeroPoint': int(qin.q_zero_point()), 'bytes': b64(qin.int_repr().numpy())},
        },
        'tensors': [{'index': i, 'name': t['name'], 'shape': list(v.shape), 'scale': t['scale'],
                     'zeroPoint': t['zeroPoint'], 'bytes': b64(v.int_repr().numpy())}
                    for i, (t, v) in enumerate(zip(graph['tensors'], parts['tensors']))],
        'output': {'tensor': graph['output']['tensor'], 'dequantize': graph['output']['dequantize'],
                   'shape': list(output.shape),
                   'float32': b64(output.numpy().astype('<f4')) if not output.is_quantized else None,
                   'bytes': b64(output.int_repr().numpy()) if output.is_quantized else None},
        'nodes': [n['op'] for n in graph['nodes']],
        'notes': notes,
    }
    final = parts['tensors'][graph['output']['tensor']]
    if graph['output']['dequantize']:
        assert torch.equal(final.dequantize(), output), name
    with open(os.path.join(out_dir, f'{name}.json'), 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    return {'name': name, 'workflow': spec['workflow'], 'file': f'{name}.qconv', 'json': f'{name}.json',
            'fileLength': len(data), 'nodes': len(graph['nodes']), 'tensors': len(graph['tensors']),
            'input': list(example.shape), 'output': list(output.shape)}


def generate(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    cases = [write_case(name, out_dir) for name in CASES]
    manifest = {'torch': torch.__version__, 'engine': ENGINE, 'generator': 'tools/gen_model_cases.py',
                'cases': cases}
    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    return cases


# --- melgan-size and example ---------------------------------------------------------------

def melgan_size_model():
    """MelGAN (Kumar et al. 2019) generator shape: 80 mels -> 512 channels, upsampling 8, 8, 2, 2
    (256x, 22.05 kHz audio from 86 frames/s mels), channels 512 -> 256 -> 128 -> 64 -> 32, three
    residual units with dilations 1, 3, 9 after each upsampler."""
    return MelGANEager(mels=80, channels=(512, 256, 128, 64, 32),
                       ratios=((16, 8, 4), (16, 8, 4), (4, 2, 1), (4, 2, 1)), dilations=(1, 3, 9))


def export_melgan_size(path, frames=32):
    torch.manual_seed(0)
    model = melgan_size_model().eval()
    started = time.time()
    calibration = [torch.randn(1, 80, frames) for _ in range(2)]
    quantized = quantize_eager(model, calibration)
    calibrated = time.time()
    data = export_torch.export_model(quantized, torch.randn(1, 80, frames), path, name='MelGAN')
    done = time.time()
    graph, _ = export_torch.decode_model(data)
    print(f'MelGAN-size: {len(graph["nodes"])} nodes, {len(data)} bytes written to {path} '
          f'(calibrate + convert {calibrated - started:.1f} s, export {done - calibrated:.1f} s)')
    return data


def export_example(path):
    """A 16-bin "mel" -> waveform toy: upsampling 4 x 4 (16x), channels 16 -> 16 -> 8 -> 1."""
    torch.manual_seed(7)
    model = MelGANEager(mels=16, channels=(16, 8, 4), ratios=((8, 4, 2), (8, 4, 2)), dilations=(1, 3)).eval()
    quantized = quantize_eager(model, calibration_batches(7, (1, 16, 32)))
    data = export_torch.export_model(quantized, calibration_batches(8, (1, 16, 32), 1)[0], path, name='ToyVocoder')
    graph, _ = export_torch.decode_model(data)
    print(f'Example: {len(graph["nodes"])} nodes, {len(data)} bytes written to {path}')
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out_dir', nargs='?', default=os.path.join(ROOT, 'tests', 'data', 'models'))
    parser.add_argument('--self-test', action='store_true', help='run the exporter\'s refusal checks')
    parser.add_argument('--melgan-size', metavar='OUT.qconv', help='export a MelGAN-size generator')
    parser.add_argument('--example', metavar='OUT.qconv', help='export a tiny demo model')
    args = parser.parse_args(argv)
    torch.backends.quantized.engine = ENGINE
    if args.self_test:
        import check_export_model
        return check_export_model.main()
    if args.melgan_size:
        export_melgan_size(args.melgan_size)
        return 0
    if args.example:
        export_example(args.example)
        return 0
    for case in generate(args.out_dir):
        print(f'{case["name"]}: {case["nodes"]} nodes, {case["tensors"]} tensors, {case["fileLength"]} bytes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
