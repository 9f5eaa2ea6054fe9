// The learn page: a document's sections. Clicking a section without a lesson starts its
// generation at once and shows "Generating... N%" on it; other sections can be clicked
// meanwhile. Which jobs are running is kept in sessionStorage, so leaving the page and
// coming back restores every section's state and resumes tracking.
import { api, identity } from './api.js';
import { subscribeJob } from './jobs.js';
import { lessonView } from './lesson_view.js';
import { $, h, initIdentity, notice } from './ui.js';

const documentId = new URLSearchParams(location.search).get('document_id') || '';
const storageKey = () => `jobserver.learn.${identity().userId || identity().token || ''}.${documentId}`;

/** section id -> { section, lessonId, jobId, status, progress, error, unsubscribe, row } */
const sections = new Map();
const lessons = new Map();  // lesson id -> lesson JSON
let selected = null;
let batch = null;  // { jobId, total, unsubscribe }

// ---- sessionStorage: { jobs: {section_id: job_id}, batch: job_id|null, total, selected } ----
function load() {
  try {
    return JSON.parse(sessionStorage.getItem(storageKey())) || {};
  } catch (_) {
    return {};
  }
}

function save() {
  const jobs = {};
  for (const [id, s] of sections) if (s.jobId && !s.lessonId && s.status !== 'failed') jobs[id] = s.jobId;
  sessionStorage.setItem(storageKey(), JSON.stringify({
    jobs, batch: batch ? batch.jobId : null, total: batch ? batch.total : 0, selected,
  }));
}

// ---- rendering -------------------------------------------------------------------------
function badgeFor(s) {
  if (s.lessonId) return ['Ready', 'ready'];
  if (s.status === 'starting') return ['Starting...', 'queued'];
  if (s.status === 'queued' || s.status === 'processing') return [`Generating... ${s.progress || 0}%`, s.status];
  if (s.status === 'failed') return ['Failed', 'failed'];
  return ['', ''];
}

function renderRow(s) {
  const [text, kind] = badgeFor(s);
  const badge = s.row.querySelector('.badge');
  badge.textContent = text;
  badge.className = `badge ${kind}`;
  badge.hidden = !text;
  s.row.classList.toggle('selected', s.section.id === selected);
  if (s.section.id === selected) renderPanel(s);
}

function renderPanel(s) {
  const panel = $('#lesson');
  if (s.lessonId) {
    const lesson = lessons.get(s.lessonId);
    if (lesson) {
      if (panel.firstElementChild?.dataset.lessonId !== lesson.id) panel.replaceChildren(lessonView(lesson));
      return;
    }
    panel.replaceChildren(h('p', { class: 'muted' }, 'Loading the lesson…'));
    fetchLesson(s);
    return;
  }
  const title = h('h2', {}, sectionTitle(s.section));
  if (s.status === 'failed') {
    panel.replaceChildren(title, h('p', { class: 'error' }, s.error || 'Generation failed'),
      h('button', { type: 'button', onclick: () => start(s) }, 'Try again'));
  } else if (s.jobId || s.status === 'starting') {
    const [text] = badgeFor(s);
    panel.replaceChildren(title, h('p', { class: 'generating' }, text),
      h('progress', { max: 100, value: s.progress || 0 }),
      s.partial ? h('pre', { class: 'partial' }, s.partial.slice(-600)) : null);
  } else {
    panel.replaceChildren(title, h('p', { class: 'muted' }, 'No lesson yet.'));
  }
}

async function fetchLesson(s) {
  try {
    const lesson = await api(`/lessons/${s.lessonId}`);
    lessons.set(lesson.id, lesson);
    if (s.section.id === selected) renderPanel(s);
  } catch (error) {
    notice(`Could not load the lesson: ${error.message}`);
  }
}

// ---- generation ------------------------------------------------------------------------
function choose(s) {
  selected = s.section.id;
  for (const other of sections.values()) other.row.classList.toggle('selected', other === s);
  renderPanel(s);
  save();
  if (!s.lessonId && !s.jobId && s.status !== 'starting') start(s);
}

async function start(s) {
  s.status = 'starting';
  s.progress = 0;
  s.error = '';
  renderRow(s);
  try {
    const answer = await api('/lessons/generate', { method: 'POST', json: {
      document_id: documentId, section_id: s.section.id, include_check_ins: true,
    } });
    if (answer.lesson_id) {
      s.lessonId = answer.lesson_id;
      s.status = 'completed';
      renderRow(s);
    } else {
      track(s, answer.job_id, answer.status || 'queued');
    }
  } catch (error) {
    s.status = 'failed';
    s.error = error.message;
    renderRow(s);
  }
  save();
}

