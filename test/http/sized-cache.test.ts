import { SizedCache } from '../../src/cache';

/** The one bounded LRU behind zone answers, kept maps and tiles. */
describe('SizedCache', () => {
  test('keeps the total length within its bound, dropping the least recently used first', () => {
    const c = new SizedCache<string>(10);
    c.set('a', 'aaaa');
    c.set('b', 'bbbb');
    expect(c.get('a')).toBe('aaaa'); // a is now the most recent
    c.set('c', 'cccc'); // 12 > 10: b goes, not a
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe('aaaa');
    expect(c.get('c')).toBe('cccc');
  });

  test('replacing a key counts only its new length', () => {
    const c = new SizedCache<Buffer>(10);
    c.set('a', Buffer.alloc(6));
    c.set('a', Buffer.alloc(2));
    c.set('b', Buffer.alloc(8)); // 2 + 8 = 10: both stay
    expect(c.get('a')?.length).toBe(2);
    expect(c.get('b')?.length).toBe(8);
  });

  test('a value larger than the bound is not kept', () => {
    const c = new SizedCache<string>(4);
    c.set('big', 'xxxxxxxx');
    expect(c.get('big')).toBeUndefined();
  });
});
