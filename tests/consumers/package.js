'use strict';
// Shared by the consumer tests (tests/consumers/*.test.js): the package as a
// registry user gets it, and fresh projects that install it.
//
// packedPackage() packs the package from a clean copy of the sources (the
// files git tracks or would track: no build/, dist/ or node_modules), so
// `npm pack` runs the package's own prepack step (scripts/prepack.sh builds
// dist/ from scratch there). It runs once per state of the sources: the
// tarball is kept in build/consumers/ beside a hash of the files it was
// packed from, and Jest workers that ask at the same time wait for the one
// that packs (a lock directory).
//
// consumerProject(name, files) makes a fresh folder under
// build/consumers/projects/ and installs the tarball there with
// `npm install <tarball>` (npm unpacks it into node_modules/qconv-wasm: a
// copy, not a link). The tools that build the consumers (webpack, esbuild,
// Rollup, Vite, TypeScript, Jest) are this repository's devDependencies, run
// from here with the consumer folder as their working directory: they
// resolve 'qconv-wasm' from the consumer's node_modules.
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { execFileSync, spawnSync } = require('child_process');

const ROOT = path.join(__dirname, '..', '..');
const WORK = path.join(ROOT, 'build', 'consumers');
const PACKED = path.join(WORK, 'packed');
const LOCK = path.join(WORK, 'pack.lock');
const { name: NAME, version: VERSION } = require('../../package.json');
const TARBALL = path.join(PACKED, `${NAME}-${VERSION}.tgz`);

// The repository's files as a clean clone of this working tree would have
// them: tracked files, plus untracked ones that are not ignored.
function sourceFiles() {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  return [...new Set(out.split('\0').filter(Boolean))]
    .filter((f) => fs.existsSync(path.join(ROOT, f))).sort();
}

function hashOf(files) {
  const hash = crypto.createHash('sha256');
  for (const f of files) {
    hash.update(f).update('\0');
    const stat = fs.lstatSync(path.join(ROOT, f));
    hash.update(stat.isSymbolicLink() ? fs.readlinkSync(path.join(ROOT, f)) : fs.readFileSync(path.join(ROOT, f)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// { tarball, files: [paths in the tarball], size (bytes), log } for the
// sources as they are now. Packs at most once per state of the sources.
function packedPackage() {
  fs.mkdirSync(WORK, { recursive: true });
  const files = sourceFiles();
  const hash = hashOf(files);
  const stamp = path.join(PACKED, 'sources.sha256');
  const started = Date.now();
  for (;;) {
    if (fs.existsSync(TARBALL) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) {
      return describeTarball(path.join(PACKED, 'pack.log'));
    }
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      // Another worker packs; a lock older than 20 minutes is a dead one's.
      let age = 0;
      try { age = Date.now() - fs.statSync(LOCK).mtimeMs; } catch { continue; }
      if (age > 20 * 60 * 1000) fs.rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() - started > 25 * 60 * 1000) throw new Error('timed out waiting for another worker to pack');
      sleep(500);
    }
  }
  try {
    const source = path.join(WORK, 'source');
    fs.rmSync(source, { recursive: true, force: true });
    fs.rmSync(PACKED, { recursive: true, force: true });
    fs.mkdirSync(PACKED, { recursive: true });
    for (const f of files) {
      const to = path.join(source, f);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(path.join(ROOT, f), to);
      fs.chmodSync(to, fs.statSync(path.join(ROOT, f)).mode);
    }
    const pack = spawnSync('npm', ['pack', '--pack-destination', PACKED, '--json', '--foreground-scripts'],
      { cwd: source, encoding: 'utf8', maxBuffer: 64 << 20 });
    const log = `${pack.stdout}\n${pack.stderr}`;
    fs.writeFileSync(path.join(PACKED, 'pack.log'), log);
    if (pack.status !== 0 || !fs.existsSync(TARBALL)) {
      throw new Error(`npm pack in a clean copy of the sources (${source}) failed (${pack.status}):\n${log.slice(-4000)}`);
    }
    fs.writeFileSync(stamp, hash);
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
  return describeTarball(path.join(PACKED, 'pack.log'));
}

function describeTarball(logFile) {
  const listing = execFileSync('tar', ['-tzf', TARBALL], { encoding: 'utf8' });
  return {
    tarball: TARBALL,
    // npm puts everything under package/.
    files: listing.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')).sort(),
    size: fs.statSync(TARBALL).size,
    log: fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '',
  };
}

// A fresh folder under build/consumers/projects/<name>/ with `files`
// ({ relative path: text or Buffer }) and the packed tarball installed by
// npm. Returns its path.
function consumerProject(name, files = {}) {
  const { tarball } = packedPackage();
  const dir = path.join(WORK, 'projects', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const all = { 'package.json': JSON.stringify({ name: `consumer-${name}`, private: true, version: '1.0.0' }, null, 2), ...files };
  for (const [file, content] of Object.entries(all)) {
    const to = path.join(dir, file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.writeFileSync(to, content);
  }
  const install = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tarball],
    { cwd: dir, encoding: 'utf8' });
  if (install.status !== 0) {
    throw new Error(`npm install ${tarball} in ${dir} failed (${install.status}):\n${install.stdout}\n${install.stderr}`);
  }
  const installed = path.join(dir, 'node_modules', NAME);
  if (fs.lstatSync(installed).isSymbolicLink()) throw new Error(`${installed} is a link, not an installed copy`);
  return dir;
}

// A devDependency's file, for running a tool on a consumer project.
function tool(...parts) {
  return path.join(ROOT, 'node_modules', ...parts);
}

module.exports = { ROOT, WORK, NAME, VERSION, packedPackage, consumerProject, sourceFiles, tool };
