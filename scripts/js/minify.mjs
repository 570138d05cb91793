// Minifies the package's JavaScript in place (pkg/ws_tether.js from wasm-bindgen and
// pkg/index.js, our glue): about 4 KB of the package's gzipped size. The readable sources are
// js/index.js and the Rust bindings in js/src. Run by scripts/build-pkg.
import { minifySync } from 'rolldown/experimental';
import { readFileSync, writeFileSync } from 'node:fs';

for (const file of process.argv.slice(2)) {
  const source = readFileSync(file, 'utf8');
  const { code, errors } = minifySync(file, source, { module: true, compress: true, mangle: true });
  if (errors?.length) {
    console.error(`minify ${file}:`, errors);
    process.exit(1);
  }
  writeFileSync(file, code);
}
