#!/usr/bin/env node
// Builds spanwire's native part: the N-API addon (native/build/Release/spanwire_native.node, node-gyp) and the CO-RE
// BPF object (native/build/bpf/spanwire.bpf.o, clang). `npm run build:native` runs it; `npm install` runs it with
// --optional (see native/README.md).
//
//   node native/build.mjs             build; exit 0 without building (one clear line) when a prerequisite is
//                                     missing; exit 1 when a compile step fails
//   node native/build.mjs --optional  same, but a failed compile step is reported and exits 0 (for install hooks)
//   node native/build.mjs --strict    exit 1 also when a prerequisite is missing (CI that must have it)
//   node native/build.mjs --bpf-only  only vmlinux.h + the BPF object
//
// Offline: Node's headers come from <nodedir>/include/node (Debian: /usr), nothing is downloaded.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const build = path.join(here, 'build');
const args = new Set(process.argv.slice(2));
const optional = args.has('--optional');
const strict = args.has('--strict');
const bpfOnly = args.has('--bpf-only');
const tag = 'spanwire native:';

function skip(reason) {
  console.log(`${tag} not built: ${reason}`);
  process.exit(strict ? 1 : 0);
}
function fail(step, err) {
  console.error(`${tag} ${step} FAILED${err ? `: ${err}` : ''}`);
  process.exit(optional ? 0 : 1);
}
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/local/sbin`;
function which(bin) {
  for (const dir of PATH.split(':')) {
    if (dir && existsSync(path.join(dir, bin))) return path.join(dir, bin);
  }
  return null;
}
function pkgConfig(lib) {
  const r = spawnSync('pkg-config', ['--exists', lib], { stdio: 'ignore' });
  return r.status === 0;
}

// ---- prerequisites ----
if (process.platform !== 'linux' || process.arch !== 'x64') skip(`needs Linux x86_64 (this is ${process.platform}/${process.arch})`);
const clang = which('clang');
if (!clang) skip('clang not found (apt-get install clang llvm)');
const bpftool = which('bpftool');
if (!bpftool) skip('bpftool not found (apt-get install bpftool)');
if (!which('pkg-config')) skip('pkg-config not found (apt-get install pkg-config)');
if (!pkgConfig('libbpf')) skip('libbpf not found by pkg-config (apt-get install libbpf-dev)');
if (!pkgConfig('libpcap')) skip('libpcap not found by pkg-config (apt-get install libpcap-dev)');
if (!existsSync('/sys/kernel/btf/vmlinux')) skip('/sys/kernel/btf/vmlinux missing: this kernel has no BTF');

let gyp = null;
let nodedir = null;
if (!bpfOnly) {
  const req = createRequire(path.join(here, 'package.json'));
  try {
    req.resolve('node-addon-api');
  } catch {
    skip('node-addon-api is not installed (npm install)');
  }
  // node-gyp: the project's, else the one npm runs scripts with, else the one bundled with npm
  const candidates = [];
  try {
    candidates.push(createRequire(path.join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  candidates.push(path.join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  gyp = candidates.find((c) => existsSync(c)) ?? null;
  if (!gyp) skip('node-gyp not found (npm install, or an npm that bundles node-gyp)');
  for (const dir of [process.env.npm_config_nodedir, prefix, '/usr'].filter(Boolean)) {
    if (existsSync(path.join(dir, 'include/node/node_api.h'))) {
      nodedir = dir;
      break;
    }
  }
  if (!nodedir) skip(`Node's headers not found (<nodedir>/include/node/node_api.h under ${prefix} or /usr)`);
  if (!which('make') || !(which('g++') || which('c++'))) skip('make and g++ are needed (apt-get install build-essential)');
}

const t0 = Date.now();
// ---- the addon (first: node-gyp rebuild empties native/build) ----
if (!bpfOnly) {
  const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=max'], {
    cwd: here,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, PATH },
  });
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    fail('node-gyp rebuild');
  }
  const warnings = (r.stdout + r.stderr).split('\n').filter((l) => /warning:/.test(l));
  if (warnings.length) process.stderr.write(`${tag} compiler warnings:\n${warnings.join('\n')}\n`);
}

// ---- vmlinux.h and the BPF object ----
mkdirSync(path.join(build, 'bpf'), { recursive: true });
try {
  const h = execFileSync(bpftool, ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], {
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  writeFileSync(path.join(build, 'vmlinux.h'), h);
} catch (e) {
  fail('bpftool btf dump', e.message);
}
const obj = path.join(build, 'bpf', 'spanwire.bpf.o');
{
  const r = spawnSync(
    clang,
    ['-O2', '-g', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-Wall', '-Wno-unused-function', '-I', build, '-I', path.join(here, 'bpf'),
      '-c', path.join(here, 'bpf', 'spanwire.bpf.c'), '-o', obj],
    { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    fail('clang (BPF object)');
  }
  if (r.stderr) process.stderr.write(r.stderr);
}
const addon = path.join(build, 'Release', 'spanwire_native.node');
console.log(
  `${tag} built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ` +
    (bpfOnly ? '' : `${path.relative(root, addon)}, `) +
    `${path.relative(root, obj)} (${statSync(obj).size} bytes)`,
);
