// Renames the wasm module's imports and exports to one or two letters (binaryen's
// --minify-imports-and-exports-and-modules) and the wasm-bindgen glue's uses of them to
// match. wasm-bindgen names each import after its function plus a 16-digit hash, which
// gzip can't shrink: about 1 KB of the package's gzipped size across the two files.
// Usage: node scripts/js/minify-wasm.mjs pkg/ws_tether_bg.wasm pkg/ws_tether.js (run by
// scripts/build-pkg, before minify.mjs).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const [wasmFile, glueFile] = process.argv.slice(2);
if (!wasmFile || !glueFile) throw new Error('usage: minify-wasm.mjs WASM GLUE');
// The features rustc enables for wasm32-unknown-unknown (the target-features section that
// would say so is already stripped).
const FEATURES = ['reference-types', 'bulk-memory', 'bulk-memory-opt', 'multivalue', 'nontrapping-float-to-int', 'sign-ext', 'mutable-globals', 'call-indirect-overlong'];
const out = execFileSync('wasm-opt', [
  ...FEATURES.map((f) => `--enable-${f}`),
  '--minify-imports-and-exports-and-modules',
  wasmFile, '-o', wasmFile,
], { encoding: 'utf8' });
// {"imports": [[module, name, new], ...], "exports": [[name, new], ...]}
const map = JSON.parse(out.slice(out.indexOf('{')));
const modules = new Set(map.imports.map(([module]) => module));
if (modules.size !== 1) throw new Error(`expected one import module, got ${[...modules]}`);

let glue = readFileSync(glueFile, 'utf8');
const replaceAll = (pattern, to, what) => {
  const before = glue;
  glue = glue.replace(pattern, to);
  if (glue === before) throw new Error(`${glueFile}: no ${what} to rename`);
};
const word = (name) => name.replace(/[$]/g, '\\$&');
const [module] = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmFile)));
replaceAll(new RegExp(`"${word([...modules][0])}"`, 'g'), JSON.stringify(module.module), 'import module');
for (const [, name, to] of map.imports) replaceAll(new RegExp(`\\b${word(name)}(?=\\s*:)`, 'g'), to, `import ${name}`);
for (const [name, to] of map.exports) {
  // Exports the glue never names (the abort handler's globals) need nothing.
  if (glue.includes(`wasm.${name}`)) replaceAll(new RegExp(`\\bwasm\\.${word(name)}\\b`, 'g'), `wasm.${to}`, `export ${name}`);
}
// Code index.js never reaches (about 150 B gzipped): it imports only the default init and
// `Core`, and always passes init `{ module_or_path }` (or nothing), so neither `initSync` (the
// minifier drops it once unexported) nor the warning about the older argument form is needed.
replaceAll(/export \{ initSync, /, 'export { ', 'initSync export');
replaceAll(/ else \{\s*console\.warn\('using deprecated parameters for the initialization function; pass a single object instead'\)\s*\}/, '', 'the deprecated-parameters warning');
writeFileSync(glueFile, glue);
