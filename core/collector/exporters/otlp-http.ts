/**
 * `otlphttp` (alias `otlp_http`) exporter transport: POST to <endpoint>/v1/traces (metrics, logs)
 * in protobuf or JSON, gzip by default, configured headers, TLS. As the OTLP specification says:
 * 429, 502, 503 and 504 are retryable (Retry-After honoured), any other failure is permanent.
 * Header values are never logged.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { gzipSync } from 'node:zlib';
import type { OtlpHttpExporterConfig, Signal } from '../../../otel-config/components.js';
import { ConsumerError } from '../component.js';
import { encodeRequest } from '../pdata/codec.js';
import type { SignalData } from '../pdata/model.js';
import type { Transport } from './exporter.js';

const RETRYABLE = new Set([429, 502, 503, 504]);

/** Retry-After: delay-seconds or an HTTP date, in ms. */
export function retryAfterMs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

export class OtlpHttpTransport<S extends Signal> implements Transport<S> {
  private readonly url: URL;
  private readonly tlsOpts: Record<string, unknown> = {};
  constructor(
    readonly id: string,
    readonly signal: S,
    private readonly cfg: OtlpHttpExporterConfig,
  ) {
    const u = signal === 'traces' ? cfg.tracesUrl : signal === 'metrics' ? cfg.metricsUrl : cfg.logsUrl;
    if (u === undefined) throw new Error(`exporters::${id}: no ${signal}_endpoint (or endpoint) is set`);
    this.url = new URL(u);
    const t = cfg.tls;
    if (t.caFile !== undefined) this.tlsOpts.ca = readFileSync(t.caFile);
    if (t.certFile !== undefined) this.tlsOpts.cert = readFileSync(t.certFile);
    if (t.keyFile !== undefined) this.tlsOpts.key = readFileSync(t.keyFile);
    if (t.insecureSkipVerify) this.tlsOpts.rejectUnauthorized = false;
    if (t.serverNameOverride !== undefined) this.tlsOpts.servername = t.serverNameOverride;
  }

  send(data: SignalData[S]): Promise<void> {
    let body = encodeRequest(this.signal, data, this.cfg.encoding);
    const headers: Record<string, string | number> = { ...this.cfg.headers, 'content-type': this.cfg.encoding === 'json' ? 'application/json' : 'application/x-protobuf', 'user-agent': 'spanwire' };
    if (this.cfg.compression === 'gzip') {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = body.length;
    const req = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const r = req(this.url, { method: 'POST', headers, timeout: this.cfg.timeoutMs || undefined, ...this.tlsOpts }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          if (n < 4096) chunks.push(c);
          n += c.length;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve();
          const text = Buffer.concat(chunks).toString('utf8', 0, Math.min(n, 300)).replace(/[^\x20-\x7e]+/g, ' ').trim();
          const msg = `${this.url.origin}${this.url.pathname}: HTTP ${status}${text !== '' ? ` (${text})` : ''}`;
          if (RETRYABLE.has(status)) reject(ConsumerError.retryable(msg, retryAfterMs(res.headers['retry-after'])));
          else reject(ConsumerError.permanent(msg));
        });
        res.on('error', (e) => reject(ConsumerError.retryable(`${this.url.origin}: ${e.message}`)));
      });
      r.on('timeout', () => r.destroy(new Error(`no answer within ${this.cfg.timeoutMs} ms`)));
      r.on('error', (e) => reject(ConsumerError.retryable(`${this.url.origin}${this.url.pathname}: ${e.message}`)));
      r.end(body);
    });
  }
}
