// Live mode of the visit day (templates/visits/day/live.html), loaded as a module.
//
// 1. The clock. The server renders each session's elapsed seconds at the time of the response
//    (data-elapsed) and whether it is running; this adds the time since the panel arrived, so
//    the device's own clock never matters. Past the planned time it shows how far over, and
//    puts the "Over time" warning into a polite live region once.
// 2. Nothing is lost. The capture box's draft is kept in localStorage as it is typed and put
//    back on reload. Each note gets a client_id (crypto.randomUUID()) before it is sent and sits
//    in a queue in localStorage until the server has answered; if the request fails (offline,
//    network error, server trouble) it stays there, is listed as "waiting to send", and is sent
//    again when the browser comes back online, every little while, and on the next page load.
//    The server stores a note once per client_id, so sending it twice is harmless.
// No inline scripts or handlers: everything is bound here, by event delegation, so content
// that htmx swaps in works without binding again.

const form = () => document.querySelector('[data-capture-form]');
const visitId = (form() && form().dataset.visit) || 'unknown';
// Keyed by person too: on a shared computer one facilitator's unsent notes are never shown
// to, or sent as, the next person signed in.
const userId = (form() && form().dataset.user) || 'unknown';
const DRAFT_KEY = `ilcop:visit:${visitId}:user:${userId}:capture-draft`;
const QUEUE_KEY = `ilcop:visit:${visitId}:user:${userId}:capture-queue`;
const RETRY_MS = 15000;
const inflight = new Set();
let flushing = false;

// --- storage ---------------------------------------------------------------------------------

function read(key, fallback) {
  try {
    const value = window.localStorage.getItem(key);
    return value ? JSON.parse(value) : fallback;
  } catch (error) {
    return fallback;
  }
}

function write(key, value) {
  try {
    if (value === null) {
      window.localStorage.removeItem(key);
    } else {
      window.localStorage.setItem(key, JSON.stringify(value));
    }
  } catch (error) {
    // Storage full or disabled: the page still works, it just cannot keep drafts.
  }
}

const loadQueue = () => read(QUEUE_KEY, []);
const saveQueue = (queue) => write(QUEUE_KEY, queue.length ? queue : null);

function enqueue(note) {
  const queue = loadQueue().filter((n) => n.client_id !== note.client_id);
  queue.push(note);
  saveQueue(queue);
}

function dequeue(clientId) {
  saveQueue(loadQueue().filter((n) => n.client_id !== clientId));
}

function newId() {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') {
    return window.crypto.randomUUID();
  }
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- messages --------------------------------------------------------------------------------

function say(message) {
  const status = document.getElementById('capture-status');
  if (status) {
    status.textContent = message;
  }
}

// --- the draft -------------------------------------------------------------------------------

function textBox() {
  const f = form();
  return f ? f.querySelector('textarea[name="text"]') : null;
}

function saveDraft() {
  const f = form();
  const box = textBox();
  if (!f || !box) {
    return;
  }
  const checked = f.querySelector('input[name="kind"]:checked');
  const who = f.querySelector('select[name="who"]');
  write(DRAFT_KEY, box.value.trim() ? {
    text: box.value,
    kind: checked ? checked.value : '',
    who: who ? who.value : ''
  } : null);
}

function restoreDraft() {
  const draft = read(DRAFT_KEY, null);
  const f = form();
  const box = textBox();
  if (!draft || !f || !box || box.value.trim()) {
    return;
  }
  box.value = draft.text || '';
  const kind = draft.kind && f.querySelector(`input[name="kind"][value="${CSS.escape(draft.kind)}"]`);
  if (kind) {
    kind.checked = true;
  }
  const who = f.querySelector('select[name="who"]');
  if (who && draft.who && Array.from(who.options).some((o) => o.value === draft.who)) {
    who.value = draft.who;
  }
  say('Your unsent draft has been put back.');
}

function clearDraft() {
  const box = textBox();
  if (box) {
    box.value = '';
  }
  write(DRAFT_KEY, null);
}

document.addEventListener('input', (event) => {
  if (event.target.closest && event.target.closest('[data-capture-form]')) {
    saveDraft();
  }
});
document.addEventListener('change', (event) => {
  if (event.target.closest && event.target.closest('[data-capture-form]')) {
    saveDraft();
  }
});

// Ctrl+Enter (or Cmd+Enter) in the text box captures the note.
document.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)
      && event.target.matches && event.target.matches('[data-capture-form] textarea')) {
    event.preventDefault();
    event.target.form.requestSubmit();
  }
});

