/**
 * Factories: one line per component type, building a runtime component from its validated config
 * (otel-config/components.ts holds the options; `spanwire components` lists these).
 */
import type {
  AfPacketReceiverConfig,
  AttrAction,
  BatchProcessorConfig,
  DebugExporterConfig,
  EbpfReceiverConfig,
  FileExporterConfig,
  FileStorageConfig,
  FilterProcessorConfig,
  HealthCheckConfig,
  MemoryLimiterConfig,
  OtlpGrpcExporterConfig,
  OtlpHttpExporterConfig,
  OtlpReceiverConfig,
  PcapReceiverConfig,
  PrometheusExporterConfig,
  ServiceGraphConnectorConfig,
  Signal,
  SpanMetricsConnectorConfig,
} from '../../otel-config/components.js';
import type { ComponentInstance } from '../../otel-config/validate.js';
import type { Component, Consumer } from './component.js';
import { ServiceGraphConnector } from './connectors/servicegraph.js';
import { SpanMetricsConnector } from './connectors/spanmetrics.js';
import { DebugTransport } from './exporters/debug.js';
import { Exporter, type Transport } from './exporters/exporter.js';
import { FileTransport } from './exporters/file.js';
import { OtlpGrpcTransport } from './exporters/otlp-grpc.js';
import { OtlpHttpTransport } from './exporters/otlp-http.js';
import { PrometheusTransport } from './exporters/prometheus.js';
import { FileStorageExtension } from './extensions/file-storage.js';
import { HealthCheckExtension } from './extensions/health-check.js';
import { AttributesProcessor } from './processors/attributes.js';
import { BatchProcessor } from './processors/batch.js';
import { FilterProcessor } from './processors/filter.js';
import { MemoryLimiterProcessor } from './processors/memory-limiter.js';
import { LiveReceiver, PcapReceiver } from './receivers/capture.js';
import { OtlpReceiver } from './receivers/otlp.js';

/** A processor: a consumer whose `next` the graph sets. */
export type Processor<S extends Signal> = Consumer<S> & Component & { next: Consumer<S> };
export type Receiver = Component & { id: string };
export type Connector = Consumer<'traces'> & Component & { next: Consumer<'metrics'> };

export function createReceiver(inst: ComponentInstance): Receiver {
  switch (inst.type) {
    case 'otlp':
      return new OtlpReceiver(inst.id, inst.config as OtlpReceiverConfig);
    case 'pcap':
      return new PcapReceiver(inst.id, inst.config as PcapReceiverConfig);
    case 'ebpf':
      return new LiveReceiver(inst.id, 'ebpf', inst.config as EbpfReceiverConfig);
    case 'af_packet':
      return new LiveReceiver(inst.id, 'af_packet', inst.config as AfPacketReceiverConfig);
  }
  throw new Error(`${inst.path}: no factory for receiver type ${inst.type}`);
}

export function createProcessor<S extends Signal>(inst: ComponentInstance, signal: S): Processor<S> {
  switch (inst.type) {
    case 'batch':
      return new BatchProcessor(inst.id, signal, inst.config as BatchProcessorConfig);
    case 'memory_limiter':
      return new MemoryLimiterProcessor(inst.id, signal, inst.config as MemoryLimiterConfig);
    case 'attributes':
      return new AttributesProcessor(inst.id, signal, inst.config as AttrAction[], 'record');
    case 'resource':
      return new AttributesProcessor(inst.id, signal, inst.config as AttrAction[], 'resource');
    case 'filter':
      return new FilterProcessor(inst.id, inst.config as FilterProcessorConfig) as unknown as Processor<S>;
  }
  throw new Error(`${inst.path}: no factory for processor type ${inst.type}`);
}

export function createExporter<S extends Signal>(inst: ComponentInstance, signal: S): Exporter<S> {
  let t: Transport<S>;
  switch (inst.type) {
    case 'otlp':
      t = new OtlpGrpcTransport(inst.id, signal, inst.config as OtlpGrpcExporterConfig);
      break;
    case 'otlphttp':
      t = new OtlpHttpTransport(inst.id, signal, inst.config as OtlpHttpExporterConfig);
      break;
    case 'debug':
    case 'logging':
      t = new DebugTransport(inst.id, signal, inst.config as DebugExporterConfig);
      break;
    case 'file':
      t = new FileTransport(inst.id, signal, inst.config as FileExporterConfig);
      break;
    case 'prometheus':
      t = new PrometheusTransport(inst.id, inst.config as PrometheusExporterConfig) as unknown as Transport<S>;
      break;
    default:
      throw new Error(`${inst.path}: no factory for exporter type ${inst.type}`);
  }
  return new Exporter(inst.id, signal, inst.config as OtlpGrpcExporterConfig, t);
}

export function createConnector(inst: ComponentInstance): Connector {
  switch (inst.type) {
    case 'spanmetrics':
      return new SpanMetricsConnector(inst.id, inst.config as SpanMetricsConnectorConfig);
    case 'servicegraph':
      return new ServiceGraphConnector(inst.id, inst.config as ServiceGraphConnectorConfig);
  }
  throw new Error(`${inst.path}: no factory for connector type ${inst.type}`);
}

export function createExtension(inst: ComponentInstance): Component {
  switch (inst.type) {
    case 'health_check':
      return new HealthCheckExtension(inst.id, inst.config as HealthCheckConfig);
    case 'file_storage':
      return new FileStorageExtension(inst.id, inst.config as FileStorageConfig);
  }
  throw new Error(`${inst.path}: no factory for extension type ${inst.type}`);
}
