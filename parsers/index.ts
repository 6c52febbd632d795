/**
 * The built-in protocols: one line each. Order is only a tie-break for detection (port hints come
 * first); Wasm plugins will be registered ahead of these.
 */
import { ParserRegistry } from '../core/l7/registry.js';
import type { ProtocolParser } from '../core/l7/types.js';
import { http1Parser } from './http1/index.js';
import { http2Parser } from './http2/index.js';
import { dnsParser } from './dns/index.js';
import { redisParser } from './redis/index.js';
import { postgresqlParser } from './postgresql/index.js';
import { mysqlParser } from './mysql/index.js';
import { kafkaParser } from './kafka/index.js';
import { dubboParser } from './dubbo/index.js';
import { mqttParser } from './mqtt/index.js';

export const BUILTIN_PARSERS: readonly ProtocolParser[] = [http1Parser, http2Parser, dnsParser, redisParser, postgresqlParser, mysqlParser, kafkaParser, dubboParser, mqttParser];

export function createDefaultRegistry(): ParserRegistry {
  const r = new ParserRegistry();
  for (const p of BUILTIN_PARSERS) r.register(p);
  return r;
}
