/**
 * Isolation (wasm-sdk/ABI.md "Isolation"): plugins that trap, never return, exhaust their memory or
 * return garbage are stopped, counted, re-created or disabled, and never take spanwire down. Each
 * case has its own hostile plugin in test/fixtures/wasm/.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestPlugin } from '../fixtures/wasm/build.js';
import { WasmPlugin, WasmPluginError, WasmProtocolParser, loadWasmPlugins, registerWasmPlugins } from '../../core/l7/wasm/index.js';
import { PluginHarness } from '../../core/l7/wasm/harness.js';
import { PARSE_ERROR, PROBE_NO, PROBE_REQUEST } from '../../core/l7/types.js';
import { createDefaultRegistry } from '../../parsers/index.js';
import { replaySpans } from '../helpers/replay.js';
import { tcpConversation, tempDir, writePcap } from '../helpers/pcap-builder.js';

const HINT = { transport: 'tcp' as const, port: 1, toServer: null };
const files: Record<string, string> = {};

beforeAll(async () => {
  for (const name of ['trap', 'loop', 'grow', 'garbage', 'abi2']) files[name] = await buildTestPlugin(`test/fixtures/wasm/${name}.ts`);
}, 120_000);

async function parserFor(name: string, limits = {}): Promise<WasmProtocolParser> {
  return new WasmProtocolParser(await WasmPlugin.load(files[name], limits));
}

describe('a plugin that traps', () => {
  it('stops the flow whose call trapped, re-creates the instance, and resynchronises the other flows', async () => {
    const parser = await parserFor('trap');
    const a = new PluginHarness(parser);
    const b = new PluginHarness(parser);
    expect(a.feed(true, '!one')).toBe(4);
    expect(b.feed(true, '!two')).toBe(4);
    expect(a.feed(true, 'T poison')).toBe(PARSE_ERROR);
    expect(a.anomalies).toEqual(['traptest_wasm_trap']);
    expect(parser.plugin.stats).toMatchObject({ traps: 1, timeouts: 0, reinstantiations: 1, disabled: false });
    expect(parser.plugin.stats.lastTrap).toContain('poison message');
    // The other flow goes on in the new instance; its next message is marked as following lost state.
    expect(b.feed(false, 'ok')).toBe(2);
    expect(b.messages.map((m) => [m.type, m.afterGap])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(a.feed(true, '!more')).toBe(0); // the stopped flow gets nothing more
  });

  it('counts unreachable and division by zero as traps too', async () => {
    const parser = await parserFor('trap');
    expect(new PluginHarness(parser).feed(true, 'U')).toBe(PARSE_ERROR);
    expect(new PluginHarness(parser).feed(true, 'D')).toBe(PARSE_ERROR);
    expect(parser.plugin.stats).toMatchObject({ traps: 2, reinstantiations: 2 });
    expect(parser.plugin.stats.lastTrap).toMatch(/divide by zero/i);
    const c = new PluginHarness(parser);
    expect(c.feed(true, '!fine')).toBe(5);
    expect(c.messages).toHaveLength(1);
  });

  it('is disabled after maxTraps traps', async () => {
    const parser = await parserFor('trap', { maxTraps: 3 });
    for (let i = 0; i < 3; i++) new PluginHarness(parser).feed(true, 'T');
    expect(parser.plugin.stats.disabled).toBe(true);
    expect(parser.plugin.stats.disabledReason).toMatch(/3 traps/);
    expect(parser.probe(Buffer.from('!x'), 0, 2, HINT)).toBe(PROBE_NO);
    expect(new PluginHarness(parser).feed(true, '!x')).toBe(PARSE_ERROR);
  });

  it('does not stop a replay: the trapping flow ends, the others and the built-in parsers go on', async () => {
    const plugins = await loadWasmPlugins([files.trap]);
    const registry = createDefaultRegistry();
    registerWasmPlugins(registry, plugins);
    const dir = tempDir();
    const conv = (clientPort: number, exchanges: { from: 'client' | 'server'; data: string }[], serverPort = 7101) =>
      tcpConversation({ client: '10.0.0.1', server: '10.0.0.2', clientPort, serverPort, exchanges });
    const frames = [
      ...conv(40001, [{ from: 'client', data: '!a' }, { from: 'server', data: 'ok' }, { from: 'client', data: 'T' }]),
      ...conv(40002, [{ from: 'client', data: '!b' }, { from: 'server', data: 'ok' }]),
      ...conv(40003, [{ from: 'client', data: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' }, { from: 'server', data: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' }], 80),
    ];
    const { spans, summary } = await replaySpans([writePcap(join(dir, 'trap.pcap'), frames)], { registry });
    expect(spans.map((s) => [s.attributes['spanwire.protocol'], s.name])).toEqual([
      ['traptest', 'CALL'],
      ['traptest', 'CALL'],
      ['http1', 'GET'],
    ]);
    expect(summary.anomalies.traptest_wasm_trap).toBe(1);
    expect(plugins[0].stats.traps).toBe(1);
  });
});

describe('a plugin that never returns', () => {
  it('is stopped by its fuel budget, counted as a timeout, and disabled after maxTimeouts', async () => {
    const parser = await parserFor('loop', { fuelPerCall: 2_000_000, maxTimeouts: 3 });
    const t0 = performance.now();
    const h = new PluginHarness(parser);
    expect(h.feed(true, 'L')).toBe(PARSE_ERROR);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(h.anomalies).toEqual(['looptest_wasm_timeout']);
    expect(parser.plugin.stats).toMatchObject({ timeouts: 1, traps: 1, disabled: false });
    expect(new PluginHarness(parser).feed(true, '!ok')).toBe(3); // still working
    expect(parser.probe(Buffer.from('P'), 0, 1, HINT)).toBe(PROBE_NO); // a probe that loops
    expect(parser.plugin.stats.timeouts).toBe(2);
    expect(new PluginHarness(parser).feed(true, 'L')).toBe(PARSE_ERROR);
    expect(parser.plugin.stats).toMatchObject({ timeouts: 3, disabled: true });
    expect(parser.plugin.stats.disabledReason).toMatch(/3 calls over the time budget/);
    expect(parser.probe(Buffer.from('!'), 0, 1, HINT)).toBe(PROBE_NO);
  });

  it('stops unbounded recursion', async () => {
    const parser = await parserFor('loop');
    const h = new PluginHarness(parser);
    expect(h.feed(true, 'R')).toBe(PARSE_ERROR);
    expect(parser.plugin.stats.traps).toBe(1);
    expect(new PluginHarness(parser).feed(true, '!ok')).toBe(3);
  });

  it('the default budget lets an honest call through', async () => {
    const parser = await parserFor('loop');
    expect(parser.probe(Buffer.from('!'), 0, 1, HINT)).toBe(PROBE_REQUEST);
    const h = new PluginHarness(parser);
    expect(h.feed(true, Buffer.alloc(60000, 0x21))).toBe(60000);
    expect(parser.plugin.stats.traps).toBe(0);
  });
});

describe('a plugin that grows its memory past the cap', () => {
  it('cannot pass the cap; the allocation failure is a counted memory fault and the instance comes back', async () => {
    const parser = await parserFor('grow', { maxMemoryMiB: 16 });
    const plugin = parser.plugin;
    expect(plugin.memoryCapBytes).toBe(16 << 20);
    const h = new PluginHarness(parser);
    expect(h.feed(true, 'M')).toBe(PARSE_ERROR);
    expect(h.anomalies).toEqual(['growtest_wasm_memory']);
    expect(plugin.stats).toMatchObject({ memoryFaults: 1, traps: 1, reinstantiations: 1 });
    const g = new PluginHarness(parser);
    expect(g.feed(true, 'G')).toBe(PARSE_ERROR);
    expect(plugin.stats.memoryFaults).toBe(2);
    const ok = new PluginHarness(parser);
    expect(ok.feed(true, '!fine')).toBe(5);
    expect(ok.messages).toHaveLength(1);
  });

  it('refuses a cap below what the module needs at start', async () => {
    await expect(WasmPlugin.load(files.grow, { maxMemoryMiB: 0.0625 })).rejects.toThrow(/memory pages at start, more than the cap/);
  });
});

describe('a plugin that returns garbage', () => {
  it('rejects results out of range and counts them', async () => {
    const parser = await parserFor('garbage');
    const p = parser.plugin;
    expect(parser.probe(Buffer.from('?'), 0, 1, HINT)).toBe(PROBE_NO);
    expect(p.stats.badResults).toBe(1);
    const c = new PluginHarness(parser);
    expect(c.feed(true, 'C')).toBe(PARSE_ERROR); // consumed more than given
    expect(c.anomalies).toEqual(['garbagetest_wasm_bad_result']);
    const n = new PluginHarness(parser);
    expect(n.feed(true, 'N')).toBe(PARSE_ERROR); // -7
    expect(p.stats.badResults).toBe(3);
    const hdr = new PluginHarness(parser);
    expect(hdr.feed(true, 'H')).toBe(1); // a header claiming 100000 records: nothing is read
    expect(hdr.messages).toHaveLength(0);
    expect(p.stats.badResults).toBe(4);
    expect(p.stats.traps).toBe(0);
  });

  it('drops bad records one by one and keeps the good ones', async () => {
    const parser = await parserFor('garbage');
    const h = new PluginHarness(parser);
    expect(h.feed(true, 'KOASV')).toBe(5);
    expect(h.messages).toHaveLength(1);
    expect(h.messages[0].attrs).toEqual({ 'test.ok': 'yes' });
    expect(h.describe(h.messages[0], null).name).toBe('VALID');
    expect(parser.plugin.stats.badRecords).toBe(4);
    expect(h.anomalies.filter((a) => a === 'garbagetest_wasm_bad_record')).toHaveLength(4);
  });
});

describe('loading', () => {
  it('refuses another ABI version with a message that says what to do', async () => {
    const err = await WasmPlugin.load(files.abi2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WasmPluginError);
    expect((err as Error).message).toMatch(/plugin ABI version 2, this spanwire speaks version 1: rebuild the plugin/);
  });

  it('refuses a file that is not a plugin', async () => {
    await expect(WasmPlugin.load('x.wasm', {}, Buffer.from('not wasm'))).rejects.toThrow(/not a valid WebAssembly module/);
    const empty = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    await expect(WasmPlugin.load('empty.wasm', {}, empty)).rejects.toThrow(/has no memory/);
    await expect(WasmPlugin.load('/nonexistent/p.wasm')).rejects.toThrow(/cannot read/);
  });

  it('refuses a protocol name a built-in parser has', async () => {
    const plugins = await loadWasmPlugins([files.trap]);
    const registry = createDefaultRegistry();
    registerWasmPlugins(registry, plugins);
    expect(() => registerWasmPlugins(registry, plugins)).toThrow(/'traptest' is already taken/);
  });
});
