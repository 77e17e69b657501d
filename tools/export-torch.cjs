#!/usr/bin/env node
'use strict';
// qconv-export-torch: runs tools/export_torch.py (the PyTorch exporter, see
// docs/FORMAT.md "Exporting from PyTorch") with a Python that has PyTorch,
// from an installed package: `npx qconv-export-torch MODEL.pt OUT.qconv`.
// The Python is QCONV_PYTHON if set, else the first of python3, python and
// (on Linux) /usr/bin/python3, where Debian's python3-torch lives, that can
// import torch and numpy. Without one it says so, naming what it tried.
const { spawnSync } = require('child_process');
const path = require('path');

const EXPORTER = path.join(__dirname, 'export_torch.py');
const PROBE = 'import torch, numpy; print(torch.__version__)';

// { python, version } or { tried: [why each candidate failed] }.
function findPython() {
  const candidates = process.env.QCONV_PYTHON ? [process.env.QCONV_PYTHON]
    : ['python3', 'python', ...(process.platform === 'linux' ? ['/usr/bin/python3'] : [])];
  const tried = [];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', PROBE], { encoding: 'utf8' });
    if (probe.error) {
      tried.push(`${python}: ${probe.error.code === 'ENOENT' ? 'not found' : probe.error.message}`);
    } else if (probe.status !== 0) {
      const lines = `${probe.stderr}`.trim().split('\n');
      tried.push(`${python}: ${lines[lines.length - 1] || `exit code ${probe.status}`}`);
    } else {
      return { python, version: probe.stdout.trim() };
    }
  }
  return { tried };
}

function main(args) {
  const found = findPython();
  if (!found.python) {
    process.stderr.write(
      'qconv-export-torch: needs a Python with PyTorch and numpy, and found none.\n' +
      `  tried:\n${found.tried.map((t) => `    ${t}\n`).join('')}` +
      '  Install PyTorch for one of them (e.g. pip install torch numpy, or Debian\'s python3-torch),\n' +
      '  or set QCONV_PYTHON to the path of a Python that has it.\n' +
      '  usage: qconv-export-torch MODEL.pt OUT.qconv [--calibration DATA.pt | --calibration-shape N,L]\n' +
      '         qconv-export-torch MODEL.pt OUT.qconv --example-shape N,C,L   (a whole converted model)\n');
    return 2;
  }
  const run = spawnSync(found.python, [EXPORTER, ...args],
    { stdio: 'inherit', env: { ...process.env, QCONV_EXPORT_PROG: 'qconv-export-torch' } });
  if (run.error) {
    process.stderr.write(`qconv-export-torch: could not run ${found.python}: ${run.error.message}\n`);
    return 2;
  }
  return run.status === null ? 1 : run.status;
}

process.exitCode = main(process.argv.slice(2));
