/**
 * A real @grpc/grpc-js server and client for test/e2e/grpc.test.ts, without .proto files: the service is a
 * definition object with fully qualified method paths and JSON-in-a-Buffer messages. Each call the client
 * makes is recorded as the test expects to see it on the wire (method, status the server was told to
 * answer, messages each way). Test infrastructure only; no project code.
 */
import * as grpc from '@grpc/grpc-js';

export type Msg = Record<string, unknown>;

const ser = (o: Msg) => Buffer.from(JSON.stringify(o));
const de = (b: Buffer) => JSON.parse(b.toString('utf8')) as Msg;

function method(path: string, requestStream: boolean, responseStream: boolean) {
  return { path, requestStream, responseStream, requestSerialize: ser, requestDeserialize: de, responseSerialize: ser, responseDeserialize: de };
}

export const PACKAGE_SERVICE = 'spanwire.test.Echo';
/** The service: unary, server streaming, client streaming and bidirectional streaming methods. */
export const ECHO = {
  Unary: method(`/${PACKAGE_SERVICE}/Unary`, false, false),
  ServerStream: method(`/${PACKAGE_SERVICE}/ServerStream`, false, true),
  ClientStream: method(`/${PACKAGE_SERVICE}/ClientStream`, true, false),
  BidiStream: method(`/${PACKAGE_SERVICE}/BidiStream`, true, true),
} satisfies grpc.ServiceDefinition;

/** The grpc-message the server sends with NOT_FOUND. */
export const NOT_FOUND_MESSAGE = 'no such item';

/**
 * Starts the server on 127.0.0.1:port (insecure: h2c with prior knowledge).
 * - Unary: `{ text: 'missing' }` is answered NOT_FOUND "no such item"; anything else is echoed back.
 * - ServerStream: `{ count: N }` writes N messages and ends OK; with `hold: true` it writes them and then
 *   waits until the client cancels.
 * - ClientStream: counts the client's messages, answers `{ received: n }`.
 * - BidiStream: echoes every message, ends when the client ends.
 */
export async function startEchoServer(port: number): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(ECHO, {
    Unary: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      if (call.request.text === 'missing') cb({ code: grpc.status.NOT_FOUND, details: NOT_FOUND_MESSAGE });
      else cb(null, { text: call.request.text });
    },
    ServerStream: (call: grpc.ServerWritableStream<Msg, Msg>) => {
      const n = Number(call.request.count);
      for (let i = 0; i < n; i++) call.write({ seq: i });
      if (call.request.hold) {
        call.on('cancelled', () => call.end());
        return;
      }
      call.end();
    },
    ClientStream: (call: grpc.ServerReadableStream<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      let n = 0;
      call.on('data', () => n++);
      call.on('end', () => cb(null, { received: n }));
    },
    BidiStream: (call: grpc.ServerDuplexStream<Msg, Msg>) => {
      call.on('data', (m: Msg) => call.write({ echo: m.seq }));
      call.on('end', () => call.end());
    },
  });
  await new Promise<void>((res, rej) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())),
  );
  return server;
}

/** One call as the test expects it on the wire. */
export interface Call {
  label: string;
  /** `pkg.Service/Method` (the `:path` without its leading '/'). */
  rpc: string;
  /** Status name the server answered, or undefined when no grpc-status went on the wire (cancelled call). */
  status: string | undefined;
  message: string;
  requestMessages: number;
  responseMessages: number;
  /** The deadline the client set, in ms from the call's start; undefined: no deadline. */
  deadlineMs: number | undefined;
  /** The client cancelled the call (RST_STREAM CANCEL on the wire). */
  cancelled: boolean;
}

type Client = grpc.Client & Record<keyof typeof ECHO, (...args: unknown[]) => unknown>;

export function echoClient(port: number): Client {
  const Ctor = grpc.makeGenericClientConstructor(ECHO, 'Echo');
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
}

function unary(client: Client, req: Msg, opts: grpc.CallOptions): Promise<{ err: grpc.ServiceError | null; resp: Msg | undefined }> {
  return new Promise((res) => client.Unary(req, opts, (err: grpc.ServiceError | null, resp?: Msg) => res({ err, resp })));
}

/**
 * Makes the calls one after the other on one client (one HTTP/2 connection) and returns what each should
 * look like on the wire. Every outcome the client sees is checked here, so a misbehaving peer fails the test
 * before spanwire is even run.
 */
