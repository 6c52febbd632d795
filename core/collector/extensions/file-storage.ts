/**
 * `file_storage`: a directory that persistent sending queues keep their batches in (one file per
 * batch under a folder per exporter and signal), so unsent data survives a restart.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FileStorageConfig } from '../../../otel-config/components.js';
import type { Component } from '../component.js';

export class FileStorageExtension implements Component {
  constructor(
    readonly id: string,
    private readonly cfg: FileStorageConfig,
  ) {}

  get fsync(): boolean {
    return this.cfg.fsync;
  }

  async start(): Promise<void> {
    if (!existsSync(this.cfg.directory)) {
      if (!this.cfg.createDirectory) {
        throw new Error(`extensions::${this.id}::directory: "${this.cfg.directory}" does not exist (create it, or set create_directory: true)`);
      }
      mkdirSync(this.cfg.directory, { recursive: true, mode: 0o750 });
    } else if (!statSync(this.cfg.directory).isDirectory()) {
      throw new Error(`extensions::${this.id}::directory: "${this.cfg.directory}" is not a directory`);
    }
  }

  /** The folder of one client (an exporter's queue for one signal). */
  directoryFor(client: string): string {
    return join(this.cfg.directory, client);
  }

  async shutdown(): Promise<void> {}
}
