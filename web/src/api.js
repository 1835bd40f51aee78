// Requests to the service: the reader's key (when reads need one) on every request, JSON
// answers, and errors the page can show in both languages.
import { escapeHtml } from './text.js';

const KEY = 'zonerisk.key';
let key = sessionStorage.getItem(KEY);

export const hasKey = () => Boolean(key);
export function setKey(k) {
  key = k || null;
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}
/** Headers for our own requests (tiles included): the key, when there is one. */
export const authHeaders = () => (key ? { Authorization: `Bearer ${key}` } : {});

/** The service refused the key (or there is none and reads need one). */
export class KeyNeeded extends Error {}
/** Any other failed request: status and the service's message. */
export class RequestFailed extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onKeyNeeded = null;
let asking = null;
/** Called with a retry when a request answers 401; the page asks for a key, then retries. */
export function whenKeyNeeded(fn) {
  onKeyNeeded = fn;
}

export async function getJson(path, { signal } = {}) {
  let res;
  try {
    res = await fetch(path, { headers: { Accept: 'application/json', ...authHeaders() }, signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new RequestFailed(0, 'network');
  }
  if (res.status === 401) {
    if (!onKeyNeeded) throw new KeyNeeded();
    // one prompt for every request refused at once; each retries with the key given
    const sent = key;
    if (!asking) asking = onKeyNeeded(key !== null && key === sent).finally(() => (asking = null));
    if (key === sent) await asking;
    return getJson(path, { signal });
  }
  if (!res.ok) {
    let message = res.statusText;
    try {
      message = (await res.json()).error?.message ?? message;
    } catch {
      /* not JSON */
    }
    throw new RequestFailed(res.status, message);
  }
  return res.json();
}

/** Every page of the change feed for these parameters. */
export async function allChanges(params, opts) {
  const items = [];
  let cursor = null;
  do {
    const q = new URLSearchParams(params);
    if (cursor) q.set('cursor', cursor);
    const page = await getJson(`/v1/changes?${q}`, opts);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** A file from the service, with the key, saved under the name the service gives. */
export async function download(path) {
  const res = await fetch(path, { headers: authHeaders() });
  if (!res.ok) throw new RequestFailed(res.status, res.statusText);
  const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '')?.[1] || 'briefing';
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Fills `box` by `load()`; a failure leaves a message in both languages and a retry button
 * in the box, never a blank.
 */
export async function guarded(box, load) {
  try {
    return await load();
  } catch (e) {
    if (e && e.name === 'AbortError') return undefined;
    const detail = e instanceof RequestFailed ? (e.status ? `${e.status}: ${e.message}` : '') : String(e && e.message ? e.message : e);
    box.innerHTML = `<div class="error" role="alert"><p>Không tải được dữ liệu <span class="en">/ Could not load the data</span></p>${detail ? `<p class="detail">${escapeHtml(detail)}</p>` : ''}<button type="button" class="retry">Thử lại / Retry</button></div>`;
    box.querySelector('.retry').addEventListener('click', () => guarded(box, load));
    return undefined;
  }
}
