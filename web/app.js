// beacon-runner live page: reads a job, then follows GET /api/v1/jobs/{id}/events (server-sent
// events; the browser resumes with Last-Event-ID) and keeps a Question -> Model -> Region grid of
// cell counts up to date. No polling. window.beacon exposes the state for tests.
'use strict';

const STATUSES = ['pending', 'running', 'completed', 'failed', 'timeout', 'cancelled'];
const TERMINAL_JOB = ['completed', 'failed', 'cancelled'];
const TERMINAL_CELL = ['completed', 'failed', 'timeout', 'cancelled'];

const state = {
  jobId: null,
  source: null,
  status: '',
  reason: '',
  questions: [],  // question ids by index
  models: [],
  regions: [],
  groups: new Map(),  // "qi|model|region" -> {pending, running, ...}
  usage: noUsage(),
  usageBy: { region: new Map(), model: new Map() },  // name -> usage, as the job's
  events: { snapshot: 0, cell: 0, job: 0 },
};

// The node to talk to: this page's own origin, or another one given as ?api=http://host:port (the
// node must list this page's origin in its cors-origins).
const API = (new URLSearchParams(location.search).get('api') || '').replace(/\/+$/, '');

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function noUsage() {
  return { prompt_tokens: 0, completion_tokens: 0, cost: 0, uncosted_cells: 0 };
}

function zero() {
  return Object.fromEntries(STATUSES.map((s) => [s, 0]));
}

function groupKey(qi, model, region) {
  return `${qi}|${model}|${region}`;
}

// One word for a group of cells (several when runs > 1).
function groupStatus(c) {
  const total = STATUSES.reduce((n, s) => n + c[s], 0);
  if (total === 0) return 'pending';
  if (c.running > 0) return 'running';
  if (c.pending > 0) return c.pending === total ? 'pending' : 'running';
  if (c.completed === total) return 'completed';
  if (c.cancelled === total) return 'cancelled';
  if (c.failed > 0) return 'failed';
  if (c.timeout > 0) return 'timeout';
  return 'completed';
}

function showError(message) {
  const box = $('#error');
  box.textContent = message;
  box.hidden = !message;
}

