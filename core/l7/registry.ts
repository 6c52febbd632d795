import type { ProtocolParser } from './types.js';

/**
 * The set of parsers the dispatcher may choose from. Order matters only as a tie-break: parsers
 * whose port hints match the flow are probed first, then the rest in registration order.
 * Wasm plugins will be registered here too, ahead of built-ins.
 */
export class ParserRegistry {
  private readonly parsers: ProtocolParser[] = [];
  private readonly byName = new Map<string, ProtocolParser>();
  private readonly hintPorts = new Set<number>();

  register(parser: ProtocolParser): this {
    if (this.byName.has(parser.name)) throw new Error(`parser '${parser.name}' is registered twice`);
    this.parsers.push(parser);
    this.byName.set(parser.name, parser);
    for (const p of parser.ports) this.hintPorts.add(p);
    return this;
  }

  get(name: string): ProtocolParser | undefined {
    return this.byName.get(name);
  }

  get all(): readonly ProtocolParser[] {
    return this.parsers;
  }

  /** True when some parser names this port as a usual server port (used to guess the server side). */
  isHintPort(port: number): boolean {
    return this.hintPorts.has(port);
  }

  /**
   * Parsers to probe for a flow, best first: transport matches, port hints for `portX`/`portY` first.
   * Computed once per flow (not per packet).
   */
  candidates(transport: 'tcp' | 'udp', portX: number, portY: number): ProtocolParser[] {
    const first: ProtocolParser[] = [];
    const rest: ProtocolParser[] = [];
    for (const p of this.parsers) {
      if (!p.transports.includes(transport)) continue;
      if (p.ports.includes(portX) || p.ports.includes(portY)) first.push(p);
      else rest.push(p);
    }
    return first.concat(rest);
  }
}
