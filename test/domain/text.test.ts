import { freeText, NUL_MESSAGE } from '../../src/domain/text';

/** Free text from clients: a string, bounded in length, never holding U+0000. */
describe('freeText', () => {
  const messages = (r: { error?: { issues: { message: string }[] } }) => r.error?.issues.map((i) => i.message);

  test('accepts text up to the bound, as sent', () => {
    expect(freeText(5).parse('')).toBe('');
    expect(freeText(5).parse('Trạm ')).toBe('Trạm ');
  });

  test('refuses longer text, with the default or the given message', () => {
    expect(messages(freeText(5).safeParse('Trạm y'))).toEqual(['tối đa 5 ký tự — must be at most 5 characters']);
    expect(messages(freeText(3, 'too long').safeParse('abcd'))).toEqual(['too long']);
  });

  test('refuses a NUL anywhere, naming U+0000', () => {
    expect(NUL_MESSAGE).toBe('không được chứa ký tự NUL (U+0000) — must not contain NUL characters (U+0000)');
    for (const text of ['\u0000', 'a\u0000', '\u0000b', 'a\u0000b']) expect(messages(freeText(10).safeParse(text))).toEqual([NUL_MESSAGE]);
  });

  test('refuses what is not a string', () => {
    for (const value of [1, null, undefined, {}, ['a']]) expect(messages(freeText(10).safeParse(value))).toEqual(['phải là chuỗi — must be a string']);
  });
});
