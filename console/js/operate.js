// operate.js -- operating a switch from the console (dispatch): a
// confirmation that asks the reason, then POST /v1/switches/{code}/operate
// with If-Match on the version just read, so an operation someone else made
// meanwhile is refused (412) rather than undone.
import { call } from './api.js';
import { t } from './i18n.js';

export function mayOperate(session) {
  return !!session.me && (session.me.roles.includes('dispatch') || session.me.roles.includes('admin'));
}

// Resolves with the reason, or null when cancelled.
function confirmDialog(title, text) {
  const dlg = document.getElementById('confirm');
  const reason = document.getElementById('confirm-reason');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  reason.value = '';
  // Esc closes a dialog without a value: the last "ok" must not stand for it.
  dlg.returnValue = '';
  return new Promise(resolve => {
    const cancel = document.getElementById('confirm-cancel');
    const done = value => {
      cancel.removeEventListener('click', onCancel);
      dlg.removeEventListener('close', onClose);
      resolve(value);
    };
    const onCancel = () => { dlg.close('cancel'); };
    const onClose = () => done(dlg.returnValue === 'ok' && reason.value.trim() ? reason.value.trim() : null);
    cancel.addEventListener('click', onCancel);
    dlg.addEventListener('close', onClose);
    dlg.showModal();
    reason.focus();
  });
}

// open: the state wanted. Resolves with the switch after, or null when the
// person cancelled; throws the API's problem.
export async function operateSwitch(code, open) {
  const { data: sw, etag } = await call(`/v1/switches/${encodeURIComponent(code)}`);
  const name = sw.name || code;
  const reason = await confirmDialog(t('operate_title'),
    t('operate_text', { action: open ? t('open_switch') : t('close_switch'), name }));
  if (reason === null) return null;
  const { data } = await call(`/v1/switches/${encodeURIComponent(code)}/operate`, {
    method: 'POST', body: { open, reason }, headers: { 'If-Match': etag },
  });
  return data;
}
