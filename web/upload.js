// The upload page: choose or create a course, send the PDF, and go at once to the
// course page, which follows the processing (`?upload_job_id=`).
import { api, describeUploadError } from './api.js';
import { $, h, initIdentity, notice } from './ui.js';

const NEW_COURSE = '__new';

async function loadCourses(preselect) {
  const select = $('#course');
  const list = $('#course-list');
  let courses = [];
  try {
    courses = (await api('/courses')).courses;
  } catch (error) {
    notice(`Could not load your courses: ${error.message}`);
  }
  select.replaceChildren(
    h('option', { value: '', disabled: true, selected: !preselect && courses.length > 0 }, 'Choose a course'),
    ...courses.map((c) => h('option', { value: c.id, selected: c.id === preselect }, courseLabel(c))),
    h('option', { value: NEW_COURSE, selected: courses.length === 0 }, 'New course…'));
  showNewCourse();
  list.replaceChildren(...(courses.length
    ? courses.map((c) => h('li', {}, h('a', { href: `/course.html?id=${c.id}` }, courseLabel(c))))
    : [h('li', { class: 'muted' }, 'No courses yet: create one with your first upload.')]));
}

function courseLabel(c) {
  return [c.code, c.name].filter(Boolean).join(' · ') + (c.term ? ` (${c.term})` : '');
}

function showNewCourse() {
  $('#new-course').hidden = $('#course').value !== NEW_COURSE;
}

/** The course to upload into: the chosen one, or a new one created now. */
async function courseId() {
  const chosen = $('#course').value;
  if (chosen !== NEW_COURSE) return chosen;
  const name = $('#course-name').value.trim();
  if (!name) throw new Error('Give the new course a name.');
  const course = await api('/courses', { method: 'POST', json: {
    name, code: $('#course-code').value.trim(), term: $('#course-term').value.trim(),
  } });
  // Created: choose it, so that trying again does not create it twice.
  await loadCourses(course.id);
  return course.id;
}

async function upload() {
  const file = $('#file').files[0];
  const errorBox = $('#upload-error');
  errorBox.hidden = true;
  if (!file) return showError('Choose a PDF file first.');
  if (!$('#course').value) return showError('Choose a course, or create a new one.');
  const button = $('#upload-button');
  button.disabled = true;
  button.textContent = 'Uploading…';
  try {
    const course = await courseId();
    const form = new FormData();
    form.append('course_id', course);
    form.append('title', $('#title').value.trim() || file.name.replace(/\.pdf$/i, ''));
    form.append('chapter', $('#chapter').value.trim());
    form.append('material_type', $('#material').value);
    form.append('file', file, file.name);
    const answer = await api('/upload/pdf-structured', { method: 'POST', form });
    location.assign(`/course.html?id=${encodeURIComponent(course)}&upload_job_id=${encodeURIComponent(answer.job_id)}`);
  } catch (error) {
    showError(describeUploadError(error));
    button.disabled = false;
    button.textContent = 'Upload';
  }
}

function showError(text) {
  $('#upload-error-text').textContent = text;
  $('#upload-error').hidden = false;
}

async function main() {
  const me = await initIdentity($('#identity'));
  $('#course').addEventListener('change', showNewCourse);
  $('#upload-form').addEventListener('submit', (e) => {
    e.preventDefault();
    upload();
  });
  $('#upload-retry').addEventListener('click', upload);
  if (!me) {
    notice('Sign in to upload (see the top right).');
    return;
  }
  const wanted = new URLSearchParams(location.search).get('course_id');
  await loadCourses(wanted);
  document.body.dataset.ready = 'true';
}

main();
