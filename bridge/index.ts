// Node-only entry point: `eric-bus/node`.
export {};
