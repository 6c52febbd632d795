import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReplayOptions, ReplaySummary } from '../../core/pipeline/replay.js';
import { runReplay } from '../../core/pipeline/replay.js';
import type { SpanData } from '../../core/trace/span.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The shared capture corpus (../shared/pcaps beside the repository). */
export const PCAPS = resolve(ROOT, '../shared/pcaps');

/** Replays files through the real pipeline and returns the spans in emission order. */
export async function replaySpans(
  files: string[],
  opts: Partial<ReplayOptions> = {},
): Promise<{ spans: SpanData[]; summary: ReplaySummary }> {
  const spans: SpanData[] = [];
  const summary = await runReplay({
    files,
    consumer: { consumeTraces: (b) => void spans.push(...b) },
    idSeed: 1,
    ...opts,
  });
  return { spans, summary };
}

/** tshark as the oracle: rows of tab-separated fields (one row per matching frame). */
export function tshark(file: string, filter: string, fields: string[], extra: string[] = []): string[][] {
  // `extra` last: it may override the defaults (e.g. '-E occurrence=a').
  const args = ['-r', file, '-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f', ...extra];
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/** Span duration in microseconds (rounded). */
export function durationUs(s: SpanData): number {
  return Math.round(((s.endTime[0] - s.startTime[0]) * 1e9 + (s.endTime[1] - s.startTime[1])) / 1e3);
}

/** Span start as seconds since the epoch with microseconds, like tshark's frame.time_epoch. */
export function startEpoch(s: SpanData): string {
  return `${s.startTime[0]}.${String(Math.floor(s.startTime[1] / 1e3)).padStart(6, '0')}`;
}
