/** The package's version, read once from its package.json, wherever this module runs from. */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * The version in the nearest package.json named eric-bus above this module: the sources
 * (`bridge/`) and the build (`dist/bridge/`) sit at different depths below it.
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  for (let up = new URL('.', import.meta.url), depth = 0; depth < 6; up = new URL('..', up), depth++) {
    try {
      const manifest = JSON.parse(readFileSync(new URL('package.json', up), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'eric-bus' && typeof manifest.version === 'string') return (cached = manifest.version);
    } catch {
      // None at this level: look one up.
    }
  }
  return (cached = 'unknown');
}
