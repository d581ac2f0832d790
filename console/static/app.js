// ecstore console: a small single-page application over /console/api/.
// No framework: every element is built with the DOM API, and text from the
// server is always set with textContent (never as HTML).
"use strict";

const API = "/console/api/";
const CSRF = { "X-Ecstore-Console": "1" };
const HEALTH_EVERY_MS = 2000;

const state = {
  bucket: null, // selected bucket
  prefix: "", // current folder inside it ("" or ending in "/")
  next: null, // "after" of the next page of the listing
  healthTimer: null,
};

const $ = (id) => document.getElementById(id);

// el builds an element: el("td", {class: "num"}, "text", child...).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined) e.append(c);
  }
  return e;
}

class APIError extends Error {
  constructor(status, code, message) {
    super(message || code || "HTTP " + status);
    this.status = status;
    this.code = code;
  }
}

// api calls the console API; a 401 shows the login form.
async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: {} };
  if (method !== "GET" && method !== "HEAD") Object.assign(opts.headers, CSRF);
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(API + path, opts);
  if (resp.status === 204) return null;
  let data = null;
  try { data = await resp.json(); } catch (_) { /* not JSON */ }
  if (!resp.ok) {
    if (resp.status === 401 && path !== "login") showLogin();
    throw new APIError(resp.status, data && data.error, data && data.message);
  }
  return data;
}

function objectPath(bucket, key) {
  // The whole key is one escaped segment: '/' becomes %2F, so the server
  // sees the key exactly as typed.
  return "buckets/" + encodeURIComponent(bucket) + "/objects/" + encodeURIComponent(key);
}

function humanBytes(n) {
  if (!n) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
}

function when(iso) {
  const d = new Date(iso);
  return isNaN(d) || d.getFullYear() < 1971 ? "" : d.toLocaleString();
}

let messageTimer = null;
function say(text, isError) {
  const m = $("message");
  m.textContent = text;
  m.className = isError ? "error" : "";
  m.hidden = false;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => { m.hidden = true; }, isError ? 8000 : 4000);
}

// ---- session ----

function showLogin() {
  stopHealth();
  $("app-view").hidden = true;
  $("session").hidden = true;
  $("login-view").hidden = false;
  $("access-key").focus();
}

function showApp(accessKey) {
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("session").hidden = false;
  $("session-user").textContent = accessKey;
  loadBuckets();
  startHealth();
}

async function onLogin(ev) {
  ev.preventDefault();
  const err = $("login-error");
  err.hidden = true;
  $("login-button").disabled = true;
  try {
    const s = await api("POST", "login", { accessKey: $("access-key").value, secretKey: $("secret-key").value });
    $("secret-key").value = "";
    showApp(s.accessKey);
  } catch (e) {
    err.textContent = e.status === 401 ? "Wrong access key or secret key." : e.message;
    err.hidden = false;
  } finally {
    $("login-button").disabled = false;
  }
}

async function onLogout() {
  try { await api("POST", "logout"); } catch (_) { /* logged out anyway */ }
  state.bucket = null;
  showLogin();
}

// ---- buckets ----

async function loadBuckets() {
  let data;
  try { data = await api("GET", "buckets"); } catch (e) { if (e.status !== 401) say("Could not list buckets: " + e.message, true); return; }
  const list = $("bucket-list");
  list.replaceChildren();
  for (const b of data.buckets) {
    const li = el("li", { "data-bucket": b.name, class: b.name === state.bucket ? "active" : "" },
      el("a", { href: "#", title: "created " + when(b.created), onclick: (ev) => { ev.preventDefault(); openBucket(b.name, ""); } }, b.name));
    list.append(li);
  }
  $("no-buckets").hidden = data.buckets.length > 0;
  if (state.bucket && !data.buckets.some((b) => b.name === state.bucket)) closeBucket();
}

