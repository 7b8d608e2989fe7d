// The admin's segment inline: each segment's rules as rows of controls, so an organizer need not
// write JSON. The rules' textarea stays the field that is submitted and checked by the server:
// every change here rewrites its JSON, and JSON the builder cannot show is left exactly as typed,
// with a note. With scripts off the textarea is all there is, as before.
//
// The questions a rule may name and the capture sources come from the textarea's
// data-segment-rules attribute (screenings/admin/segment_rules.py).

const RULE_KINDS = [
  ["question", "Answer to a question"],
  ["panel_id", "Panel id"],
  ["label", "Label"],
  ["capture", "Capture source"],
  ["min_face_rate", "Face found in at least"],
];
const RULE_KEYS = {
  question: ["question", "phase", "in", "min", "max"],
  panel_id: ["panel_id"],
  label: ["label"],
  capture: ["capture"],
  min_face_rate: ["min_face_rate"],
};
const TEXTS_PLACEHOLDER = { panel_id: "P1, P2", label: "wave-1" };
const PHASES = ["before", "after"];
const CHOICE_KINDS = ["single", "multiple"];

// Why JSON cannot be shown as controls; its message completes "The builder cannot show these rules: ...".
class Unrepresentable extends Error {}

function element(tag, attributes = {}, children = []) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    made.setAttribute(name, value === true ? "" : value);
  }
  made.append(...children);
  return made;
}

function select(label, options, chosen) {
  const box = element("select", { "aria-label": label });
  for (const [value, text] of options) box.append(element("option", { value, selected: String(value) === String(chosen) }, [text]));
  return box;
}

function labelled(text, control) {
  return element("label", {}, [text, " ", control]);
}

function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

function numberOrNull(text) {
  return text.trim() === "" || !Number.isFinite(Number(text)) ? null : Number(text);
}

// --- JSON to rows (each row a plain object the controls edit) ---

function questionRow(rule, where, questions) {
  const offered = questions.get(rule.question);
  if (rule.question === null || rule.question === undefined) {
    if (["in", "min", "max"].some((key) => rule[key] !== undefined && rule[key] !== null)) {
      throw new Unrepresentable(`${where} matches answers but names no question`);
    }
    return { kind: "question", question: null, phase: "", match: "in", values: [], min: null, max: null };
  }
  if (!offered) throw new Unrepresentable(`${where} names question ${JSON.stringify(rule.question)}, which is not one it offers`);
  const phase = rule.phase ?? "";
  if (phase !== "" && (!PHASES.includes(phase) || (offered.phase !== "both" && phase !== offered.phase))) {
    throw new Unrepresentable(`${where} has the phase ${JSON.stringify(phase)}`);
  }
  const hasIn = rule.in !== undefined && rule.in !== null;
  const hasRange = [rule.min, rule.max].some((bound) => bound !== undefined && bound !== null);
  if (hasIn && hasRange) throw new Unrepresentable(`${where} gives both "in" and a range`);
  const row = { kind: "question", question: offered.id, phase, match: hasRange ? "range" : "in", values: [], min: null, max: null };
  if (hasIn) {
    if (!Array.isArray(rule.in) || !rule.in.every((value) => answersOf(offered).includes(value))) {
      throw new Unrepresentable(`${where} matches answers that question ${offered.id} does not offer`);
    }
    row.values = rule.in;
  }
  if (hasRange) {
    if (CHOICE_KINDS.includes(offered.kind)) throw new Unrepresentable(`${where} gives a range for a choice question`);
    for (const bound of ["min", "max"]) {
      const value = rule[bound] ?? null;
      if (value !== null && !isNumber(value)) throw new Unrepresentable(`${where} has a ${bound} that is not a number`);
      row[bound] = value;
    }
  }
  if (!hasIn && !hasRange && !answersOf(offered).length) row.match = "range";
  return row;
}

function answersOf(offered) {
  if (offered.choices) return offered.choices;
  if (offered.points) return Array.from({ length: offered.points }, (_, index) => index + 1);
  return [];
}

function textsRow(kind, values, where) {
  const list = values ?? [];
  // Shown as one text split at commas and line ends, so a value holding either cannot be shown.
  if (!Array.isArray(list) || !list.every((value) => typeof value === "string" && value !== "" && value === value.trim() && !/[,\r\n]/.test(value))) {
    throw new Unrepresentable(`${where} has a ${kind.replace("_", " ")} with a comma, a line break or spaces at its ends`);
  }
  return { kind, values: list };
}

function faceRateRow(rate, where) {
  if (rate === null || rate === undefined) return { kind: "min_face_rate", rate: null };
  if (!isNumber(rate) || percentOf(rate) / 100 !== rate) throw new Unrepresentable(`${where} has a face rate it cannot show as a percentage`);
  return { kind: "min_face_rate", rate };
}

function percentOf(rate) {
  return Number((rate * 100).toPrecision(12));
}

