// upgate upload page: Kaltura uploadToken protocol from the browser, no dependencies.
// - positional chunks (resumeAt), a few in flight, the final one held by the server;
// - progress = bytes the server acknowledged (contiguous), never backwards, never > 100 %;
// - network errors: retry with backoff; "online" event: retry at once;
// - reload or browser restart: each unfinished upload is remembered (localStorage) with
//   its file's size and a hash of its first and last MiB; the page lists them, and the
//   upload continues from the server's offset when the same file is chosen again (or is
//   discarded); files under 4 MiB are kept in IndexedDB and continue by themselves.
'use strict';

const API = '/api_v3/service/';
const STATUS = { 0: 'pending', 1: 'partial', 2: 'uploaded', 3: 'attached', 5: 'deleted' };
const ENTRY_STATUS = { 0: 'importing', 2: 'ready', 7: 'no content', '-2': 'import failed' };
let importPoll = null; // a refresh while entries import
const $ = (id) => document.getElementById(id);
let ks = sessionStorage.getItem('upgate.ks') || '';
let me = '';          // the signed-in user id
let partner = '';     // and partner
const uploading = new Set(); // tokens this page is sending
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// The metadata fields of an entry, as a form (values escaped; `who` decides which may change).
function detailsForm(prefix, e, canShare) {
  const field = (name, label, value, extra = '') =>
    `<div><label for="${prefix}-${name}">${label}</label><input id="${prefix}-${name}" data-field="${name}" value="${esc(value)}" ${extra}></div>`;
  return `<div class="details">
    ${field('name', 'Name', e.name)}
    ${field('tags', 'Tags (comma-separated)', e.tags)}
    <div style="grid-column: 1 / -1"><label for="${prefix}-description">Description</label><textarea id="${prefix}-description" data-field="description" rows="2">${esc(e.description)}</textarea></div>
    ${field('entitledUsersEdit', 'Co-editors (user ids, comma-separated)', e.entitledUsersEdit, canShare ? '' : 'disabled')}
    ${field('entitledUsersPublish', 'Co-publishers (user ids, comma-separated)', e.entitledUsersPublish, canShare ? '' : 'disabled')}
  </div>`;
}

// The form's values as `mediaEntry:` parameters (only enabled fields).
function detailsParams(root, prefix) {
  const out = {};
  for (const el of root.querySelectorAll('[data-field]')) {
    if (!el.disabled) out[`${prefix}:${el.dataset.field}`] = el.value.trim();
  }
  return out;
}

function human(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// Resolves at the next 'online' event or after `ms`, whichever comes first.
function waitOnline(ms) {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); window.removeEventListener('online', done); resolve(); }
    window.addEventListener('online', done);
  });
}

// A Kaltura error: the code for the program, the message for people.
class ApiError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

// What a person is told while a failed request is retried: what happens, never a code.
function retryState(e) {
  if (!navigator.onLine) return 'offline — waiting for the network';
  switch (e instanceof ApiError ? e.code : '') {
    case 'UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE': return 'finishing — waiting for the last pieces…';
    case 'REQUEST_RATE_EXCEEDED': return 'sending a little slower…';
    case 'SERVICE_UNAVAILABLE': return 'the server is busy — retrying…';
    case 'LOCK_TIMED_OUT': return 'waiting for the server…';
    default: return 'connection lost, resuming…';
  }
}

const RETRYABLE = new Set(['UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE', 'LOCK_TIMED_OUT', 'SERVICE_UNAVAILABLE', 'REQUEST_RATE_EXCEEDED']);

async function call(serviceAction, params) {
  const form = new FormData();
  form.append('format', '1');
  form.append('ks', ks);
  for (const [k, v] of Object.entries(params)) form.append(k, String(v));
  const resp = await fetch(API + serviceAction, { method: 'POST', body: form });
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  const v = await resp.json();
  if (v && v.objectType === 'KalturaAPIException') throw new ApiError(v.code, v.message);
  return v;
}