async function onCreateBucket(ev) {
  ev.preventDefault();
  const name = $("new-bucket").value.trim();
  if (!name) return;
  try {
    await api("POST", "buckets", { name });
    $("new-bucket").value = "";
    say("Bucket " + name + " created.");
    await loadBuckets();
    openBucket(name, "");
  } catch (e) {
    say("Could not create bucket " + name + ": " + e.message, true);
  }
}

async function onDeleteBucket() {
  const b = state.bucket;
  if (!b || !confirm("Delete the bucket " + b + "? It must be empty.")) return;
  try {
    await api("DELETE", "buckets/" + encodeURIComponent(b));
    say("Bucket " + b + " deleted.");
    closeBucket();
    loadBuckets();
  } catch (e) {
    say("Could not delete bucket " + b + ": " + e.message, true);
  }
}

function closeBucket() {
  state.bucket = null;
  $("browser").hidden = true;
  $("delete-bucket").hidden = true;
  $("pick-bucket").hidden = false;
  $("objects-title").textContent = "Objects";
}

// ---- objects ----

function openBucket(bucket, prefix) {
  state.bucket = bucket;
  state.prefix = prefix;
  for (const li of $("bucket-list").children) li.classList.toggle("active", li.dataset.bucket === bucket);
  $("objects-title").textContent = bucket;
  $("pick-bucket").hidden = true;
  $("browser").hidden = false;
  $("delete-bucket").hidden = false;
  renderBreadcrumb();
  loadObjects(false);
}

function renderBreadcrumb() {
  const nav = $("breadcrumb");
  nav.replaceChildren(el("a", { onclick: () => openBucket(state.bucket, "") }, state.bucket));
  const parts = state.prefix.split("/").filter((p) => p !== "");
  let acc = "";
  for (const p of parts) {
    acc += p + "/";
    const target = acc;
    nav.append(el("span", { class: "sep" }, "/"), el("a", { onclick: () => openBucket(state.bucket, target) }, p));
  }
}

async function loadObjects(more) {
  const bucket = state.bucket;
  const q = new URLSearchParams({ prefix: state.prefix });
  if (more && state.next) q.set("after", state.next);
  let data;
  try {
    data = await api("GET", "buckets/" + encodeURIComponent(bucket) + "/objects?" + q);
  } catch (e) {
    if (e.status !== 401) say("Could not list " + bucket + ": " + e.message, true);
    return;
  }
  if (bucket !== state.bucket) return; // the user moved on meanwhile
  const rows = $("object-rows");
  if (!more) rows.replaceChildren();
  for (const p of data.prefixes) {
    const name = p.slice(state.prefix.length);
    rows.append(el("tr", { class: "folder", "data-prefix": p },
      el("td", { class: "name" }, el("a", { onclick: () => openBucket(bucket, p) }, name)),
      el("td", { class: "num" }), el("td"), el("td")));
  }
  for (const o of data.objects) rows.append(objectRow(bucket, o));
  state.next = data.truncated ? data.next : null;
  $("more-objects").hidden = !data.truncated;
  $("empty-folder").hidden = rows.children.length > 0;
}

function objectRow(bucket, o) {
  const name = o.key.slice(state.prefix.length);
  const download = el("a", { class: "download", href: API + objectPath(bucket, o.key), download: name.split("/").pop(), "data-download": o.key }, "Download");
  const del = el("button", { type: "button", class: "danger small", "data-delete": o.key, onclick: () => deleteObject(bucket, o.key) }, "Delete");
  return el("tr", { "data-key": o.key, "data-size": String(o.size) },
    el("td", { class: "name", title: o.contentType || "" }, name),
    el("td", { class: "num" }, humanBytes(o.size)),
    el("td", { class: "small muted" }, when(o.modified)),
    el("td", { class: "actions" }, download, del));
}