function ruleRow(rule, where, builder) {
  if (typeof rule !== "object" || rule === null || Array.isArray(rule)) throw new Unrepresentable(`${where} is not a rule object`);
  const kinds = Object.keys(RULE_KEYS).filter((key) => key in rule);
  if (kinds.length !== 1) throw new Unrepresentable(`${where} does not name exactly one kind of rule`);
  const kind = kinds[0];
  const unknown = Object.keys(rule).filter((key) => !RULE_KEYS[kind].includes(key));
  if (unknown.length) throw new Unrepresentable(`${where} has the key ${JSON.stringify(unknown[0])}, which it does not know`);
  if (kind === "question") return questionRow(rule, where, builder.questions);
  if (kind === "panel_id" || kind === "label") return textsRow(kind, rule[kind], where);
  if (kind === "capture") {
    if (!builder.captures.some((capture) => capture.value === rule.capture)) throw new Unrepresentable(`${where} has an unknown capture source`);
    return { kind, value: rule.capture };
  }
  return faceRateRow(rule.min_face_rate, where);
}

function rowsOf(text, builder) {
  if (text.trim() === "") return [];
  let rules;
  try {
    rules = JSON.parse(text);
  } catch {
    throw new Unrepresentable("they are not valid JSON");
  }
  if (rules === null) return [];
  if (!Array.isArray(rules)) throw new Unrepresentable("they are not a list of rules");
  return rules.map((rule, index) => ruleRow(rule, `rule ${index + 1}`, builder));
}

// --- rows to JSON (incomplete rows are written too: the server's message then says what is missing) ---

function ruleOf(row, questions) {
  if (row.kind === "panel_id" || row.kind === "label") return { [row.kind]: row.values };
  if (row.kind === "capture") return { capture: row.value };
  if (row.kind === "min_face_rate") return { min_face_rate: row.rate };
  const offered = questions.get(row.question);
  if (!offered) return { question: null };
  const rule = { question: offered.id };
  const phase = offered.phase === "both" ? row.phase : offered.phase;
  if (phase) rule.phase = phase;
  if (row.match === "in" && answersOf(offered).length) {
    rule.in = answersOf(offered).filter((value) => row.values.includes(value));
    return rule;
  }
  for (const bound of ["min", "max"]) if (row[bound] !== null) rule[bound] = row[bound];
  return rule;
}

function newRow(kind, builder) {
  if (kind === "question") return { kind, question: null, phase: "", match: "in", values: [], min: null, max: null };
  if (kind === "capture") return { kind, value: builder.captures[0].value };
  if (kind === "min_face_rate") return { kind, rate: null };
  return { kind, values: [] };
}

// --- the controls of one row ---

function questionText(offered) {
  const phase = offered.phase === "both" ? "before and after" : offered.phase;
  return `“${offered.text}” (${offered.kindLabel}, ${phase}${offered.retired ? ", retired" : ""})`;
}

function rangeControls(row, offered, changed) {
  const controls = [];
  for (const [bound, text] of [["min", "from"], ["max", "to"]]) {
    const limit = offered[bound];
    const input = element("input", {
      type: "number", step: "any", class: "segment-rule-number", "aria-label": `${bound === "min" ? "Minimum" : "Maximum"} answer`,
      placeholder: limit === null || limit === undefined ? "" : String(limit),
    });
    input.value = row[bound] === null ? "" : String(row[bound]);
    input.addEventListener("input", () => changed(() => (row[bound] = numberOrNull(input.value))));
    controls.push(labelled(text, input));
  }
  return controls;
}

function answerControls(row, offered, changed) {
  return answersOf(offered).map((value) => {
    const box = element("input", { type: "checkbox", checked: row.values.includes(value) });
    box.addEventListener("change", () => changed(() => {
      row.values = box.checked ? [...row.values, value] : row.values.filter((given) => given !== value);
    }));
    return element("label", { class: "segment-rule-answer" }, [box, " ", String(value)]);
  });
}

function questionControls(row, builder, changed, rebuilt) {
  const options = [["", "— choose a question —"], ...builder.offered.map((offered) => [offered.id, questionText(offered)])];
  const question = select("Question", options, row.question ?? "");
  question.addEventListener("change", () => rebuilt(() => Object.assign(row, newRow("question", builder), { question: numberOrNull(question.value) })));
  const offered = builder.questions.get(row.question);
  if (!offered) return [question];
  const controls = [question];
  if (offered.phase === "both") {
    const phase = select("Phase", [["", "— which answer? —"], ["before", "before watching"], ["after", "after watching"]], row.phase);
    phase.addEventListener("change", () => changed(() => (row.phase = phase.value)));
    controls.push(labelled("answered", phase));
  }
  if (offered.points) {
    const match = select("Match", [["in", "is one of"], ["range", "is in the range"]], row.match);
    match.addEventListener("change", () => rebuilt(() => (row.match = match.value)));
    controls.push(match);
  }
  const answers = row.match === "in" && answersOf(offered).length;
  controls.push(...(answers ? answerControls(row, offered, changed) : rangeControls(row, offered, changed)));
  return controls;
}