// Error messages from an earlier refused note no longer apply once a note is captured.
function clearErrors() {
  const f = form();
  if (!f) {
    return;
  }
  f.querySelectorAll('.nhsuk-error-message').forEach((message) => message.remove());
  f.querySelectorAll('.nhsuk-form-group--error').forEach((group) => {
    group.classList.remove('nhsuk-form-group--error');
  });
  f.querySelectorAll('.nhsuk-input--error, .nhsuk-textarea--error, .nhsuk-select--error')
    .forEach((field) => {
      field.classList.remove('nhsuk-input--error', 'nhsuk-textarea--error', 'nhsuk-select--error');
      field.removeAttribute('aria-invalid');
    });
}

// --- notes waiting to send -------------------------------------------------------------------

function renderPending() {
  const list = document.querySelector('[data-pending-list]');
  const section = document.querySelector('[data-pending-section]');
  if (!list || !section) {
    return;
  }
  const waiting = loadQueue().filter((n) => !inflight.has(n.client_id));
  list.replaceChildren(...waiting.map((note) => {
    const item = document.createElement('li');
    item.dataset.clientId = note.client_id;
    const meta = document.createElement('p');
    meta.className = 'nhsuk-u-margin-bottom-1';
    const tag = document.createElement('strong');
    tag.className = 'nhsuk-tag nhsuk-tag--grey';
    tag.textContent = 'Waiting to send';
    const about = document.createElement('span');
    about.className = 'nhsuk-u-font-size-16 nhsuk-u-secondary-text-colour';
    about.textContent = ` ${[note.kindLabel, note.whoLabel].filter(Boolean).join(' · ')}`;
    meta.append(tag, about);
    const words = document.createElement('p');
    words.className = 'nhsuk-u-margin-bottom-0';
    words.textContent = note.text;
    item.append(meta, words);
    return item;
  }));
  section.hidden = waiting.length === 0;
}

function csrfToken() {
  const input = document.querySelector('[data-capture-form] input[name="csrfmiddlewaretoken"]');
  return input ? input.value : '';
}

async function flush() {
  const f = form();
  if (flushing || !f || !navigator.onLine) {
    return;
  }
  flushing = true;
  try {
    for (const note of loadQueue()) {
      if (inflight.has(note.client_id)) {
        continue;
      }
      const body = new FormData();
      for (const name of ['kind', 'who', 'text', 'session', 'client_id']) {
        body.set(name, note[name] || '');
      }
      body.set('csrfmiddlewaretoken', csrfToken());
      inflight.add(note.client_id);
      let response;
      try {
        response = await fetch(f.action, {
          method: 'POST',
          body,
          credentials: 'same-origin',
          headers: { 'HX-Request': 'true', 'X-CSRFToken': csrfToken() }
        });
      } catch (error) {
        break; // still offline: try again later
      } finally {
        inflight.delete(note.client_id);
      }
      if (response.redirected) {
        say('Sign in again to send the notes waiting on this device.');
        break;
      }
      if (response.ok) {
        dequeue(note.client_id);
        const html = await response.text();
        if (window.htmx && document.getElementById('captures')) {
          window.htmx.swap('#captures', html, { swapStyle: 'outerHTML' });
        }
        say('A note that was waiting has been sent.');
      } else if (response.status >= 400 && response.status < 500) {
        // The server refused it (the person chosen is no longer on the list, or this account
        // can no longer capture here): retrying cannot help, and would hold up the notes
        // behind it. Put the words back in the box rather than lose them.
        dequeue(note.client_id);
        const box = textBox();
        if (box && !box.value.trim()) {
          box.value = note.text;
          saveDraft();
        }
        say('A waiting note could not be saved as it was; it is back in the box to check.');
      } else {
        break; // server trouble: try again later
      }
    }
  } finally {
    flushing = false;
    renderPending();
  }
}

// --- capture through htmx --------------------------------------------------------------------

function isCapture(detail) {
  const elt = detail && detail.requestConfig ? detail.requestConfig.elt : detail && detail.elt;
  return Boolean(elt && elt.matches && elt.matches('[data-capture-form]'));
}

function labelOf(f, data) {
  const checked = f.querySelector('input[name="kind"]:checked');
  const kindLabel = checked && checked.labels && checked.labels[0]
    ? checked.labels[0].textContent.trim() : data.get('kind') || '';
  const who = f.querySelector('select[name="who"]');
  const whoLabel = who && who.selectedIndex > 0 ? who.options[who.selectedIndex].text : '';
  return { kindLabel, whoLabel };
}

