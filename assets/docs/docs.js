// The /docs page of `flash dev`: reads /openapi.json, lists the routes grouped
// by file, shows each function's input and output types (from its TypeScript
// signature, once the server has computed them) and gives each one a "Try
// it" form pre-filled with an example. It listens to the dev server's event
// stream (/__flash/events) and redraws itself after every reload and when a
// reload's types arrive, keeping the forms that were open and what was typed
// in them. Plain DOM, no framework, no build step; every string from the
// document goes through textContent.

const $ = (selector) => document.querySelector(selector);

/** Creates an element: h("div", { class: "x", onclick }, child, "text"). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false || value === null) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

const METHODS = ["get", "post", "put", "patch", "delete"];

/** Flattens the document into operations, attaching aliases to their primary route. */
function collectOperations(doc) {
  const ops = [];
  const aliases = new Map();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const aliasOf = op["x-flash-alias-of"];
      if (aliasOf) {
        const key = `${method} ${aliasOf}`;
        aliases.set(key, [...(aliases.get(key) ?? []), path]);
        continue;
      }
      ops.push({ path, method, op, fn: op["x-flash-function"], doc });
    }
  }
  for (const entry of ops) entry.aliases = aliases.get(`${entry.method} ${entry.path}`) ?? [];
  return ops;
}

/** Groups operations by defining file; the server's own routes come last. */
function groupByFile(ops) {
  const groups = new Map();
  for (const entry of ops) {
    const key = entry.fn?.file ?? "";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(entry);
  }
  return [...groups.entries()].sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b)));
}

function exampleBody(op) {
  const media = op.requestBody?.content?.["application/json"];
  return media?.example ?? {};
}

const REF_PREFIX = "#/components/schemas/";

/** The named type a $ref points at, and its schema. */
function deref(schema, doc) {
  const ref = schema?.$ref;
  if (typeof ref !== "string" || !ref.startsWith(REF_PREFIX)) return { schema: schema ?? {} };
  const name = ref.slice(REF_PREFIX.length);
  return { name, schema: doc.components?.schemas?.[name] ?? {} };
}

/** A short type label: `string`, `"a" | "b"`, `Item[]`, `map of number`, `any`. */
function typeLabel(schema, doc, depth = 0) {
  if (!schema || depth > 6) return "any";
  const { name, schema: s } = deref(schema, doc);
  if (name) return name;
  if (s["x-flash-any"] !== undefined) return "any";
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (Array.isArray(s.anyOf)) return s.anyOf.map((m) => typeLabel(m, doc, depth + 1)).join(" | ");
  if (s.not && Object.keys(s.not).length === 0) return "never";
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.length === 0) return "any";
  return types
    .map((t) => {
      if (t === "array") {
        if (Array.isArray(s.prefixItems)) return `[${s.prefixItems.map((i) => typeLabel(i, doc, depth + 1)).join(", ")}]`;
        const item = s.items && typeof s.items === "object" ? typeLabel(s.items, doc, depth + 1) : "any";
        return item.includes(" ") ? `(${item})[]` : `${item}[]`;
      }
      if (t === "object" && !s.properties && s.additionalProperties && typeof s.additionalProperties === "object") {
        return `map of ${typeLabel(s.additionalProperties, doc, depth + 1)}`;
      }
      if (t === "string" && s.format === "date-time") return "date-time string";
      return t;
    })
    .join(" | ");
}

/** The object whose fields are listed under a type: its own, or its array items'. */
function fieldsOf(schema, doc) {
  const { name, schema: s } = deref(schema, doc);
  if (s.properties && typeof s.properties === "object") return { name, schema: s };
  if (s.items && typeof s.items === "object") {
    const item = deref(s.items, doc);
    if (item.schema.properties) return { name: item.name, schema: item.schema };
  }
  return undefined;
}

/** One line of a type: name, type, required, description; the fields of an object type below it. */
function schemaRow(key, schema, required, doc, seen, depth) {
  const { schema: resolved } = deref(schema, doc);
  const description = schema.description ?? resolved.description;
  const any = resolved["x-flash-any"];
  const row = h(
    "li",
    { class: "schema__row" },
    h(
      "div",
      { class: "schema__line" },
      key === undefined ? null : h("code", { class: "schema__name" }, key),
      h("code", { class: "schema__type" }, typeLabel(schema, doc)),
      key !== undefined && required ? h("span", { class: "schema__req" }, "required") : null,
      schema.deprecated || resolved.deprecated ? h("span", { class: "schema__req schema__req--deprecated" }, "deprecated") : null,
      any ? h("span", { class: "muted small" }, `not validated (${any})`) : null,
      description ? h("span", { class: "schema__desc muted small" }, description) : null,
    ),
  );
  const fields = fieldsOf(schema, doc);
  // Nested objects are listed a few levels deep; a type already open above (recursion) is not opened again.
  if (fields && depth < 5 && !(fields.name && seen.has(fields.name))) {
    row.append(schemaFields(fields.schema, doc, fields.name ? new Set([...seen, fields.name]) : seen, depth + 1));
  }
  return row;
}

