/**
 * The playground page served at `GET /`: one static HTML document, no dependencies, talking to this server's own
 * OpenAI routes with the key the user types (kept in localStorage). Styles and script are separate strings so the
 * route can put the script's hash in its Content-Security-Policy; the script uses no template literals because it
 * lives inside one.
 */

export const PLAYGROUND_STYLE = `
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fafafa; --muted: #6b6b70; --line: #d8d8dc; --accent: #f38020;
  --user: #e8f0fe; --bot: #ffffff; --err: #b3261e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8ea; --bg: #17171a; --muted: #9a9aa2; --line: #33333a;
  --user: #1f2a3d; --bot: #212126; --err: #ff8a80; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); display: grid;
  grid-template-columns: 290px 1fr; height: 100vh; }
aside { border-right: 1px solid var(--line); padding: 16px; overflow-y: auto; }
h1 { font-size: 17px; margin: 0 0 14px; } h1 span { color: var(--accent); }
label { display: block; font-size: 12px; color: var(--muted); margin: 12px 0 4px; }
input, select, textarea, button { font: inherit; color: inherit; }
input, select, textarea { width: 100%; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--bot); }
textarea { resize: vertical; }
.row { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 8px; }
main { display: grid; grid-template-rows: 1fr auto auto; min-height: 0; }
#log { overflow-y: auto; padding: 16px 24px; }
.msg { max-width: 820px; margin: 0 0 12px; padding: 10px 12px; border-radius: 8px; border: 1px solid var(--line);
  white-space: pre-wrap; word-wrap: break-word; }
.msg.user { background: var(--user); } .msg.assistant { background: var(--bot); }
.msg .who { display: block; font-size: 11px; color: var(--muted); margin-bottom: 2px; text-transform: uppercase; }
#stats { padding: 4px 24px; font-size: 12px; color: var(--muted); min-height: 22px; font-variant-numeric: tabular-nums; }
#stats.error { color: var(--err); }
form { display: grid; grid-template-columns: 1fr auto auto; gap: 8px; padding: 12px 24px 18px; border-top: 1px solid var(--line); }
button { padding: 6px 14px; border-radius: 6px; border: 1px solid var(--line); background: var(--bot); cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button:disabled { opacity: .45; cursor: default; }
.hint { font-size: 12px; color: var(--muted); margin-top: 16px; }
`;