document.addEventListener('htmx:configRequest', (event) => {
  if (!isCapture(event.detail)) {
    return;
  }
  const data = event.detail.formData;
  const clientId = newId();
  data.set('client_id', clientId);
  const text = String(data.get('text') || '').trim();
  if (!text) {
    return; // nothing to keep; the server explains what is missing
  }
  // Into the queue before it is sent: if the page dies mid-request, the next load sends it.
  inflight.add(clientId);
  enqueue({
    client_id: clientId,
    kind: data.get('kind') || '',
    who: data.get('who') || '',
    session: data.get('session') || '',
    text,
    at: Date.now(),
    ...labelOf(event.detail.elt, data)
  });
});

function signedOut(xhr) {
  return Boolean(xhr && xhr.responseURL && xhr.responseURL.includes('/accounts/login'));
}

document.addEventListener('htmx:beforeSwap', (event) => {
  const xhr = event.detail.xhr;
  if (!xhr || !isCapture(event.detail)) {
    return;
  }
  if (signedOut(xhr)) {
    // The session ended: do not put the sign-in page in the list; the note stays queued.
    event.detail.shouldSwap = false;
  } else if (xhr.status === 422) {
    // A 422 carries the form back with its error messages: swap it in place of the one sent.
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

document.addEventListener('htmx:afterRequest', (event) => {
  if (!isCapture(event.detail)) {
    return;
  }
  const clientId = event.detail.requestConfig.formData.get('client_id');
  inflight.delete(clientId);
  const status = event.detail.xhr ? event.detail.xhr.status : 0;
  const queued = loadQueue().some((n) => n.client_id === clientId);
  // A 422 counts as "successful" for htmx once beforeSwap lets it swap, so check it first.
  if (signedOut(event.detail.xhr)) {
    clearDraft();
    say('Your session has ended. The note is kept on this device: sign in again to send it.');
  } else if (status === 422) {
    dequeue(clientId);
    say('Not captured yet: check the form.');
  } else if (event.detail.successful) {
    dequeue(clientId);
    clearDraft();
    clearErrors();
    say('Captured.');
    const box = textBox();
    if (box) {
      box.focus();
    }
  } else if (queued) {
    clearDraft();
    say('Not sent: the note is kept on this device and will be sent when the connection is back.');
  }
  renderPending();
});

// --- the clock -------------------------------------------------------------------------------

const clocks = new WeakMap();

function clockText(total) {
  const seconds = Math.max(0, Math.floor(total));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const two = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

function tick() {
  const now = performance.now();
  document.querySelectorAll('[data-live-clock]').forEach((clock) => {
    if (!clocks.has(clock)) {
      clocks.set(clock, now);
    }
    const running = clock.dataset.running === 'true';
    const elapsed = Number(clock.dataset.elapsed || 0) + (running ? (now - clocks.get(clock)) / 1000 : 0);
    const text = clockText(elapsed);
    if (clock.textContent !== text) {
      clock.textContent = text;
    }
    const planned = Number(clock.dataset.planned || 0);
    const panel = clock.closest('#session-panel');
    if (!panel || !planned || elapsed <= planned) {
      return;
    }
    const over = panel.querySelector('[data-overrun-by]');
    const overText = `${Math.floor((elapsed - planned) / 60)} min over`;
    if (over && over.textContent !== overText) {
      over.textContent = overText;
    }
    const region = panel.querySelector('[data-overrun-region]');
    const template = panel.querySelector('template[data-overrun-template]');
    if (region && template && !region.firstElementChild) {
      region.append(template.content.cloneNode(true));
    }
  });
}

// After a button swaps the session panel, keep keyboard focus in it (the button pressed has
// gone): on its first button, or its heading.
document.addEventListener('htmx:afterSettle', (event) => {
  tick();
  const panel = document.getElementById('session-panel');
  const target = event.detail.target;
  if (!panel || !target || target.id !== 'session-panel') {
    return;
  }
  if (!document.activeElement || document.activeElement === document.body) {
    const first = panel.querySelector('button[type="submit"]') || panel.querySelector('#session-heading');
    if (first) {
      first.focus();
    }
  }
});

// --- start -----------------------------------------------------------------------------------

restoreDraft();
renderPending();
tick();
setInterval(tick, 1000);
window.addEventListener('online', () => {
  say('Back online.');
  flush();
});
window.addEventListener('offline', () => say('You are offline. Notes will be kept on this device.'));
setInterval(() => {
  if (loadQueue().length) {
    flush();
  }
}, RETRY_MS);
flush();
