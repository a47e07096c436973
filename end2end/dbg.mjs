import { chromium } from "@playwright/test";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox","--disable-gpu","--disable-background-networking"] });
const base = "http://127.0.0.1:3000";
const ctx = await browser.newContext();
const a = await ctx.newPage();
await a.goto(base + "/sign-in"); await a.waitForSelector("body[data-hydrated]");
await a.getByLabel("Email").fill("admin@x.org"); await a.getByLabel("Password").fill("correct horse battery staple");
await a.getByRole("button", { name: "Sign in" }).click(); await a.waitForSelector("summary");
for (let i = 0; i < 8; i++) {
  const p = await ctx.newPage();
  const errs = [];
  p.on("console", m => { if (m.type() === "error" || m.type() === "warning") errs.push(m.text().slice(0, 400)); });
  p.on("pageerror", e => errs.push("PAGEERROR " + e.message.slice(0, 400)));
  await p.goto(base + "/admin/users");
  let ok = true;
  try { await p.waitForSelector("body[data-hydrated]", { timeout: 15000, state: "attached" }); } catch { ok = false; }
  console.log(i, ok, errs.join(" | "));
  await p.close();
}
await browser.close();
