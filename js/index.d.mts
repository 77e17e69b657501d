// Types of the ES-module entries (`import`). They export what the CommonJS
// entry does (its declarations are in index.d.cts); the default export is
// the same object as that entry's.
export * from './index.cjs';
export { default } from './index.cjs';
