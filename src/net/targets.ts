import { lookup } from 'node:dns/promises';
import { BlockList, isIP, LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import SPECIAL_ADDRESSES from './special-addresses.json';

/**
 * Where the service may send a request on someone's say-so (webhook targets).
 *
 * A target is refused unless
 * - its scheme is `https` (`http` only with `allowHttp`),
 * - its URL holds no credentials (`user:pass@`),
 * - every address its host resolves to is a public unicast address: not unspecified,
 *   loopback, link-local, private (RFC 1918, ULA), shared (CGNAT 100.64/10), multicast,
 *   broadcast, documentation, benchmarking or otherwise reserved — in IPv4, IPv6, and
 *   the IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64
 *   `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`), and no address of this machine's own
 *   interfaces (the service itself) —
 *   unless the operator's allow-list names the host (then any address), or the address lies
 *   in one of its CIDRs.
 *
 * Host names are taken as the WHATWG URL parser leaves them: odd IPv4 spellings
 * (`0x7f000001`, `2130706433`, `127.1`, `0177.0.0.1`, percent-encoded digits) are already
 * dotted quads, IPv6 literals are compressed. Address ranges are matched with Node's
 * `net.BlockList` (no hand-written address parsing); names resolve through `dns.lookup`
 * (all addresses, as the system resolver answers). The caller connects to the addresses
 * checked here and to no other (see `pinnedLookup`): a second resolution cannot swap the
 * target (DNS rebinding).
 */

export type Family = 4 | 6;
export type ResolvedAddress = { address: string; family: Family };
/** All addresses of a host name (never called for IP literals). */
export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

export type TargetPolicy = {
  allowHttp: boolean;
  /** Host names (lower case, no trailing dot) whose every address is accepted. */
  allowHosts: ReadonlySet<string>;
  /** Addresses accepted though not public. */
  allowNets: BlockList;
};

/** A target that passed: the parsed URL and the addresses to connect to. */
export type CheckedTarget = { url: URL; hostname: string; addresses: ResolvedAddress[] };

/** A refusal, with the reason for the `url` field. */
export class TargetRefused extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TargetRefused';
  }
}

const RESOLVE_TIMEOUT_MS = 5_000;

/** The system resolver: every address, in the order it gives them; bounded in time. */
export const systemResolve: Resolve = async (hostname) => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('DNS lookup timed out')), RESOLVE_TIMEOUT_MS);
  });
  try {
    const found = await Promise.race([lookup(hostname, { all: true, verbatim: true }), timeout]);
    return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  } finally {
    clearTimeout(timer);
  }
};

type Range = { net: string; prefix: number; what: string };

/** [CIDR, what it is, (a note)] entries of src/net/special-addresses.json as ranges. */
const ranges = (list: string[][]): Range[] =>
  list.map(([cidr, what]) => {
    const [net, prefix] = (cidr ?? '').split('/');
    return { net: net ?? '', prefix: Number(prefix), what: what ?? '' };
  });

// the IANA special-purpose registries, multicast and the reserved class E: data, not code
const V4: Range[] = ranges(SPECIAL_ADDRESSES.v4);
const V6: Range[] = ranges(SPECIAL_ADDRESSES.v6);

/** The IPv6 forms that carry an IPv4 address in their low bits, and 6to4 (in bits 16–47). */
const V4_IN_V6: { embed: (v4: string, prefix: number) => [string, number] }[] = [
  { embed: (v4, p) => [`::ffff:${v4}`, 96 + p] },
  { embed: (v4, p) => [`64:ff9b::${v4}`, 96 + p] },
  {
    embed: (v4, p) => {
      const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
      const hex = (x: number, y: number) => ((x << 8) | y).toString(16);
      return [`2002:${hex(a, b)}:${hex(c, d)}::`, 16 + p];
    },
  },
];

type Group = { what: string; list: BlockList };

function groups(): Group[] {
  const byWhat = new Map<string, BlockList>();
  const listFor = (what: string) => {
    let list = byWhat.get(what);
    if (!list) byWhat.set(what, (list = new BlockList()));
    return list;
  };
  for (const r of V4) {
    listFor(r.what).addSubnet(r.net, r.prefix, 'ipv4');
    for (const form of V4_IN_V6) {
      const [net, prefix] = form.embed(r.net, r.prefix);
      listFor(r.what).addSubnet(net, prefix, 'ipv6');
    }
  }
  for (const r of V6) listFor(r.what).addSubnet(r.net, r.prefix, 'ipv6');
  return [...byWhat].map(([what, list]) => ({ what, list }));
}

const SPECIAL = groups();

/** Global unicast IPv6, and the forms of public IPv4 addresses inside IPv6 (checked above). */
const V6_UNICAST = new BlockList();
V6_UNICAST.addSubnet('2000::', 3, 'ipv6');
V6_UNICAST.addSubnet('::ffff:0:0', 96, 'ipv6');
V6_UNICAST.addSubnet('64:ff9b::', 96, 'ipv6');

/** The addresses of this machine's interfaces, as they are now. */
function ownAddresses(): BlockList {
  const own = new BlockList();
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      try {
        own.addAddress(bare(i.address), i.family === 'IPv6' ? 'ipv6' : 'ipv4');
      } catch {
        // an address Node cannot parse back is no address we could connect to either
      }
    }
  }
  return own;
}

