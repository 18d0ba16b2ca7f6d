// The observation form (templates/visits/observation/form.html): keeps what the observer types
// on this device until the server has it, so a reload, a lost connection or a closed tab loses
// nothing.
//
// The server side: htmx posts the whole form 800 ms after the last change (hx-trigger on the
// <form>) and swaps the returned status ("Saved at 10:42", see _status.html) into the
// role="status" region. The status carries data-saved-at and data-complete="true" once the
// server holds every answer that was sent.
//
// This side: every change writes all of the form's values to localStorage under the form's
// data-storage-key, with the time of the change on the server's clock (the page says what the
// server's clock read when it rendered: data-server-now). The entry is removed when a save
// that included the latest change comes back complete, so the device only holds answers the
// server does not have yet.
//
// On page load, an entry restores the form when it is newer than the draft the server
// rendered (data-server-updated), allowing GRACE_MS: an autosave can reach the server just
// after the page was left, stamping the draft later than keystrokes it did not carry. Older
// entries (the draft was changed later, on another device) are discarded. After a restore the
// form is saved again. The submitted page (data-observation-submitted) removes the entry.

const GRACE_MS = 30 * 1000;

function read(key) {
  try {
    return JSON.parse(window.localStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    window.localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled (private browsing): the server autosave still runs.
  }
}

function forget(key) {
  try {
    window.localStorage.removeItem(key);
  } catch {
    // Nothing to do.
  }
}

function valuesOf(form) {
  const values = {};
  for (const element of form.elements) {
    if (!element.name || element.name === 'csrfmiddlewaretoken' || element.type === 'submit') {
      continue;
    }
    if (element.type === 'radio') {
      if (element.checked) {
        values[element.name] = element.value;
      }
    } else {
      values[element.name] = element.value;
    }
  }
  return values;
}

function restore(form, values) {
  for (const element of form.elements) {
    if (!element.name || !(element.name in values)) {
      continue;
    }
    if (element.type === 'radio') {
      element.checked = element.value === values[element.name];
    } else if (element.type !== 'submit' && element.type !== 'hidden') {
      element.value = values[element.name];
    }
  }
}

function whenLoaded(callback) {
  if (document.readyState === 'complete') {
    callback();
  } else {
    window.addEventListener('load', callback, { once: true });
  }
}

function setUp(form) {
  const key = form.dataset.storageKey;
  const status = document.getElementById('observation-status');
  // The server's clock minus this device's, so stored times compare with the server's.
  const offset = Number(form.dataset.serverNow) - Date.now();
  const serverUpdated = Number(form.dataset.serverUpdated) || 0;
  let changes = 0; // bumped on every change
  let sent = 0; // the value of `changes` when the save in flight was sent

  const stored = read(key);
  if (stored && stored.values && stored.changedAt > serverUpdated - GRACE_MS) {
    restore(form, stored.values);
    changes += 1;
    if (status) {
      status.textContent = 'Restored the answers you entered on this device. Saving…';
    }
    // htmx attaches its listeners when the document has loaded; then save the restored form.
    whenLoaded(() => {
      if (window.htmx) {
        window.htmx.trigger(form, 'input');
      }
    });
  } else if (stored) {
    forget(key);
  }

  const remember = () => {
    changes += 1;
    write(key, { changedAt: Date.now() + offset, values: valuesOf(form) });
  };
  form.addEventListener('input', remember);
  form.addEventListener('change', remember);

  // Enter in a one-line answer would submit the whole form ("Submit my observations" is its
  // first button); on a phone's keyboard that is too easy to do by accident.
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.target instanceof HTMLInputElement) {
      event.preventDefault();
    }
  });

  form.addEventListener('htmx:beforeRequest', () => {
    sent = changes;
  });
  form.addEventListener('htmx:afterRequest', (event) => {
    if (!event.detail.successful) {
      return;
    }
    const saved = status && status.querySelector('[data-complete="true"]');
    if (saved && sent === changes) {
      forget(key);
    }
  });
  let retry = null;
  const offline = () => {
    if (status) {
      status.textContent = 'Not saved yet: check your connection. Your answers are kept on ' +
        'this device and will be saved when the connection is back.';
    }
    window.clearTimeout(retry);
    retry = window.setTimeout(() => window.htmx && window.htmx.trigger(form, 'input'), 15000);
  };
  form.addEventListener('htmx:sendError', offline);
  form.addEventListener('htmx:responseError', offline);
}

const submitted = document.querySelector('[data-observation-submitted]');
if (submitted) {
  forget(submitted.dataset.observationSubmitted);
}

const form = document.querySelector('form[data-observation-form]');
if (form) {
  setUp(form);
}
