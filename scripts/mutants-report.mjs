// Summarises a cargo-mutants run per file: caught (incl. timeouts, also counted apart: the
// tests hung on them), missed, equivalent (excluded by .cargo/mutants.toml) and unviable
// (didn't build). Exits 1 if any was missed.
//   node scripts/mutants-report.mjs OUT_DIR FILE...
import { readFileSync } from 'node:fs';

const [out, ...files] = process.argv.slice(2);
const read = (path) => JSON.parse(readFileSync(path, 'utf8'));
const names = (list) => new Set(list.map((m) => m.name));
const viable = names(read(`${out}/viable.json`));
const all = read(`${out}/all.json`);
const { outcomes } = read(`${out}/mutants.out/outcomes.json`);

const rows = new Map(files.map((f) => [f, { caught: 0, missed: 0, equivalent: 0, unviable: 0, timeouts: 0 }]));
for (const m of all) {
  if (!viable.has(m.name)) rows.get(m.file).equivalent += 1;
}
const missed = [];
for (const o of outcomes) {
  const m = o.scenario?.Mutant;
  if (!m) continue; // the baseline
  const row = rows.get(m.file);
  switch (o.summary) {
    case 'CaughtMutant':
      row.caught += 1;
      break;
    case 'Timeout': // caught: the tests never pass on it
      row.caught += 1;
      row.timeouts += 1;
      break;
    case 'MissedMutant':
      row.missed += 1;
      missed.push(m.name);
      break;
    case 'Unviable':
      row.unviable += 1;
      break;
    default:
      throw new Error(`unexpected outcome ${o.summary} for ${m.name}`);
  }
}

const pad = (s, n) => String(s).padStart(n);
console.log(`${'file'.padEnd(24)}${pad('caught', 8)}${pad('missed', 8)}${pad('equiv.', 8)}${pad('unviable', 10)}${pad('timeouts', 10)}`);
const total = { caught: 0, missed: 0, equivalent: 0, unviable: 0, timeouts: 0 };
for (const [file, r] of rows) {
  for (const k of Object.keys(total)) total[k] += r[k];
  console.log(`${file.padEnd(24)}${pad(r.caught, 8)}${pad(r.missed, 8)}${pad(r.equivalent, 8)}${pad(r.unviable, 10)}${pad(r.timeouts, 10)}`);
}
console.log(`${'total'.padEnd(24)}${pad(total.caught, 8)}${pad(total.missed, 8)}${pad(total.equivalent, 8)}${pad(total.unviable, 10)}${pad(total.timeouts, 10)}`);
if (missed.length > 0) {
  console.log(`\nmissed (a test should fail on each, or list it in .cargo/mutants.toml with why):`);
  for (const name of missed) console.log(`  ${name}`);
  process.exitCode = 1;
}
