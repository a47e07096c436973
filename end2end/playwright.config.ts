import { defineConfig, devices } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
// The OpenID Connect provider the server is configured with (see scripts/e2e-server.sh).
const oidcPort = Number(process.env.E2E_OIDC_PORT ?? port + 1);
// The fake OpenAI-compatible provider the chat tests talk to (support/fake-openai.mjs).
const fakeProviderPort = port + 2;
// The web site the knowledge tests add pages from (support/web-site.mjs).
const webSitePort = port + 3;
// With moto running (MOTO_URL, as scripts/test.sh starts it), a second server keeps knowledge
// files in S3 on its own database, for the direct browser upload test.
const s3Port = port + 4;
const moto = process.env.MOTO_URL;
// The loopback SMTP server both test servers send mail through (support/mail-server.mjs):
// SMTP on this port, what it received over HTTP on the next.
const mailPort = Number(process.env.E2E_MAIL_PORT ?? port + 5);
process.env.E2E_MAIL_PORT = String(mailPort);
// The server's log, where it prints the first administrator's setup link.
const serverLog = process.env.E2E_SERVER_LOG ?? `/tmp/aistudio-e2e-${port}.log`;
process.env.E2E_SERVER_LOG = serverLog;

// The system Chromium, never a downloaded browser. The networking flags keep it from calling
// home, which a closed network answers with a flood of refused connections.
const launchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};

export default defineConfig({
  testDir: "./tests",
  fullyParallel: true,
  workers: Number(process.env.E2E_WORKERS ?? 2),
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
  },
  projects: [
    // Runs first, alone, against the empty database: the first administrator, created with
    // the setup link the server printed.
    {
      name: "setup",
      testMatch: /first-admin\.setup\.ts/,
      use: { ...devices["Desktop Chrome"], launchOptions },
    },
    // Then, as that administrator, the models on the fake provider.
    {
      name: "catalogue",
      dependencies: ["setup"],
      testMatch: /models\.setup\.ts/,
      use: { ...devices["Desktop Chrome"], launchOptions },
    },
    {
      name: "desktop",
      dependencies: ["catalogue"],
      testIgnore: /knowledge-s3\.spec\.ts/,
      use: { ...devices["Desktop Chrome"], launchOptions },
    },
    {
      name: "mobile",
      dependencies: ["catalogue"],
      testIgnore: /knowledge-s3\.spec\.ts/,
      use: { ...devices["Pixel 7"], launchOptions },
    },
    ...(moto
      ? [
          {
            name: "s3",
            testMatch: /knowledge-s3\.spec\.ts/,
            use: {
              ...devices["Desktop Chrome"],
              launchOptions,
              baseURL: `http://127.0.0.1:${s3Port}`,
            },
          },
        ]
      : []),
  ],
  webServer: [
    {
      command: `node support/mail-server.mjs ${mailPort} ${mailPort + 1}`,
      url: `http://127.0.0.1:${mailPort + 1}/messages`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `node support/oidc-provider.mjs ${oidcPort}`,
      url: `http://127.0.0.1:${oidcPort}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `node support/fake-openai.mjs ${fakeProviderPort}`,
      url: `http://127.0.0.1:${fakeProviderPort}/v1/models`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `node support/web-site.mjs ${webSitePort}`,
      url: `http://127.0.0.1:${webSitePort}/health`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: "bash ../scripts/e2e-server.sh",
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "pipe",
      stderr: "pipe",
      env: {
        E2E_OIDC_PORT: String(oidcPort),
        E2E_MAIL_PORT: String(mailPort),
        E2E_SERVER_LOG: serverLog,
      },
    },
    ...(moto
      ? [
          {
            command: "bash ../scripts/e2e-server.sh",
            url: `http://127.0.0.1:${s3Port}/healthz`,
            reuseExistingServer: false,
            timeout: 120_000,
            stdout: "pipe" as const,
            stderr: "pipe" as const,
            env: {
              E2E_PORT: String(s3Port),
              E2E_OIDC_PORT: String(oidcPort),
              E2E_MAIL_PORT: String(mailPort),
              E2E_SERVER_LOG: `/tmp/aistudio-e2e-${s3Port}.log`,
              E2E_STORAGE: "s3",
              E2E_DATABASE_NAME: "aistudio_e2e_s3",
            },
          },
        ]
      : []),
  ],
});