export const PLAYGROUND_SCRIPT = `
(function () {
"use strict";
var $ = function (id) { return document.getElementById(id); };
var KEY = "ellm.apiKey", MODEL = "ellm.model";
var turns = [];
var controller = null;

$("key").value = localStorage.getItem(KEY) || "";
$("key").addEventListener("change", function () {
  localStorage.setItem(KEY, $("key").value.trim());
  loadModels();
});
$("model").addEventListener("change", function () { localStorage.setItem(MODEL, $("model").value); });
$("reload").addEventListener("click", loadModels);
$("clear").addEventListener("click", function () { turns = []; $("log").textContent = ""; status(""); });
$("stop").addEventListener("click", function () { if (controller) controller.abort(); });
$("form").addEventListener("submit", function (e) { e.preventDefault(); send(); });
$("input").addEventListener("keydown", function (e) {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); }
});

function headers() {
  var h = { "content-type": "application/json" };
  var key = $("key").value.trim();
  if (key) h.authorization = "Bearer " + key;
  return h;
}

function status(text, isError) {
  $("stats").textContent = text;
  $("stats").className = isError ? "error" : "";
}

async function errorText(res) {
  try { var body = await res.json(); if (body && body.error) return "HTTP " + res.status + ": " + body.error.message; } catch (e) {}
  return "HTTP " + res.status;
}

async function loadModels() {
  var select = $("model");
  try {
    var res = await fetch("/v1/models", { headers: headers() });
    if (!res.ok) {
      status((await errorText(res)) + (res.status === 401 ? " (enter an API key)" : ""), true);
      return;
    }
    var list = (await res.json()).data;
    var wanted = localStorage.getItem(MODEL);
    select.textContent = "";
    list.forEach(function (m) {
      var opt = document.createElement("option");
      opt.value = m.id;
      opt.textContent = m.id + " · " + m.context_length + " ctx";
      select.appendChild(opt);
    });
    if (list.some(function (m) { return m.id === wanted; })) select.value = wanted;
    status(list.length + " model" + (list.length === 1 ? "" : "s"));
  } catch (e) {
    status("Could not list models: " + e.message, true);
  }
}

function bubble(role, text) {
  var div = document.createElement("div");
  div.className = "msg " + role;
  var who = document.createElement("span");
  who.className = "who";
  who.textContent = role;
  var body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  div.appendChild(who);
  div.appendChild(body);
  $("log").appendChild(div);
  $("log").scrollTop = $("log").scrollHeight;
  return body;
}

function numberField(id) {
  var v = $(id).value.trim();
  return v === "" ? undefined : Number(v);
}

function busy(on) {
  $("send").disabled = on;
  $("stop").disabled = !on;
}

async function send() {
  var text = $("input").value;
  if (!text.trim() || controller) return;
  if (!$("model").value) { status("No model selected", true); return; }
  $("input").value = "";
  turns.push({ role: "user", content: text });
  bubble("user", text);
  var out = bubble("assistant", "");
  var messages = turns.slice();
  var system = $("system").value.trim();
  if (system) messages.unshift({ role: "system", content: system });
  var body = {
    model: $("model").value, messages: messages, stream: true, stream_options: { include_usage: true },
    temperature: numberField("temperature"), top_p: numberField("top_p"), max_tokens: numberField("max_tokens"),
  };

  controller = new AbortController();
  busy(true);
  status("waiting for the first token…");
  var started = performance.now(), first = 0, last = 0, chunks = 0, usage = null, finish = null, reply = "";
  var stats = function (state) {
    var parts = [state];
    if (first) parts.push("first token " + Math.round(first - started) + " ms");
    var tokens = usage ? usage.completion_tokens : chunks;
    if (tokens > 1 && last > first) parts.push(((tokens - 1) / ((last - first) / 1000)).toFixed(1) + " tok/s");
    parts.push(tokens + " tokens");
    if (finish) parts.push("finish: " + finish);
    return parts.join(" · ");
  };
  try {
    var res = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(), body: JSON.stringify(body), signal: controller.signal,
    });
    if (!res.ok) throw new Error(await errorText(res));
    var reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    var buffer = "";
    for (;;) {
      var step = await reader.read();
      if (step.done) break;
      buffer += step.value;
      var cut;
      while ((cut = buffer.indexOf("\\n\\n")) >= 0) {
        var event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (event.indexOf("data: ") !== 0) continue;
        var data = event.slice(6);
        if (data === "[DONE]") continue;
        var chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.usage) usage = chunk.usage;
        var choice = chunk.choices && chunk.choices[0];
        if (!choice) continue;
        if (choice.finish_reason) finish = choice.finish_reason;
        var delta = choice.delta && choice.delta.content;
        if (delta) {
          var now = performance.now();
          if (!first) first = now;
          last = now;
          chunks++;
          reply += delta;
          out.textContent = reply;
          $("log").scrollTop = $("log").scrollHeight;
          status(stats("streaming"));
        }
      }
    }
    status(stats("done"));
  } catch (e) {
    if (e.name === "AbortError") status(stats("stopped"));
    else status(stats("error") + " — " + e.message, true);
  } finally {
    if (reply) turns.push({ role: "assistant", content: reply });
    else turns.pop();
    controller = null;
    busy(false);
    $("input").focus();
  }
}

loadModels();
})();
`;

export function playgroundHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>eLLM Edge playground</title>
<link rel="icon" href="data:,">
<style>${PLAYGROUND_STYLE}</style>
</head>
<body>
<aside>
  <h1><span>e</span>LLM Edge playground</h1>
  <label for="key">API key (kept in this browser's localStorage)</label>
  <input id="key" type="password" autocomplete="off" placeholder="none when auth is off">
  <label for="model">Model</label>
  <div style="display:flex;gap:6px"><select id="model" style="min-width:0"></select><button id="reload" type="button" title="Reload the model list">↻</button></div>
  <label for="system">System prompt</label>
  <textarea id="system" rows="4" placeholder="You are a helpful assistant."></textarea>
  <div class="row">
    <div><label for="temperature">temperature</label><input id="temperature" type="number" min="0" max="2" step="0.1" value="0.7"></div>
    <div><label for="top_p">top_p</label><input id="top_p" type="number" min="0" max="1" step="0.05" value="0.95"></div>
    <div><label for="max_tokens">max tokens</label><input id="max_tokens" type="number" min="1" step="1" value="256"></div>
  </div>
  <p><button id="clear" type="button">Clear the conversation</button></p>
  <p class="hint">Requests go to this server's <code>/v1/chat/completions</code>, streamed. Set <code>PLAYGROUND=off</code> to remove this page.</p>
</aside>
<main>
  <div id="log" aria-live="polite"></div>
  <div id="stats"></div>
  <form id="form">
    <textarea id="input" rows="2" placeholder="Message (Enter to send, Shift+Enter for a new line)"></textarea>
    <button id="send" class="primary" type="submit">Send</button>
    <button id="stop" type="button" disabled>Stop</button>
  </form>
</main>
<script>${PLAYGROUND_SCRIPT}</script>
</body>
</html>
`;
}
