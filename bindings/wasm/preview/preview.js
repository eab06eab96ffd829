// Sequence preview: recomputes the port4me sequence on every keystroke with
// the WebAssembly build (npm/port4me/browser.js, which instantiates the
// module's bytes from npm/port4me/wasm/port4me_bytes.mjs). Nothing else is
// loaded.
import { sequence, parsePorts, unsafePorts, hash, version } from '../../../npm/port4me/browser.js';

const MAX_SHOWN = 1000;
const $ = (id) => document.getElementById(id);
const fields = ['user', 'tool', 'prepend', 'include', 'exclude', 'skip', 'n'];
const { chrome, firefox } = unsafePorts;
const chromeSet = new Set(chrome);
const firefoxSet = new Set(firefox);

$('version').textContent = `port4me ${version} (WebAssembly)`;

function blockedBy(port) {
  const who = [];
  if (chromeSet.has(port)) who.push('Chrome');
  if (firefoxSet.has(port)) who.push('Firefox');
  return who.join(', ');
}

// Reads the form into sequence() options; a number field left empty is unset.
function readOptions() {
  const opts = { user: $('user').value };
  for (const name of ['tool', 'prepend', 'include', 'exclude']) {
    const v = $(name).value;
    if (v.trim() !== '') opts[name] = v;
  }
  for (const name of ['skip', 'n']) {
    const raw = $(name).value.trim();
    if (raw !== '') opts[name] = Number(raw);
  }
  if (!$('unsafe').checked) opts.excludeUnsafe = '';
  return opts;
}

function showError(err) {
  const box = $('error');
  box.hidden = false;
  box.textContent = '';
  box.append(err.message);
  if (err.code) {
    const code = document.createElement('code');
    code.textContent = ` (${err.code})`;
    box.append(code);
  }
  const field = err.option === 'excludeUnsafe' ? 'unsafe' : err.option;
  if (field && $(field)) $(field).setAttribute('aria-invalid', 'true');
}

function clearOutput() {
  $('error').hidden = true;
  $('seed').textContent = '';
  $('ports').replaceChildren();
  $('ports-text').value = '';
  $('legend').hidden = true;
  $('unsafe-note').textContent = '';
  for (const name of fields) $(name).removeAttribute('aria-invalid');
}

function render() {
  clearOutput();
  const opts = readOptions();
  if (opts.user === '' && !opts.tool) {
    $('seed').textContent = 'Type a user name (or a tool) to see its ports.';
    return;
  }
  if (opts.n > MAX_SHOWN) {
    showError({ message: `This preview shows at most ${MAX_SHOWN} ports.`, option: 'n' });
    return;
  }
  let ports;
  try {
    ports = sequence(opts);
  } catch (err) {
    showError(err);
    return;
  }

  const seed = [opts.user, opts.tool ?? ''].filter((s) => s !== '').join(',');
  $('seed').textContent = '';
  $('seed').append('seed ');
  const code = document.createElement('code');
  code.textContent = JSON.stringify(seed);
  $('seed').append(code, ` · hash ${hash(seed)}`);

  // The first (number of prepended ports - skip) candidates are the
  // prepended ones: tried first, not filtered by include or exclude.
  const prependCount = opts.prepend === undefined ? 0 : parsePorts(opts.prepend).length;
  const firstUnprepended = Math.max(0, prependCount - (opts.skip ?? 0));
  const items = Array.from(ports, (p, i) => {
    const li = document.createElement('li');
    li.textContent = String(p);
    if (i < firstUnprepended) li.className = 'prepended';
    return li;
  });
  $('legend').hidden = firstUnprepended === 0;
  $('ports').replaceChildren(...items);
  $('ports-text').value = Array.from(ports).join(' ');

  // Ports skipped because browsers block them: the same sequence without the
  // unsafe exclusions, minus what the real one kept.
  if (opts.excludeUnsafe === '') {
    $('unsafe-note').textContent = 'Browser-unsafe ports are not excluded: some of these may be refused by Chrome or Firefox.';
    return;
  }
  const unfiltered = sequence({ ...opts, excludeUnsafe: '' });
  const kept = new Set(ports);
  const skipped = Array.from(unfiltered).filter((p) => (chromeSet.has(p) || firefoxSet.has(p)) && !kept.has(p));
  const n = ports.length;
  $('unsafe-note').textContent = skipped.length === 0
    ? `No browser-unsafe port was skipped in the first ${n}.`
    : `Skipped as browser-unsafe in the first ${n}: ${skipped.map((p) => `${p} (${blockedBy(p)})`).join(', ')}.`;
}

$('form').addEventListener('input', render);
render();
