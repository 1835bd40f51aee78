import { z } from 'zod';
import { issueText, KEY_CHARS, MAX_KEYS } from '../../src/domain/issues';

/** Each field's message, Vietnamese — English (src/domain/issues.ts): a schema, an input, what is said. */
const messages = (schema: z.ZodType, input: unknown): string[] => {
  const r = schema.safeParse(input, { error: issueText });
  if (r.success) throw new Error('expected the input to be refused');
  return r.error.issues.map((i) => i.message);
};

test.each([
  ['a missing field', z.strictObject({ a: z.number() }), {}, 'bắt buộc nhưng còn thiếu — required'],
  ['a wrong type', z.number(), 'x', 'phải là số — Invalid input: expected number, received string'],
  ['a string expected', z.string(), 1, 'phải là chuỗi — Invalid input: expected string, received number'],
  ['a whole number expected', z.number().int(), 1.5, 'phải là số nguyên — Invalid input: expected int, received number'],
  ['true or false expected', z.boolean(), 'yes', 'phải là true/false — Invalid input: expected boolean, received string'],
  ['an array expected', z.array(z.number()), {}, 'phải là mảng — Invalid input: expected array, received object'],
  ['an object expected', z.strictObject({}), 3, 'phải là đối tượng JSON — Invalid input: expected object, received number'],
  ['a type with no Vietnamese name', z.symbol(), 3, 'phải là symbol — Invalid input: expected symbol, received number'],
  ['a number below its minimum', z.number().min(1), 0, 'phải ≥ 1 — Too small: expected number to be >=1'],
  ['a number not above its exclusive minimum', z.number().gt(1), 1, 'phải > 1 — Too small: expected number to be >1'],
  ['a string too short', z.string().min(2), 'a', 'tối thiểu 2 ký tự — Too small: expected string to have >=2 characters'],
  ['an array too short', z.array(z.number()).min(1), [], 'tối thiểu 1 phần tử — Too small: expected array to have >=1 items'],
  ['a number above its maximum', z.number().max(5), 6, 'phải ≤ 5 — Too big: expected number to be <=5'],
  ['a number not below its exclusive maximum', z.number().lt(5), 5, 'phải < 5 — Too big: expected number to be <5'],
  ['a string too long', z.string().max(3), 'abcd', 'tối đa 3 ký tự — Too big: expected string to have <=3 characters'],
  ['an array too long', z.array(z.number()).max(1), [1, 2], 'tối đa 1 phần tử — Too big: expected array to have <=1 items'],
  ['one of a choice', z.enum(['green', 'red']), 'blue', 'phải là một trong: "green", "red" — Invalid option: expected one of "green"|"red"'],
  ['a literal', z.literal(7), 8, 'phải là 7 — Invalid input: expected 7'],
  ['a text literal', z.literal('Feature'), 'x', 'phải là "Feature" — Invalid input: expected "Feature"'],
  ['a big-integer literal (no throw)', z.literal(10n), 3n, 'phải là 10 — Invalid input: expected 10n'],
  ['a string of an exact length', z.string().length(2), 'abc', 'đúng 2 ký tự — Too big: expected string to have exactly 2 characters'],
  ['an array of an exact length', z.array(z.number()).length(2), [1], 'đúng 2 phần tử — Too small: expected array to have exactly 2 items'],
  ['another check (zod’s own Vietnamese)', z.number().multipleOf(5), 7, 'Số không hợp lệ: phải là bội số của 5 — Invalid number: must be a multiple of 5'],
])('%s', (_name, schema, input, expected) => {
  expect(messages(schema as z.ZodType, input)).toEqual([expected]);
});

test('unknown fields are named, at most MAX_KEYS of them', () => {
  expect(messages(z.strictObject({}), { b: 1, a: 2 })).toEqual(['trường không xác định: b, a — unknown field(s): b, a']);
  const many = Object.fromEntries(Array.from({ length: MAX_KEYS + 5 }, (_, i) => [`k${i}`, i]));
  const [m] = messages(z.strictObject({}), many);
  const named = Array.from({ length: MAX_KEYS }, (_, i) => `k${i}`).join(', ');
  expect(m).toBe(`trường không xác định: ${named} và 5 trường khác — unknown field(s): ${named} and 5 more`);
});

test('an unknown key is named in at most KEY_CHARS characters (a megabyte key gets a short answer)', () => {
  const long = 'k'.repeat(1_000_000);
  const [m] = messages(z.strictObject({}), { [long]: 1, ['é'.repeat(KEY_CHARS)]: 2 });
  const cut = `${'k'.repeat(KEY_CHARS)}…`;
  expect(m).toBe(`trường không xác định: ${cut}, ${'é'.repeat(KEY_CHARS)} — unknown field(s): ${cut}, ${'é'.repeat(KEY_CHARS)}`);
});

test("a schema's own message is kept as it is", () => {
  expect(messages(z.number().min(0, 'phải ≥ 0 — must be ≥ 0'), -1)).toEqual(['phải ≥ 0 — must be ≥ 0']);
});
