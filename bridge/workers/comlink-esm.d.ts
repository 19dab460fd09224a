// Types for the comlink ESM build that Node's worker side loads (see comlink-endpoint.ts): its typings
// sit beside the .mjs files as .d.ts, where TypeScript looks for .d.mts, so point them at the same API.
declare module 'comlink/dist/esm/comlink.mjs' {
  export * from 'comlink';
}

declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  import type { NodeEndpoint } from 'comlink/dist/umd/node-adapter.js';
  export default function nodeEndpoint(port: NodeEndpoint): Endpoint;
}
