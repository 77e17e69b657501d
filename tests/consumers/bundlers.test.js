'use strict';
// qconv-wasm in the browser as its users get it: the packed tarball
// (tests/consumers/package.js) installed in a fresh project per consumer,
// the same small app (fixtures/app/main.js, which imports 'qconv-wasm' by
// name) built with this repository's devDependencies run from the consumer
// folder, then loaded in headless Chromium twice: threads off (no isolation
// headers, init() with one thread) and threads on (COOP/COEP, init({
// numThreads: 2 })). Each page runs golden cases from
// tests/golden/cases_000.json (expected bytes from PyTorch) and a forward big
// enough to be split across threads (expected bytes from the package in
// Node); any console error, page error, failed request or HTTP error fails
// the test, and the request log says which of the package's files the page
// fetched, from where.
//
//   Vite        `vite build`, no config; and the dev server (see below)
//   webpack 5   production build, 0 warnings and 0 errors
//   esbuild     `esbuild --bundle --format=esm` + the README's copy and locateFile
//   Rollup      node-resolve { browser: true } + the README's copy and locateFile
//   import map  no bundler: the consumer folder served as it is
//
// Vite's dev server runs one thread with no config, and threads with only
// server.headers (COOP/COEP): it serves every .js as an ES module, adding an
// import statement to the pthread worker script, and the package starts its
// pool as module workers, which take it. The README's esbuild/Rollup recipe
// (copy to public/qconv/, locateFile) also works there.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { NAME, consumerProject, tool } = require('./package');
const { bigForwardInNode, describeBrowser, startServer, useBrowser } = require('../browser/browser');
const { loadGoldenCases, expectedOf } = require('../js/golden-cases');

const ROOT = path.join(__dirname, '..', '..');
const APP = path.join(__dirname, 'fixtures', 'app', 'main.js');
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
// Installing may pack the package first (a clean build of dist/: minutes).
const SETUP_MS = 300000;

// ConvTranspose1d and Conv1d, per-tensor and per-channel weights, groups,
// reflect padding, output_size.
const CASE_IDS = ['public-0001-T', 'public-0025-T', 'public-0073-C', 'public-0106-C-reflect',
  'public-0112-T-output_size', 'public-0127-numerics-per_channel_transposed_groups'];

// The README's commands for esbuild and Rollup users (the block after
// `<!-- walkthrough:shell-copy -->`), run from the project folder; the tests
// change public/ to the folder they serve.
const README_COPY = (() => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const marker = '<!-- walkthrough:shell-copy -->';
  const m = /^\s*```sh\n([\s\S]*?)\n *```/.exec(readme.slice(readme.indexOf(marker) + marker.length));
  if (readme.indexOf(marker) < 0 || !m) throw new Error(`README.md has no sh block after ${marker}`);
  return m[1].split('\n').map((line) => line.trim()).join('\n');
})();

// The package's runtime files a page loads: one thread, threads.
const FILES = {
  1: ['qconv-simd.mjs', 'qconv-simd.wasm'],
  2: ['qconv-simd-mt.mjs', 'qconv-simd-mt.wasm', 'qconv-simd-mt.worker.js'],
};
const ALL_FILES = ['qconv-simd.mjs', 'qconv-simd.wasm', 'qconv-scalar.mjs', 'qconv-scalar.wasm',
  'qconv-simd-mt.mjs', 'qconv-simd-mt.wasm', 'qconv-simd-mt.worker.js'];

const goldenCases = (() => {
  const byId = new Map(loadGoldenCases().map((c) => [c.id, c]));
  return CASE_IDS.map((id) => {
    const c = byId.get(id);
    if (!c || !c.expected) throw new Error(`golden case ${id} is missing or has no expected output`);
    return c;
  });
})();

let bigReference = null;
function bigForwardReference() {
  if (!bigReference) bigReference = bigForwardInNode();
  return bigReference;
}