export async function makeCalls(client: Client, deadlineMs: number): Promise<Call[]> {
  const calls: Call[] = [];
  const rpc = (m: keyof typeof ECHO) => ECHO[m].path.slice(1);
  const base = { message: '', deadlineMs: undefined, cancelled: false };
  const check = (cond: boolean, what: string) => {
    if (!cond) throw new Error(`gRPC peer misbehaved: ${what}`);
  };

  // 1. unary OK
  let r = await unary(client, { text: 'hello' }, {});
  check(r.err === null && r.resp?.text === 'hello', `unary OK: ${r.err?.message}`);
  calls.push({ ...base, label: 'unary OK', rpc: rpc('Unary'), status: 'OK', requestMessages: 1, responseMessages: 1 });

  // 2. unary answered NOT_FOUND with a message (grpc-js sends it trailers-only)
  r = await unary(client, { text: 'missing' }, {});
  check(r.err?.code === grpc.status.NOT_FOUND && r.err.details === NOT_FOUND_MESSAGE, `NOT_FOUND: ${r.err?.code} ${r.err?.details}`);
  calls.push({ ...base, label: 'unary NOT_FOUND', rpc: rpc('Unary'), status: 'NOT_FOUND', message: NOT_FOUND_MESSAGE, requestMessages: 1, responseMessages: 0 });

  // 3. server streaming: 5 messages
  const got = await new Promise<number>((res, rej) => {
    let n = 0;
    const s = client.ServerStream({ count: 5 }) as grpc.ClientReadableStream<Msg>;
    s.on('data', () => n++);
    s.on('end', () => res(n));
    s.on('error', rej);
  });
  check(got === 5, `server streaming delivered ${got} messages`);
  calls.push({ ...base, label: 'server streaming', rpc: rpc('ServerStream'), status: 'OK', requestMessages: 1, responseMessages: 5 });

  // 4. client streaming: 4 messages
  const received = await new Promise<Msg>((res, rej) => {
    const s = client.ClientStream((e: grpc.ServiceError | null, resp?: Msg) => (e ? rej(e) : res(resp!))) as grpc.ClientWritableStream<Msg>;
    for (let i = 0; i < 4; i++) s.write({ chunk: i });
    s.end();
  });
  check(received.received === 4, `client streaming: server counted ${JSON.stringify(received)}`);
  calls.push({ ...base, label: 'client streaming', rpc: rpc('ClientStream'), status: 'OK', requestMessages: 4, responseMessages: 1 });

  // 5. unary with a deadline: grpc-timeout on the wire
  r = await unary(client, { text: 'in time' }, { deadline: Date.now() + deadlineMs });
  check(r.err === null && r.resp?.text === 'in time', `unary with deadline: ${r.err?.message}`);
  calls.push({ ...base, label: 'unary with deadline', rpc: rpc('Unary'), status: 'OK', requestMessages: 1, responseMessages: 1, deadlineMs });

  // 6. unary with 40 KiB messages each way: each message spans several DATA frames (max frame size 16 KiB)
  const big = 'x'.repeat(40 * 1024);
  r = await unary(client, { text: big }, {});
  check(r.err === null && r.resp?.text === big, `big unary: ${r.err?.message}`);
  calls.push({ ...base, label: 'unary 40 KiB', rpc: rpc('Unary'), status: 'OK', requestMessages: 1, responseMessages: 1 });

  // 7. bidirectional streaming: 3 messages each way
  const echoed = await new Promise<number>((res, rej) => {
    let n = 0;
    const s = client.BidiStream() as grpc.ClientDuplexStream<Msg, Msg>;
    s.on('data', () => n++);
    s.on('end', () => res(n));
    s.on('error', rej);
    for (let i = 0; i < 3; i++) s.write({ seq: i });
    s.end();
  });
  check(echoed === 3, `bidi streaming echoed ${echoed}`);
  calls.push({ ...base, label: 'bidi streaming', rpc: rpc('BidiStream'), status: 'OK', requestMessages: 3, responseMessages: 3 });

  // 8. server streaming cancelled by the client after 2 messages: RST_STREAM(CANCEL), no grpc-status
  const cancelledAfter = await new Promise<number>((res, rej) => {
    let n = 0;
    const s = client.ServerStream({ count: 2, hold: true }) as grpc.ClientReadableStream<Msg>;
    s.on('data', () => {
      if (++n === 2) s.cancel();
    });
    s.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? res(n) : rej(e)));
    s.on('end', () => rej(new Error('cancelled stream ended normally')));
  });
  check(cancelledAfter === 2, `cancelled stream got ${cancelledAfter} messages`);
  calls.push({ ...base, label: 'server streaming cancelled', rpc: rpc('ServerStream'), status: undefined, requestMessages: 1, responseMessages: 2, cancelled: true });

  return calls;
}
