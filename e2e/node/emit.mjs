// emit.mjs sends real OpenInference spans to a running Loupe the way a
// Node application does: the official `openai` client, instrumented by
// @arizeai/openinference-instrumentation-openai, exporting through the
// standard OpenTelemetry JS SDK. The model is a fake OpenAI-compatible server
// on 127.0.0.1, so nothing leaves the machine.
//
// Environment:
//   LOUPE_URL      base URL of Loupe's HTTP listener, e.g. http://127.0.0.1:6006
//   LOUPE_PROJECT  project name, sent as the resource attribute openinference.project.name
//   OTLP_FORMAT    proto (application/x-protobuf, the default) or json (application/json)
//
// On success it prints one JSON object on stdout:
//   {"project": "...", "format": "proto", "spans": [{"call", "name", "trace_id", "span_id"}], "trace_ids": [...]}
// and exits 0. Any failure (a call, an export, a missing span) exits 1 with
// the reason on stderr.
//
// The scenario below is mirrored by the expectations in node_test.go: change
// both together.

import http from "node:http";

import * as openaiModule from "openai";
import { OpenAIInstrumentation } from "@arizeai/openinference-instrumentation-openai";
import { diag, DiagConsoleLogger, DiagLogLevel } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { OTLPTraceExporter as JSONExporter } from "@opentelemetry/exporter-trace-otlp-http";

// The whole run is bounded so that a hung export or call fails the test
// instead of stalling it until the Go test's own deadline.
const DEADLINE_MS = 60_000;

// Both calls go to the fake server; it picks the reply by the requested
// model and rejects a request whose messages are not the expected ones, so a
// client that sent something else fails here rather than in the assertions.
const calls = [
  {
    call: "tool_call",
    request: {
      model: "gpt-4o-mini",
      temperature: 0,
      messages: [
        { role: "system", content: "You are a weather assistant." },
        { role: "user", content: "What is the weather in Paris?" },
      ],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Current weather for a city.",
            parameters: {
              type: "object",
              properties: { city: { type: "string" } },
              required: ["city"],
            },
          },
        },
      ],
    },
    response: {
      id: "chatcmpl-e2e-tool",
      object: "chat.completion",
      created: 1767225600,
      // Differs from the requested model on purpose: the instrumentation
      // records the model that answered.
      model: "gpt-4o-mini-2024-07-18",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: "call_e2e_weather",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Paris"}' },
              },
            ],
          },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 87, completion_tokens: 18, total_tokens: 105 },
    },
  },
  {
    call: "plain",
    request: {
      model: "gpt-4o",
      messages: [{ role: "user", content: "Say hello in French." }],
    },
    response: {
      id: "chatcmpl-e2e-plain",
      object: "chat.completion",
      created: 1767225601,
      model: "gpt-4o-2024-08-06",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Bonjour !" },
          finish_reason: "stop",
        },
      ],
      usage: {
        prompt_tokens: 1200,
        completion_tokens: 5,
        total_tokens: 1205,
        prompt_tokens_details: { cached_tokens: 1024 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    },
  },
];

function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === "") {
    throw new Error(`environment variable ${name} is required`);
  }
  return v;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJSON(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
}

