/* Renders /openapi.json: operations by tag, their parameters and request bodies. */
'use strict';
(async function main() {
  const doc = await (await fetch('/openapi.json')).json();
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const byTag = {};
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) (byTag[op.tags[0]] ??= []).push({ path, method, op });
  }
  document.getElementById('ops').innerHTML = Object.entries(byTag)
    .map(([tag, ops]) => `<h2>${esc(tag)}</h2>${ops
      .map(({ path, method, op }) => {
        const params = (op.parameters || []).map((p) => `<li><code>${esc(p.name)}</code> (${p.in}${p.required ? ', required' : ''})</li>`).join('');
        const body = op.requestBody ? `<p>Body: ${Object.keys(op.requestBody.content).map(esc).join(', ')}</p><pre>${esc(JSON.stringify(op.requestBody.content['application/json'].schema, null, 2))}</pre>` : '';
        return `<details><summary><span class="m ${method}">${method.toUpperCase()}</span><code>${esc(path)}</code> — ${esc(op.summary)}${op.security ? ' <span class="lock">🔑 key</span>' : ''}</summary>${params ? `<ul>${params}</ul>` : ''}${body}</details>`;
      })
      .join('')}`)
    .join('');
})();