// Multipart upload of one chunk: fields first, then the file part.
async function uploadChunk(token, blob, resume, finalChunk, resumeAt, signal) {
  const form = new FormData();
  form.append('format', '1');
  form.append('ks', ks);
  form.append('uploadTokenId', token);
  form.append('resume', resume ? 'true' : 'false');
  form.append('finalChunk', finalChunk ? 'true' : 'false');
  form.append('resumeAt', String(resumeAt));
  form.append('fileData', blob, 'blob');
  const resp = await fetch(API + 'uploadtoken/action/upload', { method: 'POST', body: form, signal });
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  const v = await resp.json();
  if (v && v.objectType === 'KalturaAPIException') throw new ApiError(v.code, v.message);
  return v;
}

// Unfinished uploads, per token: { token, who, name, size, sig }.
const PENDING = 'upgate.pending:';
const SMALL = 4 * 1024 * 1024; // kept whole in IndexedDB below this size
const EDGE = 1024 * 1024;      // the signature hashes this much of each end

// What identifies a file again after a restart (its name and date may differ): the size
// and a hash of its first and last MiB (SHA-256; FNV-1a where crypto.subtle is missing,
// i.e. plain HTTP to a host that is not local).
async function signature(f) {
  const ends = new Blob([f.slice(0, Math.min(EDGE, f.size)), f.slice(Math.max(EDGE, f.size - EDGE))]);
  const bytes = new Uint8Array(await ends.arrayBuffer());
  if (window.crypto && crypto.subtle) {
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return `${f.size}:sha256:${Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  }
  let a = 0x811c9dc5, b = 0x9747b28c;
  for (const x of bytes) { a = Math.imul(a ^ x, 0x01000193); b = Math.imul(b ^ x, 0x5bd1e995) ^ (b >>> 13); }
  return `${f.size}:fnv:${(a >>> 0).toString(16)}:${(b >>> 0).toString(16)}`;
}

const who = () => `${me}@${partner}`;
const pending = {
  all() {
    const out = [];
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (!k.startsWith(PENDING)) continue;
      try { const r = JSON.parse(localStorage.getItem(k)); if (r.who === who()) out.push(r); } catch (e) { /* not ours */ }
    }
    return out;
  },
  find(sig) { return pending.all().find((r) => r.sig === sig); },
  save(r) { localStorage.setItem(PENDING + r.token, JSON.stringify(r)); },
  drop(token) { localStorage.removeItem(PENDING + token); stash.del(token); },
};

// Small files themselves, by token (IndexedDB keeps File objects).
const stash = {
  op(mode, fn) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open('upgate', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('files');
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        const tx = db.transaction('files', mode);
        const q = fn(tx.objectStore('files'));
        tx.oncomplete = () => { db.close(); resolve(q.result); };
        tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
      };
    });
  },
  put(token, file) { return stash.op('readwrite', (s) => s.put(file, token)).catch(() => {}); },
  get(token) { return stash.op('readonly', (s) => s.get(token)).catch(() => undefined); },
  del(token) { return stash.op('readwrite', (s) => s.delete(token)).catch(() => {}); },
};

function chunkSizeFor(size) {
  if (size < 64 * 1024 * 1024) return 1024 * 1024;
  if (size < 1024 * 1024 * 1024) return 4 * 1024 * 1024;
  return 8 * 1024 * 1024;
}

class Upload {
  constructor(file) {
    this.file = file;
    this.acked = 0;        // contiguous bytes the server holds (monotonic)
    this.paused = false;
    this.cancelled = false;
    this.controllers = new Set();
    this.startedAt = 0;
    this.startBytes = 0;
    this.el = document.createElement('div');
    this.el.className = 'file';
    this.el.innerHTML = `<div class="name"></div>
      <progress max="100" value="0"></progress>
      <div class="stats"><span class="state">waiting</span><span class="bytes"></span><span class="speed"></span><span class="eta"></span></div>
      <p><button type="button" class="secondary pause">Pause</button> <button type="button" class="secondary cancel">Cancel</button></p>`;
    this.el.querySelector('.name').textContent = file.name;
    // Name, description, tags and collaborators, used when the entry is created.
    const details = document.createElement('details');
    details.innerHTML = `<summary>Name, description, tags and collaborators</summary>${detailsForm(`up${Upload.count = (Upload.count || 0) + 1}`, { name: file.name }, true)}`;
    this.el.insertBefore(details, this.el.querySelector('progress'));
    this.details = details;
    this.el.querySelector('progress').setAttribute('aria-label', `Upload progress of ${file.name}`);
    this.el.querySelector('.pause').addEventListener('click', () => this.togglePause());
    this.el.querySelector('.cancel').addEventListener('click', () => this.cancel());
    $('queue').appendChild(this.el);
    this.render('waiting');
  }

  render(state) {
    if (state) this.el.querySelector('.state').textContent = state;
    const pct = this.file.size ? Math.min(100, (100 * this.acked) / this.file.size) : 100;
    this.el.querySelector('progress').value = pct;
    this.el.querySelector('.bytes').textContent = `${human(this.acked)} / ${human(this.file.size)} (${pct.toFixed(1)} %)`;
    const secs = (performance.now() - this.startedAt) / 1000;
    const rate = secs > 0.5 ? (this.acked - this.startBytes) / secs : 0;
    this.el.querySelector('.speed').textContent = rate > 0 ? `${human(rate)}/s` : '';
    const left = rate > 0 ? (this.file.size - this.acked) / rate : 0;
    this.el.querySelector('.eta').textContent = rate > 0 && this.acked < this.file.size ? `ETA ${Math.ceil(left)} s` : '';
    this.el.dataset.acked = String(this.acked);
  }

  ack(n) {
    if (n > this.acked) this.acked = Math.min(n, this.file.size); // never backwards, never past 100 %
    this.render();
  }

  togglePause() {
    this.paused = !this.paused;
    this.el.querySelector('.pause').textContent = this.paused ? 'Resume' : 'Pause';
    if (this.paused) { for (const c of this.controllers) c.abort(); this.render('paused'); }
  }

  async cancel() {
    this.cancelled = true;
    for (const c of this.controllers) c.abort();
    if (this.token) {
      try { await call('uploadtoken/action/delete', { uploadTokenId: this.token }); } catch (e) { /* already gone */ }
      pending.drop(this.token);
    }
    this.el.classList.add('failed');
    this.render('cancelled');
  }

  // Runs `fn` until it succeeds: network errors and retryable API errors back off
  // (or resume at once when the browser comes back online); pause waits.
  async retry(fn) {
    let delay = 500;
    let failed = false;
    for (;;) {
      if (this.cancelled) throw new Error('cancelled');
      while (this.paused) { await sleep(200); if (this.cancelled) throw new Error('cancelled'); }
      try {
        const v = await fn();
        if (failed) {
          // Back on track: say so, instead of the last problem.
          this.el.classList.remove('offline');
          this.render('uploading');
        }
        return v;
      } catch (e) {
        if (this.cancelled) throw e;
        if (e instanceof ApiError && !RETRYABLE.has(e.code)) throw e;
        failed = true;
        this.el.classList.toggle('offline', !navigator.onLine);
        this.render(retryState(e));
        await waitOnline(delay);
        delay = Math.min(delay * 2, 30000);
      }
    }
  }

  async start() {
    const f = this.file;
    this.startedAt = performance.now();
    this.render('checking the file…');
    const sig = await signature(f);
    const known = pending.find(sig);
    let token = known && !uploading.has(known.token) ? known.token : null;
    let offset = 0;
    if (token) {
      uploading.add(token);
      const listed = document.querySelector(`#pending [data-token="${CSS.escape(token)}"]`);
      if (listed) listed.remove();
      try {
        const t = await this.retry(() => call('uploadtoken/action/get', { uploadTokenId: token }));
        offset = Number(t.uploadedFileSize || 0);
        if (t.status >= 2) offset = f.size;
        this.resumedFrom = offset;
        this.el.dataset.resumedFrom = String(offset);
      } catch (e) {
        pending.drop(token);
        uploading.delete(token);
        token = null; // gone: start over with a new token
      }
    }
    if (!token) {
      const t = await this.retry(() => call('uploadtoken/action/add', { 'uploadToken:fileName': f.name, 'uploadToken:fileSize': f.size }));
      token = t.id;
      uploading.add(token);
      pending.save({ token, who: who(), name: f.name, size: f.size, sig });
      if (f.size < SMALL) await stash.put(token, f);
    }
    this.token = token;
    this.el.dataset.token = token;
    this.startBytes = offset;
    this.ack(offset);
    this.render(offset ? `resuming from ${human(offset)}` : 'uploading');
    const chunk = chunkSizeFor(f.size);
    const send = async (start) => {
      const end = Math.min(start + chunk, f.size);
      const last = end >= f.size;
      const v = await this.retry(async () => {
        const c = new AbortController();
        this.controllers.add(c);
        try {
          return await uploadChunk(token, f.slice(start, end), start > 0, last, start, c.signal);
        } finally { this.controllers.delete(c); }
      });
      this.ack(Number(v.uploadedFileSize || 0));
      return v;
    };
    if (offset === 0 && f.size > 0) { await send(0); offset = Math.min(chunk, f.size); }
    if (f.size === 0) { await send(0); }
    const starts = [];
    for (let s = offset; s < f.size; s += chunk) starts.push(s);
    const final = starts.pop();
    let next = 0;
    const worker = async () => { while (next < starts.length) { const s = starts[next++]; await send(s); } };
    // The final chunk goes last, once every other one is acknowledged: sent early, the
    // server would hold it while the rest arrives, and its retries would cost time.
    await Promise.all([worker(), worker(), worker()]);
    if (final !== undefined) await send(final);
    if (f.size > 0 && this.acked < f.size) {
      const t = await this.retry(() => call('uploadtoken/action/get', { uploadTokenId: token }));
      this.ack(Number(t.uploadedFileSize || 0));
    }
    // Attach the finished file to a media entry with the details entered meanwhile.
    const props = detailsParams(this.details, 'entry');
    if (!props['entry:name']) props['entry:name'] = f.name;
    for (const k of Object.keys(props)) if (props[k] === '') delete props[k];
    const entry = await this.retry(() => call('media/action/add', { ...props, 'entry:objectType': 'KalturaMediaEntry', 'entry:mediaType': 1 }));
    await this.retry(() => call('media/action/addContent', {
      entryId: entry.id, 'resource:objectType': 'KalturaUploadedFileTokenResource', 'resource:token': token,
    }));
    pending.drop(token);
    this.el.classList.add('done');
    this.el.dataset.entry = entry.id;
    this.el.querySelector('.pause').disabled = true;
    this.el.querySelector('.cancel').disabled = true;
    this.render(`done — entry ${entry.id}`);
    $('announce').textContent = `${f.name} uploaded.`;
  }
}

