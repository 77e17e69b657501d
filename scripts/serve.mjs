// A small static file server for the demo and the browser tests: correct
// MIME types (application/wasm for .wasm, so streaming compilation works),
// optional extra headers (a Content-Security-Policy, COOP/COEP), no caching.
//   node scripts/serve.mjs [--root DIR] [--port N] [--header "Name: value"]...
// or, from code: const { url, close } = await startServer({ root, port, headers }).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wav': 'audio/wav',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

// Resolves a request path inside root; null when it escapes root.
function resolveInside(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  const file = path.resolve(root, `.${decoded}`);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

export function startServer({ root, port = 8080, host = '127.0.0.1', headers = {} } = {}) {
  const absoluteRoot = path.resolve(root);
  const server = http.createServer((req, res) => {
    let file = resolveInside(absoluteRoot, req.url || '/');
    if (file !== null && fs.existsSync(file) && fs.statSync(file).isDirectory()) {
      file = path.join(file, 'index.html');
    }
    if (file === null || !fs.existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
      res.end(`404: ${req.url} not found\n`);
      return;
    }
    const type = MIME_TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        url: `http://${host === '127.0.0.1' ? 'localhost' : host}:${address.port}/`,
        port: address.port,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

function parseArgs(argv) {
  const options = { root: '.', port: Number(process.env.PORT) || 8080, headers: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`serve: ${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--root') options.root = value();
    else if (arg === '--port') options.port = Number(value());
    else if (arg === '--header') {
      const header = value();
      const colon = header.indexOf(':');
      if (colon < 1) throw new Error(`serve: --header wants "Name: value", got ${JSON.stringify(header)}`);
      options.headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
    } else throw new Error(`serve: unknown argument ${arg} (known: --root DIR, --port N, --header "Name: value")`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error(`serve: port must be an integer in [0, 65535], got ${options.port}`);
  }
  return options;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2));
  startServer(options).then(
    ({ url }) => console.log(`serving ${path.resolve(options.root)} at ${url}`),
    (e) => {
      console.error(e.code === 'EADDRINUSE'
        ? `serve: port ${options.port} is in use; pick another with PORT=N or --port N`
        : `serve: ${e.message}`);
      process.exit(1);
    });
}