// The app's files in a consumer project: the app, the demo's runner of golden
// cases and the big forward beside it, the cases as data at dataDir (where
// the page fetches ./golden-cases.json).
function appFiles(dataDir) {
  return {
    'main.js': fs.readFileSync(APP, 'utf8'),
    'golden-case.js': fs.readFileSync(path.join(ROOT, 'web-demo', 'src', 'golden-case.js'), 'utf8'),
    'big-forward.mjs': fs.readFileSync(path.join(ROOT, 'tests', 'browser', 'fixtures', 'big-forward.mjs'), 'utf8'),
    [path.join(dataDir, 'golden-cases.json')]: JSON.stringify({ cases: goldenCases }),
  };
}

// The page: the app's script, optionally an import map, and the flag that
// makes the app pass locateFile (esbuild, Rollup).
function pageHtml({ script, module = true, importMap = null, locateFile = false }) {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>qconv-wasm consumer</title>
  <link rel="icon" href="data:,">
${importMap ? `  <script type="importmap">${JSON.stringify({ imports: importMap })}</script>\n` : ''}\
  <script ${module ? 'type="module"' : 'defer'} src="${script}"></script>
</head>
<body data-status="loading"${locateFile ? ' data-locate-file="qconv"' : ''}>
  <p>qconv-wasm consumer test page</p>
</body>
</html>
`;
}

// Runs a build tool in the consumer folder; throws with its output if it fails.
function run(command, args, cwd) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120000, env: { ...process.env, NO_COLOR: '1' } });
  const output = `${r.stdout || ''}\n${r.stderr || ''}`;
  if (r.status !== 0) {
    throw new Error(`${path.basename(command)} ${args.join(' ')} in ${cwd} failed (${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${output}`);
  }
  return { stdout: r.stdout, stderr: r.stderr, output };
}

// The README's copy, with public/ changed to the served folder, run by bash
// in the consumer folder.
function readmeCopy(dir, served) {
  run('bash', ['-euc', README_COPY.replaceAll('public/', `${served}/`)], dir);
}

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

// { hash: name } of the installed package's runtime files.
function packageFileHashes(dir) {
  const hashes = new Map();
  for (const name of ALL_FILES) {
    hashes.set(sha256(fs.readFileSync(path.join(dir, 'node_modules', NAME, 'dist', name))), name);
  }
  expect(hashes.size).toBe(ALL_FILES.length);
  return hashes;
}

// Files under root that are byte-identical to one of the package's runtime
// files: { name: [paths relative to root] }.
function copiesUnder(root, hashes) {
  const found = {};
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(p);
      } else {
        const name = hashes.get(sha256(fs.readFileSync(p)));
        if (name) (found[name] ||= []).push(path.relative(root, p).split(path.sep).join('/'));
      }
    }
  };
  walk(root);
  return found;
}

// Vite's CLI in the consumer folder, on a free port; resolves when it serves.
function startVite(cwd, args) {
  const child = spawn(process.execPath, [tool('vite', 'bin', 'vite.js'), ...args, '--port', '0', '--clearScreen', 'false'],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`vite did not start within 20 s:\n${output}`)); }, 20000);
    const onExit = (code) => { clearTimeout(timer); reject(new Error(`vite exited (${code}) before serving:\n${output}`)); };
    child.on('exit', onExit);
    const onData = (d) => {
      output += d;
      const m = /Local:\s+(http:\/\/\S+)/.exec(output.replace(/\x1b\[[0-9;]*m/g, ''));
      if (!m) return;
      clearTimeout(timer);
      child.removeListener('exit', onExit);
      resolve({
        url: m[1].endsWith('/') ? m[1] : `${m[1]}/`,
        output: () => output,
        close: () => new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) { done(); return; }
          child.once('exit', () => done());
          child.kill();
        }),
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => { output += d; });
  });
}

// Two static servers of root: threads off (plain) and on (isolated).
async function serveBoth(root) {
  const [plain, isolated] = await Promise.all([startServer({ root }), startServer({ root, headers: ISOLATION })]);
  return { plain, isolated, close: () => Promise.all([plain.close(), isolated.close()]) };
}

// Opens the app (useBrowser records console and page errors); also records
// responses, failed requests and the workers the page starts. Resolves with
// what the app left in window.qconvResult.
async function loadApp(session, url) {
  const { page } = await session.open('about:blank');
  const log = { responses: [], failed: [], workers: [] };
  page.qconvLog.url = url;
  page.on('response', (r) => log.responses.push({ url: r.url(), status: r.status() }));
  page.on('requestfailed', (r) => log.failed.push(`${r.url()}: ${r.failure() ? r.failure().errorText : '?'}`));
  // (The workers' console messages reach the page's: useBrowser sees them.)
  page.on('worker', (w) => log.workers.push(w.url()));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.status !== 'loading', null, { timeout: 45000 });
  const result = await page.evaluate(() => window.qconvResult);
  return { page, log, result };
}

function expectGolden(results) {
  expect(results.map((r) => r.id)).toEqual(CASE_IDS);
  for (const [i, r] of results.entries()) {
    const c = goldenCases[i];
    const expected = expectedOf(c);
    const got = Buffer.from(r.dataB64, 'base64');
    expect({ id: r.id, shape: r.shape, scale: r.scale, zeroPoint: r.zeroPoint, length: got.length }).toEqual({
      id: c.id, shape: expected.shape, scale: c.output_scale, zeroPoint: c.output_zero_point, length: expected.data.length,
    });
    const at = got.findIndex((v, j) => v !== expected.data[j]);
    if (at >= 0) throw new Error(`${r.id}: first differing byte at ${at}: got ${got[at]}, expected ${expected.data[at]}`);
  }
}

function expectBigForward(big) {
  const reference = bigForwardReference();
  expect(big.shape).toEqual(reference.shape);
  const got = Buffer.from(big.dataB64, 'base64');
  const want = Buffer.from(reference.dataB64, 'base64');
  expect(got.length).toBe(want.length);
  const at = got.findIndex((v, j) => v !== want[j]);
  if (at >= 0) throw new Error(`big forward: first differing byte at ${at}: got ${got[at]}, expected ${want[at]} (Node)`);
}

// Loads the app at base (?threads=2 when threads is 2) and checks everything.
//   root: the served folder (the files behind the URLs), or null
//   where(name): RegExp of the URL path the page must fetch the package's
//     file `name` from; null: not fetched as a file (Vite inlines the worker
//     script, which the package runs from a blob: URL)
//   hashes: the package's runtime files by hash: a fetched file under root
//     is the package's file of that name, and must be byte-identical to it
//   identify(path): which package file a served path is, when neither its
//     name nor its bytes say (webpack minifies the JavaScript assets)
//   sameBytes(name): whether the served file must be the package's bytes
async function checkApp(session, { base, threads, root, where, hashes, identify = () => undefined, sameBytes = () => true }) {
  const url = threads > 1 ? `${base}?threads=${threads}` : base;
  const { log, result } = await loadApp(session, url);
  if (!result || result.error) throw new Error(`the app failed: ${result ? result.error : 'no result'}`);
  expect(result.info).toEqual({ flavour: 'wasmsimd', threads });
  expect(result.crossOriginIsolated).toBe(threads > 1);
  expectGolden(result.cases);
  expectBigForward(result.big);

  expect(log.responses.filter((r) => r.status >= 400)).toEqual([]);
  expect(log.failed).toEqual([]);
  // The pool: numThreads - 1 workers (the calling thread works too).
  expect(log.workers).toHaveLength(threads - 1);

  const origin = new URL(base).origin;
  const fetched = {};  // name: [URL paths]
  for (const { url: u } of log.responses) {
    const parsed = new URL(u);
    if (parsed.origin !== origin) continue;
    const p = decodeURIComponent(parsed.pathname);
    const name = ALL_FILES.find((n) => p.endsWith(`/${n}`)) || identify(p) ||
      (root && fs.existsSync(path.join(root, p)) && fs.statSync(path.join(root, p)).isFile()
        ? hashes.get(sha256(fs.readFileSync(path.join(root, p)))) : undefined);
    if (name) (fetched[name] ||= []).push(p);
  }
  const expectedNames = FILES[threads].filter((n) => where(n) !== null);
  expect(Object.keys(fetched).sort()).toEqual([...expectedNames].sort());
  for (const name of expectedNames) {
    for (const p of fetched[name]) expect(p).toMatch(where(name));
    // The file behind the URL is the package's, byte for byte.
    if (root && sameBytes(name)) {
      for (const p of fetched[name]) {
        expect({ path: p, file: hashes.get(sha256(fs.readFileSync(path.join(root, p)))) }).toEqual({ path: p, file: name });
      }
    }
  }
  if (threads > 1) {
    // The page and its worker both import the glue.
    expect(fetched[FILES[threads][0]].length).toBeGreaterThanOrEqual(threads);
    const worker = log.workers[0];
    if (where('qconv-simd-mt.worker.js') === null) expect(worker).toMatch(/^blob:/);
    else expect(new URL(worker).pathname).toMatch(where('qconv-simd-mt.worker.js'));
  }
  return { log, result };
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const under = (prefix) => (name) => new RegExp(`^${escape(prefix)}${escape(name)}$`);

// The same headers only.
const DEV_HEADERS_CONFIG = `export default { server: { headers: ${JSON.stringify(ISOLATION)} } };\n`;

describeBrowser('consumer: Vite', () => {
  const session = useBrowser({ prefix: 'consumer-vite' });
  let dir;
  let hashes;
  let built;
  let servers;
  beforeAll(async () => {
    dir = consumerProject('bundlers-vite', { ...appFiles('public'), 'index.html': pageHtml({ script: './main.js' }) });
    hashes = packageFileHashes(dir);
    built = run(process.execPath, [tool('vite', 'bin', 'vite.js'), 'build'], dir);
    servers = await serveBoth(path.join(dir, 'dist'));
    // For the dev server only (after the build, which has no config).
    fs.writeFileSync(path.join(dir, 'vite.headers.config.mjs'), DEV_HEADERS_CONFIG);
  }, SETUP_MS);
  afterAll(async () => { if (servers) await servers.close(); });

  // Vite names assets <name>-<8-character hash>.<ext>.
  const asset = (name) => {
    const dot = name.lastIndexOf('.');
    return new RegExp(`^/assets/${escape(name.slice(0, dot))}-[\\w-]{8}${escape(name.slice(dot))}$`);
  };
  const builtWhere = (name) => (name.endsWith('.worker.js') ? null : asset(name));

  test('vite build (no config) emits the glue and .wasm of every flavour as assets, as the package has them; the worker script is inlined', () => {
    // Its report, less the list of files written.
    expect(built.output.split('\n').filter((line) => !/^dist\//.test(line.trim())).join('\n')).not.toMatch(/warn|error/i);
    const copies = copiesUnder(path.join(dir, 'dist'), hashes);
    expect(Object.keys(copies).sort()).toEqual(ALL_FILES.filter((n) => !n.endsWith('.worker.js')).sort());
    for (const [name, paths] of Object.entries(copies)) {
      expect(paths).toHaveLength(1);
      expect(`/${paths[0]}`).toMatch(asset(name));
    }
  });

  test('the built app, threads off: golden bytes, one thread, 0 console errors', async () => {
    await checkApp(session, { base: servers.plain.url, threads: 1, root: path.join(dir, 'dist'), where: builtWhere, hashes });
  });

  test('the built app, threads on (COOP/COEP, numThreads 2): golden bytes and the big forward on 2 threads', async () => {
    await checkApp(session, { base: servers.isolated.url, threads: 2, root: path.join(dir, 'dist'), where: builtWhere, hashes });
  });

  test('the dev server (vite, no config), threads off: the package\'s files from node_modules', async () => {
    const server = await startVite(dir, []);
    try {
      await checkApp(session, { base: server.url, threads: 1, root: dir, where: under('/node_modules/qconv-wasm/dist/'), hashes });
    } finally {
      await server.close();
    }
  });


  test('the dev server with server.headers (COOP/COEP) only, threads on: golden bytes and the big forward on 2 threads', async () => {
    // Vite serves every .js as an ES module, adding an import statement to the
    // worker script; the pool's workers are module workers, which take it.
    const server = await startVite(dir, ['--config', 'vite.headers.config.mjs']);
    try {
      await checkApp(session, { base: server.url, threads: 2, root: dir, where: under('/node_modules/qconv-wasm/dist/'), hashes });
      const served = await (await fetch(`${server.url}node_modules/qconv-wasm/dist/qconv-simd-mt.worker.js`)).text();
      expect(served).toMatch(/^import /);
    } finally {
      await server.close();
    }
  });

  test('the dev server with server.headers only, threads on: the README\'s copy to public/qconv/ and locateFile also work (public files are served as they are)', async () => {
    readmeCopy(dir, 'public');
    fs.writeFileSync(path.join(dir, 'relocated.html'), pageHtml({ script: './main.js', locateFile: true }));
    const server = await startVite(dir, ['--config', 'vite.headers.config.mjs']);
    try {
      await checkApp(session, { base: `${server.url}relocated.html`, threads: 2, root: path.join(dir, 'public'), where: under('/qconv/'), hashes });
    } finally {
      await server.close();
    }
  });
});

describeBrowser('consumer: webpack 5', () => {
  const session = useBrowser({ prefix: 'consumer-webpack' });
  let dir;
  let hashes;
  let stats;
  let servers;
  const where = () => /^\/[0-9a-f]{20}\.(mjs|wasm|js)$/;  // webpack's [hash][ext]
  beforeAll(async () => {
    dir = consumerProject('bundlers-webpack', {
      ...appFiles('dist'),
      'dist/index.html': pageHtml({ script: './main.js', module: false }),
      'webpack.config.js': `const path = require('path');
module.exports = {
  mode: 'production',
  entry: './main.js',
  output: { path: path.resolve(__dirname, 'dist'), filename: 'main.js' },
};
`,
    });
    hashes = packageFileHashes(dir);
    run(process.execPath, [tool('webpack-cli', 'bin', 'cli.js'), '--json', 'stats.json'], dir);
    stats = JSON.parse(fs.readFileSync(path.join(dir, 'stats.json'), 'utf8'));
    servers = await serveBoth(path.join(dir, 'dist'));
  }, SETUP_MS);
  afterAll(async () => { if (servers) await servers.close(); });

  // The emitted asset of each runtime file, by the file it came from.
  const emitted = () => Object.fromEntries(stats.assets.filter((a) => a.info && a.info.sourceFilename)
    .map((a) => [a.info.sourceFilename.replace(`node_modules/${NAME}/dist/`, ''), a.name]));
  const identify = (p) => {
    const found = Object.entries(emitted()).find(([, asset]) => p === `/${asset}`);
    return found ? found[0] : undefined;
  };
  // webpack's production mode runs Terser over the .mjs/.js assets too; the
  // .wasm files stay the package's bytes.
  const sameBytes = (name) => name.endsWith('.wasm');

  test('the production build has 0 warnings and 0 errors, and emits every runtime file as an asset (the .wasm as the package has it)', () => {
    expect(stats.warnings.map((w) => w.message)).toEqual([]);
    expect(stats.errors.map((e) => e.message)).toEqual([]);
    expect(stats.warningsCount).toBe(0);
    expect(stats.errorsCount).toBe(0);
    const assets = emitted();
    expect(Object.keys(assets).sort()).toEqual([...ALL_FILES].sort());
    for (const [name, asset] of Object.entries(assets)) {
      expect(`/${asset}`).toMatch(where());
      const bytes = fs.readFileSync(path.join(dir, 'dist', asset));
      if (sameBytes(name)) expect(hashes.get(sha256(bytes))).toBe(name);
      else expect(bytes.length).toBeGreaterThan(1000);
    }
  });

  test('threads off: golden bytes, one thread, 0 console errors', async () => {
    await checkApp(session, { base: servers.plain.url, threads: 1, root: path.join(dir, 'dist'), where, hashes, identify, sameBytes });
  });

  test('threads on (COOP/COEP, numThreads 2): golden bytes and the big forward on 2 threads', async () => {
    await checkApp(session, { base: servers.isolated.url, threads: 2, root: path.join(dir, 'dist'), where, hashes, identify, sameBytes });
  });
});

// esbuild and Rollup leave `new URL('../dist/…', import.meta.url)` as it is
// (it would point outside the build): their users copy the files with the
// README's commands and pass locateFile (the app's data-locate-file flag).
function relocatedConsumer(label, project, build) {
  describeBrowser(`consumer: ${label}`, () => {
    const session = useBrowser({ prefix: `consumer-${project}` });
    let dir;
    let hashes;
    let built;
    let servers;
    beforeAll(async () => {
      dir = consumerProject(`bundlers-${project}`, {
        ...appFiles('www'),
        'www/index.html': pageHtml({ script: './main.js', locateFile: true }),
      });
      hashes = packageFileHashes(dir);
      built = build(dir);
      readmeCopy(dir, 'www');
      servers = await serveBoth(path.join(dir, 'www'));
    }, SETUP_MS);
    afterAll(async () => { if (servers) await servers.close(); });

    test(`the ${label} bundle holds the browser entry without warnings; the README's copy puts every runtime file in /qconv/`, () => {
      expect(built.stderr).not.toMatch(/warning|\(!\)/i);
      const bundle = fs.readFileSync(path.join(dir, 'www', 'main.js'), 'utf8');
      expect(bundle).toMatch(/is not a WebAssembly module/);  // the browser loader
      expect(bundle).not.toMatch(/node-loader|readFileSync|from ['"]qconv-wasm['"]/);
      const copies = copiesUnder(path.join(dir, 'www'), hashes);
      expect(copies).toEqual(Object.fromEntries(ALL_FILES.map((n) => [n, [`qconv/${n}`]])));
    });

    test('threads off: golden bytes, the glue and .wasm fetched from /qconv/', async () => {
      await checkApp(session, { base: servers.plain.url, threads: 1, root: path.join(dir, 'www'), where: under('/qconv/'), hashes });
    });

    test('threads on (COOP/COEP, numThreads 2): golden bytes, the big forward; glue, .wasm and worker script from /qconv/', async () => {
      await checkApp(session, { base: servers.isolated.url, threads: 2, root: path.join(dir, 'www'), where: under('/qconv/'), hashes });
    });
  });
}