async function deleteObject(bucket, key) {
  if (!confirm("Delete " + key + "?")) return;
  try {
    await api("DELETE", objectPath(bucket, key));
    say("Deleted " + key + ".");
    if (bucket === state.bucket) loadObjects(false);
  } catch (e) {
    say("Could not delete " + key + ": " + e.message, true);
  }
}

// upload sends one file as the raw request body, reporting progress.
function upload(bucket, key, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", API + objectPath(bucket, key));
    xhr.setRequestHeader("X-Ecstore-Console", "1");
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) onProgress(ev.loaded, ev.total); };
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else {
        if (xhr.status === 401) showLogin();
        reject(new APIError(xhr.status, data && data.error, data && data.message));
      }
    };
    xhr.onerror = () => reject(new Error("network error"));
    xhr.onabort = () => reject(new Error("aborted"));
    xhr.send(file);
  });
}

async function onUpload(ev) {
  ev.preventDefault();
  const input = $("upload-file");
  const files = Array.from(input.files);
  if (!state.bucket || files.length === 0) return;
  const bucket = state.bucket, prefix = state.prefix;
  const bar = $("upload-progress"), status = $("upload-status"), button = $("upload-button");
  const total = files.reduce((n, f) => n + f.size, 0) || 1;
  let done = 0;
  bar.value = 0;
  bar.hidden = false;
  button.disabled = true;
  try {
    for (const f of files) {
      status.textContent = "Uploading " + f.name + "…";
      await upload(bucket, prefix + f.name, f, (loaded) => { bar.value = (done + loaded) / total; });
      done += f.size;
      bar.value = done / total;
    }
    status.textContent = files.length === 1 ? "Uploaded " + files[0].name + "." : "Uploaded " + files.length + " files.";
    input.value = "";
    if (bucket === state.bucket) loadObjects(false);
  } catch (e) {
    status.textContent = "";
    say("Upload failed: " + e.message, true);
  } finally {
    button.disabled = false;
    setTimeout(() => { bar.hidden = true; }, 1500);
  }
}

// ---- health ----

function startHealth() {
  stopHealth();
  refreshHealth();
  state.healthTimer = setInterval(refreshHealth, HEALTH_EVERY_MS);
}

function stopHealth() {
  clearInterval(state.healthTimer);
  state.healthTimer = null;
}

