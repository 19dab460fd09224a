// The bridge's memory of channel owners (bridge/access/gate.ts): bounded, and forgotten when the
// server behind may have changed.
import { describe, expect, it } from 'vitest';
import { OwnerCache } from '../../../bridge/access/gate.js';

describe('OwnerCache', () => {
  it('keeps at most its bound, forgetting the longest known first; a channel learned again is the newest', () => {
    const owners = new OwnerCache(() => 0, 3);
    for (const c of ['1', '2', '3']) owners.set(c, `owner of ${c}`);
    owners.set('1', 'owner of 1');
    owners.set('4', 'owner of 4');
    expect(['1', '2', '3', '4'].map((c) => owners.get(c))).toEqual([
      'owner of 1',
      undefined,
      'owner of 3',
      'owner of 4',
    ]);
    owners.delete('3');
    expect(owners.get('3')).toBeUndefined();
  });

  it('forgets everything once the epoch moves (a session to the server ended), and learns from there', () => {
    let epoch = 0;
    const owners = new OwnerCache(() => epoch);
    owners.set('1', 'alice');
    owners.set('2', '');
    expect([owners.get('1'), owners.get('2')]).toEqual(['alice', '']);
    epoch++;
    expect([owners.get('1'), owners.get('2')]).toEqual([undefined, undefined]);
    owners.set('1', 'bob');
    expect(owners.get('1')).toBe('bob');
  });
});
