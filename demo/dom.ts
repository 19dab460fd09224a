import { type JsonValue, Message } from '../src/index.js';

/** A tiny element builder: h('button', { class: 'x', onclick }, 'label'). */
type Attrs = Record<string, string | number | boolean | ((event: Event) => void) | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

/** Parses a payload field: JSON when it is JSON, the raw text otherwise, nothing when empty. */
export function parsePayload(text: string): JsonValue | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    return JSON.parse(trimmed) as JsonValue;
  } catch {
    return text;
  }
}

/** A panel's message fields: its type, its payload, and whom it goes to (everyone, or one listener). */
export interface MessageFields {
  type: HTMLInputElement;
  payload: HTMLInputElement;
  target: HTMLSelectElement;
  /** The message the fields describe now. */
  message(): Message<JsonValue | undefined>;
  /** Adds a listener to send to, labelled `label`. */
  addTarget(id: string, label?: string): void;
  /** Takes a listener off the list. */
  removeTarget(id: string): void;
  /** Leaves only "everyone". */
  clearTargets(): void;
}

/** The message fields of panel `prefix` (its test ids `prefix-type`, `prefix-payload`, `prefix-target`). */
export function messageFields(prefix: string, defaults: { type: string; payload: string }): MessageFields {
  const everyone = () => h('option', { value: '*' }, 'everyone (broadcast)');
  const target = h('select', { 'aria-label': 'Send to', 'data-testid': `${prefix}-target` }, everyone());
  const type = h('input', { value: defaults.type, 'aria-label': 'Message type', 'data-testid': `${prefix}-type` });
  const payload = h('input', {
    value: defaults.payload,
    'aria-label': 'Payload (JSON or text)',
    'data-testid': `${prefix}-payload`,
  });
  return {
    type,
    payload,
    target,
    message: () => new Message(type.value.trim() || 'message', parsePayload(payload.value)),
    addTarget: (id, label = `listener ${id}`) => target.append(h('option', { value: id }, label)),
    removeTarget: (id) => target.querySelector(`option[value="${id}"]`)?.remove(),
    clearTargets: () => target.replaceChildren(everyone()),
  };
}

/** Appends a line to a log element, keeping at most `max` lines, newest at the bottom; returns the line. */
export function logLine(log: HTMLElement, text: string, kind = '', max = 200): HTMLElement {
  const line = h('div', { class: `line ${kind}` }, text);
  log.append(line);
  while (log.childElementCount > max) log.firstElementChild?.remove();
  log.scrollTop = log.scrollHeight;
  return line;
}

/** One log line for an event: what identifies it (`mark`, when there is something), its type, its data. */
export function eventLine(mark: string, type: string, data?: string): string {
  return [mark, type, data].filter((part) => part !== undefined && part !== '').join('  ');
}

/**
 * An event as a log line. A backend event carries the id its server gave it (`id 7`); an in-page
 * event has none, so it is marked with its number in the stream instead (`#3`).
 */
export function describeEvent(event: { event: string; data?: unknown; id?: string }, number: number): string {
  const data = event.data === undefined ? undefined : JSON.stringify(event.data);
  return eventLine(event.id === undefined ? `#${number}` : `id ${event.id}`, event.event, data);
}

/**
 * A card that shows a stream live: one log line per event, a note when it ends (or fails), and
 * the card struck through afterwards. `onEnd` runs once the stream is over.
 */
export function streamCard(
  title: string,
  testid: string,
  stream: AsyncIterable<{ event: string; data?: unknown; id?: string }>,
  { actions = [], onEnd, endNote = 'stream ended' }: { actions?: Node[]; onEnd?: () => void; endNote?: string } = {},
): HTMLElement {
  const log = h('div', { class: 'log', 'data-testid': testid });
  const card = h('article', { class: 'card' }, h('header', {}, h('strong', {}, title), ...actions), log);
  void (async () => {
    let received = 0;
    try {
      for await (const event of stream)
        logLine(log, describeEvent(event, ++received), event.event.startsWith('_eric') ? 'system' : '');
      logLine(log, endNote, 'system');
    } catch (error) {
      logLine(log, `stream failed: ${error instanceof Error ? error.message : String(error)}`, 'error');
    }
    card.classList.add('ended');
    onEnd?.();
  })();
  return card;
}

/**
 * Copies text to the clipboard: with the Clipboard API where the page may use it, else through a
 * selected, hidden textarea and the older copy command.
 */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No Clipboard API outside secure contexts (a page opened over a LAN address), or it was refused.
    const area = h('textarea', { readonly: true, class: 'offscreen' });
    area.value = text;
    document.body.append(area);
    area.select();
    const copied = document.execCommand('copy');
    area.remove();
    if (!copied) throw new Error('the browser did not copy');
  }
}

/** How long a copy button says what happened before it reads "copy" again. */
const COPY_NOTE_MS = 2000;

/** A button that copies `text`, then says "copied" (or that copying failed) for a moment. */
export function copyButton(text: string, what: string): HTMLButtonElement {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const say = (note: string, state: string) => {
    button.textContent = note;
    button.dataset.state = state;
    clearTimeout(timer);
    timer = setTimeout(() => {
      button.textContent = 'copy';
      delete button.dataset.state;
    }, COPY_NOTE_MS);
  };
  const button = h(
    'button',
    {
      type: 'button',
      class: 'small copy',
      title: `Copy ${what}`,
      'aria-label': `Copy ${what}`,
      'aria-live': 'polite',
      onclick: () =>
        copyText(text).then(
          () => say('copied', 'copied'),
          () => say('copy failed', 'failed'),
        ),
    },
    'copy',
  );
  return button;
}

/** A box of shell command lines, each with its copy button. */
export interface CommandBox {
  element: HTMLElement;
  /** Shows these lines instead of what the box showed. */
  show(lines: string[]): void;
}

/** A command box that says `placeholder` until it has lines to show. */
export function commandBox(testid: string, placeholder: string): CommandBox {
  const element = h('div', { class: 'commands', 'data-testid': testid }, h('p', { class: 'hint' }, placeholder));
  return {
    element,
    show(lines) {
      element.replaceChildren(
        ...lines.map((line) =>
          h('div', { class: 'command' }, h('code', { class: 'cmd' }, line), copyButton(line, 'this command')),
        ),
      );
    },
  };
}
