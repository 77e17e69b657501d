'use strict';
// tools/export_torch.py's whole-model export against PyTorch itself:
// - the generator rewrites tests/data/models byte for byte (the committed
//   torch data is what it writes, nothing edited by hand);
// - the exporter's refusal checks (tools/check_export_model.py): every
//   unsupported construct refused naming its node and op;
// - the command line on a torch.save'd converted model: the file it writes
//   loads here and gives torch's output for the example input.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const q = require('../..');

const ROOT = path.join(__dirname, '..', '..');
const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const floatsOf = (file) => {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
};
const TITLE = 'tools/export_torch.py export_model: whole PyTorch models';

(hasTorch ? describe : describe.skip)(
  hasTorch ? TITLE : `${TITLE} [skipped: /usr/bin/python3 cannot import torch (install python3-torch)]`, () => {
    const run = (args) => execFileSync(PYTHON, args, { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
    let dir;
    beforeAll(async () => {
      await q.init();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qconv-export-model-'));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test('tools/gen_model_cases.py writes exactly the committed tests/data/models', () => {
      run(['tools/gen_model_cases.py', dir]);
      const committed = fs.readdirSync(path.join(ROOT, 'tests', 'data', 'models')).sort();
      expect(fs.readdirSync(dir).sort()).toEqual(committed);
      for (const name of committed) {
        const a = fs.readFileSync(path.join(dir, name));
        const b = fs.readFileSync(path.join(ROOT, 'tests', 'data', 'models', name));
        expect({ name, same: a.equals(b) }).toEqual({ name, same: true });
      }
    });

    test('the refusal and parse checks pass (tools/check_export_model.py)', () => {
      const out = run(['tools/check_export_model.py']);
      const lines = out.trim().split('\n');
      expect(lines.filter((l) => l.startsWith('ok ')).length).toBeGreaterThanOrEqual(15);
      expect(lines.filter((l) => !l.startsWith('ok '))).toEqual([]);
      // Refusals name the node and the op.
      expect(out).toMatch(/refuses tanh: ValueError: node "tanh" \(call_function torch.tanh\): not supported by the qconv model format/);
    });

    test('the command line exports a torch.save\'d converted model; it runs here with torch\'s output', () => {
      const script = `
import sys, torch, numpy as np
sys.path.insert(0, 'tools')
import gen_model_cases as g
torch.backends.quantized.engine = 'qnnpack'
torch.manual_seed(7)
model = g.MelGANEager(mels=16, channels=(16, 8, 4), ratios=((8, 4, 2), (8, 4, 2)), dilations=(1, 3)).eval()
model = g.quantize_eager(model, g.calibration_batches(7, (1, 16, 32)))
torch.manual_seed(8)
example = torch.randn(2, 16, 13)
torch.save(model, sys.argv[1])
torch.save(example, sys.argv[2])
y = model(example)
np.asarray(example.numpy(), dtype='<f4').tofile(sys.argv[3])
np.asarray(y.detach().numpy(), dtype='<f4').tofile(sys.argv[4])
print(list(example.shape), list(y.shape))
`;
      const files = ['model.pt', 'example.pt', 'x.f32', 'y.f32'].map((f) => path.join(dir, f));
      const shapes = execFileSync(PYTHON, ['-c', script, ...files], { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
      const [inShape, outShape] = JSON.parse(`[${shapes.trim().replace('] [', '], [')}]`);
      const out = path.join(dir, 'cli.qconv');
      const printed = run(['tools/export_torch.py', files[0], out, '--example', files[1]]);
      expect(printed).toMatch(/^Model \w+: \d+ nodes, \d+ bytes written to /);
      const model = q.loadModel(fs.readFileSync(out));
      const x = floatsOf(files[2]);
      const y = model.forward({ data: x, shape: inShape });
      expect(y.shape).toEqual(outShape);
      const expected = floatsOf(files[3]);
      expect(Buffer.from(y.data.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
      model.dispose();
    });
  });