function roleOf(e) {
  const has = (list) => String(list || '').split(',').map((x) => x.trim()).includes(me);
  if (e.userId === me) return 'owner';
  if (has(e.entitledUsersPublish)) return 'co-publisher';
  if (has(e.entitledUsersEdit)) return 'co-editor';
  return 'published';
}

let categories = [];

// The details row of an entry: edit its metadata, add captions, publish it.
function entryPanel(e, role) {
  const id = `e-${e.id}`;
  const opts = categories.map((c) => `<option value="${esc(c.id)}">${esc(c.fullName)}</option>`).join('');
  const canEdit = role !== 'published';
  const canPublish = role === 'owner' || role === 'co-publisher';
  return `<div class="panel" data-entry="${esc(e.id)}">
    ${detailsForm(id, e, role === 'owner')}
    <p><button type="button" class="save" ${canEdit ? '' : 'disabled'}>Save details</button></p>
    <div class="tools">
      <div><label for="${id}-lang">Caption language</label><select id="${id}-lang" class="lang"><option value="English">English</option><option value="Spanish">Spanish</option><option value="French">French</option><option value="German">German</option><option value="Chinese">Chinese</option></select></div>
      <div><label for="${id}-cap">Captions file (SRT or VTT)</label><input id="${id}-cap" class="cap" type="file" accept=".srt,.vtt,text/vtt" ${canEdit ? '' : 'disabled'}></div>
      <div><label for="${id}-cat">Publish to a course gallery</label><select id="${id}-cat" class="cat" ${canPublish && opts ? '' : 'disabled'}>${opts}</select></div>
      <button type="button" class="secondary publish" ${canPublish && opts ? '' : 'disabled'}>Publish</button>
    </div>
    <p class="muted msg" aria-live="polite"></p>
  </div>`;
}

