#!/usr/bin/python3
"""Writes tests/data/from_float.json: what PyTorch's own observers and
from_float give for float ConvTranspose1d / Conv1d modules, for
tests/js/from-float.test.js (ConvTranspose1d.fromFloat / Conv1d.fromFloat).

Each case is a float module (weights, bias, geometry) and float calibration
batches. The expected values come from torch (Debian python3-torch, engine
qnnpack):
- per-tensor weights (both modules) and per-channel Conv1d: the real eager
  flow, QuantWrapper(float module) with
  QConfig(activation=MinMaxObserver (quint8, affine), weight=the qnnpack
  default weight observer or PerChannelMinMaxObserver(qint8,
  per_channel_symmetric)), prepare, forward over the calibration batches,
  convert; the input qparams are those of the wrapper's QuantStub;
- per-channel ConvTranspose1d, which prepare refuses: the same observers
  called directly, with PerChannelMinMaxObserver on the weight regrouped as
  [outChannels, inChannels/groups, K] (one scale per output channel, the
  port's convention) and quantize_per_channel on it.
Every case is also checked against the formulas of docs/SEMANTICS.md §7 computed in
numpy here (an assert), so the data and docs/SEMANTICS.md agree.

"dyadic" cases use inputs, weights and bias that are small multiples of
powers of two, so every float32 partial sum of the float forward is exact in
any order: their calibration output min/max (hence output qparams) are
exact in the port too. Other cases may differ in the float forward by
float32 rounding.

Some cases carry "forward": the quantized module's output bytes (torch,
qnnpack) on the first calibration batch quantized with the observed input
qparams.

    /usr/bin/python3 tools/gen_from_float_cases.py
"""
import base64
import json
import os

import numpy as np
import torch
from torch import nn
import torch.ao.nn.quantized as nnq
from torch.ao.quantization import (
    MinMaxObserver, PerChannelMinMaxObserver, QConfig, QuantWrapper, convert,
    get_default_qconfig, prepare)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'tests', 'data', 'from_float.json')
F32 = np.float32
EPS = F32(2.0 ** -23)

torch.backends.quantized.engine = 'qnnpack'


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode('ascii')


# ---- the formulas of (docs/SEMANTICS.md §7, §8), numpy float32 -----------------

def spec_symmetric(minv, maxv):
    bound = np.maximum(-np.minimum(minv, F32(0)), np.maximum(maxv, F32(0))).astype(F32)
    return np.maximum((bound / F32(127.5)).astype(F32), EPS)


def spec_affine(minv, maxv):
    min_neg, max_pos = min(F32(minv), F32(0)), max(F32(maxv), F32(0))
    scale = max(F32(F32(max_pos - min_neg) / F32(255)), EPS)
    zp = 0 - int(np.rint(F32(min_neg / scale)))
    return scale, min(max(zp, 0), 255)


def spec_quantize(w, scale_per_element):
    inv = (F32(1) / scale_per_element.astype(F32)).astype(F32)
    return np.clip(np.rint((w * inv).astype(F32)), -128, 127).astype(np.int8)


# ---- layouts ------------------------------------------------------------------

