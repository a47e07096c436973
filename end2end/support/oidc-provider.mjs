// A real OpenID Connect provider on loopback for tests (oauth2-mock-server): discovery, JWKS,
// authorization code + PKCE, RS256 ID tokens carrying the nonce, RP-initiated sign-out. It
// approves every authorization request at once.
//
//   node oidc-provider.mjs [port]     (port 0 or none: any free port)
//
// Prints `issuer <url>` once it listens. Each line on stdin is a JSON object that changes
// what the ID tokens of later sign-ins say, answered with `ok`:
//   {"claims": {"sub": "...", "email": "...", ...}}  claims to set (null removes one)
//   {"tamper": true}                                 corrupt the ID token's signature
import { createInterface } from "node:readline";
import { OAuth2Server } from "oauth2-mock-server";

const port = Number(process.argv[2] ?? process.env.OIDC_PORT ?? 0);
const defaults = {
  sub: "oidc-user-1",
  email: "oidc.user@school.example",
  email_verified: true,
  name: "Olive Provider",
};
let claims = { ...defaults };
let tamper = false;

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");

server.service.on("beforeTokenSigning", (token) => {
  // The access token is signed here too; only the ID token has the client as audience.
  if (typeof token.payload.aud !== "string") return;
  for (const [name, value] of Object.entries(claims)) {
    if (value === null) delete token.payload[name];
    else token.payload[name] = value;
  }
});

server.service.on("beforeResponse", (response) => {
  const idToken = response.body.id_token;
  if (!tamper || typeof idToken !== "string") return;
  const [header, payload, signature] = idToken.split(".");
  // A different signature over the same header and payload.
  const flipped = signature.startsWith("A") ? "B" + signature.slice(1) : "A" + signature.slice(1);
  response.body.id_token = [header, payload, flipped].join(".");
});

createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const command = JSON.parse(line);
  if ("claims" in command) claims = { ...defaults, ...command.claims };
  if ("tamper" in command) tamper = Boolean(command.tamper);
  process.stdout.write("ok\n");
});

await server.start(port, "127.0.0.1");
// Name the issuer by the address clients use, not `localhost`.
server.issuer.url = `http://127.0.0.1:${server.address().port}`;
process.stdout.write(`issuer ${server.issuer.url}\n`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.stop().then(() => process.exit(0)));
}