relocatedConsumer('esbuild', 'esbuild', (dir) =>
  run(tool('esbuild', 'bin', 'esbuild'), ['main.js', '--bundle', '--format=esm', '--outdir=www'], dir));

relocatedConsumer('Rollup', 'rollup', (dir) =>
  run(process.execPath, [tool('rollup', 'dist', 'bin', 'rollup'), 'main.js', '--dir', 'www', '--format', 'es',
    '--plugin', 'node-resolve={browser:true}'], dir));

describeBrowser('consumer: import-map page', () => {
  const session = useBrowser({ prefix: 'consumer-import-map' });
  let dir;
  let hashes;
  let servers;
  beforeAll(async () => {
    dir = consumerProject('bundlers-import-map', {
      ...appFiles('.'),
      'index.html': pageHtml({ script: './main.js', importMap: { 'qconv-wasm': './node_modules/qconv-wasm/js/index.browser.mjs' } }),
    });
    hashes = packageFileHashes(dir);
    servers = await serveBoth(dir);
  }, SETUP_MS);
  afterAll(async () => { if (servers) await servers.close(); });

  const where = under('/node_modules/qconv-wasm/dist/');

  test('threads off: golden bytes, the files fetched from the installed package', async () => {
    await checkApp(session, { base: servers.plain.url, threads: 1, root: dir, where, hashes });
  });

  test('threads on (COOP/COEP, numThreads 2): golden bytes and the big forward on 2 threads', async () => {
    await checkApp(session, { base: servers.isolated.url, threads: 2, root: dir, where, hashes });
  });
});
