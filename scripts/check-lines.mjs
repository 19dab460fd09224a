// Part of `npm run lint`: Biome's formatter wraps code at 120 columns but not comments or
// long strings, so this fails on any tracked source line past 120 characters.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const files = execFileSync('git', ['ls-files', '*.ts', '*.mjs', '*.js', '*.py'], { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
const long = [];
for (const file of files) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.length > MAX) long.push(`${file}:${i + 1}: ${line.length} characters`);
    });
}
if (long.length > 0) {
  console.error(`Lines longer than ${MAX} characters:\n${long.join('\n')}`);
  process.exit(1);
}
