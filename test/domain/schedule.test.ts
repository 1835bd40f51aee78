import { dueDay, localTimeOfDay, SCHEDULE_RE } from '../../src/domain/schedule';

/** The daily run's due day, in Asia/Ho_Chi_Minh (UTC+7, no DST) and a zone with DST. */
describe('dueDay', () => {
  const HCM = 'Asia/Ho_Chi_Minh';
  test.each([
    ['2021-10-01T17:29:00Z', '00:30', '2021-10-01'], // 00:29 on the 2nd, local: still the 1st's run
    ['2021-10-01T17:30:00Z', '00:30', '2021-10-02'], // 00:30 local on the 2nd
    ['2021-10-02T16:59:59Z', '00:30', '2021-10-02'], // 23:59 local
    ['2021-10-02T05:00:00Z', '12:00', '2021-10-02'], // noon local, exactly due
    ['2021-10-02T04:59:00Z', '12:00', '2021-10-01'],
    ['2021-12-31T17:00:00Z', '00:00', '2022-01-01'], // midnight local, across the year
  ])('at %s with the run at %s → %s', (iso, at, day) => {
    expect(dueDay(new Date(iso), HCM, at)).toBe(day);
  });

  test('local time of day follows the zone, including summer time', () => {
    expect(localTimeOfDay(new Date('2021-10-01T17:30:00Z'), HCM)).toBe('00:30');
    expect(localTimeOfDay(new Date('2021-07-01T12:00:00Z'), 'Europe/Berlin')).toBe('14:00'); // CEST
    expect(localTimeOfDay(new Date('2021-01-01T12:00:00Z'), 'Europe/Berlin')).toBe('13:00'); // CET
  });
});

describe('the schedule format', () => {
  test.each([
    ['00:00', true],
    ['09:59', true],
    ['19:30', true],
    ['23:59', true],
    ['24:00', false],
    ['20:60', false],
    ['9:30', false],
    ['x09:30', false],
    ['09:30x', false],
    ['0a:30', false],
    ['09:3a', false],
    ['ab:30', false],
    ['2a:30', false],
    ['09:a0', false],
    ['off', false],
  ])('%s: %s', (text, ok) => expect(SCHEDULE_RE.test(text)).toBe(ok));
});