function textsControls(row, changed) {
  const what = row.kind === "panel_id" ? "Panel ids" : "Labels";
  const input = element("textarea", { rows: 1, cols: 30, class: "segment-rule-texts", "aria-label": what, placeholder: TEXTS_PLACEHOLDER[row.kind] });
  input.value = row.values.join(", ");
  input.addEventListener("input", () => changed(() => {
    row.values = input.value.split(/[,\r\n]/).map((value) => value.trim()).filter(Boolean);
  }));
  return [input, element("span", { class: "segment-rule-hint" }, ["separated by commas or lines"])];
}

function captureControls(row, builder, changed) {
  const capture = select("Capture source", builder.captures.map(({ value, label }) => [value, label]), row.value);
  capture.addEventListener("change", () => changed(() => (row.value = capture.value)));
  return [capture];
}

function faceRateControls(row, changed) {
  const input = element("input", { type: "number", step: "any", class: "segment-rule-number", "aria-label": "Face found in at least, percent of frames" });
  input.value = row.rate === null ? "" : String(percentOf(row.rate));
  input.addEventListener("input", () => changed(() => {
    const percent = numberOrNull(input.value);
    row.rate = percent === null ? null : percent / 100;
  }));
  return [input, "% of the frames"];
}

// --- one segment's builder ---

class RulesBuilder {
  constructor(textarea) {
    const data = JSON.parse(textarea.dataset.segmentRules);
    this.textarea = textarea;
    this.offered = data.questions;
    this.questions = new Map(data.questions.map((offered) => [offered.id, offered]));
    this.captures = data.captures;
    this.rows = [];
    this.list = element("ol", { class: "segment-rule-list" });
    this.add = element("button", { type: "button", class: "button segment-rule-add" }, ["Add a rule"]);
    this.note = element("p", { class: "segment-rules-note", hidden: true });
    this.json = element("details", { class: "segment-rules-json" }, [element("summary", {}, ["Edit as JSON"])]);
    const holder = element("div", { class: "segment-rules" }, [this.list, this.add, this.note, this.json]);
    textarea.replaceWith(holder);
    this.json.append(textarea);
    this.add.addEventListener("click", () => {
      this.rows.push(newRow("question", this));
      this.list.append(this.rowElement(this.rows.at(-1)));
      this.write();
    });
    textarea.addEventListener("input", () => this.read());
    this.read();
  }

  // The textarea's JSON shown as rows; what cannot be shown is left alone, and the builder steps aside.
  read() {
    try {
      this.rows = rowsOf(this.textarea.value, this);
    } catch (error) {
      if (!(error instanceof Unrepresentable)) throw error;
      this.note.textContent = `The builder cannot show these rules: ${error.message}. Edit them as JSON below.`;
      this.note.hidden = false;
      this.list.hidden = this.add.hidden = true;
      this.json.open = true;
      return;
    }
    this.note.hidden = true;
    this.list.hidden = this.add.hidden = false;
    this.list.replaceChildren(...this.rows.map((row) => this.rowElement(row)));
  }

  write() {
    this.textarea.value = JSON.stringify(this.rows.map((row) => ruleOf(row, this.questions)));
  }

  rowElement(row) {
    const item = element("li", { class: "segment-rule" });
    const changed = (change) => {
      change();
      this.write();
    };
    const rebuilt = (change) => {
      changed(change);
      item.replaceWith(this.rowElement(row));
    };
    const kind = select("Kind of rule", RULE_KINDS, row.kind);
    kind.addEventListener("change", () => rebuilt(() => {
      for (const key of Object.keys(row)) delete row[key];
      Object.assign(row, newRow(kind.value, this));
    }));
    const remove = element("button", { type: "button", class: "button segment-rule-remove" }, ["Remove"]);
    remove.addEventListener("click", () => {
      this.rows.splice(this.rows.indexOf(row), 1);
      item.remove();
      this.write();
    });
    item.append(kind, ...this.controls(row, changed, rebuilt), remove);
    return item;
  }

  controls(row, changed, rebuilt) {
    if (row.kind === "question") return questionControls(row, this, changed, rebuilt);
    if (row.kind === "capture") return captureControls(row, this, changed);
    if (row.kind === "min_face_rate") return faceRateControls(row, changed);
    return textsControls(row, changed);
  }
}

function build(root) {
  for (const textarea of root.querySelectorAll("textarea[data-segment-rules]")) {
    // The inline's empty row is the template "Add another Segment" copies: it is built once copied.
    if (textarea.closest(".empty-form") || textarea.closest(".segment-rules")) continue;
    new RulesBuilder(textarea);
  }
}

function setUp() {
  build(document);
  document.addEventListener("formset:added", (event) => build(event.target));
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
else setUp();
