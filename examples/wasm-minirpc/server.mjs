#!/usr/bin/env node
// minirpc example server: node server.mjs PORT
//   Echo      -> status 0, the request body
//   GetUser   -> status 0 and a JSON user for ids 1-3, status 5 "no such user" otherwise
//   Slow      -> answered after 150 ms (later requests on the connection are answered first)
//   Log       -> one-way: no response
//   anything else -> status 12 "unknown method"
import { createServer } from 'node:net';
import { encodeResponse, frameReader, TYPE_ONE_WAY } from './protocol.mjs';

const port = Number(process.argv[2] ?? 7070);
const server = createServer((sock) => {
  sock.on('error', () => {});
  sock.on(
    'data',
    frameReader((f) => {
      if (f.type === TYPE_ONE_WAY) return;
      const reply = (status, body) => sock.write(encodeResponse(f.id, status, Buffer.from(body)));
      switch (f.method) {
        case 'Echo':
          return reply(0, f.body);
        case 'GetUser': {
          const id = Number(f.body.toString());
          return id >= 1 && id <= 3 ? reply(0, JSON.stringify({ id, name: `user${id}` })) : reply(5, 'no such user');
        }
        case 'Slow':
          return setTimeout(() => reply(0, 'done'), 150);
        default:
          return reply(12, 'unknown method');
      }
    }),
  );
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
