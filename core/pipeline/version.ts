import { readFileSync } from 'node:fs';
import type { InstrumentationScope } from '../trace/span.js';

function readVersion(): string {
  // dist/core/pipeline/version.js and core/pipeline/version.ts are both three levels below the root.
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'spanwire' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

export const SPANWIRE_VERSION = readVersion();

/** The instrumentation scope of every span spanwire builds from traffic (one shared object). */
export const SPANWIRE_SCOPE: InstrumentationScope = Object.freeze({ name: 'spanwire', version: SPANWIRE_VERSION });