async function wirePanel(panel) {
  const entryId = panel.dataset.entry;
  const say = (t) => { panel.querySelector('.msg').textContent = t; };
  panel.querySelector('.save').addEventListener('click', async () => {
    try {
      await call('media/action/update', { entryId, 'mediaEntry:objectType': 'KalturaMediaEntry', ...detailsParams(panel, 'mediaEntry') });
      say('Details saved.');
      refresh();
    } catch (err) { say(`Not saved: ${err.message}`); }
  });
  panel.querySelector('.cap').addEventListener('change', async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    try {
      if (file.size > 1024 * 1024) throw new Error('captions larger than 1 MiB are not accepted');
      const content = await file.text();
      const language = panel.querySelector('.lang').value;
      const format = content.trimStart().startsWith('WEBVTT') ? 3 : 1;
      const asset = await call('caption_captionasset/action/add', { entryId, 'captionAsset:objectType': 'KalturaCaptionAsset', 'captionAsset:language': language, 'captionAsset:format': format });
      await call('caption_captionasset/action/setContent', { id: asset.id, 'contentResource:objectType': 'KalturaStringResource', 'contentResource:content': content });
      say(`${language} captions added.`);
    } catch (err) { say(`Captions refused: ${err.message}`); }
    ev.target.value = '';
  });
  panel.querySelector('.publish').addEventListener('click', async () => {
    const categoryId = panel.querySelector('.cat').value;
    try {
      await call('categoryEntry/action/add', { 'categoryEntry:objectType': 'KalturaCategoryEntry', 'categoryEntry:categoryId': categoryId, 'categoryEntry:entryId': entryId });
      say('Published to the gallery.');
    } catch (err) { say(err.code === 'CATEGORY_ENTRY_ALREADY_EXISTS' ? 'Already published there.' : `Not published: ${err.message}`); }
  });
}

