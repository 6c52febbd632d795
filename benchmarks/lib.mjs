/**
 * Shared by the benchmark runners (benchmarks/replay/run.mjs, benchmarks/dns/run.mjs): paths, process
 * helpers, timing under /usr/bin/time, and the dated sections appended to RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = join(ROOT, 'benchmarks', 'out');
export const RESULTS = join(ROOT, 'benchmarks', 'RESULTS.md');
export const SPANWIRE = join(ROOT, 'bin', 'spanwire.js');
export const DIST = join(ROOT, 'dist');
export const TIME = '/usr/bin/time';

/** 1-minute load average when the benchmark began (2 cores: above ~0.5 the numbers are disturbed). */
const LOAD_AT_START = os.loadavg()[0].toFixed(2);

/**
 * The helpers that print with the runner's prefix (e.g. 'bench:replay') and generate with its gen.mjs.
 * `die` exits with code 2.
 */
export function createBench(prefix, gen) {
  const die = (msg) => {
    process.stderr.write(`${prefix}: ${msg}\n`);
    process.exit(2);
  };
  const log = (msg) => {
    process.stderr.write(`${prefix}: ${msg}\n`);
  };
  const GEN = gen;

  /** Generates `pcap` (and its truth file) unless both exist and are newer than gen.mjs. */
  function ensureCapture(pcap, genArgs) {
    const truthFile = `${pcap}.truth.json`;
    if (existsSync(pcap) && existsSync(truthFile) && statSync(truthFile).mtimeMs > statSync(GEN).mtimeMs) {
      log(`using existing ${relative(ROOT, pcap)}`);
    } else {
      log(`generating ${relative(ROOT, pcap)} ...`);
      const r = spawnSync(process.execPath, [GEN, pcap, ...genArgs], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) die(`gen.mjs failed (exit ${r.status})`);
    }
    return JSON.parse(readFileSync(truthFile, 'utf8'));
  }

  /**
   * Runs `cmd args` under /usr/bin/time `runs` times with stdout to /dev/null.
   * Returns { ok, error, times[], best, median, rssKB } (rssKB = the highest peak RSS over the runs).
   */
  function measure(cmd, args, runs) {
    const timeFile = join(OUT_DIR, '.time.txt');
    const devnull = openSync('/dev/null', 'w');
    const times = [];
    let rssKB = 0;
    try {
      for (let i = 0; i < runs; i++) {
        const t0 = process.hrtime.bigint();
        const r = spawnSync(TIME, ['-f', '%e %M', '-o', timeFile, cmd, ...args], {
          stdio: ['ignore', devnull, 'pipe'],
          maxBuffer: 64 << 20,
        });
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        if (r.status !== 0) {
          const err = String(r.stderr ?? '')
            .split('\n')
            .filter((l) => l.trim() && !l.startsWith('Running as user'))
            .slice(-5)
            .join(' | ');
          return { ok: false, error: `exit ${r.status}: ${err || '(no stderr)'}` };
        }
        const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
        const kb = Number(last.split(' ')[1]);
        if (Number.isFinite(kb)) rssKB = Math.max(rssKB, kb);
        times.push(secs);
        log(`  run ${i + 1}/${runs}: ${secs.toFixed(3)} s, ${(kb / 1024).toFixed(0)} MB peak RSS`);
      }
    } finally {
      closeSync(devnull);
      rmSync(timeFile, { force: true });
    }
    const sorted = [...times].sort((a, b) => a - b);
    return { ok: true, times, best: sorted[0], median: sorted[Math.floor(sorted.length / 2)], rssKB };
  }

  return { die, log, ensureCapture, measure };
}

export function which(bin) {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

export function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim() && !l.startsWith('Running as user')) ?? '?';
}

/** Why spanwire cannot run yet, or '' if it can. */
export function spanwireMissing() {
  if (!existsSync(SPANWIRE)) return 'bin/spanwire.js is missing (the CLI has not landed yet)';
  if (!existsSync(DIST) || readdirSync(DIST).length === 0) return 'dist/ is missing: run npm run build';
  return '';
}

export function sameCounts(a, b) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

export function gitDescription() {
  const rev = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (rev.status !== 0) return 'an unknown commit (not a git checkout)';
  const clean = spawnSync('git', ['-C', ROOT, 'diff', '--quiet', 'HEAD']).status === 0;
  return `commit ${rev.stdout.trim()}${clean ? '' : ' + uncommitted changes'}`;
}

/** Appends a dated section (machine, versions, commit, load) with `table` to RESULTS.md, created with `header` when missing. */
export function recordResults(title, table, header) {
  if (!existsSync(RESULTS)) writeFileSync(RESULTS, header);
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) ?? [])[1] ?? 'unknown CPU';
  const section = [
    '',
    `## ${title}${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- machine: \`${firstLine('uname', ['-srm'])}\`, ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    `- node ${process.version}; ${firstLine('tshark', ['--version']).replace(/\.$/, '')}; ${firstLine('tcpdump', ['--version'])}`,
    `- spanwire at ${gitDescription()}`,
    `- load average when the runs started: ${LOAD_AT_START} (other work on the machine slows every row)`,
    '',
    table,
    '',
  ].join('\n');
  appendFileSync(RESULTS, section);
}
