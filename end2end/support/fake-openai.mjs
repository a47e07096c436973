// An OpenAI-compatible chat server on loopback for the browser tests: it speaks the real
// wire format (POST /v1/chat/completions with `stream: true` -> server-sent `chat.completion
// .chunk`s, a usage chunk, `[DONE]`), and its replies depend on the last user message:
//
//   "xss ..."          markdown full of HTML and script-URL attacks
//   "fail before ..."  refuses the request (400) before streaming
//   "fail during ..."  streams a little, then drops the connection
//   "slow ..."         some reasoning, then ten words, 400 ms apart, then "The end."
//   "rich ..."         reasoning first, then a Python block, TeX (inline and display) and
//                      TeX trying to smuggle an image in
//   anything else      "Echo <n>: <message>" (n counts calls, so regenerations differ), with
//                      " (N images)" when images came with it
//
// Asked for a conversation's title (a system message starting "Write a title"), it answers
// with the first line of the conversation's first message and " (titled)".
//
// Usage: node fake-openai.mjs PORT
import http from "node:http";

const port = Number(process.argv[2] ?? 3102);
let calls = 0;

const XSS = [
  "Attack list:",
  "",
  "<script>window.__pwned = 1</script>",
  '<img src=x onerror="window.__pwned = 2">',
  "[click me](javascript:window.__pwned=3)",
  "![pixel](javascript:window.__pwned=4)",
  '<a href="javascript:window.__pwned=5">raw link</a>',
  "",
  "**still bold**",
].join("\n");

const RICH = [
  "Here is code:",
  "",
  "```python",
  "# Add two numbers",
  "def add(a, b):",
  '    return a + b  # "the sum"',
  "```",
  "",
  "Euler: $e^{i\\pi} + 1 = 0$",
  "",
  "$$\\int_0^1 x\\,dx = \\frac{1}{2}$$",
  "",
  'Sneaky: $\\text{<img src=x onerror="window.__pwned = 6">}$ and $$\\begin{array}{c}<img src=x onerror="window.__pwned = 7">\\end{array}$$',
].join("\n");

function chunk(delta, finish = null) {
  return {
    id: "chatcmpl-e2e",
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model: "fake",
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function stream(res, pieces, { delay = 30, cut = false, reasoning = [] } = {}) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (body) => res.write(`data: ${JSON.stringify(body)}\n\n`);
  send(chunk({ role: "assistant", content: "" }));
  for (const piece of reasoning) send(chunk({ reasoning_content: piece }));
  for (const piece of pieces) {
    send(chunk({ content: piece }));
    await sleep(delay);
  }
  if (cut) {
    res.socket.destroy();
    return;
  }
  send(chunk({}, "stop"));
  send({
    ...chunk({}),
    choices: [],
    usage: {
      prompt_tokens: 12,
      completion_tokens: pieces.length,
      total_tokens: 12 + pieces.length,
    },
  });
  res.write("data: [DONE]\n\n");
  res.end();
}

/** The last user message's text, with " (N images)" when it carried images. */
function lastUserText(body) {
  const users = (body.messages ?? []).filter((m) => m.role === "user");
  const content = users.at(-1)?.content ?? "";
  if (typeof content === "string") return content;
  const text = content
    .map((p) => p.text ?? "")
    .join(" ")
    .trim();
  const images = content.filter((p) => p.type === "image_url").length;
  return images ? `${text} (${images} image${images > 1 ? "s" : ""})` : text;
}

const server = http.createServer(async (req, res) => {
  if (req.method === "GET" && req.url === "/v1/models") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ object: "list", data: [{ id: "fake", object: "model" }] }));
    return;
  }
  if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
    res.writeHead(404).end();
    return;
  }
  let raw = "";
  for await (const part of req) raw += part;
  const body = JSON.parse(raw);
  const text = lastUserText(body);
  calls += 1;
  const system = (body.messages ?? []).find((m) => m.role === "system")?.content ?? "";
  if (typeof system === "string" && system.startsWith("Write a title")) {
    const first = text.replace(/^First message:\n/, "").split("\n")[0];
    await stream(res, [`${first.slice(0, 50)} (titled)`]);
  } else if (text.startsWith("xss")) {
    await stream(res, XSS.match(/[\s\S]{1,12}/g));
  } else if (text.startsWith("fail before")) {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        error: { message: "The fake model refuses this request", type: "invalid_request_error" },
      }),
    );
  } else if (text.startsWith("fail during")) {
    await stream(res, ["Partial ", "answer ", "before ", "the cut"], { cut: true });
  } else if (text.startsWith("rich")) {
    await stream(res, RICH.match(/[\s\S]{1,16}/g), {
      reasoning: ["Thinking about ", "a small example."],
    });
  } else if (text.startsWith("slow")) {
    const words = "one two three four five six seven eight nine ten".split(" ").map((w) => `${w} `);
    await stream(res, [...words, "The end."], {
      delay: 400,
      reasoning: ["Weighing ", "the words."],
    });
  } else {
    await stream(res, [`Echo ${calls}: `, ...text.match(/[\s\S]{1,8}/g)]);
  }
});

server.listen(port, "127.0.0.1", () => {
  console.log(`fake OpenAI server on http://127.0.0.1:${port}/v1`);
});