async function getJSON(path) {
  const response = await fetch(API + path, { headers: { Accept: 'application/json' } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function setConnection(kind, text) {
  const badge = $('#connection');
  badge.className = `connection ${kind}`;
  badge.textContent = text;
}

// ---- rendering ---------------------------------------------------------------------------

function renderBar(bar, counts) {
  const total = STATUSES.reduce((n, s) => n + counts[s], 0) || 1;
  bar.replaceChildren(
    ...['completed', 'failed', 'timeout', 'cancelled', 'running'].map((s) =>
      el('span', { class: s, style: `width:${(100 * counts[s]) / total}%`, title: `${s}: ${counts[s]}` })));
}

function questionCounts(qi) {
  const sum = zero();
  for (const [key, c] of state.groups) {
    if (!key.startsWith(`${qi}|`)) continue;
    for (const s of STATUSES) sum[s] += c[s];
  }
  return sum;
}

function totals() {
  const sum = zero();
  for (const c of state.groups.values()) for (const s of STATUSES) sum[s] += c[s];
  return sum;
}

function formatCost(cost) {
  return Number(cost.toPrecision(6)).toString();
}

function renderTotals() {
  const t = totals();
  const all = STATUSES.reduce((n, s) => n + t[s], 0);
  $('#totals').replaceChildren(
    el('span', {}, 'total ', el('b', { id: 'total-cells' }, String(all))),
    ...STATUSES.map((s) => el('span', {}, `${s} `, el('b', { id: `total-${s}` }, String(t[s])))),
    el('span', {}, 'tokens ', el('b', { id: 'total-tokens' },
      `${state.usage.prompt_tokens} in / ${state.usage.completion_tokens} out`)),
    el('span', { title: state.usage.uncosted_cells
      ? `${state.usage.uncosted_cells} answers without a known cost (no price or no usage)` : '' },
    'cost ', el('b', { id: 'total-cost' }, formatCost(state.usage.cost))));
  renderBar($('#overall'), t);
  renderUsageBy();
  const badge = $('#job-status');
  badge.textContent = state.status;
  badge.className = `badge ${state.status}`;
  $('#job-reason').textContent = state.reason || '';
}

function renderQuestion(qi) {
  const section = $(`.question[data-qi="${qi}"]`);
  if (!section) return;
  const c = questionCounts(qi);
  const total = STATUSES.reduce((n, s) => n + c[s], 0);
  const done = c.completed + c.failed + c.timeout + c.cancelled;
  $('.count', section).textContent = `${done} / ${total} done · ${c.completed} completed`;
  renderBar($('.bar', section), c);
}

function renderCell(qi, model, region) {
  const td = $(`td.cell[data-key="${CSS.escape(groupKey(qi, model, region))}"]`);
  if (!td) return false;
  const c = state.groups.get(groupKey(qi, model, region)) || zero();
  const status = groupStatus(c);
  const total = STATUSES.reduce((n, s) => n + c[s], 0);
  td.dataset.status = status;
  td.textContent = total > 1 ? `${status} ${c.completed}/${total}` : status;
  td.title = STATUSES.filter((s) => c[s]).map((s) => `${s}: ${c[s]}`).join(', ');
  return true;
}

function renderGrid() {
  const container = $('#questions');
  container.replaceChildren();
  state.questions.forEach((qid, qi) => {
    const head = el('tr', {}, el('th', {}, 'model \\ region'), ...state.regions.map((r) => el('th', {}, r)));
    const rows = state.models.map((m) =>
      el('tr', {}, el('th', {}, m), ...state.regions.map((r) =>
        el('td', {
          class: 'cell',
          dataset: { key: groupKey(qi, m, r), qi: String(qi), model: m, region: r, status: 'pending' },
          onclick: () => openDetail(qi, m, r),
        }, 'pending'))));
    container.append(el('div', { class: 'question', dataset: { qi: String(qi) } },
      el('h3', {}, el('span', {}, `${qi + 1}. ${qid}`), el('span', { class: 'count' }, '')),
      el('div', { class: 'bar' }),
      el('table', { class: 'grid' }, el('thead', {}, head), el('tbody', {}, ...rows))));
  });
  state.questions.forEach((_, qi) => {
    for (const m of state.models) for (const r of state.regions) renderCell(qi, m, r);
    renderQuestion(qi);
  });
  renderTotals();
}

// ---- the event stream ----------------------------------------------------------------------

function applySnapshot(p) {
  state.status = p.status;
  state.reason = p.reason || '';
  state.groups = new Map();
  for (const g of p.groups || []) {
    const c = zero();
    for (const s of STATUSES) c[s] = g[s] || 0;
    state.groups.set(groupKey(g.question_index, g.model_id, g.region), c);
    if (!state.models.includes(g.model_id)) state.models.push(g.model_id);
    if (!state.regions.includes(g.region)) state.regions.push(g.region);
  }
  for (const q of p.questions || []) state.questions[q.question_index] = q.question_id;
  state.usage = Object.assign(noUsage(), p.usage || {});
  state.usageBy = { region: new Map(), model: new Map() };
  for (const r of p.regions || []) state.usageBy.region.set(r.region, Object.assign(noUsage(), r.usage));
  for (const m of p.models || []) state.usageBy.model.set(m.model_id, Object.assign(noUsage(), m.usage));
  renderGrid();
  // A stream opened after the job ended brings no job event: the snapshot is the news.
  if (TERMINAL_JOB.includes(state.status)) {
    loadAnalysis();
    loadJobLog();
  }
}

function applyCell(e) {
  const key = groupKey(e.question_index, e.model_id, e.region);
  if (!state.groups.has(key)) state.groups.set(key, zero());
  const c = state.groups.get(key);
  if (e.from && c[e.from] > 0) c[e.from] -= 1;
  c[e.status] += 1;
  addUsage(e);
  if (!renderCell(e.question_index, e.model_id, e.region)) renderGrid();
  renderQuestion(e.question_index);
  renderTotals();
}

// A committed cell's reported tokens and cost join the job's totals.
function addUsage(e) {
  if (!TERMINAL_CELL.includes(e.status)) return;
  const region = state.usageBy.region, model = state.usageBy.model;
  if (!region.has(e.region)) region.set(e.region, noUsage());
  if (!model.has(e.model_id)) model.set(e.model_id, noUsage());
  for (const u of [state.usage, region.get(e.region), model.get(e.model_id)]) {
    u.prompt_tokens += e.prompt_tokens || 0;
    u.completion_tokens += e.completion_tokens || 0;
    if (typeof e.cost === 'number') u.cost += e.cost;
    else if (e.status === 'completed') u.uncosted_cells += 1;
  }
}

// Tokens and cost per region and per model, under the totals.
function renderUsageBy() {
  const part = (kind, label) => el('span', {}, `${label}: `,
    ...[...state.usageBy[kind]].sort(([a], [b]) => a.localeCompare(b)).map(([name, u]) =>
      el('span', { class: 'usage-part' }, `${name} `,
        el('b', { id: `usage-${kind}-${name}` }, formatCost(u.cost)),
        ` (${u.prompt_tokens} in / ${u.completion_tokens} out) `)));
  $('#usage-by').replaceChildren(part('region', 'cost by region'), part('model', 'by model'));
}

function follow(jobId) {
  if (state.source) state.source.close();
  const source = new EventSource(`${API}/api/v1/jobs/${encodeURIComponent(jobId)}/events`);
  state.source = source;
  source.addEventListener('open', () => setConnection('live', 'live'));
  source.addEventListener('error', () => {
    if (TERMINAL_JOB.includes(state.status)) return setConnection('idle', 'finished');
    setConnection('reconnecting', 'reconnecting…');
  });
  source.addEventListener('snapshot', (m) => {
    state.events.snapshot += 1;
    applySnapshot(JSON.parse(m.data));
  });
  source.addEventListener('cell', (m) => {
    state.events.cell += 1;
    applyCell(JSON.parse(m.data));
  });
  source.addEventListener('job', (m) => {
    state.events.job += 1;
    const e = JSON.parse(m.data);
    state.status = e.status;
    state.reason = e.reason || '';
    renderTotals();
    loadRecent();
    loadAnalysis();
    loadJobLog();
  });
}

// A panel shown once the job has ended: `fill(box)` fills it, and a failure is said in it.
async function endedPanel(selector, what, fill) {
  const box = $(selector);
  if (!TERMINAL_JOB.includes(state.status)) {
    box.hidden = true;
    return;
  }
  try {
    await fill(box);
  } catch (err) {
    box.replaceChildren(el('p', { class: 'muted' }, `${what}: ${err.message}`));
  }
  box.hidden = false;
}

// The job's cross-region analysis once it ended (GET /api/v2/jobs/{id}/bias-analysis).
function loadAnalysis() {
  return endedPanel('#job-analysis', 'analysis', async (box) => {
    const v2 = await getJSON(`/api/v2/jobs/${encodeURIComponent(state.jobId)}/bias-analysis`);
    const a = v2.analysis;
    const ev = v2.evidence || {};
    const refusing = (ev.refusing_regions || []).map((r) =>
      el('li', {}, `${r.region}: ${r.refusals + r.deflections} of ${r.answers} answers refused or deflected (${r.questions.join(', ')})`));
    const ranking = (ev.model_ranking || []).map((m) =>
      el('li', {}, `${m.rank}. ${m.model_id}: mean divergence ${num(m.mean_divergence)}, max ${num(m.max_divergence)}`));
    const top = (ev.most_divergent || []).slice(0, 5).map((g) =>
      el('li', {}, `${g.question_id} / ${g.model_id}: D ${num(g.divergence.score)}${g.flags.length ? ' — ' + g.flags.join('; ') : ''}`));
    box.replaceChildren(
      el('h3', {}, 'Cross-region analysis'),
      el('p', { class: 'recommendation' }, a.recommendation),
      el('p', {}, a.summary),
      el('h4', {}, 'Most divergent'), el('ul', {}, ...top),
      el('h4', {}, 'Refusing regions'), refusing.length ? el('ul', {}, ...refusing) : el('p', { class: 'muted' }, 'none'),
      el('h4', {}, 'Models by divergence'), el('ol', { class: 'plain' }, ...ranking));
  });
}

async function openJob(jobId) {
  jobId = jobId.trim();
  if (!jobId) return;
  showError('');
  try {
    const job = await getJSON(`/api/v1/jobs/${encodeURIComponent(jobId)}`);
    const spec = job.job || {};
    state.jobId = jobId;
    state.status = job.stored_status || job.status;
    state.reason = job.error || '';
    state.questions = (spec.questions || []).map((q) => (typeof q === 'string' ? q : q.id));
    state.models = ((spec.metadata && spec.metadata.models) || spec.models || [])
      .map((m) => (typeof m === 'string' ? m : m.id));
    state.regions = (spec.constraints && spec.constraints.regions) || [];
    state.groups = new Map();
    $('#job-title').textContent = jobId;
    $('#job-input').value = jobId;
    $('#job').hidden = false;
    $('#empty').hidden = true;
    if (location.hash !== `#job=${encodeURIComponent(jobId)}`) location.hash = `job=${encodeURIComponent(jobId)}`;
    renderGrid();
    follow(jobId);
    loadAnalysis();
  } catch (err) {
    showError(`${jobId}: ${err.message}`);
  }
}

// ---- the transparency log ------------------------------------------------------------------
// Every answer's receipt is a leaf of the node's append-only Merkle log (RFC 9162 hashing); the
// node signs the log's tree heads. The page checks a receipt as an auditor would: its leaf from
// its canonical JSON (WebCrypto SHA-256), the inclusion proof up to the signed root, the head's
// Ed25519 signature (where the browser's WebCrypto has Ed25519), and the answer shown against the
// receipt's output hash.

// Sorted keys, compact: the canonical JSON the node hashes (its strings and integers).
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const fromBase64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const utf8 = (s) => new TextEncoder().encode(s);
const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function sha256(...parts) {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

// RFC 9162 section 2.1.3.2: the root an inclusion proof leads to, or null.
async function rootFromProof(leaf, index, size, path) {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(new Uint8Array([1]), p, r);
      if (fn % 2 === 0) while (fn !== 0 && fn % 2 === 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await sha256(new Uint8Array([1]), r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

// true / false, or null when this browser's WebCrypto has no Ed25519.
async function headSigned(head, publicKey) {
  const payload = canonical({ key_id: head.key_id, root_hash: head.root_hash, timestamp: head.timestamp, tree_size: head.tree_size });
  try {
    const key = await crypto.subtle.importKey('raw', fromBase64(publicKey), { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, fromBase64(head.signature), utf8(payload));
  } catch (err) {
    return null;
  }
}

// {ok, text}: whether the served receipt is in the signed log and vouches for its answer.
async function checkReceipt(receipt) {
  const t = receipt.transparency;
  if (!t) return { ok: false, text: receipt.signature ? 'signed receipt (before the log)' : 'not in the log' };
  const core = JSON.parse(JSON.stringify(receipt));
  delete core.transparency;
  delete core.signature;
  delete core.public_key;
  if (core.output) delete core.output.data;
  const leaf = await sha256(new Uint8Array([0]), await sha256(utf8(canonical(core))));
  const root = await rootFromProof(leaf, t.leaf_index, t.tree_head.tree_size, t.audit_path.map(fromBase64));
  if (!root || !sameBytes(root, fromBase64(t.tree_head.root_hash))) return { ok: false, text: 'proof does not reach the signed root' };
  const answer = `sha256:${hex(await sha256(utf8(canonical(receipt.output.data))))}`;
  if (answer !== receipt.output.hash) return { ok: false, text: 'the answer differs from the logged one' };
  const signed = await headSigned(t.tree_head, t.public_key);
  if (signed === false) return { ok: false, text: 'tree head signature invalid' };
  return {
    ok: true,
    text: `in log ${t.key_id} as leaf ${t.leaf_index} of ${t.tree_head.tree_size}` +
      (signed ? ', head signature verified' : ' (this browser cannot check Ed25519)'),
  };
}

// Marks a side-by-side card with its receipt's check.
async function markVerified(card, executionId) {
  const mark = el('span', { class: 'verify pending' }, 'checking…');
  $('h4', card).append(mark);
  try {
    const result = await checkReceipt(await getJSON(`/api/v1/executions/${executionId}/receipt`));
    mark.className = `verify ${result.ok ? 'ok' : 'bad'}`;
    mark.textContent = result.ok ? '✓ verified' : '✗ not verified';
    mark.title = result.text;
    card.dataset.verified = String(result.ok);
  } catch (err) {
    mark.className = 'verify bad';
    mark.textContent = '✗ not verified';
    mark.title = err.message;
    card.dataset.verified = 'false';
  }
}

// The job's tree head: where its answers are logged, and the head's signature checked here.
function loadJobLog() {
  return endedPanel('#job-log', 'transparency', async (box) => {
    const t = await getJSON(`/api/v1/jobs/${encodeURIComponent(state.jobId)}/transparency`);
    const lines = await Promise.all(t.logs.map(async (l) => {
      const h = l.tree_head;
      const signed = await headSigned(h, l.public_key);
      const word = signed === null ? 'signature not checkable in this browser' : signed ? 'signature verified' : 'SIGNATURE INVALID';
      return el('li', { dataset: { signed: String(signed) } },
        `log ${l.key_id}: ${l.leaves} of this job's answers (leaves ${l.first_leaf}–${l.last_leaf}); `,
        `tree head of ${h.tree_size} leaves, root ${hex(fromBase64(h.root_hash)).slice(0, 16)}…, signed ${h.timestamp} — ${word}`);
    }));
    box.replaceChildren(el('h4', {}, 'Transparency log'),
      lines.length ? el('ul', {}, ...lines) : el('p', { class: 'muted' }, 'no answer of this job is in a log'));
  });
}

// ---- the side-by-side detail ---------------------------------------------------------------

function num(x) {
  return x === null || x === undefined ? null : Number(x).toFixed(2);
}

// The comparison of one question x model: flags, the divergence and its components, pairs.
function analysisBox(a) {
  const d = a.divergence || {};
  const c = d.components;
  const flags = (a.flags || []).map((f) => el('li', { class: `flag flag-${f.type}` }, f.message));
  const score = d.score === null || d.score === undefined
    ? 'divergence: not enough answers to compare'
    : `divergence ${num(d.score)} = 0.4×${num(c.dissimilarity)} (dissimilarity) + 0.3×${num(c.refusal_gap)} (refusal gap)`
      + ` + 0.2×${num(c.key_term_gap)} (key-term gap) + 0.1×${num(c.length_disparity)} (length)`;
  const noise = a.same_region_noise === null || a.same_region_noise === undefined
    ? 'same-region noise: unknown (one run)' : `same-region noise ${num(a.same_region_noise)}`;
  const pairs = (a.pairs || []).map((p) => `${p.regions.join('–')} ${num(p.similarity)}${p.beyond_noise ? '' : ' (within noise)'}`);
  return el('div', { class: 'analysis', id: 'detail-analysis' },
    flags.length ? el('ul', { class: 'flags' }, ...flags) : el('p', { class: 'muted' }, 'no flags'),
    el('p', { class: 'divergence' }, score),
    el('p', { class: 'muted' }, `similarity ${pairs.join(' · ') || '—'} · ${noise}`));
}

function field(dl, name, value) {
  if (value === null || value === undefined || value === '') return;
  dl.append(el('dt', {}, name), el('dd', {}, String(value)));
}

async function openDetail(qi, model, region) {
  const qid = state.questions[qi];
  const box = $('#detail');
  $('#detail-title').textContent = `${qid} · ${model}`;
  const body = $('#detail-body');
  body.replaceChildren(el('p', { class: 'muted' }, 'loading…'));
  box.hidden = false;
  try {
    const view = await getJSON(`/api/v1/executions/${encodeURIComponent(state.jobId)}/cross-region` +
      `?model_id=${encodeURIComponent(model)}&question_id=${encodeURIComponent(qid)}`);
    const a = view.analysis || {};
    const cards = view.region_results.map((r) => {
      const kind = r.is_content_refusal ? ' refusal'
        : r.response_classification === 'deflection' ? ' deflection' : '';
      const dl = el('dl');
      const sc = r.scoring || {};
      field(dl, 'classification', r.response_classification);
      field(dl, 'bias score', num(sc.bias_score));
      field(dl, 'key terms', sc.keywords_detected && sc.keywords_detected.join(', '));
      field(dl, 'provider', r.provider_id);
      field(dl, 'started', r.started_at);
      field(dl, 'completed', r.completed_at);
      field(dl, 'duration', r.duration_ms === null ? null : `${r.duration_ms} ms`);
      field(dl, 'attempts', r.attempts);
      field(dl, 'length', r.response_length);
      field(dl, 'tokens', r.prompt_tokens === null && r.completion_tokens === null ? null
        : `${r.prompt_tokens ?? '?'} in / ${r.completion_tokens ?? '?'} out`);
      field(dl, 'finish reason', r.finish_reason);
      field(dl, 'cost', r.cost === null || r.cost === undefined ? null : formatCost(r.cost));
      field(dl, 'error', r.error_code ? `${r.error_code}: ${r.error_message}` : null);
      const answer = r.execution_output && r.execution_output.response;
      const card = el('article', { class: `region-answer${kind}${r.region === region ? ' selected' : ''}`, dataset: { region: r.region } },
        el('h4', {}, el('span', {}, `${r.region_name || r.region} (${r.region})`), el('span', { class: `badge ${r.status}` }, r.status)),
        el('div', { class: 'answer' }, answer || (r.status === 'completed' ? '' : 'no answer')),
        dl);
      if (r.status === 'completed' && r.execution_id) markVerified(card, r.execution_id);
      return card;
    });
    const note = analysisBox(a);
    body.replaceChildren(...[note, el('div', { class: 'side-by-side' }, ...cards)].filter(Boolean));
  } catch (err) {
    body.replaceChildren(el('p', { class: 'error-text' }, err.message));
  }
}

// ---- recent jobs ---------------------------------------------------------------------------

async function loadRecent() {
  try {
    const { jobs } = await getJSON('/api/v1/jobs?limit=20');
    const list = $('#job-list');
    list.replaceChildren(...(jobs.length ? jobs.map((j) =>
      el('li', {}, el('a', { href: `#job=${encodeURIComponent(j.id)}` }, j.id), ' ',
        el('span', { class: `badge ${j.status}` }, j.status))) : [el('li', { class: 'muted' }, 'no jobs yet')]));
  } catch (err) {
    showError(`jobs: ${err.message}`);
  }
}

function jobFromHash() {
  const m = /^#job=(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : '';
}

window.addEventListener('hashchange', () => {
  const id = jobFromHash();
  if (id && id !== state.jobId) openJob(id);
});
$('#open-form').addEventListener('submit', (e) => {
  e.preventDefault();
  openJob($('#job-input').value);
});
$('#detail-close').addEventListener('click', () => { $('#detail').hidden = true; });
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') $('#detail').hidden = true; });

// For tests and the curious: the live state, and counts read from the DOM.
window.beacon = {
  state,
  summary() {
    const cells = [...document.querySelectorAll('td.cell')];
    const byStatus = zero();
    for (const td of cells) byStatus[td.dataset.status] += 1;
    return {
      job: state.jobId, status: state.status, events: state.events, totals: totals(),
      dom: { cells: cells.length, byStatus, totalText: ($('#total-completed') || {}).textContent },
    };
  },
};

loadRecent();
if (jobFromHash()) openJob(jobFromHash());
