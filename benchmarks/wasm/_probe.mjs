import binaryen from 'binaryen';
import { readFileSync } from 'node:fs';
const bytes = readFileSync('/tmp/wx/loop.wasm');
let t0 = performance.now();
const m = binaryen.readBinary(bytes);
m.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.SignExt | binaryen.Features.BulkMemory | binaryen.Features.NontrappingFPToInt);
m.runPasses(['log-execution']);
m.removeFunction('log_execution');
m.addGlobal('spanwire_fuel', binaryen.i32, true, m.i32.const(0));
m.addFunction('log_execution', binaryen.i32, binaryen.none, [], m.block(null, [
  m.global.set('spanwire_fuel', m.i32.sub(m.global.get('spanwire_fuel', binaryen.i32), m.i32.const(1))),
  m.if(m.i32.lt_s(m.global.get('spanwire_fuel', binaryen.i32), m.i32.const(0)), m.unreachable()),
]));
m.addGlobalExport('spanwire_fuel', 'spanwire_fuel');
binaryen.setAlwaysInlineMaxSize(30);
binaryen.setOptimizeLevel(3);
m.runPasses(['inlining-optimizing']);
if (!m.validate()) throw new Error('invalid');
const out = m.emitBinary();
console.log('instrument ms', performance.now() - t0, out.length, bytes.length);
console.log(m.emitText().slice(0, 1200));
const mem = new WebAssembly.Memory({ initial: 1, maximum: 2 });
const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: mem } }).exports;
const inst = new WebAssembly.Instance(new WebAssembly.Module(out), { env: { memory: mem } }).exports;
for (const [n, e] of [['plain', plain], ['fuel', inst]]) {
  if (e.spanwire_fuel) e.spanwire_fuel.value = 2e9;
  t0 = performance.now(); e.spin(3e8); console.log(n, 'spin 3e8 ms', performance.now() - t0);
}
inst.spanwire_fuel.value = 1e8;
t0 = performance.now();
try { inst.forever(); } catch (e) { console.log('forever stopped', e.constructor.name, e.message, performance.now() - t0, 'ms fuel', inst.spanwire_fuel.value); }
// global set/get cost
t0 = performance.now(); for (let i = 0; i < 1e7; i++) inst.spanwire_fuel.value = i; console.log('1e7 global sets ms', performance.now() - t0);
