import { copyText } from '../../src/db/copy';

test.each([
  [null, '\\N'],
  [42, '42'],
  [0.1, '0.1'],
  ['Sở Y tế Đồng Nai', 'Sở Y tế Đồng Nai'],
  ['a\tb', 'a\\tb'],
  ['line1\nline2\r', 'line1\\nline2\\r'],
  ['C:\\path', 'C:\\\\path'],
  ['\\N', '\\\\N'], // a literal backslash-N is text, not null
])('copyText(%p) = %p', (cell, expected) => {
  expect(copyText(cell)).toBe(expected);
});