// startFakeOpenAI serves POST /v1/chat/completions from the calls table.
async function startFakeOpenAI() {
  const server = http.createServer(async (req, res) => {
    try {
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
        sendJSON(res, 404, { error: { message: `fake server: no route ${req.method} ${req.url}` } });
        return;
      }
      const body = JSON.parse(await readBody(req));
      const c = calls.find((c) => c.request.model === body.model);
      if (!c) {
        sendJSON(res, 400, { error: { message: `fake server: unexpected model ${body.model}` } });
        return;
      }
      if (JSON.stringify(body.messages) !== JSON.stringify(c.request.messages)) {
        sendJSON(res, 400, {
          error: { message: `fake server: ${c.call}: messages ${JSON.stringify(body.messages)} are not the ones sent` },
        });
        return;
      }
      sendJSON(res, 200, c.response);
    } catch (err) {
      sendJSON(res, 500, { error: { message: `fake server: ${err}` } });
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return server;
}

// ExportResultCode.SUCCESS in @opentelemetry/core; the enum is part of the
// stable exporter contract, so the value is used rather than another
// dependency.
const EXPORT_SUCCESS = 0;

// CheckedExporter remembers failed exports: the SDK only logs them, and a
// test that passes while its spans were dropped proves nothing.
class CheckedExporter {
  constructor(inner) {
    this.inner = inner;
    this.failures = [];
  }
  export(spans, done) {
    this.inner.export(spans, (result) => {
      if (result.code !== EXPORT_SUCCESS) {
        this.failures.push(result.error ?? new Error(`export of ${spans.length} spans failed`));
      }
      done(result);
    });
  }
  shutdown() {
    return this.inner.shutdown();
  }
  forceFlush() {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

// EndedSpans records every span as it ends, which is how the script learns
// the ids the instrumentation generated without changing the span tree (the
// LLM spans stay roots, as in an application with no surrounding span).
class EndedSpans {
  constructor() {
    this.spans = [];
  }
  onStart() {}
  onEnd(span) {
    this.spans.push(span);
  }
  shutdown() {
    return Promise.resolve();
  }
  forceFlush() {
    return Promise.resolve();
  }
}

async function main() {
  const loupeURL = env("LOUPE_URL").replace(/\/+$/, "");
  const project = env("LOUPE_PROJECT");
  const format = env("OTLP_FORMAT", "proto");
  const Exporter = { proto: ProtoExporter, json: JSONExporter }[format];
  if (!Exporter) {
    throw new Error(`OTLP_FORMAT=${format}: use proto or json`);
  }

  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

  const exporter = new CheckedExporter(new Exporter({ url: `${loupeURL}/v1/traces`, timeoutMillis: 10_000 }));
  const ended = new EndedSpans();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "openinference.project.name": project,
      "service.name": "loupe-e2e-node",
    }),
    // Batching is what applications run with (phoenix-otel's register()
    // default). The long delay leaves the export to forceFlush, so both spans
    // travel in one request whatever the machine's speed.
    spanProcessors: [ended, new BatchSpanProcessor(exporter, { scheduledDelayMillis: 30_000 })],
  });

  // Manual instrumentation: ES modules are not patched by require hooks.
  const instrumentation = new OpenAIInstrumentation({ tracerProvider: provider });
  instrumentation.manuallyInstrument(openaiModule);

  const fake = await startFakeOpenAI();
  const results = [];
  try {
    const client = new openaiModule.OpenAI({
      apiKey: "sk-e2e-test",
      baseURL: `http://127.0.0.1:${fake.address().port}/v1`,
      maxRetries: 0,
      timeout: 10_000,
    });
    for (const c of calls) {
      const before = ended.spans.length;
      const completion = await client.chat.completions.create(c.request);
      if (completion.model !== c.response.model) {
        throw new Error(`${c.call}: client returned model ${completion.model}, want ${c.response.model}`);
      }
      const spans = ended.spans.slice(before);
      if (spans.length !== 1) {
        throw new Error(
          `${c.call}: want exactly 1 span from the instrumentation, got ${spans.length} (${spans.map((s) => s.name)})`,
        );
      }
      const sc = spans[0].spanContext();
      results.push({ call: c.call, name: spans[0].name, trace_id: sc.traceId, span_id: sc.spanId });
    }
  } finally {
    // Export errors are collected rather than thrown, so that they cannot
    // hide the error of a failed call.
    await provider.forceFlush().catch((err) => exporter.failures.push(err));
    await provider.shutdown().catch((err) => exporter.failures.push(err));
    await new Promise((resolve) => fake.close(resolve));
  }
  if (exporter.failures.length > 0) {
    throw new Error(`export to ${loupeURL}/v1/traces failed: ${exporter.failures.map(String).join("; ")}`);
  }
  process.stdout.write(
    JSON.stringify({ project, format, spans: results, trace_ids: results.map((r) => r.trace_id) }) + "\n",
  );
}

const watchdog = setTimeout(() => {
  console.error(`emit.mjs: did not finish within ${DEADLINE_MS} ms`);
  process.exit(1);
}, DEADLINE_MS);
watchdog.unref();

main().then(
  () => clearTimeout(watchdog),
  (err) => {
    console.error(`emit.mjs: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
