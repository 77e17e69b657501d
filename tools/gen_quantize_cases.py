#!/usr/bin/python3
"""Writes tests/data/quantize_per_tensor.json: torch.quantize_per_tensor (quint8)
and dequantize outputs computed by PyTorch itself (Debian python3-torch).

Values stay where x86 torch is well defined (|x / scale| far below 2^63, all
finite), so its bytes are also the port's: the saturating policy cases
(inf, NaN, overflow) are tested by hand in tests/js/api.test.js.

    /usr/bin/python3 tools/gen_quantize_cases.py
"""
import base64
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'tests', 'data', 'quantize_per_tensor.json')


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode('ascii')


def main():
    rng = np.random.default_rng(20261125)
    groups = []
    scales = [1.0, 0.5, 0.1, 0.25, 1 / 3, 0.007, 2.5, 1e-3, 1e-20, 3e20, 1.1754944e-38 * 4]
    scales += list(np.exp(rng.uniform(np.log(1e-6), np.log(1e6), 24)))
    for i, scale in enumerate(scales):
        scale = float(scale)
        zp = int([0, 255, 128, 10][i % 4] if i < 16 else rng.integers(0, 256))
        n = 256
        k = rng.integers(-400, 400, n)
        values = np.concatenate([
            (k[: n // 4] + 0.5) * scale,                    # exact ties (as far as float32 allows)
            rng.normal(0, 64 * scale, n // 4),              # typical
            rng.uniform(-300 * scale, 300 * scale, n // 4), # through saturation
            k[3 * n // 4:] * scale,                         # on the grid
        ]).astype(np.float32)
        x = torch.from_numpy(values)
        q = torch.quantize_per_tensor(x, scale, zp, torch.quint8)
        groups.append(dict(
            scale=scale, zero_point=zp, values_b64=b64(values),
            quantized_b64=b64(q.int_repr().numpy().astype(np.uint8)),
            dequantized_b64=b64(q.dequantize().numpy().astype('<f4'))))
    doc = dict(format='quantize-per-tensor-v1',
               source='torch %s quantize_per_tensor(quint8) and dequantize' % torch.__version__,
               groups=groups)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', OUT, len(groups), 'groups')


if __name__ == '__main__':
    main()
