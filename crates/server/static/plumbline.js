// Plumbline's only script besides htmx: uploads for forms marked `data-upload`. The chosen file
// is streamed as the request body (so a large file never waits in memory as a form), with the
// form's CSRF token in X-CSRF-Token; a progress bar follows the upload, and the server's answer,
// an HTML fragment it rendered and escaped, replaces #import-result.
document.addEventListener('DOMContentLoaded', () => {
  for (const form of document.querySelectorAll('form[data-upload]')) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const file = form.querySelector('input[type=file]').files[0];
      if (!file) return;
      const button = form.querySelector('button[type=submit]');
      const box = document.getElementById('import-progress');
      const bar = document.getElementById('upload-bar');
      const text = document.getElementById('upload-text');
      const result = document.getElementById('import-result');
      const size = file.size >= 1048576 ? `${(file.size / 1048576).toFixed(1)} MB` : `${Math.ceil(file.size / 1024)} KB`;
      const params = new URLSearchParams({ format: form.querySelector('[name=format]').value, name: file.name });
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${form.getAttribute('action')}?${params}`);
      xhr.setRequestHeader('X-CSRF-Token', form.querySelector('[name=csrf]').value);
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.upload.addEventListener('progress', (e) => {
        if (!e.lengthComputable) return;
        const pct = Math.round((100 * e.loaded) / e.total);
        bar.value = pct;
        text.textContent = `${pct}% of ${size} sent`;
      });
      xhr.upload.addEventListener('load', () => {
        bar.value = 100;
        text.textContent = `${size} sent; checking and importing every row…`;
      });
      xhr.addEventListener('load', () => {
        button.disabled = false;
        text.textContent = 'Finished.';
        if (xhr.status === 403) {
          result.textContent = 'The form expired: reload the page and try again. Nothing was imported.';
        } else {
          result.innerHTML = xhr.responseText;
        }
      });
      xhr.addEventListener('error', () => {
        button.disabled = false;
        text.textContent = '';
        result.textContent = 'The upload failed: check the connection and try again. Nothing was imported.';
      });
      button.disabled = true;
      result.textContent = '';
      box.hidden = false;
      bar.value = 0;
      text.textContent = `0% of ${size} sent`;
      xhr.send(file);
    });
  }
});

// Active time on the scoring page (forms marked `data-active-time`): a second counts while the
// page is visible and focused and there was input (keys, pointer, scroll) in the last 60 s;
// idle time is not counted. The seconds go with the next save or submit in the hidden
// `active_seconds` field, and the count starts again on the page that follows.
document.addEventListener('DOMContentLoaded', () => {
  const form = document.querySelector('form[data-active-time]');
  if (!form) return;
  const field = form.querySelector('input[name=active_seconds]');
  const idleAfterMs = 60000;
  let lastInput = performance.now();
  let lastTick = performance.now();
  let activeMs = 0;
  const noteInput = () => { lastInput = performance.now(); };
  for (const type of ['keydown', 'pointerdown', 'pointermove', 'wheel', 'scroll', 'input', 'focus']) {
    window.addEventListener(type, noteInput, { passive: true, capture: true });
  }
  const tick = () => {
    const now = performance.now();
    // Count only the part of the interval before the grader went idle (a sleeping laptop or
    // a background tab never adds a long stretch).
    const activeUntil = Math.min(now, lastInput + idleAfterMs);
    if (document.visibilityState === 'visible' && document.hasFocus() && activeUntil > lastTick) {
      activeMs += Math.min(activeUntil - lastTick, 5000);
    }
    lastTick = now;
    field.value = String(Math.min(Math.round(activeMs / 1000), 14400));
  };
  setInterval(tick, 1000);
  form.addEventListener('submit', tick);
});
