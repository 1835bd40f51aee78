import fc from 'fast-check';
import { addDays, dateRange, dayNumber, daysBetween, fromDayNumber, isLocalDate, localDateAt, LocalDate, parseLocalDate, today } from '../../src/domain/dates';
import { gadmParentCode, searchKey } from '../../src/domain/areas';
import { loadConfig, parseByteSize } from '../../src/config';

const d = (s: string) => s as LocalDate;

describe('local dates', () => {
  test.each([
    ['2021-10-12', true],
    ['2024-02-29', true],
    ['2023-02-29', false],
    ['2021-13-01', false],
    ['2021-1-1', false],
    ['1899-12-31', false],
    ['1900-01-01', true],
    ['2999-12-31', true],
    ['3000-01-01', false],
    ['9999-12-31', false], // its next day would be year 10000
    ['2021-10-12T00:00:00Z', false],
  ])('isLocalDate(%s) = %s', (text, ok) => expect(isLocalDate(text)).toBe(ok));

  test('day numbers agree with the calendar on every day from 1900 to 2199', () => {
    let wrong = 0;
    for (let ms = Date.UTC(1900, 0, 1); ms < Date.UTC(2200, 0, 1); ms += 86_400_000) {
      const date = new Date(ms).toISOString().slice(0, 10) as LocalDate;
      if (dayNumber(date) !== ms / 86_400_000 || fromDayNumber(ms / 86_400_000) !== date) wrong++;
    }
    expect(wrong).toBe(0);
    expect(dayNumber(d('1970-01-01'))).toBe(0);
    expect(dayNumber(d('2000-03-01')) - dayNumber(d('2000-02-28'))).toBe(2); // 2000 is a leap year
  });

  test('arithmetic across month and year ends', () => {
    expect(addDays(d('2021-12-31'), 1)).toBe('2022-01-01');
    expect(addDays(d('2024-03-01'), -1)).toBe('2024-02-29');
    expect(daysBetween(d('2021-10-01'), d('2021-10-12'))).toBe(11);
    expect(dateRange(d('2021-10-30'), d('2021-11-02'))).toEqual(['2021-10-30', '2021-10-31', '2021-11-01', '2021-11-02']);
  });

  test('the local date depends on the reporting time zone', () => {
    const instant = new Date('2021-10-11T18:30:00Z'); // 01:30 on the 12th in Vietnam
    expect(localDateAt(instant, 'Asia/Ho_Chi_Minh')).toBe('2021-10-12');
    expect(localDateAt(instant, 'UTC')).toBe('2021-10-11');
    expect(localDateAt(instant, 'America/New_York')).toBe('2021-10-11');
  });
});

describe('areas', () => {
  test('GADM codes give the hierarchy', () => {
    expect(gadmParentCode('VNM.17.1.28_1')).toBe('VNM.17.1_1');
    expect(gadmParentCode('VNM.17.1_1')).toBe('VNM.17_1');
    expect(gadmParentCode('VNM.17_1')).toBeNull();
    expect(gadmParentCode('not-gadm')).toBeNull();
  });

  test('search keys ignore case and Vietnamese diacritics', () => {
    expect(searchKey('Phường  Long Bình')).toBe('phuong long binh');
    expect(searchKey('Xã ĐỒNG Tâm')).toBe('xa dong tam');
  });
});

describe('configuration', () => {
  test('defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.reportingTimeZone).toBe('Asia/Ho_Chi_Minh');
    expect(c.publicReads).toBe(true);
    expect(c.databaseUrl).toBeUndefined();
  });

  test.each([
    [{ PORT: 'abc' }, /PORT/],
    [{ TZ_REPORTING: 'Mars/Olympus' }, /TZ_REPORTING: must be an IANA time zone/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ ZONERISK_PUBLIC_READS: 'maybe' }, /ZONERISK_PUBLIC_READS/],
    [{ ZONERISK_BODY_LIMIT: 'lots' }, /ZONERISK_BODY_LIMIT/],
  ])('a bad variable is named: %j', (env, re) => {
    expect(() => loadConfig(env)).toThrow(re);
  });

  test('sizes', () => {
    expect(parseByteSize('32mb')).toBe(32 * 1024 * 1024);
    expect(parseByteSize('10')).toBe(10);
    expect(parseByteSize('x')).toBeNull();
  });
});

describe('local dates at the edges', () => {
  test.each([
    ['1900-01-01', true], // the first day accepted
    ['2021-12-01', true],
    ['2021-12-31', true],
    ['2021-01-31', true],
    ['2021-04-31', false],
    ['2021-00-10', false],
    ['2021-10-00', false],
    ['x2021-10-12', false],
    ['2021-10-12x', false],
    ['20210-10-12', false],
    ['2021-1a-12', false],
    ['2021-10-1a', false],
    ['２０２１-10-12', false], // digits of other scripts are not digits here
  ])('isLocalDate(%s) = %s', (text, ok) => {
    expect(isLocalDate(text)).toBe(ok);
    expect(parseLocalDate(text)).toBe(ok ? text : null);
  });

  test('addDays and daysBetween invert each other; dateRange is inclusive and empty when reversed', () => {
    fc.assert(
      fc.property(fc.integer({ min: -40_000, max: 80_000 }), fc.integer({ min: -800, max: 800 }), (n, k) => {
        const a = fromDayNumber(n);
        expect(addDays(a, k)).toBe(fromDayNumber(n + k));
        expect(daysBetween(a, addDays(a, k))).toBe(k);
      }),
    );
    expect(dateRange(d('2021-10-02'), d('2021-10-01'))).toEqual([]);
    expect(dateRange(d('2021-10-02'), d('2021-10-02'))).toEqual(['2021-10-02']);
  });

  test('today is the local date of now in the zone', () => {
    const now = new Date('2021-10-11T18:30:00Z');
    expect(today('Asia/Ho_Chi_Minh', now)).toBe('2021-10-12');
    expect(today('UTC', now)).toBe('2021-10-11');
    expect(isLocalDate(today('UTC'))).toBe(true);
  });
});
