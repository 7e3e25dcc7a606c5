/*
 * Warden reviewer console: progressive enhancement.
 *
 * Every page works without this file (links navigate, forms post). This adds:
 *   - the CSRF header on htmx requests,
 *   - keyboard shortcuts (j/k, Enter, c, n, d, /, ?, Esc),
 *   - the wellness controls for blurred media and the exposure counter,
 *   - live relative countdowns on SLA deadlines.
 * Enhancers are idempotent and re-run on content that htmx swaps in.
 */
(function () {
  'use strict';

  const CSRF_HEADER = 'x-warden-csrf';
  const DEADLINE_TICK_MS = 30 * 1000;
  const TYPING_SELECTOR = 'input, textarea, select, [contenteditable]:not([contenteditable="false"])';
  const CLAIM_IN_ROW = '[data-shortcut="claim"], [data-shortcut="claim-next"]';

  // ---- Helpers ----

  // Read the token fresh each time: an htmx-boosted page swap may replace it.
  // Fall back to a hidden form field (e.g. the sign-out form) if the body lacks it.
  function csrfToken() {
    const fromBody = document.body ? document.body.dataset.csrf : '';
    if (fromBody) return fromBody;
    const field = document.querySelector('input[name="csrf"]');
    return field ? field.value : '';
  }

  function isVisible(el) {
    if (!el || el.closest('[hidden], [inert]')) return false;
    if (typeof el.checkVisibility === 'function') return el.checkVisibility();
    return el.getClientRects().length > 0;
  }

  function isTyping(el) {
    return el instanceof Element && (el.isContentEditable || el.closest(TYPING_SELECTOR) !== null);
  }

  // Apply fn to root itself (if it matches) and to every match inside it.
  function eachIn(root, selector, fn) {
    if (root instanceof Element && root.matches(selector)) fn(root);
    root.querySelectorAll(selector).forEach(fn);
  }

  // ---- Row selection in lists ([data-list] > .js-row) ----

  // The list the user is working in: the one holding focus, else the first visible one.
  function currentList() {
    const active = document.activeElement;
    const own = active instanceof Element ? active.closest('[data-list]') : null;
    if (own && isVisible(own)) return own;
    return Array.from(document.querySelectorAll('[data-list]')).find(isVisible) || null;
  }

  // Rows that belong to this list (not to a list nested inside it) and are shown.
  function rowsOf(list) {
    return Array.from(list.querySelectorAll('.js-row'))
      .filter((row) => row.closest('[data-list]') === list && isVisible(row));
  }

  function selectedRow() {
    const list = currentList();
    return list ? rowsOf(list).find((row) => row.classList.contains('is-selected')) || null : null;
  }

  // aria-current rather than aria-selected: aria-selected is invalid on a
  // listitem and only means something on rows of a grid/treegrid, which these
  // plain tables are not; this is a cursor, not a selection. The visual mark
  // is the .is-selected class.
  function selectRow(row, moveFocus) {
    document.querySelectorAll('.js-row.is-selected').forEach((other) => {
      if (other !== row) { other.classList.remove('is-selected'); other.removeAttribute('aria-current'); }
    });
    row.classList.add('is-selected');
    row.setAttribute('aria-current', 'true');
    if (!row.hasAttribute('tabindex')) row.setAttribute('tabindex', '-1');
    if (moveFocus) {
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: 'nearest' });
    }
  }

  // Move by step; stops at either end rather than wrapping, so holding j
  // never jumps the reader back to the top.
  function moveSelection(step) {
    const list = currentList();
    if (!list) return false;
    const rows = rowsOf(list);
    if (rows.length === 0) return false;
    const index = rows.findIndex((row) => row.classList.contains('is-selected'));
    const next = index === -1 ? 0 : Math.min(rows.length - 1, Math.max(0, index + step));
    selectRow(rows[next], true);
    return true;
  }

  // Enter follows the selected row's first link only when focus is on the row
  // itself: Enter on a link or button keeps its native meaning, and a stray
  // Enter after Esc (focus on <body>) must not navigate away from a draft.
  function followSelected(target) {
    const row = selectedRow();
    if (!row || target !== row) return false;
    const link = row.querySelector('a[href]');
    if (!link) return false;
    link.click(); // a real click, so htmx boosting and hx-* attributes still apply
    return true;
  }

  const usable = (button) => !button.disabled && isVisible(button);

  // A selected row that has a claim button decides alone: if that button is
  // disabled (empty queue), nothing happens rather than claiming elsewhere.
  function claim() {
    const row = selectedRow();
    const own = row ? Array.from(row.querySelectorAll(CLAIM_IN_ROW)) : [];
    const button = own.length > 0 ? own.find(usable)
      : Array.from(document.querySelectorAll('[data-shortcut="claim-next"]')).find(usable);
    if (!button) return false;
    button.click(); // submits its form normally (or via htmx)
    return true;
  }

  // ---- Focus shortcuts and the help dialog ----

  function focusField(id, scrollTargetId) {
    const field = document.getElementById(id);
    if (!field || field.disabled) return false;
    const closedDetails = field.closest('details:not([open])');
    if (closedDetails) closedDetails.open = true;
    if (!isVisible(field)) return false;
    const scrollTarget = scrollTargetId ? document.getElementById(scrollTargetId) : null;
    if (scrollTarget) {
      scrollTarget.scrollIntoView({ block: 'start' });
      field.focus({ preventScroll: true });
    } else {
      field.focus();
    }
    return true;
  }

  function focusSearch() {
    const search = document.getElementById('search-q');
    if (!search || !isVisible(search)) return false;
    search.focus();
    search.select();
    return true;
  }

  let focusBeforeDialog = null;

  const shortcutsDialog = () => document.getElementById('shortcuts');

  function toggleShortcuts() {
    const dialog = shortcutsDialog();
    if (!dialog) return false;
    if (dialog.open) { dialog.close(); return true; }
    focusBeforeDialog = document.activeElement;
    dialog.showModal();
    return true;
  }

  // 'close' does not bubble, so listen in the capture phase. Put focus back
  // where it was if the browser left it on <body>.
  document.addEventListener('close', (event) => {
    if (event.target !== shortcutsDialog()) return;
    const back = focusBeforeDialog;
    focusBeforeDialog = null;
    const lost = !document.activeElement || document.activeElement === document.body;
    if (lost && back instanceof HTMLElement && back.isConnected) back.focus({ preventScroll: true });
  }, true);

  // Esc, in order: close the help; leave the field being typed in; re-blur a
  // revealed image (a quick way to get graphic material off screen).
  function onEscape(event) {
    const dialog = shortcutsDialog();
    if (dialog && dialog.open) { dialog.close(); event.preventDefault(); return; }
    if (document.querySelector('dialog[open]')) return; // another dialog handles its own Esc
    const active = document.activeElement;
    // preventDefault also stops type=search from clearing the query.
    if (isTyping(active)) { active.blur(); event.preventDefault(); return; }
    if (blurAllRevealed()) event.preventDefault();
  }

  function onKeydown(event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.key === 'Escape' || event.key === 'Esc') { onEscape(event); return; }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return;

    // Caps Lock gives "J" without Shift; treat it as "j".
    const key = event.key.length === 1 && !event.shiftKey ? event.key.toLowerCase() : event.key;

    // While any dialog is open the page behind it is off limits; only "?" may
    // close the help dialog again.
    const openDialog = document.querySelector('dialog[open]');
    if (openDialog) {
      if (key === '?' && openDialog === shortcutsDialog() && !event.repeat && toggleShortcuts()) {
        event.preventDefault();
      }
      return;
    }

    let handled = false;
    switch (key) {
      case 'j': handled = moveSelection(1); break;
      case 'k': handled = moveSelection(-1); break;
      // Key repeat must never fire a second navigation or claim.
      case 'Enter': handled = !event.repeat && followSelected(event.target); break;
      case 'c': handled = !event.repeat && claim(); break;
      case 'n': handled = focusField('note-body'); break;
      case 'd': handled = focusField('decision-policy', 'decision-form'); break;
      case '/': handled = focusSearch(); break;
      case '?': handled = !event.repeat && toggleShortcuts(); break;
      default: break;
    }
    // Otherwise the key would also be typed into the field we just focused.
    if (handled) event.preventDefault();
  }

  document.addEventListener('keydown', onKeydown);

  // Keep the keyboard cursor in step with Tab and the mouse, so j/k continue
  // from wherever the user actually is.
  document.addEventListener('focusin', (event) => {
    const row = event.target instanceof Element ? event.target.closest('[data-list] .js-row') : null;
    if (row && !row.classList.contains('is-selected')) selectRow(row, false);
  });

  // ---- Wellness: blurred media and the exposure counter ----

  const mediaButtons = (figure) =>
    ({ reveal: figure.querySelector('[data-reveal]'), hide: figure.querySelector('[data-hide]') });

  function blurMedia(figure) {
    const { reveal, hide } = mediaButtons(figure);
    const hadFocus = hide !== null && document.activeElement === hide;
    figure.classList.add('is-blurred');
    figure.classList.remove('is-greyscale');
    if (reveal) reveal.hidden = false;
    if (hide) hide.hidden = true;
    if (hadFocus && reveal) reveal.focus(); // don't drop focus onto <body>
  }

  function revealedMedia() {
    return Array.from(document.querySelectorAll('.media:not(.is-blurred)'))
      .filter((figure) => figure.querySelector('[data-reveal]'));
  }

  function blurAllRevealed() {
    const open = revealedMedia();
    open.forEach(blurMedia);
    return open.length > 0;
  }

  function revealMedia(figure) {
    // Only one image unblurred at a time.
    revealedMedia().forEach((other) => { if (other !== figure) blurMedia(other); });
    figure.classList.remove('is-blurred');
    figure.classList.toggle('is-greyscale', document.body.dataset.keepGreyscale === 'true');
    const { reveal, hide } = mediaButtons(figure);
    // Show and focus "Blur again" before hiding "Show image", which has focus.
    if (hide) { hide.hidden = false; hide.focus(); }
    if (reveal) reveal.hidden = true;
    recordExposure();
  }

  async function recordExposure() {
    try {
      const response = await fetch('/exposure', {
        method: 'POST',
        headers: { [CSRF_HEADER]: csrfToken(), accept: 'application/json' },
        credentials: 'same-origin',
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      const count = Number(data && data.count);
      const counter = document.getElementById('exposure-count');
      if (Number.isFinite(count)) document.body.dataset.exposure = String(count);
      if (Number.isFinite(count) && counter) counter.textContent = String(count);
      if (data && data.remind === true) {
        const reminder = document.getElementById('break-reminder');
        if (reminder) reminder.hidden = false; // role="alert" announces it; focus stays put
      }
    } catch (error) {
      // The image is already shown; a missed count must not get in the way.
      console.warn('Warden: could not record exposure', error);
    }
  }

  // Keep the buttons consistent with the figure's class (e.g. after a swap).
  function syncMedia(figure) {
    const { reveal, hide } = mediaButtons(figure);
    const blurred = figure.classList.contains('is-blurred');
    if (reveal) reveal.hidden = !blurred;
    if (hide) hide.hidden = blurred;
  }

  document.addEventListener('click', (event) => {
    if (!(event.target instanceof Element)) return;
    const toggle = event.target.closest('[data-reveal], [data-hide]');
    const figure = toggle ? toggle.closest('.media') : null;
    if (figure) (toggle.hasAttribute('data-reveal') ? revealMedia : blurMedia)(figure);

    const row = event.target.closest('[data-list] .js-row');
    if (row) selectRow(row, false);
  });

  // ---- Deadlines: relative countdowns ----

  // Minutes are rounded down: the countdown never promises more time than is left.
  function formatSpan(ms) {
    const totalMinutes = Math.floor(ms / 60000);
    if (totalMinutes < 1) return 'less than 1 min';
    const days = Math.floor(totalMinutes / 1440);
    const hours = Math.floor((totalMinutes % 1440) / 60);
    const minutes = totalMinutes % 60;
    if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
    if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
    return `${minutes} min`;
  }

  // "2026-11-23 12:00 UTC": unambiguous even when the deadline is another day.
  function absoluteLabel(ms) {
    return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  }

  function updateDeadline(el, now) {
    const due = Date.parse(el.dataset.deadline || el.getAttribute('datetime') || '');
    if (Number.isNaN(due)) return; // leave the server's text alone
    const atRisk = Date.parse(el.dataset.atRisk || '');
    const diff = due - now;
    const relative = diff >= 0 ? `in ${formatSpan(diff)}` : `overdue by ${formatSpan(-diff)}`;
    const absolute = absoluteLabel(due);

    // Touch the DOM only when the text changes, so screen readers' page
    // buffers aren't disturbed every 30 s for nothing.
    if (el.dataset.rendered !== relative + absolute) {
      el.dataset.rendered = relative + absolute;
      el.textContent = relative;
      // The title is not exposed to keyboard or most screen-reader users, so
      // the absolute time is also kept as visually hidden text.
      const hiddenAbsolute = document.createElement('span');
      hiddenAbsolute.className = 'visually-hidden';
      hiddenAbsolute.textContent = ` (due ${absolute})`;
      el.append(hiddenAbsolute);
    }
    el.title = `Due ${absolute}`;
    el.classList.toggle('is-at-risk', !Number.isNaN(atRisk) && now >= atRisk);
    el.classList.toggle('is-breached', now >= due);
  }

  function updateDeadlines(root) {
    const now = Date.now(); // one "now" per pass, so rows never disagree
    eachIn(root, 'time.deadline', (el) => updateDeadline(el, now));
  }

  // ---- Wiring: htmx, enhancers, timers ----

  function enhance(root) {
    const scope = root && typeof root.querySelectorAll === 'function' ? root : document;
    updateDeadlines(scope);
    eachIn(scope, '.media', syncMedia);
  }

  // Every write to the server needs the CSRF header.
  document.addEventListener('htmx:configRequest', (event) => {
    const token = csrfToken();
    if (token && event.detail && event.detail.headers) event.detail.headers[CSRF_HEADER] = token;
  });

  // htmx:load fires for each new piece of content (and for <body> at start);
  // afterSwap covers swaps whose new nodes htmx doesn't report. Enhancers are
  // idempotent, so running twice is harmless.
  document.addEventListener('htmx:load', (event) => enhance(event.target));
  document.addEventListener('htmx:afterSwap', (event) => {
    const target = event.detail && event.detail.target;
    enhance(target && target.isConnected ? target : document);
  });

  // The script is deferred, so the document is parsed: enhance it now.
  enhance(document);

  setInterval(() => updateDeadlines(document), DEADLINE_TICK_MS);
  // After a laptop wakes or a tab comes back, don't show stale countdowns.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') updateDeadlines(document);
  });
})();
