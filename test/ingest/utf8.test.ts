import { isUtf8 } from 'node:buffer';
import { countLineEnds, invalidUtf8At, utf8Problem } from '../../src/ingest/csv';

/** Finding the first byte that is not UTF-8, and its line, in CSV bytes. */
describe('invalidUtf8At', () => {
  const b = (...bytes: number[]) => Uint8Array.from(bytes);
  test.each([
    ['ASCII', b(0x61, 0x62), -1],
    ['ạ (2 bytes)', Buffer.from('ạ'), -1],
    ['€ (3 bytes)', Buffer.from('€'), -1],
    ['😷 (4 bytes)', Buffer.from('😷'), -1],
    ['a lone continuation byte', b(0x61, 0x80), 1],
    ['0xFF', b(0xff), 0],
    ['Latin-1 é', b(0x43, 0x61, 0x66, 0xe9), 3],
    ['overlong /', b(0xc0, 0xaf), 0],
    ['overlong 3-byte', b(0xe0, 0x80, 0xaf), 0],
    ['a surrogate (ED A0 80)', b(0xed, 0xa0, 0x80), 0],
    ['past U+10FFFF', b(0xf4, 0x90, 0x80, 0x80), 0],
    ['cut off at the end', b(0x61, 0xe1, 0xba), 1],
    ['a bad second continuation', b(0xe1, 0xba, 0x41), 0],
  ])('%s → %d', (_name, bytes, expected) => {
    expect(invalidUtf8At(bytes)).toBe(expected);
  });

  test("agrees with node's validator on 20,000 random short byte strings", () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xff;
    // bias towards the interesting bytes: lead bytes and continuations
    const pool = [0x41, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    let invalid = 0;
    for (let n = 0; n < 20_000; n++) {
      const len = 1 + (rand() % 6);
      const bytes = Buffer.from(Array.from({ length: len }, () => (rand() % 3 === 0 ? rand() : (pool[rand() % pool.length] as number))));
      const at = invalidUtf8At(bytes);
      expect(at < 0).toBe(isUtf8(bytes));
      if (at >= 0) {
        invalid++;
        expect(isUtf8(bytes.subarray(0, at))).toBe(true); // everything before it is fine
      }
    }
    expect(invalid).toBeGreaterThan(1000);
  });
});

describe('utf8Problem', () => {
  test('names the line and the byte; LF, CRLF and lone CR each end a line', () => {
    const text = Buffer.concat([Buffer.from('area,date\nC1,Trạm\r\nC2,x\rC3,'), Buffer.from([0x54, 0x72, 0xe1, 0x6d]), Buffer.from('\nC4,y\n')]);
    expect(utf8Problem(text)).toEqual({ line: 4, column: 6, byte: 0xe1 });
    expect(utf8Problem(text, 10)).toEqual({ line: 13, column: 6, byte: 0xe1 });
    expect(utf8Problem(Buffer.from('Sở Y tế\nĐồng Nai\n'))).toBeNull();
  });

  test('the bad byte at the very start and at the very end', () => {
    expect(utf8Problem(Buffer.from([0xff, 0x0a, 0x41]))).toEqual({ line: 1, column: 1, byte: 0xff });
    expect(utf8Problem(Buffer.from([0x41, 0x0a, 0x42, 0xc3]))).toEqual({ line: 2, column: 2, byte: 0xc3 });
  });

  test('countLineEnds', () => {
    expect(countLineEnds(Buffer.from('a\nb\r\nc\rd'))).toBe(3);
    expect(countLineEnds(Buffer.from('a\r'))).toBe(1);
    expect(countLineEnds(Buffer.from(''))).toBe(0);
  });
});
