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
