'use strict';
// Shared helper of the browser tests (tests/browser/*.test.js): one headless
// Chromium per test file (Debian's /usr/bin/chromium, or CHROMIUM_PATH,
// driven by playwright-core), static servers (scripts/serve.mjs), console and
// page-error collection (any console error or uncaught page error fails the
// test that opened the page, unless the test allows that message), and
// screenshots saved as test artifacts under test-results/screenshots/.
//
// Jest runs these files as CommonJS without --experimental-vm-modules, so
// the ES-module tools (scripts/serve.mjs, vite) run in child processes.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const ROOT = path.join(__dirname, '..', '..');
const SCREENSHOT_DIR = path.join(ROOT, 'test-results', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// null when Chromium is there. Otherwise the reason, and whether the tests
// may be skipped: on Debian as root scripts/bootstrap.sh installs Chromium,
// so there (this project's machines and CI) a missing browser is a failure.
function chromiumStatus() {
  if (isExecutable(CHROMIUM)) return null;
  const canApt = fs.existsSync('/etc/debian_version') && typeof process.getuid === 'function' &&
    process.getuid() === 0;
  if (canApt && !process.env.CHROMIUM_PATH) {
    return {
      skippable: false,
      reason: `${CHROMIUM} is missing; run 'bash scripts/bootstrap.sh' (it apt-installs Debian's chromium)`,
    };
  }
  return {
    skippable: true,
    reason: `no Chromium at ${CHROMIUM} (install Debian's chromium package or set CHROMIUM_PATH)`,
  };
}

// describe() for browser tests: skipped, with the reason in the title, when
// Chromium cannot be had here; otherwise a normal describe (which fails
// loudly if Chromium is missing where it must be present).
function describeBrowser(name, fn) {
  const status = chromiumStatus();
  if (status && status.skippable) {
    // Jest counts these as skipped; the reason is in the title (which
    // scripts/test.sh prints) and on stderr (Jest hides the console output
    // of skipped files).
    process.stderr.write(`\nskipped: ${name}: ${status.reason}\n`);
    describe.skip(`${name} [skipped: ${status.reason}]`, fn);
    return;
  }
  describe(name, fn);
}

// Serves `root` with scripts/serve.mjs on a free port, in a child process.
function startServer({ root = ROOT, headers = {} } = {}) {
  const args = [path.join(ROOT, 'scripts', 'serve.mjs'), '--root', root, '--port', '0'];
  for (const [name, value] of Object.entries(headers)) args.push('--header', `${name}: ${value}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`serve.mjs did not start within 10 s: ${out}${err}`));
    }, 10000);
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve.mjs exited (${code}) before listening: ${out}${err}`));
    });
    child.stdout.on('data', (d) => {
      out += d;
      const m = / at (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        url: m[1],
        close: () => new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) { done(); return; }
          child.once('exit', () => done());
          child.kill();
        }),
      });
    });
  });
}

let screenshotPrefix = null;
function saveScreenshotPath(name) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-');
  return path.join(SCREENSHOT_DIR, `${screenshotPrefix ? `${screenshotPrefix}-` : ''}${safe}.png`);
}

// Registers beforeAll/afterAll (one browser per file) and afterEach (fails
// the test on console errors or page errors of the pages it opened; closes
// them). Returns { browser(), open(url, options), screenshot(page, name),
// problems(page) }.
function useBrowser({ prefix } = {}) {
  let browser = null;
  let opened = [];
  screenshotPrefix = prefix || null;

  beforeAll(async () => {
    const status = chromiumStatus();
    if (status) throw new Error(`browser tests: ${status.reason}`);
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });

  afterAll(async () => {
    if (browser) await browser.close();
  });

  afterEach(async () => {
    const pages = opened;
    opened = [];
    const report = [];
    for (const page of pages) {
      const bad = problems(page);
      if (bad.length) report.push(`${page.qconvLog.url}:\n  ${bad.join('\n  ')}`);
      await page.context().close().catch(() => {});
    }
    if (report.length) throw new Error(`console errors or page errors:\n${report.join('\n')}`);
  });

  // Unexpected console errors and page errors seen so far on the page.
  function problems(page) {
    const log = page.qconvLog;
    const allowed = (text) => log.allow.some((re) => re.test(text));
    return [
      ...log.consoleErrors.filter((t) => !allowed(t)).map((t) => `console.error: ${t}`),
      ...log.pageErrors.filter((t) => !allowed(t)).map((t) => `pageerror: ${t}`),
    ];
  }

  // Opens url in a fresh context. options.allow: RegExps of console/page
  // error messages this test expects (e.g. the 404 of a missing file).
  async function open(url, { allow = [], waitFor = null, viewport = { width: 1000, height: 700 } } = {}) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(20000);
    page.qconvLog = { url, allow, consoleErrors: [], pageErrors: [], messages: [], requests: [] };
    page.on('console', (msg) => {
      const text = msg.text();
      page.qconvLog.messages.push(`${msg.type()}: ${text}`);
      if (msg.type() === 'error') {
        const where = msg.location() && msg.location().url ? ` (${msg.location().url})` : '';
        page.qconvLog.consoleErrors.push(`${text}${where}`);
      }
    });
    page.on('pageerror', (e) => page.qconvLog.pageErrors.push(String(e && e.stack ? e.stack : e)));
    page.on('request', (r) => page.qconvLog.requests.push(r.url()));
    // Before any page script: record Content-Security-Policy violations.
    await page.addInitScript(() => {
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__cspViolations.push({
          directive: e.violatedDirective, blockedURI: e.blockedURI, sample: e.sample,
        });
      });
    });
    opened.push(page);
    const response = await page.goto(url);
    if (waitFor) await page.waitForFunction(waitFor);
    return { page, response };
  }

  async function screenshot(page, name, options = {}) {
    const file = saveScreenshotPath(name);
    await page.screenshot({ path: file, fullPage: true, ...options });
    return file;
  }

  return { browser: () => browser, open, screenshot, problems };
}

// fixtures/big-forward.mjs in Node, one thread: its output bytes (base64).
function bigForwardInNode() {
    const script = `
    import qconv from ${JSON.stringify(path.join(ROOT, 'js', 'index.node.mjs'))};
    import { bigForward } from ${JSON.stringify(path.join(__dirname, 'fixtures', 'big-forward.mjs'))};
    await qconv.init();
    const out = bigForward(qconv);
    process.stdout.write(JSON.stringify({ shape: out.shape, dataB64: Buffer.from(out.data).toString('base64') }));`;
  const child = require('child_process').spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30000 });
  if (child.status !== 0) throw new Error(`bigForward in Node failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

module.exports = {
  bigForwardInNode,
  ROOT, CHROMIUM, chromiumStatus, describeBrowser, startServer, useBrowser, isExecutable,
};
