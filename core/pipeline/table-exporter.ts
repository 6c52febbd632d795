import type { TextOutput } from './output.js';
import type { SpanData, TracesConsumer } from '../trace/span.js';
import { STATUS_ERROR, spanDurationNs } from '../trace/span.js';

const KIND = ['-', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
/** Attributes shown as the result, first present wins. */
const RESULT_KEYS = ['rpc.response.status_code', 'http.response.status_code', 'db.response.status_code', 'spanwire.dns.rcode'];
/** Attributes shown as the detail, first present wins. */
const DETAIL_KEYS = ['url.path', 'rpc.method', 'db.query.text', 'messaging.destination.name', 'dns.question.name'];

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function padLeft(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

function formatStart(t: [number, number]): string {
  const d = new Date(t[0] * 1000);
  const iso = d.toISOString(); // 2020-05-28T02:29:02.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(Math.floor(t[1] / 1000)).padStart(6, '0')}`;
}

export function formatDuration(ns: number): string {
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)}us`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(3)}ms`;
  return `${(ns / 1e9).toFixed(3)}s`;
}

/** A line per span for people: start, duration, client -> server, protocol, kind, name, result, detail. */
export class TableExporter implements TracesConsumer {
  private headerDone = false;
  spansWritten = 0;

  constructor(private readonly out: TextOutput) {}

  consumeTraces(spans: SpanData[]): void {
    if (!this.headerDone) {
      this.headerDone = true;
      this.out.write(
        `${pad('START (UTC)', 26)} ${padLeft('DURATION', 10)}  ${pad('CLIENT -> SERVER', 47)} ${pad('PROTO', 6)} ${pad('KIND', 8)} ${pad('NAME', 16)} ${pad('RESULT', 10)} DETAIL\n`,
      );
    }
    for (const sp of spans) {
      const a = sp.attributes;
      // Addresses as seen on the wire: server.address may be a Host name; the peer address is an IP.
      const conn =
        sp.kind === 2
          ? `${a['network.peer.address']}:${a['network.peer.port']} -> ${a['server.address']}:${a['server.port']}`
          : `${a['client.address']}:${a['client.port']} -> ${a['network.peer.address']}:${a['network.peer.port']}`;
      let result = '';
      for (const k of RESULT_KEYS) {
        if (a[k] !== undefined) {
          result = String(a[k]);
          break;
        }
      }
      if (sp.status.code === STATUS_ERROR) result = result ? `${result} ERR` : `ERR ${a['error.type'] ?? ''}`.trim();
      let detail = '';
      for (const k of DETAIL_KEYS) {
        if (a[k] !== undefined) {
          detail = String(a[k]);
          break;
        }
      }
      if (a['url.query'] !== undefined && detail === a['url.path']) detail += `?${a['url.query']}`;
      // gRPC: the name is already the method; show the messages each way.
      if (a['rpc.system.name'] === 'grpc' && a['spanwire.grpc.request.messages'] !== undefined) {
        detail = `messages ${a['spanwire.grpc.request.messages']} -> ${a['spanwire.grpc.response.messages'] ?? '?'}`;
      }
      if (detail.length > 80) detail = detail.slice(0, 77) + '...';
      this.out.write(
        `${formatStart(sp.startTime)} ${padLeft(formatDuration(spanDurationNs(sp)), 10)}  ${pad(conn, 47)} ${pad(String(a['spanwire.protocol'] ?? ''), 6)} ${pad(KIND[sp.kind] ?? '?', 8)} ${pad(sp.name, 16)} ${pad(result, 10)} ${detail}\n`,
      );
      this.spansWritten++;
    }
  }

  shutdown(): void {
    this.out.close();
  }
}