function schemaFields(schema, doc, seen, depth) {
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(schema.properties ?? {}).map(([key, prop]) => schemaRow(key, prop, required.has(key), doc, seen, depth));
  if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
    rows.push(schemaRow("[key: string]", schema.additionalProperties, false, doc, seen, depth));
  }
  return h("ul", { class: "schema__fields" }, rows);
}

/** A titled type: one row for the type itself, its fields below. */
function schemaSection(title, role, schema, doc, note) {
  return h(
    "section",
    { class: "schema", "data-role": role },
    h("h3", { class: "schema__title" }, title, note ? h("span", { class: "muted small" }, ` ${note}`) : null),
    h("ul", { class: "schema__fields schema__fields--root" }, schemaRow(undefined, schema, true, doc, new Set(), 0)),
  );
}

/** Query and path parameters as a list of fields. */
function parameterSection(params, doc) {
  const rows = params.map((p) => schemaRow(p.name, { ...(p.schema ?? {}), ...(p.description && !p.schema?.description ? { description: p.description } : {}) }, p.required, doc, new Set(), 0));
  return h("section", { class: "schema", "data-role": "parameters" }, h("h3", { class: "schema__title" }, "Parameters"), h("ul", { class: "schema__fields schema__fields--root" }, rows));
}

/** The input and output types of an operation, or why it has none. */
function typesView(entry, doc) {
  const { op, fn } = entry;
  if (op["x-flash-validated"] !== true) {
    const why = op["x-flash-untyped"];
    // Turned off on purpose (FLASH_SCHEMAS=0): nothing to say on every route.
    if (!why || doc["x-flash-schemas"]?.status === "off") return null;
    return h("p", { class: "muted small", "data-role": "untyped" }, `Types: ${why}.`);
  }
  const sections = [];
  const body = op.requestBody?.content?.["application/json"]?.schema;
  const ok = op.responses?.["200"]?.content?.["application/json"]?.schema;
  if (fn?.kind === "QB") {
    const input = body?.properties?.input;
    if (input) sections.push(schemaSection("Input", "input", input, doc, input["x-flash-any"] === undefined && input.description?.startsWith("Ignored") ? "(ignored)" : '(the value of "input")'));
    sections.push(ok?.properties?.output ? schemaSection("Output", "output", ok.properties.output, doc, '(the job\'s "output")') : null);
  } else {
    const params = (op.parameters ?? []).filter((p) => p.name !== "query" || p.in !== "query" || p.schema?.additionalProperties === undefined);
    if (params.length > 0) sections.push(parameterSection(params, doc));
    if (body) sections.push(schemaSection("Body", "input", body, doc, "(path parameters are merged in)"));
    sections.push(ok ? schemaSection("Output", "output", ok, doc, "(the response body)") : h("p", { class: "muted small" }, "Returns nothing (204)."));
  }
  const loose = op["x-flash-not-validated"] ?? [];
  if (loose.length > 0) {
    sections.push(h("p", { class: "muted small" }, `Not validated: ${loose.map((n) => `${n.path} (${n.reason})`).join(", ")}.`));
  }
  return h("div", { class: "types" }, sections);
}

function statusClass(status) {
  if (status >= 500) return "status--5xx";
  if (status >= 400) return "status--4xx";
  return "status--2xx";
}

