/** Listening on a config endpoint ("host:port"; localhost means 127.0.0.1), with a clear failure. */
import type { Server } from 'node:net';

export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  let host = endpoint.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  if (host === '' || host === 'localhost') host = '127.0.0.1';
  return { host, port: Number(endpoint.slice(i + 1)) };
}

/** Resolves with the bound port (useful with port 0); rejects naming the config path. */
export function listenOn(server: Server, endpoint: string, path: string): Promise<number> {
  const { host, port } = splitEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'the address is already in use' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRNOTAVAIL' ? 'no such local address' : e.message;
      reject(new Error(`${path}: cannot listen on ${endpoint}: ${why}`));
    });
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : port);
    });
  });
}