def output_channel_of(kind, p):
    """The output channel of each weight element (PyTorch layout, C order)."""
    cin, cout, k, g = p['in_channels'], p['out_channels'], p['kernel_size'], p['groups']
    if kind == 'Conv1d':
        return np.repeat(np.arange(cout), cin // g * k)
    opg, ipg = cout // g, cin // g
    ci = np.arange(cin)[:, None, None]
    j = np.arange(opg)[None, :, None]
    return np.broadcast_to((ci // ipg) * opg + j, (cin, opg, k)).reshape(-1)


def regroup_transposed(w, p):
    """[Cin, Cout/g, K] -> [Cout, Cin/g, K] (row c: the weights of output channel c)."""
    cin, cout, k, g = p['in_channels'], p['out_channels'], p['kernel_size'], p['groups']
    return w.reshape(g, cin // g, cout // g, k).transpose(0, 2, 1, 3).reshape(cout, cin // g, k)


def ungroup_transposed(wr, p):
    cin, cout, k, g = p['in_channels'], p['out_channels'], p['kernel_size'], p['groups']
    return wr.reshape(g, cout // g, cin // g, k).transpose(0, 2, 1, 3).reshape(cin, cout // g, k)


# ---- float modules -------------------------------------------------------------

def float_module(kind, p, w, bias):
    if kind == 'ConvTranspose1d':
        m = nn.ConvTranspose1d(p['in_channels'], p['out_channels'], p['kernel_size'], p['stride'],
                               p['padding'], p['output_padding'], p['groups'], bias is not None,
                               p['dilation'])
    else:
        m = nn.Conv1d(p['in_channels'], p['out_channels'], p['kernel_size'], p['stride'], p['padding'],
                      p['dilation'], p['groups'], bias is not None, p['padding_mode'])
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(w))
        if bias is not None:
            m.bias.copy_(torch.from_numpy(bias))
    return m.eval()


def activation_observer():
    return MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine)


def weight_observer(qscheme):
    if qscheme == 'per_tensor':
        return get_default_qconfig('qnnpack').weight
    return PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric)


def via_prepare_convert(kind, p, w, bias, qscheme, batches):
    model = QuantWrapper(float_module(kind, p, w, bias))
    model.qconfig = QConfig(activation=activation_observer(), weight=weight_observer(qscheme))
    prepare(model, inplace=True)
    outs = []
    with torch.no_grad():
        for x in batches:
            outs.append(model(torch.from_numpy(x)))
    obs = model.module.activation_post_process
    out_range = (float(obs.min_val), float(obs.max_val))
    convert(model, inplace=True)
    qm = model.module
    assert type(qm) is (nnq.ConvTranspose1d if kind == 'ConvTranspose1d' else nnq.Conv1d)
    qw = qm.weight()
    if qscheme == 'per_tensor':
        assert qw.qscheme() == torch.per_tensor_affine
        scale, zp = qw.q_scale(), qw.q_zero_point()
    else:
        assert qw.qscheme() == torch.per_channel_affine and qw.q_per_channel_axis() == 0
        scale = [float(s) for s in qw.q_per_channel_scales()]
        zp = [int(z) for z in qw.q_per_channel_zero_points()]
    qb = qm.bias()
    return dict(
        qmodule=qm, weight_scale=scale, weight_zero_point=zp,
        weight_int8=qw.int_repr().numpy().astype(np.int8).reshape(-1),
        bias=None if bias is None else qb.detach().numpy().astype(F32),
        output_scale=float(qm.scale), output_zero_point=int(qm.zero_point),
        input_scale=float(model.quant.scale), input_zero_point=int(model.quant.zero_point),
        output_range=out_range)


def via_observers(kind, p, w, bias, batches):
    """Per-channel ConvTranspose1d: one scale per output channel."""
    wr = regroup_transposed(w, p)
    wobs = weight_observer('per_channel')()  # ch_axis 0 of the regrouped weight: output channels
    wobs(torch.from_numpy(wr))
    s, z = wobs.calculate_qparams()
    qwr = torch.quantize_per_channel(torch.from_numpy(wr), s.double(), z, 0, torch.qint8)
    int8 = ungroup_transposed(qwr.int_repr().numpy(), p)
    fm = float_module(kind, p, w, bias)
    in_obs, out_obs = activation_observer()(), activation_observer()()
    with torch.no_grad():
        for x in batches:
            xt = torch.from_numpy(x)
            in_obs(xt)
            out_obs(fm(xt))
    in_s, in_z = in_obs.calculate_qparams()
    out_s, out_z = out_obs.calculate_qparams()
    qm = None
    if p['groups'] == 1:
        # torch reads per-channel qparams for output channel c; with groups 1
        # they run along axis 1 of the [Cin, Cout, K] weight.
        qm = nnq.ConvTranspose1d(p['in_channels'], p['out_channels'], p['kernel_size'], p['stride'],
                                 p['padding'], p['output_padding'], p['groups'], bias is not None,
                                 p['dilation'])
        qwt = torch.quantize_per_channel(torch.from_numpy(w), s.double(), z, 1, torch.qint8)
        assert np.array_equal(qwt.int_repr().numpy().reshape(-1), int8.reshape(-1))
        qm.set_weight_bias(qwt, None if bias is None else torch.from_numpy(bias))
        qm.scale, qm.zero_point = float(out_s), int(out_z)
    return dict(
        qmodule=qm, weight_scale=[float(v) for v in s], weight_zero_point=[int(v) for v in z],
        weight_int8=int8.astype(np.int8).reshape(-1), bias=bias,
        output_scale=float(out_s), output_zero_point=int(out_z),
        input_scale=float(in_s), input_zero_point=int(in_z),
        output_range=(float(out_obs.min_val), float(out_obs.max_val)))


# ---- value profiles --------------------------------------------------------------

def weight_values(rng, profile, n):
    if profile == 'normal':
        return rng.normal(0, 0.1, n)
    if profile == 'uniform':
        return rng.uniform(-3, 3, n)
    if profile == 'tiny':          # below eps * 127.5: scale is eps
        return rng.normal(0, 1e-9, n)
    if profile == 'small':         # scale eps, non-zero int8
        return rng.uniform(-5e-6, 5e-6, n)
    if profile == 'huge':
        return rng.normal(0, 1e30, n)
    if profile == 'near_max':      # close to the float32 maximum
        return rng.uniform(-3.4e38, 3.4e38, n)
    if profile == 'positive':
        return rng.uniform(0.01, 2, n)
    if profile == 'negative':
        return rng.uniform(-2, -0.01, n)
    if profile == 'zero':
        return np.zeros(n)
    if profile == 'ties':          # scale exactly 2^-e, every w * inv an exact .5
        e = int(rng.integers(-8, 9))
        v = (rng.integers(-128, 127, n) + 0.5) * 2.0 ** e
        v[rng.integers(n)] = 127.5 * 2.0 ** e * rng.choice([-1, 1])
        return v
    if profile == 'near_ties':     # one float32 ulp either side of the ties
        v = weight_values(rng, 'ties', n).astype(F32)
        step = rng.choice([-1, 1, 0], n)
        return np.where(step > 0, np.nextafter(v, F32(np.inf)),
                        np.where(step < 0, np.nextafter(v, F32(-np.inf)), v))
    if profile == 'outlier':
        v = rng.normal(0, 0.01, n)
        v[rng.integers(n)] = rng.choice([-50.0, 50.0])
        return v
    if profile == 'sparse':
        return np.where(rng.random(n) < 0.8, 0.0, rng.normal(0, 1, n))
    if profile == 'unit':          # max |w| = 1 exactly: the 128 -> 127 clamp
        v = rng.uniform(-1, 1, n)
        v[rng.integers(n)] = rng.choice([-1.0, 1.0])
        return v
    if profile == 'dyadic':
        return rng.integers(-128, 129, n) / 64.0
    raise ValueError(profile)


def input_values(rng, profile, n):
    if profile == 'normal':
        return rng.normal(0, 1, n)
    if profile == 'positive':
        return rng.uniform(0, 5, n)
    if profile == 'negative':
        return rng.uniform(-5, -0.5, n)
    if profile == 'wide':
        return rng.normal(0, 1e4, n)
    if profile == 'dyadic':
        return rng.integers(-64, 65, n) / 16.0
    if profile == 'tiny':
        return rng.normal(0, 1e-30, n)
    raise ValueError(profile)


WEIGHT_PROFILES = ['normal', 'uniform', 'tiny', 'small', 'huge', 'near_max', 'positive', 'negative',
                   'zero', 'ties', 'near_ties', 'outlier', 'sparse', 'unit', 'dyadic']
INPUT_PROFILES = ['normal', 'positive', 'negative', 'wide', 'dyadic']
# Weight profiles whose float outputs would overflow float32 on ordinary inputs.
TINY_INPUT_FOR = {'huge', 'near_max'}


def random_params(rng, kind):
    g = int(rng.choice([1, 1, 1, 2, 3, 4]))
    cin = g * int(rng.integers(1, 5))
    cout = g * int(rng.integers(1, 5))
    k = int(rng.integers(1, 6))
    stride = int(rng.integers(1, 4))
    dilation = int(rng.integers(1, 3))
    padding = int(rng.integers(0, 3))
    p = dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=stride, padding=padding,
             dilation=dilation, groups=g, output_padding=0, padding_mode='zeros')
    if kind == 'ConvTranspose1d':
        p['output_padding'] = int(rng.integers(0, max(stride, dilation)))
    elif rng.random() < 0.3:
        p['padding_mode'] = 'reflect'
    return p


def min_length(kind, p):
    if kind == 'Conv1d':
        need = p['dilation'] * (p['kernel_size'] - 1) + 1 - 2 * p['padding']
        if p['padding_mode'] == 'reflect':
            need = max(need, p['padding'] + 1)
        return max(need, 1)
    length = 1
    while (length - 1) * p['stride'] - 2 * p['padding'] + p['dilation'] * (p['kernel_size'] - 1) \
            + p['output_padding'] + 1 < 1:
        length += 1
    return length


def make_case(rng, index, kind, qscheme, wprofile, iprofile):
    p = random_params(rng, kind)
    if index % 9 == 0:  # a few wider layers
        p.update(in_channels=p['groups'] * 8, out_channels=p['groups'] * 6)
    cin, cout, k, g = p['in_channels'], p['out_channels'], p['kernel_size'], p['groups']
    wshape = (cin, cout // g, k) if kind == 'ConvTranspose1d' else (cout, cin // g, k)
    n = int(np.prod(wshape))
    dyadic = wprofile == 'dyadic' and iprofile == 'dyadic'
    w = weight_values(rng, wprofile, n).astype(F32)
    if qscheme == 'per_channel' and wprofile not in ('zero',) and rng.random() < 0.3:
        w[output_channel_of(kind, p) == rng.integers(cout)] = 0  # an all-zero output channel
    w = w.reshape(wshape)
    has_bias = rng.random() < 0.8
    if dyadic:
        bias = (rng.integers(-64, 65, cout) / 1024.0).astype(F32) if has_bias else None
    else:
        bias = rng.normal(0, 0.5, cout).astype(F32) if has_bias else None
    iprof = 'tiny' if wprofile in TINY_INPUT_FOR else iprofile
    lmin = min_length(kind, p)
    batches = []
    for b in range(int(rng.integers(1, 4))):
        length = lmin + int(rng.integers(0, 8))
        if b == 1 and rng.random() < 0.5:
            shape = (cin, length)                  # unbatched
        elif b == 2 and rng.random() < 0.5:
            shape = (0, cin, length)               # empty: observers skip it
        else:
            shape = (int(rng.integers(1, 3)), cin, length)
        batches.append(input_values(rng, iprof, int(np.prod(shape))).astype(F32).reshape(shape))
    params = dict(p, bias=has_bias)
    if kind == 'ConvTranspose1d' and qscheme == 'per_channel':
        method, r = 'observers', via_observers(kind, p, w, bias, batches)
    else:
        method, r = 'prepare_convert', via_prepare_convert(kind, p, w, bias, qscheme, batches)

    # docs/SEMANTICS.md's formulas give the same numbers.
    wflat = w.reshape(-1)
    if qscheme == 'per_tensor':
        s = spec_symmetric(wflat.min(), wflat.max())
        assert s == F32(r['weight_scale']) and r['weight_zero_point'] == 0, (s, r['weight_scale'])
        assert np.array_equal(spec_quantize(wflat, np.full(n, s)), r['weight_int8'])
    else:
        ch = output_channel_of(kind, p)
        mins = np.array([wflat[ch == c].min() for c in range(cout)], F32)
        maxs = np.array([wflat[ch == c].max() for c in range(cout)], F32)
        s = spec_symmetric(mins, maxs)
        assert np.array_equal(s, np.array(r['weight_scale'], F32)) and not any(r['weight_zero_point'])
        assert np.array_equal(spec_quantize(wflat, s[ch]), r['weight_int8'])
    seen = np.concatenate([x.reshape(-1) for x in batches])
    assert spec_affine(seen.min(), seen.max()) == (F32(r['input_scale']), r['input_zero_point'])
    assert spec_affine(*r['output_range']) == (F32(r['output_scale']), r['output_zero_point'])
    if bias is not None:
        assert np.array_equal(r['bias'], bias)
    if dyadic:
        # Every partial sum is exact: float32 and float64 forwards agree.
        fm = float_module(kind, p, w, bias)
        with torch.no_grad():
            for x in batches:
                y32 = fm(torch.from_numpy(x)).numpy()
                y64 = fm.double()(torch.from_numpy(x).double()).numpy()
                fm.float()
                assert np.array_equal(y32.astype(np.float64), y64)

    case = dict(
        id='%03d-%s-%s-%s-w_%s-x_%s' % (index, kind, qscheme, method, wprofile, iprof),
        module=kind, params=params, weight_qscheme=qscheme, method=method, dyadic=dyadic,
        weight_f32_b64=b64(w.reshape(-1)),
        bias_f32_b64=None if bias is None else b64(bias),
        calibration=[dict(shape=list(x.shape), data_f32_b64=b64(x.reshape(-1))) for x in batches],
        expected=dict(
            weight_scale=r['weight_scale'], weight_zero_point=r['weight_zero_point'],
            weight_int8_b64=b64(r['weight_int8']),
            bias_f32_b64=None if r['bias'] is None else b64(r['bias']),
            output_scale=r['output_scale'], output_zero_point=r['output_zero_point'],
            input_scale=r['input_scale'], input_zero_point=r['input_zero_point'],
            output_min=r['output_range'][0], output_max=r['output_range'][1]),
        forward=None)

    # Forward bytes on the first batch (3-D, non-empty), where the values stay
    # in ranges that torch's x86 build and the port's policy treat alike.
    first = batches[0]
    if r['qmodule'] is not None and wprofile not in TINY_INPUT_FOR and index % 3 == 0:
        xq = torch.quantize_per_tensor(torch.from_numpy(first), r['input_scale'], r['input_zero_point'],
                                       torch.quint8)
        y = r['qmodule'](xq)
        assert y.q_scale() == r['output_scale'] and y.q_zero_point() == r['output_zero_point']
        case['forward'] = dict(
            input_shape=list(first.shape), input_q_b64=b64(xq.int_repr().numpy().astype(np.uint8)),
            output_shape=list(y.shape), output_b64=b64(y.int_repr().numpy().astype(np.uint8)))
    return case


def main():
    rng = np.random.default_rng(20261126)
    cases = []
    index = 0
    for kind in ['ConvTranspose1d', 'Conv1d']:
        for qscheme in ['per_tensor', 'per_channel']:
            for wi, wprofile in enumerate(WEIGHT_PROFILES):
                for rep in range(6 if wprofile == 'dyadic' else 3):
                    iprofile = 'dyadic' if wprofile == 'dyadic' else INPUT_PROFILES[(wi + rep) % len(INPUT_PROFILES)]
                    cases.append(make_case(rng, index, kind, qscheme, wprofile, iprofile))
                    index += 1
    doc = dict(format='from-float-v1',
               source='torch %s: eager prepare/convert and observers (engine qnnpack); '
                      'written by tools/gen_from_float_cases.py' % torch.__version__,
               cases=cases)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', OUT, len(cases), 'cases,', sum(c['forward'] is not None for c in cases), 'with forward bytes,',
          sum(c['dyadic'] for c in cases), 'dyadic')


if __name__ == '__main__':
    main()
