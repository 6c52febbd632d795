/**
 * `health_check`: `GET <path>` answers 200 while the collector runs (after every component
 * started) and 503 before and while it stops, with the Collector's JSON body.
 */
import { createServer, type Server } from 'node:http';
import type { HealthCheckConfig } from '../../../otel-config/components.js';
import type { Component } from '../component.js';
import { listenOn } from '../listen.js';

export class HealthCheckExtension implements Component {
  private server: Server | null = null;
  private ready = false;
  private readonly since = new Date();
  port = 0;

  constructor(
    readonly id: string,
    private readonly cfg: HealthCheckConfig,
  ) {}

  setReady(ready: boolean): void {
    this.ready = ready;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== this.cfg.path) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      const body = JSON.stringify({ status: this.ready ? 'Server available' : 'Server not available', upSince: this.since.toISOString(), uptime: `${((Date.now() - this.since.getTime()) / 1000).toFixed(3)}s` });
      res.writeHead(this.ready ? 200 : 503, { 'content-type': 'application/json' }).end(body);
    });
    this.port = await listenOn(this.server, this.cfg.endpoint, `extensions::${this.id}::endpoint`);
  }

  async shutdown(): Promise<void> {
    this.ready = false;
    const s = this.server;
    this.server = null;
    if (s !== null) await new Promise((r) => s.close(r));
  }
}
