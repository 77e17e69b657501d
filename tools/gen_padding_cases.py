#!/usr/bin/python3
"""Writes tests/data/conv1d_padding_modes.json: quantized Conv1d with
padding='same' and padding='valid', outputs computed by PyTorch 1.13 itself
(QNNPACK engine), plus error cases with PyTorch's own outcome.

torch 1.13's quantized Conv1d takes no string padding (conv1d_prepack wants a
list of ints), so each valid case runs torch's quantized Conv1d with padding 0
on the input padded exactly as float nn.Conv1d pads it for 'same':
- zeros: the input zero point (zero in the quantized domain) on each side;
- reflect: F.pad(q_input, (left, right), mode='reflect') on the quantized
  tensor, which is what nnq.Conv1d does for a non-'zeros' padding_mode.
The generator asserts that this is float PyTorch's padding: float
nn.Conv1d(padding='same') on the dequantized values gives the same result as
a padding-0 float conv of the dequantized padded input (and, when the sides
differ, not the result with the sides swapped), and its
_reversed_padding_repeated_twice is (left, right). Where both sides are equal
it also asserts that quantized nnq.Conv1d(padding=left) on the unpadded input
gives the same bytes.

Quantization parameters stay where x86 torch is well defined (moderate
biases and requantization scales: no int32 overflow of f32(acc) * scale), so
its bytes are also the port's (docs/SEMANTICS.md §0.2).

    /usr/bin/python3 tools/gen_padding_cases.py
"""
import base64
import json
import os
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.ao.nn.quantized as nnq

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'tests', 'data', 'conv1d_padding_modes.json')
SEED = 20261207
NUM_VALID = 260

# Float 'same' with an even kernel warns that it copies the input; expected.
warnings.filterwarnings('ignore', message='Using padding=.same. with even kernel')


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode('ascii')


def same_split(K, d):
    total = d * (K - 1)
    return total // 2, total - total // 2


def pad_quantized(xq, left, right, mode):
    """The quantized input padded as float nn.Conv1d pads for 'same'."""
    if mode == 'reflect':
        return F.pad(xq, (left, right), mode='reflect')
    x = xq.int_repr().numpy()
    zp = xq.q_zero_point()
    n, c, _ = x.shape
    padded = np.concatenate([np.full((n, c, left), zp, np.uint8), x,
                             np.full((n, c, right), zp, np.uint8)], axis=2)
    return torch._make_per_tensor_quantized_tensor(torch.from_numpy(padded), xq.q_scale(), zp)


def quantized_module(p, padding, qweight, bias, out_scale, out_zp, mode='zeros'):
    m = nnq.Conv1d(p['in_channels'], p['out_channels'], p['kernel_size'], stride=1,
                   padding=padding, dilation=p['dilation'], groups=p['groups'],
                   bias=p['bias'], padding_mode=mode)
    m.set_weight_bias(qweight, bias)
    m.scale = out_scale
    m.zero_point = out_zp
    return m


def float_check(p, qweight, bias, xq, xq_padded, left, right):
    """Float nn.Conv1d(padding=p['padding']) pads like xq_padded; returns
    whether the swapped sides would have been told apart."""
    w = qweight.dequantize()
    fb = bias if bias is not None else None
    m = nn.Conv1d(p['in_channels'], p['out_channels'], p['kernel_size'], padding=p['padding'],
                  dilation=p['dilation'], groups=p['groups'], bias=p['bias'],
                  padding_mode=p['padding_mode'])
    assert list(m._reversed_padding_repeated_twice) == [left, right], (
        m._reversed_padding_repeated_twice, left, right)
    with torch.no_grad():
        m.weight.copy_(w)
        if fb is not None:
            m.bias.copy_(fb)
        y = m(xq.dequantize())
        y0 = F.conv1d(xq_padded.dequantize(), w, fb, 1, 0, p['dilation'], p['groups'])
    L = xq.shape[2]
    span = p['dilation'] * (p['kernel_size'] - 1) + 1
    assert y.shape[2] == (L if p['padding'] == 'same' else L - span + 1), (y.shape, L)
    tol = 1e-5 * max(1.0, float(y0.abs().max()))
    assert torch.allclose(y, y0, rtol=1e-5, atol=tol), (p, float((y - y0).abs().max()))
    if left == right:
        return None
    # The other split must give something else, or the check above proves nothing.
    x = xq.dequantize()
    if p['padding_mode'] == 'reflect':
        swapped = F.pad(x, (right, left), mode='reflect')
    else:
        swapped = F.pad(x, (right, left))
    y1 = F.conv1d(swapped, w, fb, 1, 0, p['dilation'], p['groups'])
    return not torch.allclose(y1, y0, rtol=1e-5, atol=tol)


