// The URL rotation of a BridgeClient on several bridges (docs/bridge.md, "Several bridges"): the
// next URL at once on a failure, a backoff only after a full round, a move that counts no failure.
import { describe, expect, it } from 'vitest';
import { UrlRotation, urlList, webSocketUrl } from '../../../src/remote/bridge-urls.js';

describe('UrlRotation', () => {
  it('turns to the next URL on each failure and says when a full round has failed', () => {
    const urls = new UrlRotation(['ws://a/', 'ws://b/', 'ws://c/']);
    expect(urls.current).toBe('ws://a/');
    expect([urls.advance(), urls.current]).toEqual([false, 'ws://b/']);
    expect([urls.advance(), urls.current]).toEqual([false, 'ws://c/']);
    expect([urls.advance(), urls.current]).toEqual([true, 'ws://a/']);
    expect([urls.advance(), urls.current]).toEqual([false, 'ws://b/']);
  });

  it('starts a new round once connected; a move off a draining bridge counts no failure', () => {
    const urls = new UrlRotation(['ws://a/', 'ws://b/']);
    urls.advance();
    urls.connected();
    urls.moveOn();
    expect(urls.current).toBe('ws://a/');
    expect(urls.advance()).toBe(false);
    expect(urls.advance()).toBe(true);
  });

  it('one URL: every failure is a full round (a backoff each time, as before)', () => {
    const urls = new UrlRotation(['ws://a/']);
    expect(urls.advance()).toBe(true);
    expect(urls.current).toBe('ws://a/');
  });

  it('says a refusal is final once every URL has refused since the last connection', () => {
    const urls = new UrlRotation(['ws://a/', 'ws://b/']);
    expect(urls.refused()).toBe(false);
    urls.advance();
    urls.connected();
    expect(urls.refused()).toBe(false);
    urls.advance();
    expect(urls.refused()).toBe(true);
    expect(new UrlRotation(['ws://a/']).refused()).toBe(true);
  });

  it('refuses an empty list', () => {
    expect(() => new UrlRotation([])).toThrow(RangeError);
  });

  it('http(s) URLs become ws(s) ones, the token set; one URL is a list of one', () => {
    expect(webSocketUrl('https://h:1/?x=1', 't')).toBe('wss://h:1/?x=1&token=t');
    expect(webSocketUrl(new URL('http://h:2/'))).toBe('ws://h:2/');
    expect(urlList('ws://a/')).toEqual(['ws://a/']);
    expect(urlList(['ws://a/', 'ws://b/'])).toEqual(['ws://a/', 'ws://b/']);
  });
});
