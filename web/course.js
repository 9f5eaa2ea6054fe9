// The course page: its documents, and above them a card per upload still processing,
// updated live (SSE) or every 2 s (polling) and removed when its document appears.
import { api } from './api.js';
import { subscribeJob } from './jobs.js';
import { $, h, initIdentity, notice, plural } from './ui.js';

const params = new URLSearchParams(location.search);
const courseId = params.get('id') || '';
/** job id -> { card, unsubscribe } for every upload followed on this page */
const uploads = new Map();

function badgeText(status) {
  if (status === 'processing') return 'Processing...';
  return status;  // 'queued', 'failed'
}

/** A processing card: pulsing icon, title, status badge, progress bar and percentage. */
function uploadCard(entry) {
  const card = h('article', { class: 'upload-card', 'data-job-id': entry.job_id },
    h('span', { class: 'pulse', 'aria-hidden': 'true' }),
    h('div', { class: 'upload-body' },
      h('div', { class: 'upload-head' },
        h('strong', { class: 'upload-title' }, entry.title || entry.original_filename || 'Upload'),
        h('span', { class: 'badge' }, '')),
      h('progress', { max: 100, value: 0 }),
      h('span', { class: 'percent' }, '0%'),
      h('p', { class: 'upload-error', hidden: true }),
      h('button', { type: 'button', class: 'retry', hidden: true }, 'Retry')));
  card.querySelector('.retry').addEventListener('click', () => retry(entry.job_id));
  return card;
}

function showState(card, job) {
  const badge = card.querySelector('.badge');
  badge.textContent = badgeText(job.status);
  badge.className = `badge ${job.status}`;
  const progress = Math.max(0, Math.min(100, job.progress || 0));
  card.querySelector('progress').value = progress;
  card.querySelector('.percent').textContent = `${progress}%`;
  const failed = job.status === 'failed';
  card.classList.toggle('failed', failed);
  const error = card.querySelector('.upload-error');
  error.hidden = !failed;
  error.textContent = failed ? (job.error || 'Processing failed') : '';
  card.querySelector('.retry').hidden = !failed;
}

/** Follows one upload job (once). */
function follow(entry) {
  let tracked = uploads.get(entry.job_id);
  if (!tracked) {
    tracked = { card: uploadCard(entry), unsubscribe: null };
    uploads.set(entry.job_id, tracked);
    $('#uploads').append(tracked.card);
  } else if (entry.title) {
    tracked.card.querySelector('.upload-title').textContent = entry.title;
  }
  showState(tracked.card, { status: entry.status, progress: entry.progress, error: entry.error });
  if (entry.status === 'failed' || tracked.unsubscribe) return;
  tracked.unsubscribe = subscribeJob(entry.job_id, {
    onUpdate: (job) => showState(tracked.card, job),
    onComplete: () => {
      tracked.unsubscribe = null;
      done(entry.job_id);
    },
    onError: (error, job) => {
      tracked.unsubscribe = null;
      showState(tracked.card, job || { status: 'failed', progress: 0, error: error.message });
    },
  });
}

/** The upload finished: its card goes and the document list shows its document. */
async function done(jobId) {
  await refresh();
  const tracked = uploads.get(jobId);
  if (tracked) {
    tracked.card.remove();
    uploads.delete(jobId);
  }
  forgetUrlJob(jobId);
}

async function retry(jobId) {
  const tracked = uploads.get(jobId);
  try {
    await api(`/jobs/${jobId}/retry`, { method: 'POST' });
    notice('');
  } catch (error) {
    notice(`Retry failed: ${error.message}`);
    return;
  }
  if (tracked) follow({ job_id: jobId, status: 'queued', progress: 0 });
}

function forgetUrlJob(jobId) {
  if (params.get('upload_job_id') !== jobId) return;
  params.delete('upload_job_id');
  history.replaceState(null, '', `${location.pathname}?${params}`);
}

function documentItem(doc) {
  return h('li', { class: 'document', 'data-document-id': doc.id },
    h('a', { href: `/learn.html?document_id=${doc.id}` }, doc.title || doc.original_filename),
    h('span', { class: 'meta' }, [
      plural(doc.section_count, 'section'),
      doc.pages ? plural(doc.pages, 'page') : '',
      doc.chapter || '',
    ].filter(Boolean).join(' · ')));
}

/** Loads the documents; uploads not yet stored come back as pending entries (cards). */
async function refresh() {
  let documents;
  try {
    documents = (await api(`/documents?course_id=${encodeURIComponent(courseId)}`)).documents;
  } catch (error) {
    notice(`Could not load the documents: ${error.message}`);
    return;
  }
  const ready = documents.filter((d) => d.status === 'ready');
  $('#documents').replaceChildren(...(ready.length ? ready.map(documentItem)
    : [h('li', { class: 'muted' }, 'No documents yet.')]));
  for (const d of documents) if (d.status !== 'ready' && d.job_id) follow(d);
}

async function main() {
  const me = await initIdentity($('#identity'));
  if (!me) {
    notice('Sign in to see this course (see the top right).');
    return;
  }
  $('#upload-link').href = `/?course_id=${encodeURIComponent(courseId)}`;
  let course;
  try {
    course = await api(`/courses/${encodeURIComponent(courseId)}`);
  } catch (error) {
    $('#course-title').textContent = 'Course not found';
    notice(error.message);
    return;
  }
  $('#course-title').textContent = [course.code, course.name].filter(Boolean).join(' · ');
  document.title = `${course.name} · jobserver`;
  // The upload we were sent here for is shown at once, before the list answers.
  const jobId = params.get('upload_job_id');
  if (jobId) follow({ job_id: jobId, status: 'queued', progress: 0, title: 'Your upload' });
  await refresh();
  document.body.dataset.ready = 'true';
}

main();