let refreshGen = 0;

async function refresh() {
  // Only the newest of overlapping refreshes draws the table.
  const gen = ++refreshGen;
  try {
    const q = $('search').value.trim();
    const filter = { 'filter:objectType': 'KalturaMediaEntryFilter', 'filter:orderBy': $('sort').value, 'pager:pageSize': 100 };
    const [byName, tokens, cats] = await Promise.all([
      call('media/action/list', q ? { ...filter, 'filter:nameLike': q } : filter),
      call('uploadtoken/action/list', { 'pager:pageSize': 100 }),
      call('category/action/list', { 'pager:pageSize': 100 }).catch(() => ({ objects: [] })),
    ]);
    let objects = byName.objects;
    if (q) {
      // Names or tags: a second query for tags, merged in the chosen order.
      const byTags = await call('media/action/list', { ...filter, 'filter:tagsLike': q });
      const ids = new Set(objects.map((o) => o.id));
      objects = objects.concat(byTags.objects.filter((o) => !ids.has(o.id)));
    }
    if (gen !== refreshGen) return;
    categories = cats.objects || [];
    const rows = (list, cells) => list.map((o) => `<tr>${cells(o).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('');
    $('entries').innerHTML = objects.map((e) => {
      const role = roleOf(e);
      const link = e.downloadUrl ? `<a href="${esc(e.downloadUrl)}">${esc(e.id)}</a>` : esc(e.id);
      return `<tr><td>${link}</td><td>${esc(e.name)}</td><td><span class="role">${esc(role)}</span></td>`
        + `<td>${esc(ENTRY_STATUS[e.status] || e.status)}${e.importError ? `<br><small class="error">${esc(e.importError)}</small>` : ''}</td>`
        + `<td>${e.fileSize ? human(Number(e.fileSize)) : ''}</td>`
        + `<td><button type="button" class="secondary toggle" aria-expanded="false" data-entry="${esc(e.id)}">Details</button></td></tr>`
        + `<tr hidden><td colspan="6">${entryPanel(e, role)}</td></tr>`;
    }).join('');
    // Imports finish on the server: look again while any runs.
    clearTimeout(importPoll);
    if (objects.some((e) => e.status === 0)) importPoll = setTimeout(refresh, 5000);
    for (const b of $('entries').querySelectorAll('.toggle')) {
      b.addEventListener('click', () => {
        const row = b.closest('tr').nextElementSibling;
        row.hidden = !row.hidden;
        b.setAttribute('aria-expanded', String(!row.hidden));
      });
    }
    for (const panel of $('entries').querySelectorAll('.panel')) wirePanel(panel);
    $('tokens').innerHTML = rows(tokens.objects, (t) => [esc(t.id), esc(t.fileName), esc(STATUS[t.status] || t.status),
      t.uploadedFileSize ? human(Number(t.uploadedFileSize)) : '']);
  } catch (e) {
    $('announce').textContent = `Could not list media: ${e.message}`;
  }
}

async function signIn() {
  ks = $('ks').value.trim() || ks;
  try {
    const s = await call('session/action/get', {});
    sessionStorage.setItem('upgate.ks', ks);
    me = s.userId || '';
    partner = String(s.partnerId);
    $('who').textContent = `Signed in as ${s.userId || '(anonymous)'} (partner ${s.partnerId})`;
    $('uploader').disabled = false;
    $('library').disabled = false;
    refresh();
    showPending();
  } catch (e) {
    $('who').textContent = `Sign-in failed: ${e.message}`;
  }
}

// The unfinished uploads of an earlier page or browser session: what is stored of each;
// small ones continue at once, the others when their file is chosen again, or are
// discarded.
async function showPending() {
  const box = $('pending');
  box.replaceChildren();
  for (const r of pending.all()) {
    if (uploading.has(r.token)) continue;
    const el = document.createElement('div');
    el.className = 'file pending';
    el.dataset.token = r.token;
    el.innerHTML = `<div class="name"></div>
      <div class="stats"><span class="state">checking…</span><span class="bytes"></span></div>
      <p><button type="button" class="secondary discard">Discard</button></p>`;
    el.querySelector('.name').textContent = r.name;
    el.querySelector('.discard').setAttribute('aria-label', `Discard the unfinished upload of ${r.name}`);
    el.querySelector('.discard').addEventListener('click', async () => {
      try { await call('uploadtoken/action/delete', { uploadTokenId: r.token }); } catch (e) { /* already gone */ }
      pending.drop(r.token);
      el.remove();
      $('announce').textContent = `${r.name} discarded.`;
    });
    box.appendChild(el);
    let stored = null;
    try {
      const t = await call('uploadtoken/action/get', { uploadTokenId: r.token });
      stored = t.status >= 2 ? r.size : Number(t.uploadedFileSize || 0);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'UPLOAD_TOKEN_NOT_FOUND') { pending.drop(r.token); el.remove(); continue; }
    }
    el.dataset.stored = String(stored ?? '');
    if (stored !== null) el.querySelector('.bytes').textContent = `${human(stored)} of ${human(r.size)} stored`;
    const kept = await stash.get(r.token);
    if (kept && !uploading.has(r.token)) { addFiles([new File([kept], r.name, { type: kept.type })]); continue; }
    el.querySelector('.state').textContent = 'unfinished — choose the same file again to resume';
  }
  $('pending-box').hidden = !box.children.length;
}

function addFiles(list) {
  for (const f of list) {
    const u = new Upload(f);
    u.start().then(refresh, (e) => { if (!u.cancelled) { u.el.classList.add('failed'); u.render(`failed: ${e.message}`); } });
  }
}

function setNet() {
  $('net').textContent = navigator.onLine ? 'Online' : 'Offline — uploads will resume when the network is back';
  $('net').className = navigator.onLine ? 'net' : 'net offline';
  // Each file in progress says so too, at once.
  for (const el of document.querySelectorAll('#queue .file:not(.done):not(.failed)')) {
    el.classList.toggle('offline', !navigator.onLine);
    if (!navigator.onLine) el.querySelector('.state').textContent = 'offline — waiting for the network';
  }
}

$('signin-btn').addEventListener('click', signIn);
$('ks').addEventListener('keydown', (e) => { if (e.key === 'Enter') signIn(); });
$('files').addEventListener('change', (e) => { addFiles(e.target.files); e.target.value = ''; });
$('refresh').addEventListener('click', refresh);
$('sort').addEventListener('change', refresh);
$('search').addEventListener('keydown', (e) => { if (e.key === 'Enter') refresh(); });
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); addFiles(e.dataTransfer.files); });
drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') $('files').click(); });
window.addEventListener('online', setNet);
window.addEventListener('offline', setNet);
setNet();
if (ks) { $('ks').value = ks; signIn(); }
