// Comments cite the project's own documents, by file and section name, so a maintainer can follow
// them: no citation of a specification that is not in the repository, and every section cited
// exists under that name (a heading renamed in docs/ or the README fails here, naming the
// comments to update).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const CODE_DIRS = ['src', 'bridge', 'bench', 'test', 'scripts'];

/** The sections other documents cite by name: these headings must stay as they are. */
const PROTOCOL_SECTIONS = [
  'The socket protocol',
  'Event ids, histories and resume',
  'Leaving a stream: rs',
  "The bridge's frames",
  'Sessions',
  'The HTTP face',
  'Channels in Redis',
  'Extending the protocol',
];

/** Every .ts file under the code folders, by path from the root (dot folders, generated, are skipped). */
function codeFiles(): string[] {
  return CODE_DIRS.flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.split('/').some((part) => part.startsWith('.')))
      .map((file) => join(dir, file)),
  );
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as dashes. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');

/** README.md and every document in docs/, by path from the root. */
const DOCUMENTS = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`),
];

/** The headings of a markdown document, at any level, outside fenced code blocks. */
function headings(path: string): Set<string> {
  const found = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(join(root, path), 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.+?)\s*$/.exec(line);
    if (heading) found.add(heading[1]!);
  }
  return found;
}

/** The lines of every code file that match `pattern`, as `path:line: text`; with `each`, for each match. */
function matches(pattern: RegExp, each?: (match: RegExpExecArray) => boolean): string[] {
  const found: string[] = [];
  for (const path of codeFiles()) {
    readFileSync(join(root, path), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const match of line.matchAll(new RegExp(pattern, 'g'))) {
          if (each === undefined || each(match)) found.push(`${path}:${i + 1}: ${line.trim()}`);
        }
      });
  }
  return found;
}

describe('documents cited in code', () => {
  it('has code to read', () => {
    expect(codeFiles().length).toBeGreaterThan(50);
  });

  it('cites no specification outside the repository', () => {
    // Built from parts, so that this file does not match itself.
    expect(matches(new RegExp(['SPEC', '\\s*(?:§|section\\b)'].join('')))).toEqual([]);
  });

  it('docs/protocol.md has the sections others cite', () => {
    const protocol = headings('docs/protocol.md');
    expect(PROTOCOL_SECTIONS.filter((section) => !protocol.has(section))).toEqual([]);
  });

  it('every section of docs/protocol.md cited exists', () => {
    const protocol = headings('docs/protocol.md');
    const cited = matches(/docs\/protocol\.md, "([^"]+)"/, (m) => !protocol.has(m[1]!));
    expect(cited).toEqual([]);
    expect(matches(/docs\/protocol\.md/).length).toBeGreaterThanOrEqual(30);
  });

  it('every section of README.md and docs/ cited exists', () => {
    const cited = matches(/\b(README|docs\/[\w-]+)(?:\.md)?, "([^"]+)"/, (m) => {
      const document = m[1] === 'README' ? 'README.md' : `${m[1]}.md`;
      return !existsSync(join(root, document)) || !headings(document).has(m[2]!);
    });
    expect(cited).toEqual([]);
  });

  it('no citation is split across lines', () => {
    // A section name broken over two comment lines could not be checked (nor searched for).
    expect(matches(/(?:docs\/[\w-]+\.md|\bREADME(?:\.md)?),(?: "[^"]*)?\s*$/)).toEqual([]);
  });

  it('every link between the documents reaches a file and a heading that exist', () => {
    const broken: string[] = [];
    for (const document of DOCUMENTS) {
      const text = readFileSync(join(root, document), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, link] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(link!)) continue;
        const [path, fragment] = link!.split('#');
        const target = path ? join(dirname(document), path) : document;
        if (!existsSync(join(root, target))) broken.push(`${document}: ${link} (no file)`);
        else if (fragment && target.endsWith('.md') && ![...headings(target)].map(anchor).includes(fragment))
          broken.push(`${document}: ${link} (no heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