function shellQuote(text) {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The "Try it" form of one operation. */
function tryItForm(entry) {
  const { path, method, op } = entry;
  const params = op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === "path");
  const queryParams = params.filter((p) => p.in === "query");
  const takesQuery = queryParams.length > 0;
  // Typed GET routes name their query parameters; untyped ones take a free-form map.
  const namedQuery = queryParams.filter((p) => !(p.name === "query" && p.schema?.additionalProperties));
  const shown = (value) => (value === undefined ? undefined : typeof value === "string" ? value : JSON.stringify(value));
  const takesBody = Boolean(op.requestBody);
  const form = h("form", { class: "try", novalidate: true });
  const fields = new Map();

  if (pathParams.length > 0) {
    const set = h("fieldset", { class: "try__set" }, h("legend", {}, "Path parameters"));
    for (const p of pathParams) {
      const id = nextId("param");
      const input = h("input", { id, name: p.name, required: true, autocomplete: "off", spellcheck: "false", value: shown(p.example) });
      fields.set(p.name, input);
      set.append(h("div", { class: "field" }, h("label", { for: id }, p.name), input));
    }
    form.append(set);
  }

  const queryRows = h("div", { class: "query-rows" });
  const addQueryRow = (key = "", value = "") => {
    const keyId = nextId("qk");
    const valueId = nextId("qv");
    const row = h(
      "div",
      { class: "query-row" },
      h("label", { for: keyId, class: "sr-only" }, "Query parameter name"),
      h("input", { id: keyId, class: "query-key", placeholder: "name", value: key, autocomplete: "off", spellcheck: "false" }),
      h("label", { for: valueId, class: "sr-only" }, "Query parameter value"),
      h("input", { id: valueId, class: "query-value", placeholder: "value", value, autocomplete: "off", spellcheck: "false" }),
    );
    row.append(h("button", { type: "button", class: "btn btn--ghost", "aria-label": "Remove this query parameter", onclick: () => row.remove() }, "✕"));
    queryRows.append(row);
  };
  if (takesQuery) {
    if (namedQuery.length > 0) for (const p of namedQuery) addQueryRow(p.name, shown(p.example) ?? "");
    else addQueryRow();
    form.append(
      h(
        "fieldset",
        { class: "try__set" },
        h("legend", {}, "Query parameters"),
        queryRows,
        h("button", { type: "button", class: "btn btn--ghost", onclick: () => addQueryRow() }, "+ Add query parameter"),
      ),
    );
  }

  let bodyInput;
  const bodyError = h("p", { class: "field-error", role: "alert", hidden: true });
  if (takesBody) {
    const id = nextId("body");
    const hintId = nextId("hint");
    bodyInput = h("textarea", { id, class: "code", rows: 6, spellcheck: "false", "aria-describedby": hintId });
    // The default value too: a redraw restores only what the reader changed (see captureForms).
    bodyInput.defaultValue = JSON.stringify(exampleBody(op), null, 2);
    const hint = entry.fn?.kind === "QB"
      ? 'The function receives the value of "input" (or the whole object when there is no "input").'
      : "A JSON object; path parameters are merged into it.";
    form.append(
      h("div", { class: "field" }, h("label", { for: id }, "Request body (JSON)"), bodyInput, h("p", { id: hintId, class: "muted small" }, hint), bodyError),
    );
    bodyInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  const send = h("button", { type: "submit", class: "btn btn--primary" }, "Send request");
  form.append(h("div", { class: "try__actions" }, send, takesBody ? h("span", { class: "muted small" }, "Ctrl/⌘ + Enter") : null));

  const output = h("section", { class: "response", "aria-live": "polite", "aria-label": "Response", hidden: true });
  form.append(output);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    bodyError.hidden = true;
    let url = path;
    for (const [name, input] of fields) {
      if (!input.value) {
        input.focus();
        bodyError.textContent = `Fill in the path parameter "${name}".`;
        bodyError.hidden = false;
        return;
      }
      url = url.replace(`{${name}}`, encodeURIComponent(input.value));
    }
    if (takesQuery) {
      const query = new URLSearchParams();
      for (const row of queryRows.querySelectorAll(".query-row")) {
        const key = row.querySelector(".query-key").value;
        if (key) query.append(key, row.querySelector(".query-value").value);
      }
      const qs = query.toString();
      if (qs) url += `?${qs}`;
    }
    const init = { method: method.toUpperCase(), headers: {} };
    if (takesBody) {
      const text = bodyInput.value.trim();
      if (text) {
        try {
          JSON.parse(text);
        } catch (err) {
          bodyError.textContent = `The body is not valid JSON: ${err.message}`;
          bodyError.hidden = false;
          bodyInput.focus();
          return;
        }
        init.body = text;
        init.headers["Content-Type"] = "application/json";
      }
    }
    send.disabled = true;
    send.textContent = "Sending…";
    output.hidden = false;
    output.replaceChildren(h("p", { class: "muted" }, "Waiting for the response…"));
    const started = performance.now();
    try {
      const response = await fetch(url, init);
      const text = await response.text();
      renderResponse(output, { response, text, ms: performance.now() - started, url, init });
    } catch (err) {
      output.replaceChildren(h("p", { class: "field-error" }, `The request failed: ${err.message}`));
    } finally {
      send.disabled = false;
      send.textContent = "Send request";
    }
  });
  return form;
}

