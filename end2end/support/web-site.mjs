// A small public-looking web site on loopback for the knowledge tests: a page to add, and a
// page that redirects into the cloud metadata service (which the server must refuse). The
// e2e server allows 127.0.0.1 only (KNOWLEDGE_FETCH_ALLOW), nothing else private.
//
// Usage: node web-site.mjs PORT
import http from "node:http";

const port = Number(process.argv[2] ?? 3103);

const TIDES = `<!doctype html>
<html lang="en"><head><title>Tides</title><script>window.stolen = true;</script></head>
<body><nav>Home | About</nav><main><h1>Tides</h1>
<p>The moon pulls the oceans into two bulges, so most coasts see two high tides a day.</p>
</main></body></html>`;

const server = http.createServer((req, res) => {
  if (req.url === "/tides.html") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(TIDES);
  } else if (req.url === "/metadata") {
    res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" });
    res.end();
  } else if (req.url === "/health") {
    res.writeHead(200).end("ok");
  } else {
    res.writeHead(404).end();
  }
});

server.listen(port, "127.0.0.1", () => {
  console.log(`web site on http://127.0.0.1:${port}`);
});