async function refreshHealth() {
  let h;
  try { h = await api("GET", "health"); } catch (e) { return; }
  const summary = $("health-summary"), nodesEl = $("health-nodes"), counters = $("health-counters");
  if (!h.available) {
    summary.replaceChildren(el("span", { class: "pill" }, "Health is not available from this storage layer."));
    nodesEl.replaceChildren();
    counters.replaceChildren();
    return;
  }
  const t = h.totals;
  const offline = t.drives - t.drivesOnline;
  let verdict, cls;
  if (offline === 0) { verdict = "Healthy"; cls = "ok"; }
  else if (offline <= h.ec.parity) { verdict = "Degraded: " + offline + " drive" + (offline > 1 ? "s" : "") + " offline"; cls = "warn"; }
  else { verdict = offline + " drives offline: some objects may be unreadable"; cls = "bad"; }
  summary.replaceChildren(
    el("span", { id: "health-verdict", class: "pill " + cls, "data-offline": String(offline) }, verdict),
    el("span", { class: "pill" }, "EC " + h.ec.data + "+" + h.ec.parity),
    el("span", { class: "pill" }, t.nodesOnline + "/" + t.nodes + " nodes"),
    el("span", { class: "pill" }, t.drivesOnline + "/" + t.drives + " drives"),
    t.total ? el("span", { class: "pill" }, humanBytes(t.used) + " of " + humanBytes(t.total) + " used") : null);

  const byNode = new Map();
  for (const d of h.drives) {
    if (!byNode.has(d.node)) byNode.set(d.node, []);
    byNode.get(d.node).push(d);
  }
  const nodes = [];
  for (const [node, drives] of byNode) {
    const up = drives.filter((d) => d.online).length;
    const box = el("div", { class: "node" + (up < drives.length ? " offline" : ""), "data-node": node },
      el("div", { class: "node-head" },
        el("span", {}, node, drives[0].zone ? el("span", { class: "zone" }, "  " + drives[0].zone) : null),
        el("span", { class: "small" }, up + "/" + drives.length + " online")));
    for (const d of drives) box.append(driveRow(d));
    nodes.push(box);
  }
  nodesEl.replaceChildren(...nodes);

  const heal = h.heal, walk = heal.walk;
  const rows = [
    ["Degraded objects", heal.queued + heal.pending, "degraded-objects",
      heal.queued + " queued for heal, " + heal.pending + " waiting for a drive to return"],
    ["Degraded reads", h.degradedReads, "degraded-reads", "object reads that needed parity since the gateway started"],
    ["Checksum failures", h.checksumFailures, "checksum-failures", "shard blocks that failed their checksum (bitrot), rebuilt from parity"],
    ["Partial writes", h.partialWrites, "partial-writes", "writes acknowledged with fewer than all shards"],
    ["Shards healed", heal.shardsHealed + " (" + humanBytes(heal.bytesHealed) + ")", "shards-healed", ""],
    ["Heal", healText(walk), "heal", ""],
    ["Rebalance", h.rebalance.state, "rebalance", ""],
  ];
  counters.replaceChildren(...rows.flatMap(([k, v, id, title]) =>
    [el("dt", { title }, k), el("dd", { id: "health-" + id, title }, String(v))]));
  $("health-checked").textContent = "Checked " + new Date(h.checked).toLocaleTimeString() + "; refreshes every 2 s.";
}

function driveRow(d) {
  const state = d.online ? "online" : "offline";
  const row = el("div", { class: "drive", "data-drive": d.id, "data-node": d.node, "data-state": state },
    el("span", { class: "id" }, d.id),
    el("span", { class: "state" }, state));
  if (d.online && d.total) {
    const pct = Math.min(100, Math.round((d.used / d.total) * 100));
    const fill = el("span");
    fill.style.width = pct + "%"; // CSSOM, not a style attribute: the CSP allows no inline styles
    const bar = el("div", { class: "bar" }, fill);
    row.append(el("div", { class: "cap" }, humanBytes(d.used) + " of " + humanBytes(d.total) + " used (" + pct + "%)", bar));
  }
  // The end of an error chain names the cause ("connection refused").
  if (!d.online && d.error) row.append(el("div", { class: "err", title: d.error }, tail(d.error, 90)));
  return row;
}

function healText(w) {
  if (!w || !w.started || w.started.startsWith("0001")) return "none yet";
  const kind = w.operator ? "operator heal" : "background scan";
  if (w.running) {
    const pct = w.objects_total ? Math.round((w.objects_scanned / w.objects_total) * 100) + "%" : w.objects_scanned + " objects";
    return kind + " running: " + pct + ", " + w.objects_repaired + " repaired";
  }
  return "last " + kind + ": " + w.objects_scanned + " scanned, " + w.objects_repaired + " repaired" + (w.error ? " (" + w.error + ")" : "");
}

function tail(s, n) {
  return s.length > n ? "…" + s.slice(s.length - n) : s;
}

// ---- start ----

document.addEventListener("DOMContentLoaded", async () => {
  $("login-form").addEventListener("submit", onLogin);
  $("logout-button").addEventListener("click", onLogout);
  $("bucket-form").addEventListener("submit", onCreateBucket);
  $("delete-bucket").addEventListener("click", onDeleteBucket);
  $("upload-form").addEventListener("submit", onUpload);
  $("more-objects").addEventListener("click", () => loadObjects(true));
  try {
    const s = await api("GET", "session");
    showApp(s.accessKey);
  } catch (_) {
    showLogin();
  }
});
