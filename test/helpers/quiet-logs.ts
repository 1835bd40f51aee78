import { setLogLevel } from '../../src/log';

/**
 * Test processes log errors only, unless ZONERISK_LOG_LEVEL says otherwise
 * (`ZONERISK_LOG_LEVEL=warn npx jest …` to see the service's warnings while debugging): a
 * warning a test provokes on purpose (a receiver answering 500, a closed database port) is
 * not a failure and must not read like one in `npm test`. In-process CLI runs (src/cli.ts
 * main) read the same variable; service processes the tests start set their own level
 * (test/helpers/service.ts: info, the tests read those lines). Runs before each test file
 * (jest "setupFiles").
 */
const levels = ['debug', 'info', 'warn', 'error', 'silent'] as const;
type Level = (typeof levels)[number];
const given = process.env.ZONERISK_LOG_LEVEL;
const level: Level = levels.find((l) => l === given) ?? 'error';
process.env.ZONERISK_LOG_LEVEL = level;
setLogLevel(level);
