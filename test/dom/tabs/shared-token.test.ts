// Which token the WebSocket that tabs share opens with: the newest a tab gave (the one that expires
// last), never one the bridge closed the WebSocket for. The end to end case, with tabs and a bridge
// that closes with 4401: test/browser/tabs.test.ts.
import { describe, expect, it } from 'vitest';
import { SharedToken, tokenOf, urlWithoutToken } from '../../../src/tabs/shared-token.js';
import { claims, unsecuredToken } from '../../node/helpers/tokens.js';

const base = 'ws://127.0.0.1:8765/';
/** A token that expires `exp` seconds from now (its claims are read, never verified, here). */
const token = (exp: number) => unsecuredToken(claims({ exp: Math.floor(Date.now() / 1000) + exp }));
const withToken = (t: string) => `${base}?token=${t}`;

describe('SharedToken', () => {
  it('the URL without its token is what the tabs share; the token is read back from a URL', () => {
    expect(urlWithoutToken(`${base}?a=1&token=x.y.z`)).toBe(`${base}?a=1`);
    expect(urlWithoutToken(base)).toBe(base);
    expect(tokenOf(withToken('x.y.z'))).toBe('x.y.z');
    expect(tokenOf(base)).toBeUndefined();
  });

  it('opens with the token that expires last, whichever tab gave it and in whatever order', () => {
    const [early, late] = [token(60), token(120)];
    const shared = new SharedToken(base);
    expect(shared.open()).toBe(base);
    shared.offer(withToken(late));
    shared.offer(withToken(early)); // a tab reconnecting with an older token
    expect(shared.open()).toBe(withToken(late));
    // A fresher token sent on the open WebSocket (`auth`) is the one to open with next time.
    const fresh = token(180);
    shared.authed(fresh);
    expect(shared.open()).toBe(withToken(fresh));
  });

  it('tokens without exp (a shared --token): the last one given', () => {
    const shared = new SharedToken(base);
    shared.offer(withToken('one'));
    shared.offer(withToken('two'));
    expect(shared.open()).toBe(withToken('two'));
  });

  it('after an open that failed (a bad token, or no bridge), the next URL a tab gives is opened with', () => {
    const [good, bad] = [token(60), token(600)];
    const shared = new SharedToken(base);
    shared.offer(withToken(bad));
    shared.offer(withToken(good));
    expect(shared.open()).toBe(withToken(bad));
    shared.failed();
    shared.offer(withToken(good));
    expect(shared.open()).toBe(withToken(good));
  });

  it('after a 4401, the token in use and older ones are expired; a fresh one is opened with', () => {
    const [first, refreshed] = [token(60), token(120)];
    const shared = new SharedToken(withToken(first));
    shared.open();
    shared.authed(refreshed);
    shared.expired();
    expect(shared.isExpired(withToken(refreshed))).toBe(true);
    expect(shared.isExpired(withToken(first))).toBe(true);
    shared.offer(withToken(first)); // a tab that has not fetched a fresh token yet: not opened with
    const fresh = token(240);
    expect(shared.isExpired(withToken(fresh))).toBe(false);
    shared.offer(withToken(fresh));
    expect(shared.open()).toBe(withToken(fresh));
  });
});
