import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/paths';

/** `zonerisk serve` as a real process (the built bin), its JSON log lines, and its URL once it listens. */
export type Service = { proc: ChildProcess; url: string; logs: string[]; startedMs: number };

const bin = path.join(projectRoot, 'bin', 'zonerisk.js');

/**
 * The environment of a service process under test: the run's database (or `databaseUrl`),
 * any free port on loopback, info logs (the tests read them), no daily schedule; `extra`
 * on top.
 */
export function serviceEnv(extra: Record<string, string | undefined> = {}, databaseUrl = process.env.ZONERISK_TEST_DATABASE_URL): NodeJS.ProcessEnv {
  return { ...process.env, DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1', ZONERISK_LOG_LEVEL: 'info', ZONERISK_SCHEDULE: 'off', ...extra };
}

/**
 * Starts the service (`argv`, default the repository's `zonerisk serve` on this Node; `cwd`
 * for another tree, e.g. the image's file set) and resolves once it logs 'zonerisk listening'.
 * Its stdout is kept among the log lines too (a Node warning would be there).
 */
export function startProcess(env: NodeJS.ProcessEnv, timeoutMs = 90_000, argv: string[] = [process.execPath, bin, 'serve'], cwd?: string): Promise<Service> {
  const began = Date.now();
  const [exe, ...args] = argv;
  const proc = spawn(exe as string, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL'); // (it needs the info log level: 'zonerisk listening' is what is waited for)
      reject(new Error(`no start within ${timeoutMs / 1000} s:\n${logs.join('\n')}`));
    }, timeoutMs);
    let buf = '';
    proc.stderr?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        let entry: { msg?: string; url?: string } = {};
        try {
          entry = JSON.parse(line) as { msg?: string; url?: string };
        } catch {
          // not a log line
        }
        if (entry.msg === 'zonerisk listening' && entry.url) {
          clearTimeout(timer);
          resolve({ proc, url: entry.url, logs, startedMs: Date.now() - began });
        }
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${logs.join('\n')}`));
    });
  });
}

/** SIGTERM, and the exit code. */
export function stopProcess(s: Service): Promise<number | null> {
  return new Promise((resolve) => {
    s.proc.removeAllListeners('exit');
    if (s.proc.exitCode !== null) return resolve(s.proc.exitCode);
    s.proc.on('exit', (code) => resolve(code));
    s.proc.kill('SIGTERM');
  });
}

/** A test's figures: printed, and kept in test/artifacts/<name>.json (docs/RELIABILITY.md quotes them). */
export function writeFigures(name: string, figures: Record<string, unknown>): void {
  const out = path.join(projectRoot, 'test', 'artifacts');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, `${name}.json`), `${JSON.stringify({ at: new Date().toISOString(), ...figures }, null, 2)}\n`);
  process.stdout.write(`\n${name} figures (test/artifacts/${name}.json):\n${JSON.stringify(figures, null, 2)}\n`);
}
