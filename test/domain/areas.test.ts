import { AREA_CODE_RE, AREA_KINDS, areaCodeSchema, childKind, gadmParentCode, kindRank, searchKey } from '../../src/domain/areas';

/** The administrative hierarchy, area codes, search keys and GADM parents. */
describe('area kinds', () => {
  test('province ⊃ district ⊃ commune ⊃ subcommune, ranked from the top', () => {
    expect(AREA_KINDS).toEqual(['province', 'district', 'commune', 'subcommune']);
    expect(AREA_KINDS.map(kindRank)).toEqual([0, 1, 2, 3]);
  });

  test.each([
    ['province', 'district'],
    ['district', 'commune'],
    ['commune', 'subcommune'],
    ['subcommune', null],
  ] as const)('below %s: %s', (kind, child) => expect(childKind(kind)).toBe(child));
});

describe('area codes', () => {
  test.each([
    ['VNM.17.1_1', true],
    ['a', true],
    ['P-01_x.y', true],
    ['x'.repeat(64), true],
    ['x'.repeat(65), false],
    ['', false],
    ['VNM 17', false],
    [' VNM', false],
    ['VNM ', false],
    ['VNM\n', false],
    ['Phường', false],
    ['a/b', false],
  ])('%j: %s', (code, ok) => {
    expect(AREA_CODE_RE.test(code)).toBe(ok);
    expect(areaCodeSchema.safeParse(code).success).toBe(ok);
  });

  test('a refused code is explained', () => {
    expect(areaCodeSchema.safeParse('a b').error?.issues.map((i) => i.message)).toEqual(['phải gồm 1–64 ký tự A-Z a-z 0-9 . _ - — must be 1–64 characters from A-Z a-z 0-9 . _ -']);
    expect(areaCodeSchema.safeParse(17).error?.issues.map((i) => i.message)).toEqual(['phải là mã địa bàn (chuỗi) — must be an area code (string)']);
  });
});

describe('search keys', () => {
  test.each([
    ['Phường Long Bình', 'phuong long binh'],
    ['  Xã\tĐồng   Tâm \n', 'xa dong tam'], // spaces of any kind folded, ends trimmed
    ['đường Đ', 'duong d'],
    ['ABC', 'abc'],
    ['Thị trấn', 'thi tran'],
  ])('%j → %j', (text, key) => expect(searchKey(text)).toBe(key));
});

describe('GADM parents', () => {
  test.each([
    ['VNM.17.1.28_1', 'VNM.17.1_1'],
    ['VNM.17.1_1', 'VNM.17_1'],
    ['VNM.17.1_12', 'VNM.17_12'], // the version suffix has any number of digits
    ['VNM.17_1', null], // a province has no parent in the file
    ['VNM_1', null],
    ['xVNM.17.1_1', null], // anchored at both ends
    ['VNM.17.1_1x', null],
    ['VNM.17.1_', null],
    ['vnm.17.1_1', null],
    ['not-gadm', null],
  ])('%s → %s', (code, parent) => expect(gadmParentCode(code)).toBe(parent));
});