def random_case(rng, index):
    while True:
        padding = 'same' if rng.random() < 0.8 else 'valid'
        mode = 'reflect' if rng.random() < 0.4 else 'zeros'
        K = int(rng.integers(1, 8))
        d = int(rng.integers(1, 4))
        L = int(rng.integers(1, 41))
        left, right = same_split(K, d) if padding == 'same' else (0, 0)
        span = d * (K - 1) + 1
        if mode == 'reflect' and max(left, right) >= L:
            continue
        if L + left + right < span:
            continue
        break
    pick = rng.random()
    if pick < 0.2:  # depthwise, channel multiplier 1 or 2
        groups = int(rng.integers(2, 6))
        cin_g, cout_g = 1, int(rng.integers(1, 3))
    else:
        groups = 1 if pick < 0.65 else int(rng.integers(2, 4))
        # Few channels (the per-channel kernel) or enough for the register tile.
        wide = rng.random() < 0.4
        cin_g = int(rng.integers(1, 13 if wide else 5))
        cout_g = int(rng.integers(5 if wide else 1, 13 if wide else 5))
    cin, cout = groups * cin_g, groups * cout_g
    has_bias = rng.random() < 0.8
    per_channel = rng.random() < 0.5
    unbatched = rng.random() < 0.25
    N = 1 if unbatched else int(rng.integers(1, 4))
    p = dict(in_channels=cin, out_channels=cout, kernel_size=K, stride=1, padding=padding,
             dilation=d, groups=groups, bias=has_bias, padding_mode=mode)

    # Quantization: log-uniform scales, any zero points.
    x_scale = float(np.exp(rng.uniform(np.log(1e-3), np.log(1.0))))
    x_zp = int(rng.choice([0, 255, int(rng.integers(0, 256))]))
    ws0 = float(np.exp(rng.uniform(np.log(1e-3), np.log(1e-1))))
    nq = cout if per_channel else 1
    w_scales = [ws0] + [ws0 * float(np.exp(rng.uniform(np.log(0.1), np.log(10.0))))
                        for _ in range(nq - 1)]
    w_zps = [0 if rng.random() < 0.3 else int(rng.integers(-128, 128)) for _ in range(nq)]
    rq = float(np.exp(rng.uniform(np.log(1e-4), np.log(1e-1))))
    out_scale = ws0 * x_scale / rq
    out_zp = int(rng.choice([0, 255, int(rng.integers(0, 256))]))

    w_int = rng.integers(-128, 128, (cout, cin_g, K)).astype(np.int8)
    if per_channel:
        qweight = torch._make_per_channel_quantized_tensor(
            torch.from_numpy(w_int), torch.tensor(w_scales, dtype=torch.double),
            torch.tensor(w_zps, dtype=torch.long), 0)
    else:
        qweight = torch._make_per_tensor_quantized_tensor(torch.from_numpy(w_int), w_scales[0], w_zps[0])
    bias = None
    if has_bias:
        units = np.exp(rng.uniform(np.log(1e-2), np.log(1e5), cout)) * rng.choice([-1, 1], cout)
        per = np.array([w_scales[c if per_channel else 0] for c in range(cout)])
        bias = torch.from_numpy((units * per * x_scale).astype(np.float32))
    x_int = rng.integers(0, 256, (N, cin, L)).astype(np.uint8)
    if rng.random() < 0.1:  # saturated inputs
        x_int = np.where(rng.random((N, cin, L)) < 0.5, 0, 255).astype(np.uint8)
    xq = torch._make_per_tensor_quantized_tensor(torch.from_numpy(x_int), x_scale, x_zp)

    # No int32 overflow of the requantized accumulator anywhere: x86 torch's
    # bytes are then the port's.
    max_rq = max(ws * x_scale / out_scale for ws in w_scales)
    max_acc = cin_g * K * 255 * 256 + (1e5 * 1.01 if has_bias else 0)
    assert max_acc * max_rq < 2 ** 30

    xq_padded = pad_quantized(xq, left, right, mode)
    assert xq_padded.shape[2] == L + left + right
    m = quantized_module(p, 0, qweight, bias, out_scale, out_zp)
    y = m(xq_padded)
    discriminating = float_check(p, qweight, bias, xq, xq_padded, left, right)
    if left == right:
        # Torch's own symmetric padding agrees with the padded input.
        m2 = quantized_module(p, left, qweight, bias, out_scale, out_zp, mode)
        assert torch.equal(m2(xq).int_repr(), y.int_repr()), p
    expected = y.int_repr().numpy().astype(np.uint8)
    shape_in = [cin, L] if unbatched else [N, cin, L]
    shape_out = [cout, y.shape[2]] if unbatched else list(y.shape)
    case = dict(
        id='padding-%03d-%s-%s' % (index, padding, mode),
        module='Conv1d', params=p,
        explicit_padding=[left, right],
        input=dict(shape=shape_in, dtype='quint8', scale=x_scale, zero_point=x_zp, data_b64=b64(x_int)),
        weight=dict(shape=[cout, cin_g, K], dtype='qint8',
                    qscheme='per_channel' if per_channel else 'per_tensor',
                    scales=w_scales, zero_points=w_zps, data_b64=b64(w_int)),
        bias=None if bias is None else dict(shape=[cout], dtype='float32',
                                            data_b64=b64(bias.numpy().astype('<f4'))),
        output_scale=out_scale, output_zero_point=out_zp, output_size=None,
        expected=dict(shape=shape_out, data_b64=b64(expected)),
    )
    return case, discriminating


