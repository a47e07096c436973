// A real SMTP server on loopback for tests (npm smtp-server), with an HTTP side to read what
// arrived (parsed with mailparser).
//
//   node mail-server.mjs [smtpPort] [httpPort]     (0 or none: any free port)
//
// Prints `smtp <port> http <port>` once both listen. SMTP takes mail from anyone; when a
// client authenticates, only user `studio` with password `mail-secret` is accepted, and the
// message records who sent it. Recipients at refused.example are refused for good (550),
// those at later.example for now (451).
//
// HTTP: GET /messages?to=<address> lists the messages to that address (all without `to`),
// oldest first, as JSON {to, from, subject, text, html, user}; DELETE /messages forgets them.
import { createServer } from "node:http";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

const smtpPort = Number(process.argv[2] ?? 0);
const httpPort = Number(process.argv[3] ?? 0);
let messages = [];

const smtp = new SMTPServer({
  authOptional: true,
  allowInsecureAuth: true,
  disabledCommands: ["STARTTLS"],
  logger: false,
  onAuth(auth, _session, callback) {
    if (auth.username === "studio" && auth.password === "mail-secret") {
      callback(null, { user: auth.username });
    } else {
      callback(new Error("Invalid username or password"));
    }
  },
  onRcptTo(address, _session, callback) {
    const domain = address.address.split("@")[1];
    if (domain === "refused.example") {
      const error = new Error("No such mailbox");
      error.responseCode = 550;
      return callback(error);
    }
    if (domain === "later.example") {
      const error = new Error("Try again later");
      error.responseCode = 451;
      return callback(error);
    }
    callback();
  },
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((parsed) => {
        for (const recipient of session.envelope.rcptTo) {
          messages.push({
            to: recipient.address.toLowerCase(),
            from: parsed.from?.text ?? "",
            subject: parsed.subject ?? "",
            text: parsed.text ?? "",
            html: typeof parsed.html === "string" ? parsed.html : "",
            user: session.user ?? null,
          });
        }
        callback();
      })
      .catch(callback);
  },
});

const http = createServer((request, response) => {
  const url = new URL(request.url, "http://localhost");
  if (url.pathname !== "/messages") {
    response.writeHead(404).end();
    return;
  }
  if (request.method === "DELETE") {
    messages = [];
    response.writeHead(204).end();
    return;
  }
  const to = url.searchParams.get("to")?.toLowerCase();
  const found = to ? messages.filter((m) => m.to === to) : messages;
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify(found));
});

await new Promise((resolve) => smtp.listen(smtpPort, "127.0.0.1", resolve));
await new Promise((resolve) => http.listen(httpPort, "127.0.0.1", resolve));
console.log(`smtp ${smtp.server.address().port} http ${http.address().port}`);
