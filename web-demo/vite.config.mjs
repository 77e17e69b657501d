// Builds the interactive demo (web-demo/) into web-demo/dist/, importing the
// package by its bare name exactly as a user would: `qconv-wasm` resolves to
// the repository's browser ESM entry, and Vite emits the two .wasm flavours
// (found through `new URL(..., import.meta.url)` in js/browser-loader.mjs) as
// assets. The golden cases are copied beside the page, not bundled: the self
// test fetches them (1.6 MB) only when asked.
//   npx vite build --config web-demo/vite.config.mjs     (scripts/build.sh demo)
//   npx vite --config web-demo/vite.config.mjs           (dev server)
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const fromHere = (relative) => fileURLToPath(new URL(relative, import.meta.url));
const GOLDEN_SOURCE = fromHere('../tests/golden/cases_000.json');
const GOLDEN_URL_PATH = 'golden/cases_000.json';

// Serves the golden cases in dev and emits them as a plain asset in builds.
function goldenCases() {
  return {
    name: 'qconv-demo-golden-cases',
    configureServer(server) {
      server.middlewares.use(`/${GOLDEN_URL_PATH}`, (req, res) => {
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        fs.createReadStream(GOLDEN_SOURCE).pipe(res);
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: GOLDEN_URL_PATH, source: fs.readFileSync(GOLDEN_SOURCE) });
    },
  };
}

export default defineConfig({
  root: fromHere('.'),
  // Relative URLs: dist/ works from any path (a sub-directory, file servers).
  base: './',
  resolve: {
    alias: [{ find: /^qconv-wasm$/, replacement: fromHere('../js/index.browser.mjs') }],
  },
  build: {
    outDir: fromHere('dist'),
    emptyOutDir: true,
    // The wasm glue and the page need nothing older than this.
    target: 'es2022',
    // Never inline the .wasm files as data: URLs.
    assetsInlineLimit: 0,
  },
  // The dev server reads ../js, ../dist (wasm) and ../bench/shapes.json.
  // COOP + COEP (as npm start's server sends): cross-origin isolated, so threads.
  server: {
    fs: { allow: [fromHere('..')] },
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  // The Streaming mode's AudioWorklet (web-demo/src/stream-worklet.js) is
  // built as a worker bundle; a worklet loads it as an ES module.
  worker: { format: 'es' },
  plugins: [goldenCases()],
});