def error_case(rng, index, module, params, length):
    """Runs float torch (the quantized module takes no string padding) and
    records where and how it fails."""
    p = {**dict(in_channels=2, out_channels=2, stride=1, dilation=1, groups=1, bias=True,
                padding_mode='zeros'), **params}
    cls = nn.Conv1d if module == 'Conv1d' else nn.ConvTranspose1d
    stage = 'construct'
    try:
        kwargs = dict(stride=p['stride'], padding=p['padding'], dilation=p['dilation'],
                      groups=p['groups'], bias=p['bias'], padding_mode=p['padding_mode'])
        m = cls(p['in_channels'], p['out_channels'], p['kernel_size'], **kwargs)
        stage = 'forward'
        m(torch.randn(1, p['in_channels'], length))
    except Exception as e:  # noqa: BLE001 - what torch raises is the record
        message = str(e).split('\n')[0]
        # torch prints a set of strings, whose order follows Python's hash seed.
        message = message.replace("{'valid', 'same'}", "{'same', 'valid'}")
        error = dict(stage=stage, type=type(e).__name__, message=message)
    else:
        raise AssertionError('torch accepted %r' % (p,))
    x_int = rng.integers(0, 256, (1, p['in_channels'], length)).astype(np.uint8)
    K = p['kernel_size']
    nw = (p['in_channels'] * (p['out_channels'] // p['groups']) * K if module == 'ConvTranspose1d'
          else p['out_channels'] * (p['in_channels'] // p['groups']) * K)
    wshape = ([p['in_channels'], p['out_channels'] // p['groups'], K] if module == 'ConvTranspose1d'
              else [p['out_channels'], p['in_channels'] // p['groups'], K])
    if module == 'ConvTranspose1d':
        p['output_padding'] = 0
    return dict(
        id='padding-error-%02d' % index, module=module, params=p,
        input=dict(shape=[1, p['in_channels'], length], dtype='quint8', scale=0.05, zero_point=128,
                   data_b64=b64(x_int)),
        weight=dict(shape=wshape, dtype='qint8', qscheme='per_tensor', scales=[0.01], zero_points=[0],
                    data_b64=b64(rng.integers(-128, 128, nw).astype(np.int8))),
        bias=dict(shape=[p['out_channels']], dtype='float32',
                  data_b64=b64(np.zeros(p['out_channels'], '<f4'))),
        output_scale=0.1, output_zero_point=128, output_size=None,
        torch_error=error,
    )


ERRORS = [
    ('Conv1d', dict(kernel_size=3, stride=2, padding='same'), 8),
    ('Conv1d', dict(kernel_size=4, stride=3, padding='same', padding_mode='reflect'), 8),
    ('Conv1d', dict(kernel_size=4, padding='same', padding_mode='reflect'), 2),    # (1, 2): 2 >= L
    ('Conv1d', dict(kernel_size=2, padding='same', padding_mode='reflect'), 1),    # (0, 1): 1 >= L
    ('Conv1d', dict(kernel_size=3, dilation=2, padding='same', padding_mode='reflect'), 2),  # (2, 2)
    ('Conv1d', dict(kernel_size=3, padding='same', padding_mode='reflect'), 1),    # (1, 1)
    ('Conv1d', dict(kernel_size=3, padding='valid'), 2),
    ('Conv1d', dict(kernel_size=3, dilation=3, padding='valid'), 6),
    ('Conv1d', dict(kernel_size=5, padding='valid', padding_mode='reflect'), 4),
    ('Conv1d', dict(kernel_size=3, padding='full'), 8),
    ('Conv1d', dict(kernel_size=3, padding='SAME'), 8),
    ('ConvTranspose1d', dict(kernel_size=3, padding='same'), 8),
    ('ConvTranspose1d', dict(kernel_size=3, padding='valid'), 8),
]


def main():
    torch.backends.quantized.engine = 'qnnpack'
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    cases = []
    asymmetric = discriminated = 0
    for i in range(NUM_VALID):
        case, discriminating = random_case(rng, i)
        if discriminating is not None:
            asymmetric += 1
            discriminated += discriminating
        cases.append(case)
    # The float check told the sides apart in (nearly) every asymmetric case.
    assert asymmetric >= 40 and discriminated >= 0.95 * asymmetric, (asymmetric, discriminated)
    errors = [error_case(rng, i, *e) for i, e in enumerate(ERRORS)]
    doc = dict(
        format='qconv1d-padding-v1',
        source=('torch %s, engine qnnpack: quantized Conv1d (padding 0) on inputs padded as float '
                'nn.Conv1d pads them; error cases: float nn.Conv1d / nn.ConvTranspose1d' % torch.__version__),
        regenerate='/usr/bin/python3 tools/gen_padding_cases.py',
        cases=cases, errors=errors)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    same = sum(c['params']['padding'] == 'same' for c in cases)
    print('wrote %s: %d cases (%d same, %d valid; %d asymmetric, %d told apart from swapped sides), '
          '%d error cases' % (OUT, len(cases), same, len(cases) - same, asymmetric, discriminated,
                              len(errors)))


if __name__ == '__main__':
    main()