/** Follows the job generating section `s`'s lesson. */
function track(s, jobId, status = 'queued', progress = 0) {
  if (s.unsubscribe && s.jobId === jobId) return;
  if (s.unsubscribe) s.unsubscribe();
  s.jobId = jobId;
  s.status = status;
  s.progress = progress;
  renderRow(s);
  save();
  s.unsubscribe = subscribeJob(jobId, {
    onUpdate: (job) => {
      s.status = job.status;
      s.progress = job.progress;
      renderRow(s);
      updateBatch();
    },
    onPartial: (text) => {
      s.partial = text;
      if (s.section.id === selected) renderPanel(s);
    },
    onComplete: (job) => {
      s.unsubscribe = null;
      s.lessonId = job.result && job.result.lesson_id;
      s.status = 'completed';
      s.progress = 100;
      renderRow(s);
      save();
      updateBatch();
    },
    onError: (error) => {
      s.unsubscribe = null;
      s.status = 'failed';
      s.error = error.message;
      s.jobId = null;
      renderRow(s);
      save();
      updateBatch();
    },
  });
}

async function generateAll() {
  const button = $('#generate-all');
  button.disabled = true;
  try {
    const answer = await api('/lessons/generate-all', { method: 'POST', json: { document_id: documentId } });
    if (!answer.job_id) {
      showBatch(100, answer.message || 'Every section already has a lesson');
      button.disabled = false;
      return;
    }
    for (const child of answer.children) {
      const s = sections.get(child.section_id);
      if (s && !s.lessonId) track(s, child.job_id);
    }
    followBatch(answer.job_id, answer.children.length);
  } catch (error) {
    notice(`Could not start: ${error.message}`);
    button.disabled = false;
  }
}

function followBatch(jobId, total) {
  if (batch && batch.unsubscribe) batch.unsubscribe();
  batch = { jobId, total, unsubscribe: null };
  save();
  $('#generate-all').disabled = true;
  updateBatch();
  batch.unsubscribe = subscribeJob(jobId, {
    onUpdate: () => updateBatch(),
    onComplete: (job) => finishBatch(job),
    onError: (error) => finishBatch(null, error),
  });
}

function updateBatch() {
  if (!batch) return;
  const all = [...sections.values()];
  const ready = all.filter((s) => s.lessonId).length;
  showBatch(Math.round((ready * 100) / Math.max(1, all.length)),
    `Generating all sections: ${ready} of ${all.length} ready`);
}

function finishBatch(job, error) {
  const r = job && job.result ? job.result : null;
  batch = null;
  save();
  $('#generate-all').disabled = false;
  if (error) showBatch(0, `Generating all sections failed: ${error.message}`);
  else showBatch(100, r && r.failed ? `Done: ${r.completed} generated, ${r.failed} failed`
                                    : 'All sections have a lesson');
}

function showBatch(percent, text) {
  $('#batch-status').hidden = false;
  $('#batch-progress').value = percent;
  $('#batch-text').textContent = text;
}

// ---- start-up ----------------------------------------------------------------------------
/** "3. Name", unless the name already starts with its number ("3 Name"). */
function sectionTitle(section) {
  const n = String(section.section_number);
  return section.name.startsWith(`${n} `) || section.name.startsWith(`${n}.`) ? section.name : `${n}. ${section.name}`;
}

function row(section) {
  return h('li', { 'data-section-id': section.id },
    h('button', { type: 'button', class: 'section' },
      h('span', { class: 'name' }, sectionTitle(section)),
      h('span', { class: 'badge', hidden: true })));
}

async function main() {
  const me = await initIdentity($('#identity'));
  if (!me) {
    notice('Sign in to see this document (see the top right).');
    return;
  }
  let doc;
  let list;
  try {
    [doc, list] = await Promise.all([
      api(`/documents/${encodeURIComponent(documentId)}`),
      api(`/sections?document_id=${encodeURIComponent(documentId)}`),
    ]);
  } catch (error) {
    $('#document-title').textContent = 'Document not found';
    $('#sections').replaceChildren();
    notice(error.message);
    return;
  }
  $('#document-title').textContent = doc.title || doc.original_filename;
  document.title = `${doc.title} · jobserver`;
  if (doc.course_id) $('#course-link').href = `/course.html?id=${doc.course_id}`;
  const saved = load();
  const ol = $('#sections');
  ol.replaceChildren();
  for (const section of list.sections) {
    const s = { section, lessonId: section.lesson_id, jobId: null, status: '', progress: 0, row: row(section) };
    s.row.querySelector('button').addEventListener('click', () => choose(s));
    sections.set(section.id, s);
    ol.append(s.row);
  }
  if (list.sections.length === 0) ol.append(h('li', { class: 'muted' }, 'This document has no sections.'));
  selected = saved.selected && sections.has(saved.selected) ? saved.selected : null;
  for (const s of sections.values()) {
    const jobId = saved.jobs && saved.jobs[s.section.id];
    if (jobId && !s.lessonId) track(s, jobId);
    else renderRow(s);
  }
  if (saved.batch) followBatch(saved.batch, saved.total || 0);
  $('#generate-all').addEventListener('click', generateAll);
  document.body.dataset.ready = 'true';
}

main();
