// Renders a lesson: summary, explanation, concepts, and check-in questions that reveal
// the right answer and the hint once answered.
import { h } from './ui.js';

/** @returns {HTMLElement} */
export function lessonView(lesson) {
  const concepts = Array.isArray(lesson.concepts) ? lesson.concepts : [];
  return h('div', { class: 'lesson-body', 'data-lesson-id': lesson.id },
    h('h2', {}, lesson.topic || 'Lesson'),
    lesson.summary ? h('p', { class: 'summary' }, lesson.summary) : null,
    lesson.explanation ? h('div', { class: 'explanation' }, paragraphs(lesson.explanation)) : null,
    concepts.map(conceptView));
}

function paragraphs(text) {
  return String(text).split(/\n{2,}/).map((p) => h('p', {}, p));
}

function list(title, items) {
  if (!Array.isArray(items) || items.length === 0) return null;
  return h('div', { class: 'facts' }, h('h4', {}, title), h('ul', {}, items.map((i) => h('li', {}, i))));
}

function conceptView(concept) {
  return h('section', { class: 'concept' },
    h('h3', {}, concept.name),
    paragraphs(concept.explanation || ''),
    list('Examples', concept.examples),
    list('Formulas', concept.formulas),
    list('Important', concept.important_notes),
    (concept.check_ins || []).map(checkInView));
}

function checkInView(q) {
  const feedback = h('div', { class: 'feedback', hidden: true });
  const box = h('div', { class: 'check-in' }, h('p', { class: 'question' }, q.question));
  const reveal = (given) => {
    const right = normalise(given) === normalise(q.expected_answer);
    box.classList.add(right ? 'right' : 'wrong');
    feedback.replaceChildren(
      h('strong', {}, right ? 'Right!' : 'Not quite.'),
      h('p', { class: 'answer' }, `Answer: ${q.expected_answer}`),
      q.hint ? h('p', { class: 'hint' }, `Hint: ${q.hint}`) : null);
    feedback.hidden = false;
    for (const b of box.querySelectorAll('button, input')) b.disabled = true;
  };
  if (Array.isArray(q.options) && q.options.length > 0) {
    box.append(h('div', { class: 'options' }, q.options.map((o) =>
      h('button', { type: 'button', class: 'option', onclick: (e) => {
        e.currentTarget.classList.add('chosen');
        reveal(o);
      } }, o))));
  } else {
    const input = h('input', { type: 'text', placeholder: 'Your answer' });
    box.append(h('form', { class: 'free-answer', onsubmit: (e) => {
      e.preventDefault();
      reveal(input.value);
    } }, input, h('button', { type: 'submit' }, 'Check')));
  }
  box.append(feedback);
  return box;
}

function normalise(s) {
  return String(s || '').trim().toLowerCase();
}
