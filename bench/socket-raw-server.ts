// The bound for bench/socket-fanout.ts: the least a Node server does for a one-shot command (read to
// the client's end of file, parse the JSON, reply, close), with none of the protocol: every command gets `ack`.
import { createServer } from 'node:net';

const path = process.argv[2]!;
const server = createServer({ allowHalfOpen: true }, (socket) => {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.once('end', () => {
    JSON.parse(Buffer.concat(chunks).toString());
    socket.end('ack');
  });
  socket.on('error', () => {});
});
server.listen(path, () => console.log(`serving on ${path}`));