const bare = (address: string) => address.replace(/%.*$/, ''); // an IPv6 zone index
const type = (family: Family) => (family === 6 ? 'ipv6' : 'ipv4');

/**
 * Why an address is not public, or null when it is. Pure but for this machine's own
 * interface addresses (`own`, read once per check).
 */
export function notPublic(address: string, family: Family, own: BlockList = ownAddresses()): string | null {
  const a = bare(address);
  if (isIP(a) !== family) return 'not an IP address';
  for (const g of SPECIAL) if (g.list.check(a, type(family))) return g.what;
  if (family === 6 && !V6_UNICAST.check(a, 'ipv6')) return 'a reserved address';
  if (own.check(a, type(family))) return "an address of this service's own machine";
  return null;
}

/** Scheme and credentials: what the URL says before any name is resolved. */
export function parseTarget(text: string, policy: Pick<TargetPolicy, 'allowHttp'>): { url: URL; hostname: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TargetRefused('must be an https URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw new TargetRefused(policy.allowHttp ? 'must be an http(s) URL' : 'must be an https URL (http is not allowed here: ZONERISK_WEBHOOK_ALLOW_HTTP)');
  }
  if (url.username !== '' || url.password !== '') throw new TargetRefused('must not hold credentials (user:password@)');
  // WHATWG leaves IPv6 literals in brackets, and a fully qualified name its trailing dot
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  if (hostname === '') throw new TargetRefused('must name a host');
  return { url, hostname };
}

/**
 * Checks a target URL and resolves it once. Throws TargetRefused naming the reason; returns
 * the addresses that passed, the only ones to connect to.
 */
export async function checkTarget(text: string, policy: TargetPolicy, resolve: Resolve = systemResolve): Promise<CheckedTarget> {
  const { url, hostname } = parseTarget(text, policy);
  const literal = isIP(hostname);
  let addresses: ResolvedAddress[];
  if (literal === 4 || literal === 6) addresses = [{ address: hostname, family: literal }];
  else {
    try {
      addresses = await resolve(hostname);
    } catch {
      throw new TargetRefused(`its host ${hostname} could not be resolved`);
    }
    if (addresses.length === 0) throw new TargetRefused(`its host ${hostname} could not be resolved`);
  }
  if (policy.allowHosts.has(hostname)) return { url, hostname, addresses };
  const own = ownAddresses();
  for (const { address, family } of addresses) {
    if (isIP(bare(address)) === family && policy.allowNets.check(bare(address), type(family))) continue;
    const why = notPublic(address, family, own);
    if (why) throw new TargetRefused(literal ? `is ${why}; only public addresses are allowed (ZONERISK_WEBHOOK_ALLOW)` : `its host ${hostname} resolves to ${why} (${address}); only public addresses are allowed (ZONERISK_WEBHOOK_ALLOW)`);
  }
  return { url, hostname, addresses };
}

/**
 * A `lookup` for http(s).request that answers with the checked addresses only, so the
 * connection goes where the check looked (the URL's host name still names the request:
 * `Host` and TLS SNI/certificate checks are unchanged).
 */
export function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error('no checked address'), { code: 'ENOTFOUND' }), '');
    if (options.all) return callback(null, addresses.map((a) => ({ address: bare(a.address), family: a.family })));
    return callback(null, bare(first.address), first.family);
  };
}

/**
 * One allow-list entry: a CIDR (`10.1.0.0/16`, `fd00::/8`), an address, or a host name.
 * Returns null when it is none of them.
 */
export function parseAllowEntry(entry: string): { host: string } | { net: string; prefix: number; family: Family } | null {
  const text = entry.trim();
  const cidr = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const ip = cidr ? (cidr[1] as string) : text.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(ip);
  if (family === 4 || family === 6) {
    const prefix = cidr ? Number(cidr[2]) : family === 4 ? 32 : 128;
    if (prefix > (family === 4 ? 32 : 128)) return null;
    return { net: ip, prefix, family };
  }
  if (cidr) return null;
  // a host name, as the URL parser would leave it (IDN to punycode, lower case)
  let host: string;
  try {
    host = new URL(`http://${text}/`).hostname.replace(/\.$/, '');
  } catch {
    return null;
  }
  if (host === '' || !/^[a-z0-9.-]+$/.test(host) || isIP(host)) return null;
  return { host };
}

/** The policy from the operator's settings (entries validated at start-up). */
export function targetPolicy(settings: { allowHttp: boolean; allow: readonly string[] }): TargetPolicy {
  const allowHosts = new Set<string>();
  const allowNets = new BlockList();
  for (const entry of settings.allow) {
    const parsed = parseAllowEntry(entry);
    if (!parsed) throw new Error(`not a host name, address or CIDR: ${entry}`);
    if ('host' in parsed) allowHosts.add(parsed.host);
    else allowNets.addSubnet(parsed.net, parsed.prefix, type(parsed.family));
  }
  return { allowHttp: settings.allowHttp, allowHosts, allowNets };
}

/** The delivery policy of a configuration (ZONERISK_WEBHOOK_ALLOW_HTTP, ZONERISK_WEBHOOK_ALLOW). */
export const webhookPolicy = (config: { webhookAllowHttp: boolean; webhookAllow: readonly string[] }): TargetPolicy =>
  targetPolicy({ allowHttp: config.webhookAllowHttp, allow: config.webhookAllow });
