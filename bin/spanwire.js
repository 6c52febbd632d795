#!/usr/bin/env node
// Entry point of the `spanwire` command: the compiled CLI lives in dist/ (built by `npm install`/`npm run build`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/core/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('spanwire: dist/ is missing: run `npm install` (or `npm run build`) in the spanwire folder first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
