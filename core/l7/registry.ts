import type { ProtocolParser } from './types.js';

/**
 * The set of parsers the dispatcher may choose from. Plugins (`registerPlugin`: Wasm parsers) are
 * probed before every built-in, in registration order; then built-ins whose port hints match the
 * flow, then the rest in registration order.
 */
export class ParserRegistry {
  private readonly parsers: ProtocolParser[] = [];
  private pluginCount = 0;
  private readonly byName = new Map<string, ProtocolParser>();
  private readonly hintPorts = new Set<number>();

  register(parser: ProtocolParser): this {
    return this.add(parser, false);
  }

  /** A plugin parser: probed before the built-ins whatever the ports. */
  registerPlugin(parser: ProtocolParser): this {
    return this.add(parser, true);
  }

  private add(parser: ProtocolParser, plugin: boolean): this {
    if (this.byName.has(parser.name)) throw new Error(`parser '${parser.name}' is registered twice`);
    if (plugin) this.parsers.splice(this.pluginCount++, 0, parser);
    else this.parsers.push(parser);
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
    const plugins: ProtocolParser[] = [];
    const first: ProtocolParser[] = [];
    const rest: ProtocolParser[] = [];
    for (let i = 0; i < this.parsers.length; i++) {
      const p = this.parsers[i];
      if (!p.transports.includes(transport)) continue;
      if (i < this.pluginCount) plugins.push(p);
      else if (p.ports.includes(portX) || p.ports.includes(portY)) first.push(p);
      else rest.push(p);
    }
    return plugins.length > 0 ? plugins.concat(first, rest) : first.concat(rest);
  }
}
