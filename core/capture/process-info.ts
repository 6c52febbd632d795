/**
 * What eBPF spans say about their process (OTel process and container resource conventions):
 * `process.pid`, `process.executable.name`, `process.command_line`, `container.id` (from the cgroup
 * path), and `service.name` (the executable name unless configured). Read from /proc once per pid,
 * kept in a bounded table; one Resource object per process (exporters group by identity).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { Attributes, Resource } from '../trace/span.js';

const MAX_PROCESSES = 4096;
const MAX_COMMAND_LINE = 1024;

/** A 64-hex container id in a cgroup path (docker, containerd, cri-o, podman, kubepods). */
export function containerIdFromCgroup(text: string): string {
  const m = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$/m.exec(text);
  return m === null ? '' : m[1];
}

export class ProcessTable {
  private readonly byPid = new Map<number, Resource>();

  constructor(
    private readonly opts: { serviceName?: string; resourceAttributes?: Attributes; procRoot?: string } = {},
  ) {}

  /** The resource of `pid` (`comm`: the kernel's task name, used when /proc no longer has the process). */
  resource(pid: number, comm: string): Resource {
    let r = this.byPid.get(pid);
    if (r !== undefined) return r;
    if (this.byPid.size >= MAX_PROCESSES) this.byPid.clear();
    r = { attributes: this.read(pid, comm) };
    this.byPid.set(pid, r);
    return r;
  }

  /** A process exited or exec'd: read it again next time. */
  forget(pid: number): void {
    this.byPid.delete(pid);
  }

  private read(pid: number, comm: string): Attributes {
    const root = this.opts.procRoot ?? '/proc';
    let exePath = '';
    let name = '';
    let cmdline = '';
    let container = '';
    try {
      exePath = readlinkSync(`${root}/${pid}/exe`).replace(/ \(deleted\)$/, '');
    } catch {
      /* gone, or a kernel thread */
    }
    try {
      // OTel: process.executable.name is the Name of /proc/PID/status (the process's comm): redis-server, not
      // the binary a symlink points to (Debian's redis-server is a link to redis-check-rdb).
      name = readFileSync(`${root}/${pid}/comm`, 'utf8').trim();
    } catch {
      /* gone */
    }
    try {
      const raw = readFileSync(`${root}/${pid}/cmdline`);
      cmdline = raw.toString('utf8', 0, Math.min(raw.length, MAX_COMMAND_LINE)).replace(/\0+$/, '').replace(/\0/g, ' ');
    } catch {
      /* gone */
    }
    try {
      container = containerIdFromCgroup(readFileSync(`${root}/${pid}/cgroup`, 'utf8'));
    } catch {
      /* gone */
    }
    let configured = '';
    try {
      // The process's own OTEL_SERVICE_NAME, as OTel SDKs would use it.
      const env = readFileSync(`${root}/${pid}/environ`, 'latin1');
      const m = /(?:^|\0)OTEL_SERVICE_NAME=([^\0]+)/.exec(env);
      if (m !== null) configured = m[1].slice(0, 256);
    } catch {
      /* gone, or not readable */
    }
    if (name === '') name = exePath !== '' ? basename(exePath) : comm;
    const a: Attributes = { ...this.opts.resourceAttributes, 'service.name': this.opts.serviceName ?? (configured !== '' ? configured : name), 'process.pid': pid, 'process.executable.name': name };
    if (exePath !== '') a['process.executable.path'] = exePath;
    if (cmdline !== '') a['process.command_line'] = cmdline;
    if (container !== '') a['container.id'] = container;
    return a;
  }
}
