/** Makes a new id each time it is called. */
export type IdGenerator = () => string;

/** Ids "1", "2", "3"…, as eric-sse hands them out. */
export function sequentialIds(start = 1): IdGenerator {
  let next = start;
  return () => String(next++);
}

/** The kinds of thing that get ids. */
export type IdKind = 'channel' | 'listener';

const generators: Record<IdKind, IdGenerator> = { channel: sequentialIds(), listener: sequentialIds() };

/** A fresh id of the given kind. */
export function nextId(kind: IdKind): string {
  return generators[kind]();
}

/** Replaces the generator of one kind (e.g. with `() => crypto.randomUUID()`). */
export function setIdGenerator(kind: IdKind, generator: IdGenerator): void {
  generators[kind] = generator;
}

/** Restarts every kind at "1". */
export function resetIdGenerators(): void {
  generators.channel = sequentialIds();
  generators.listener = sequentialIds();
}
