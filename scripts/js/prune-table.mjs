// Replaces the function-table entries no code can reach with one trap (run by
// scripts/build-pkg between wasm-bindgen and wasm-opt, while the functions still have their
// names). rustc puts a function in the table when its address is taken: wasm-bindgen's
// closure shims (`closures::_::invoke`, one per closure type of every web-sys import its
// describe functions mention) and js-sys's future waker (`futures::jspi`) get there through
// data the package never uses. wasm-bindgen removes the describe functions but not the entries,
// and wasm-opt can't tell an entry no `call_indirect` will pick: they kept about 2 KB of code
// (389 B gzipped) and the panic formatting one of them links. The table is not exported (the
// package passes no closure to JavaScript; an exported table is left alone) and nothing
// creates a waker, so no call can reach them; should one ever be made, it traps.
// Usage: node scripts/js/prune-table.mjs pkg/ws_tether_bg.wasm
import binaryen from 'binaryen';
import { readFileSync, writeFileSync } from 'node:fs';

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: prune-table.mjs WASM');
const DEAD = /^wasm_bindgen::convert::closures::.*::invoke::|^js_sys::futures::jspi::/;
const module = binaryen.readBinary(readFileSync(file));
// The features rustc enables for wasm32-unknown-unknown (see minify-wasm.mjs): with more,
// binaryen would write encodings the next steps can't read.
const F = binaryen.Features;
module.setFeatures(F.ReferenceTypes | F.BulkMemory | F.BulkMemoryOpt | F.Multivalue | F.NontrappingFPToInt
  | F.SignExt | F.MutableGlobals | F.CallIndirectOverlong);
const exports = [...Array(module.getNumExports()).keys()].map((i) => binaryen.getExportInfo(module.getExportByIndex(i)));
const exportedTables = exports.filter((e) => e.kind === binaryen.ExternalTable).map((e) => e.value);
const names = [...Array(module.getNumFunctions()).keys()].map((i) => binaryen.getFunctionInfo(module.getFunctionByIndex(i)).name);
if (!names.some((n) => n.includes('::'))) throw new Error(`${file}: no function names (prune before wasm-opt)`);
let pruned = 0;
for (let i = 0; i < module.getNumElementSegments(); i += 1) {
  const segment = binaryen.getElementSegmentInfo(module.getElementSegmentByIndex(i));
  if (!segment.data.some((f) => DEAD.test(f))) continue;
  if (exportedTables.includes(segment.table)) {
    // JavaScript may call any entry of an exported table (a closure passed to it): keep all.
    console.log(`prune-table: table ${segment.table} is exported; nothing replaced`);
    continue;
  }
  if (!module.getFunction('unreachable entry')) module.addFunction('unreachable entry', binaryen.none, binaryen.none, [], module.unreachable());
  const data = segment.data.map((f) => (DEAD.test(f) ? 'unreachable entry' : f));
  pruned += data.filter((f, j) => f !== segment.data[j]).length;
  const offset = binaryen.getExpressionInfo(segment.offset).value;
  module.removeElementSegment(segment.name);
  module.addActiveElementSegment(segment.table, segment.name, data, module.i32.const(offset));
}
if (!module.validate()) throw new Error(`${file}: invalid after pruning`);
writeFileSync(file, module.emitBinary());
console.log(`prune-table: ${pruned} unreachable table entries replaced`);