function renderResponse(output, { response, text, ms, url, init }) {
  let pretty = text;
  try {
    if (text) pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: show as is
  }
  const requestId = response.headers.get("x-request-id");
  const curl = [`curl -X ${init.method}`, shellQuote(new URL(url, location.href).href)];
  if (init.body !== undefined) curl.push("-H 'Content-Type: application/json'", `-d ${shellQuote(init.body)}`);
  output.replaceChildren(
    h(
      "div",
      { class: "response__meta" },
      h("span", { class: `status ${statusClass(response.status)}`, "data-role": "status" }, `${response.status} ${response.statusText}`),
      h("span", { class: "muted", "data-role": "time" }, `${Math.round(ms)} ms`),
      requestId ? h("span", { class: "muted small" }, `request ${requestId}`) : null,
    ),
    h("pre", { class: "code response__body", tabindex: "0", "data-role": "body" }, pretty === "" ? "(no content)" : pretty),
    h("details", { class: "curl" }, h("summary", {}, "curl"), h("pre", { class: "code" }, curl.join(" "))),
  );
}

function operationView(entry) {
  const { path, method, op, fn } = entry;
  const badges = [];
  if (fn) badges.push(h("span", { class: `badge badge--${fn.kind.toLowerCase()}` }, fn.kind));
  if (fn?.local) badges.push(h("span", { class: "badge badge--local" }, "local"));
  const details = h(
    "details",
    { class: "op", "data-key": `${method} ${path}`, "data-search": [path, fn?.file, fn?.endpoint, op.summary, ...entry.aliases].filter(Boolean).join(" ").toLowerCase() },
    h(
      "summary",
      { class: "op__summary" },
      h("span", { class: `method method--${method}` }, method.toUpperCase()),
      h("code", { class: "op__path" }, path),
      h(
        "span",
        { class: "op__name" },
        fn ? h("code", {}, fn.method ? `${fn.export}.${fn.method}` : fn.export) : null,
        op.summary && op.summary !== (fn?.method ? `${fn.export}.${fn.method}` : fn?.export) ? ` ${op.summary}` : fn ? "" : op.summary ?? "",
      ),
      h("span", { class: "op__badges" }, badges, fn ? h("span", { class: "endpoint" }, fn.endpoint) : null),
    ),
  );
  const body = h("div", { class: "op__body" });
  if (op.description) body.append(h("p", { class: "op__desc" }, op.description.replace(/`/g, "")));
  if (entry.aliases.length > 0) body.append(h("p", { class: "muted small" }, `Also served at ${entry.aliases.join(", ")}`));
  const types = fn ? typesView(entry, entry.doc) : null;
  if (types) body.append(types);
  body.append(tryItForm(entry));
  details.append(body);
  return details;
}

function groupView([file, entries]) {
  const headingId = nextId("group");
  const kinds = [...new Set(entries.map((e) => e.fn?.kind).filter(Boolean))];
  const endpoints = [...new Set(entries.map((e) => e.fn?.endpoint).filter(Boolean))];
  return h(
    "section",
    { class: "group", "aria-labelledby": headingId },
    h(
      "header",
      { class: "group__header" },
      h("h2", { id: headingId }, file || "Dev server"),
      h("span", { class: "muted small" }, file ? `${kinds.join(" + ")} · ${endpoints.join(", ")}` : "health checks"),
    ),
    h("div", { class: "group__ops" }, entries.map(operationView)),
  );
}

function renderNotices(doc) {
  const notices = $("#notices");
  notices.replaceChildren();
  const failure = doc["x-flash-reload-error"];
  if (failure) {
    notices.append(
      h(
        "div",
        { class: "notice notice--error", role: "alert" },
        h("strong", {}, "The last reload failed; the previous code is still served."),
        h("pre", { class: "code" }, [failure.message, ...(failure.issues ?? [])].join("\n")),
      ),
    );
  }
  const schemas = doc["x-flash-schemas"];
  if (schemas?.status === "pending") {
    notices.append(
      h("div", { class: "notice", role: "status", "data-role": "schemas-pending" }, "Reading the types of your functions… Until they are ready, requests are not checked against them."),
    );
  } else if (schemas?.status === "failed") {
    notices.append(
      h(
        "div",
        { class: "notice notice--warn", role: "status" },
        h("strong", {}, "The types of your functions could not be read; requests are not checked against them."),
        h("pre", { class: "code" }, schemas.message ?? ""),
      ),
    );
  }
  const issues = doc["x-flash-issues"] ?? [];
  if (issues.length > 0) {
    notices.append(
      h(
        "div",
        { class: "notice notice--warn", role: "status" },
        h("strong", {}, `${issues.length} problem${issues.length === 1 ? "" : "s"} in your functions`),
        h("ul", {}, issues.map((i) => h("li", {}, `${i.file}${i.line ? `:${i.line}` : ""}: ${i.message}`))),
      ),
    );
  }
}

function applyFilter() {
  const term = $("#filter").value.trim().toLowerCase();
  for (const group of document.querySelectorAll(".group")) {
    let visible = 0;
    for (const op of group.querySelectorAll(".op")) {
      const show = !term || op.dataset.search.includes(term);
      op.hidden = !show;
      if (show) visible++;
    }
    group.hidden = visible === 0;
  }
}

let generation;

/**
 * What the reader has open and typed, by route, so a redraw keeps it. Only
 * changed fields: a value still at its default gives way to the new default
 * (the example of a type that changed, or that just arrived).
 */
function captureForms() {
  const state = new Map();
  for (const op of document.querySelectorAll("details.op")) {
    const fields = [...op.querySelectorAll("input, textarea")].map((el) => (el.value !== el.defaultValue ? el.value : undefined));
    state.set(op.dataset.key, { open: op.open, fields });
  }
  return state;
}

function restoreForms(state) {
  for (const op of document.querySelectorAll("details.op")) {
    const saved = state.get(op.dataset.key);
    if (!saved) continue;
    op.open = saved.open;
    const elements = [...op.querySelectorAll("input, textarea")];
    // The same route can take other parameters after a reload: restore only when the form kept its shape.
    if (elements.length === saved.fields.length) {
      elements.forEach((el, i) => {
        if (saved.fields[i] !== undefined) el.value = saved.fields[i];
      });
    }
  }
}

/** The state of the types on the page (`ready`, `pending`, …), and a redraw put off while new ones are computed. */
let shownSchemas;
let putOff;

/** How long a typed page is kept while the next generation's types are computed, before it is redrawn untyped. */
const TYPES_WAIT_MS = 3000;

async function load() {
  const status = $("#status");
  try {
    const response = await fetch("/openapi.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const doc = await response.json();
    const schemas = doc["x-flash-schemas"]?.status;
    // After a save the types follow the routes within moments: keep the typed page until
    // they arrive (a "schemas" event) rather than flash an untyped one in between, within a bound.
    if (schemas === "pending" && shownSchemas === "ready" && doc["x-flash-generation"] !== generation && putOff === undefined) {
      putOff = setTimeout(() => void refresh(), TYPES_WAIT_MS);
      return;
    }
    clearTimeout(putOff);
    putOff = undefined;
    shownSchemas = schemas;
    generation = doc["x-flash-generation"];
    document.title = `${doc.info?.title ?? "Flash Dev Server"} · API`;
    $("#title").textContent = doc.info?.title ?? "Flash Dev Server";
    renderNotices(doc);
    const ops = collectOperations(doc);
    const groups = groupByFile(ops);
    const forms = captureForms();
    $("#groups").replaceChildren(...groups.map(groupView));
    restoreForms(forms);
    const count = ops.filter((o) => o.fn).length;
    status.textContent = count === 0 ? "No remote functions are served yet." : `${count} route${count === 1 ? "" : "s"}`;
    applyFilter();
  } catch (err) {
    status.textContent = `Could not load /openapi.json: ${err.message}`;
  }
}

/** Loads again; a request for it while a load runs is folded into one more load afterwards. */
let loading;
let loadAgain = false;
async function refresh() {
  if (loading) {
    loadAgain = true;
    return;
  }
  do {
    loadAgain = false;
    loading = load();
    await loading;
  } while (loadAgain);
  loading = undefined;
}

/** Redraws when the server has other routes than the page shows (events missed while disconnected). */
async function refreshIfStale() {
  try {
    const doc = await (await fetch("/openapi.json", { cache: "no-store" })).json();
    if (doc["x-flash-generation"] !== generation || doc["x-flash-schemas"]?.status !== shownSchemas) await refresh();
  } catch {
    // the server is restarting; the stream reconnects and asks again
  }
}

/** Redraws after every reload the dev server reports (a failed one too: its error is shown). */
function listen() {
  const source = new EventSource("/__flash/events");
  // "routes" comes just before the "reload" of the same reload: one redraw is enough.
  source.addEventListener("reload", () => void refresh());
  // A generation's types are ready (or could not be read): redraw with them.
  source.addEventListener("schemas", () => {
    clearTimeout(putOff);
    putOff = undefined;
    void refresh();
  });
  // On every (re)connection: a reload may have happened while the stream was not open.
  source.addEventListener("open", () => void refreshIfStale());
}

$("#origin").textContent = location.origin;
$("#filter").addEventListener("input", applyFilter);
void refresh();
listen();
