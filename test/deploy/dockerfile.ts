import { DockerfileParser, ModifiableInstruction } from 'dockerfile-ast';
/**
 * A reader for the project's own Dockerfile, as BuildKit reads it, for the instructions that
 * file uses: stages (`FROM image [AS name]`), `WORKDIR`, `ENV k=v …`, `COPY [--from=stage]
 * src… dest` (shell or JSON form), `RUN`, `USER`, `VOLUME`, `EXPOSE`, `STOPSIGNAL`, and the exec
 * (JSON) form of `CMD` and `HEALTHCHECK … CMD`. Lines continue with a trailing backslash;
 * comment lines (also inside a continuation) are dropped.
 *
 * Anything else it refuses with an error rather than guessing — a parser directive (`# escape=`),
 * a heredoc, `ADD`, a wildcard in a COPY source, variables in paths — so the image test can
 * never assemble a file set the real build would not.
 *
 * The lexical part (lines, continuations, comments, flags) is `dockerfile-ast`'s; what the
 * instructions mean for the image's file set is read here.
 */
export type Instruction = { keyword: string; args: string; line: number };
export type Copy = { from: string | null; sources: string[]; dest: string; line: number };
export type Stage = {
  image: string;
  name: string | null;
  instructions: Instruction[];
  workdir: string;
  env: Record<string, string>;
  copies: Copy[];
  runs: string[];
  user: string | null;
  volumes: string[];
  expose: string[];
  stopSignal: string | null;
  cmd: string[] | null;
  /** The exec form after `HEALTHCHECK [options] CMD`; its options as given. */
  healthcheck: { options: Record<string, string>; cmd: string[] } | null;
};

const KNOWN = new Set(['FROM', 'WORKDIR', 'ENV', 'COPY', 'RUN', 'USER', 'VOLUME', 'EXPOSE', 'STOPSIGNAL', 'CMD', 'HEALTHCHECK', 'ARG', 'LABEL']);

/**
 * Logical instructions, read by `dockerfile-ast` (continuation lines joined, comments and
 * blank lines dropped), each with its flags put back in front of its arguments
 * (`COPY --from=build a b`, `HEALTHCHECK --interval=15s CMD …`).
 */
export function instructions(text: string): Instruction[] {
  const file = DockerfileParser.parse(text);
  if (file.getDirectives().length > 0) throw new Error('Dockerfile: parser directives are not supported by this reader');
  return file.getInstructions().map((ins) => {
    const line = ins.getRange().start.line + 1;
    const keyword = ins.getKeyword().toUpperCase();
    if (!KNOWN.has(keyword)) throw new Error(`Dockerfile line ${line}: ${keyword} is not supported by this reader`);
    const content = (ins.getArgumentsContent() ?? '').trim();
    if (/<<[-~]?["']?[A-Za-z]/.test(content)) throw new Error(`Dockerfile line ${line}: heredocs are not supported by this reader`);
    const flags = ins instanceof ModifiableInstruction ? ins.getFlags().map((f) => `--${f.getName()}${f.getValue() === null ? '' : `=${f.getValue()}`}`) : [];
    return { keyword, args: [...flags, content].join(' '), line };
  });
}

/** The exec form `["a", "b"]`, or null for the shell form. */
function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  const v: unknown = JSON.parse(args);
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error(`Dockerfile: not an exec form: ${args}`);
  return v as string[];
}

/** Leading `--name=value` flags, and the rest. */
function flags(args: string): { flags: Record<string, string>; rest: string } {
  const out: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest); m; m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest)) {
    out[m[1]!] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  return { flags: out, rest };
}

function words(args: string): string[] {
  if (/["'$]/.test(args)) throw new Error(`Dockerfile: quotes and variables are not supported by this reader here: ${args}`);
  return args.split(/\s+/).filter(Boolean);
}

function env(args: string, into: Record<string, string>): void {
  if (!args.includes('=')) {
    const [k, ...v] = args.split(/\s+/);
    into[k!] = v.join(' ');
    return;
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"\\]*)"|(\S*))/g)) into[m[1]!] = m[3] ?? m[4] ?? '';
}

/** The stages of a Dockerfile, in order, each with what this reader knows of it. */
export function stages(text: string): Stage[] {
  const out: Stage[] = [];
  for (const ins of instructions(text)) {
    if (ins.keyword === 'ARG' && out.length === 0) throw new Error('Dockerfile: ARG before FROM is not supported by this reader');
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(flags(ins.args).rest);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: FROM ${ins.args}`);
      const parent = out.find((s) => s.name === m[1]);
      out.push({
        image: m[1]!,
        name: m[2] ?? null,
        instructions: [],
        workdir: parent?.workdir ?? '/',
        env: { ...(parent?.env ?? {}) },
        copies: [],
        runs: [],
        user: parent?.user ?? null,
        volumes: [],
        expose: [],
        stopSignal: null,
        cmd: null,
        healthcheck: null,
      });
      continue;
    }
    const s = out[out.length - 1];
    if (!s) throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before FROM`);
    s.instructions.push(ins);
    switch (ins.keyword) {
      case 'WORKDIR':
        s.workdir = ins.args.startsWith('/') ? ins.args : `${s.workdir.replace(/\/$/, '')}/${ins.args}`;
        break;
      case 'ENV':
        env(ins.args, s.env);
        break;
      case 'COPY': {
        const f = flags(ins.args);
        const unknown = Object.keys(f.flags).filter((k) => !['from', 'chown', 'chmod', 'link'].includes(k));
        if (unknown.length) throw new Error(`Dockerfile line ${ins.line}: COPY --${unknown[0]} is not supported by this reader`);
        const all = execForm(f.rest) ?? words(f.rest);
        if (all.length < 2) throw new Error(`Dockerfile line ${ins.line}: COPY needs a source and a destination`);
        const sources = all.slice(0, -1);
        if (sources.some((p) => /[*?[]/.test(p))) throw new Error(`Dockerfile line ${ins.line}: wildcards are not supported by this reader`);
        s.copies.push({ from: f.flags.from ?? null, sources, dest: all[all.length - 1]!, line: ins.line });
        break;
      }
      case 'RUN':
        s.runs.push(ins.args);
        break;
      case 'USER':
        s.user = ins.args;
        break;
      case 'VOLUME':
        s.volumes.push(...(execForm(ins.args) ?? words(ins.args)));
        break;
      case 'EXPOSE':
        s.expose.push(...words(ins.args));
        break;
      case 'STOPSIGNAL':
        s.stopSignal = ins.args;
        break;
      case 'CMD':
        s.cmd = execForm(ins.args);
        if (!s.cmd) throw new Error(`Dockerfile line ${ins.line}: CMD in shell form (signals would go to a shell, not the service)`);
        break;
      case 'HEALTHCHECK': {
        const f = flags(ins.args);
        const m = /^CMD\s+(.*)$/.exec(f.rest);
        const cmd = m ? execForm(m[1]!) : null;
        if (!cmd) throw new Error(`Dockerfile line ${ins.line}: HEALTHCHECK needs CMD in exec form`);
        s.healthcheck = { options: f.flags, cmd };
        break;
      }
      default:
        break;
    }
  }
  return out;
}
